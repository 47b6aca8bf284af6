//! devloop's configuration: the `devloop.toml` schema, and its resolution with
//! flags and `DEVLOOP_*` environment variables into one [`Config`] that says
//! where each value came from.
//!
//! Resolution order: flags > `DEVLOOP_*` env > devloop.toml > defaults.

mod error;
pub mod file;
pub mod names;
mod resolve;

pub use error::ConfigError;
pub use file::{FILE_NAME, PortSpec};
pub use resolve::{AppConfig, Config, Overrides, Source, Sourced};
