//! devloop's one integration-test binary: the real `devloop` binary on temp
//! repos (hermetic environment, snapshots), `install.sh`, and end-to-end tests
//! against the test world (`tests/world/up`: Docker, registries, Helm oracle).

mod build_context;
mod build_engine;
mod build_load;
mod chart;
mod chart_parity;
mod cli;
mod detect;
mod helm_funcs;
mod helm_template;
mod init;
mod init_chart;
mod init_e2e;
mod install;
mod standins;
mod support;
mod world_smoke;
