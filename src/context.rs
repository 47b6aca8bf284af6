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

/// devloop's state directory: `$XDG_STATE_HOME/devloop`, by default
/// `~/.local/state/devloop` (the state files of running sessions).
/// Without either variable, under the temporary directory: never relative
/// to the working directory, where it would land in the user's build context.
pub fn state_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let absolute = |key: &str| env(key).map(PathBuf::from).filter(|d| d.is_absolute());
    absolute("XDG_STATE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local/state")))
        .unwrap_or_else(|| std::env::temp_dir().join("devloop-state"))
        .join("devloop")
}

/// An environment of `pairs`, for tests of code that reads one.
#[cfg(test)]
pub fn test_env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::{state_dir, test_env as env};

    #[test]
    fn the_state_directory_is_never_relative() {
        assert_eq!(
            state_dir(&env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])),
            std::path::Path::new("/s/devloop")
        );
        assert_eq!(
            state_dir(&env(&[("XDG_STATE_HOME", ""), ("HOME", "/h")])),
            std::path::Path::new("/h/.local/state/devloop")
        );
        for pairs in [&[][..], &[("HOME", "relative")][..]] {
            let dir = state_dir(&env(pairs));
            assert!(dir.is_absolute(), "{}", dir.display());
            assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
        }
    }
}
