//! What every command runs with: the printer, the global flags, the working
//! directory and the process environment (injected, so tests stay hermetic).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::output::Printer;

pub struct Context {
    pub printer: Printer,
    pub global: GlobalArgs,
    pub cwd: PathBuf,
    env: HashMap<String, String>,
}

impl Context {
    pub fn new(
        printer: Printer,
        global: GlobalArgs,
        cwd: PathBuf,
        env: HashMap<String, String>,
    ) -> Self {
        Context {
            printer,
            global,
            cwd,
            env,
        }
    }

    /// An environment variable, as the process saw it at start.
    pub fn env(&self, key: &str) -> Option<String> {
        self.env.get(key).cloned()
    }
}
