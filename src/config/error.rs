//! What can be wrong with a configuration: the file, an environment variable
//! or a flag, each pointing at where the bad value was written.

use std::path::PathBuf;

/// A configuration error. All of them are the user's to fix (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        hint: Option<String>,
    },
    #[error("invalid value of {source_name}: {message}")]
    Override {
        /// `--registry`, `DEVLOOP_REGISTRY`, ...
        source_name: String,
        message: String,
    },
    #[error("no app named `{name}` in {}", file.as_ref().map_or_else(|| "this directory".to_owned(), |f| f.display().to_string()))]
    UnknownApp {
        name: String,
        file: Option<PathBuf>,
        available: Vec<String>,
    },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Parse { message, .. } if message.contains("unknown field") => Some(
                "see the configuration reference in README.md; `devloop config` shows the resolved values"
                    .to_owned(),
            ),
            ConfigError::Parse { .. } => {
                Some("devloop.toml is TOML: check quoting and brackets on that line".to_owned())
            }
            ConfigError::Invalid { hint, .. } => hint.clone(),
            ConfigError::Read { .. } | ConfigError::Override { .. } => None,
            ConfigError::UnknownApp { available, .. } => {
                Some(format!("apps here: {}", available.join(", ")))
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config_read",
            ConfigError::Parse { .. } => "config_parse",
            ConfigError::Invalid { .. } => "config_invalid",
            ConfigError::Override { .. } => "config_override",
            ConfigError::UnknownApp { .. } => "unknown_app",
        }
    }
}
