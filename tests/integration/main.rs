//! devloop's one integration-test binary: the real `devloop` binary on temp
//! repos (hermetic environment, snapshots), `install.sh`, and end-to-end tests
//! against the test world (`tests/world/up`: Docker, registries, Helm oracle).

mod cli;
mod detect;
mod install;
mod standins;
mod support;
mod world_smoke;
