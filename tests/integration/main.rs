//! devloop's one integration-test binary: the real `devloop` binary on temp
//! repos (hermetic environment, snapshots), `install.sh`, and end-to-end tests
//! against the test world (`tests/world/up`: Docker, registries, Helm oracle).

mod build_cancel;
mod build_context;
mod build_engine;
mod build_load;
mod chart;
mod chart_parity;
mod cli;
mod cluster;
mod debug_e2e;
mod deploy_apply;
mod deploy_e2e;
mod deploy_failures;
mod deploy_hooks;
mod deploy_registry;
mod detect;
mod events_schema;
mod helm_funcs;
mod helm_template;
mod init;
mod init_chart;
mod init_e2e;
mod install;
mod release;
mod release_e2e;
mod rollout;
mod standins;
mod support;
mod sync_e2e;
mod up_e2e;
mod up_faults;
mod world_smoke;
