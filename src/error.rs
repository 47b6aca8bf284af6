//! Errors every command can end with, their hints, and the exit-code table.
//!
//! Each area owns a `thiserror` enum (`ConfigError` lives with the config);
//! this module gathers them into [`Error`], decides which exit code each one
//! means, and carries the hint a user sees under the message. It does not
//! print anything: that is the [`crate::output::Printer`]'s job.

use std::process::ExitCode;

use crate::build::BuildError;
use crate::cluster::ClusterError;
use crate::config::ConfigError;
use crate::deploy::DeployError;
use crate::helm::chart::ChartError;
use crate::rollout::RolloutError;

/// What a run of devloop ended with, as the shell sees it.
///
/// The table is part of devloop's interface (scripts switch on it) and is
/// repeated in README.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked.
    Success,
    /// 1: the user's input is wrong (usage, devloop.toml, chart, the app itself).
    User,
    /// 2: something devloop depends on failed (Docker or API unreachable, auth
    /// refused by a registry or the cluster, an internal error).
    Infrastructure,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::User => 1,
            ExitStatus::Infrastructure => 2,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// Any error a devloop command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// The user's chart or values (always the user's to fix).
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    /// The user asked for something that cannot be done as asked.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// Reading or writing a local file failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A bug or an environment devloop cannot work in.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint,
        }
    }

    pub fn io(action: &'static str, path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_string(),
            source,
        }
    }

    /// The exit code this error means (see [`ExitStatus`]).
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Config(_) | Error::Chart(_) | Error::Usage { .. } => ExitStatus::User,
            Error::Build(err) if err.is_user() => ExitStatus::User,
            Error::Cluster(err) if err.is_user() => ExitStatus::User,
            Error::Deploy(err) if err.is_user() => ExitStatus::User,
            Error::Rollout(err) if err.is_user() => ExitStatus::User,
            Error::Build(_)
            | Error::Cluster(_)
            | Error::Deploy(_)
            | Error::Rollout(_)
            | Error::Io { .. }
            | Error::Internal(_) => ExitStatus::Infrastructure,
        }
    }

    /// A short line telling the user what to try next, when we know one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(err) => err.hint(),
            Error::Build(err) => err.hint(),
            Error::Cluster(err) => err.hint(),
            Error::Deploy(err) => err.hint(),
            Error::Chart(err) => err.hint(),
            Error::Rollout(err) => err.hint(),
            Error::Usage { hint, .. } => hint.clone(),
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Some("check the file's permissions and owner".to_owned())
                }
                _ => None,
            },
            Error::Internal(_) => {
                Some("this is a bug in devloop; please report it with the output of -v".to_owned())
            }
        }
    }

    /// A stable, machine-readable name of the error's kind for `--output json`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config(err) => err.code(),
            Error::Build(err) => err.code(),
            Error::Cluster(err) => err.code(),
            Error::Deploy(err) => err.code(),
            Error::Chart(err) => err.code(),
            Error::Rollout(err) => err.code(),
            Error::Usage { .. } => "usage",
            Error::Io { .. } => "io",
            Error::Internal(_) => "internal",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
