//! What every command runs with: the printer, the global flags, the working
//! directory and the process environment (injected, so tests stay hermetic).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::cluster::KubeTarget;
use crate::config::{Config, ConfigError, Overrides};
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

    /// The resolved configuration: devloop.toml found from the working
    /// directory, with `-n` and the command's `--registry` applied.
    pub fn load_config(&self, registry: Option<&str>) -> Result<Config, ConfigError> {
        let overrides = Overrides {
            registry: registry.map(str::to_owned),
            namespace: self.global.namespace.clone(),
        };
        Config::load(&self.cwd, &overrides, &|key| self.env(key))
    }

    /// The kubeconfig files and context the global flags and env select.
    pub fn kube_target(&self) -> KubeTarget {
        KubeTarget::resolve(
            self.global.kubeconfig.as_ref(),
            self.global.context.as_deref(),
            &|key| self.env(key),
        )
    }
}
