//! Writing files into the user's repo: never clobbering, and editing shared
//! files (`.vscode/launch.json`) only where devloop owns the content.

pub mod chart;
pub mod devloop_toml;
pub mod dockerfile;
pub mod jsonc;
pub mod launch;
pub mod plan;
pub mod vscode;
pub mod writer;
