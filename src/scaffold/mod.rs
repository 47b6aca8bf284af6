//! Writing files into the user's repo: never clobbering, and editing shared
//! files (`.vscode/launch.json`) only where devloop owns the content.

pub mod jsonc;
pub mod launch;
pub mod vscode;
