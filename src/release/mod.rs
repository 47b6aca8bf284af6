//! Helm releases, stored the way Helm 4 stores them, so that a user's helm
//! sees devloop's deploys as its own releases and devloop sees Helm's.
//!
//! [`record`] is the release JSON, [`codec`] Helm's encoding of it,
//! [`manifest`] reads a stored manifest (images, objects),
//! [`store`] the Secrets driver (history, pruning to `history_max`),
//! [`plan`] the pure decisions (what to prune, what a rollback re-applies).
//! Applying objects and running hooks is deploy's job, not this module's.

pub mod codec;
pub mod manifest;
pub mod plan;
pub mod record;
pub mod store;

pub use codec::CodecError;
pub use manifest::ObjectRef;
pub use plan::{DeployPlan, RollbackPlan, deploy_plan, prune_plan, rollback_plan};
pub use record::{APPLY_METHOD, ChartParts, NewRelease, Release, Status};
pub use store::Store;

use crate::cluster::ClusterError;

/// Helm's `--history-max` default: revisions kept per release (0: all).
pub const DEFAULT_HISTORY_MAX: usize = 10;

/// What went wrong reading or writing releases.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A stored revision that neither devloop nor Helm can read.
    #[error("release record {key} cannot be read: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: CodecError,
    },
    /// The release has no revisions in the namespace.
    #[error("release {name} not found in namespace {namespace}")]
    NotFound { name: String, namespace: String },
    /// A rollback or get named a revision the history does not hold.
    #[error("release {name} has no revision {version}")]
    NoRevision { name: String, version: u32 },
    /// Another operation is under way (Helm's own lock: a pending revision).
    #[error("release {name} has an operation in progress (revision {version} is {status})")]
    Pending {
        name: String,
        version: u32,
        status: Status,
    },
}

impl ReleaseError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReleaseError::Cluster(err) => err.hint(),
            ReleaseError::Corrupt { key, .. } => Some(format!(
                "inspect it with `kubectl get secret {key} -o yaml`; deleting it drops that revision"
            )),
            ReleaseError::NotFound { .. } => {
                Some("deploy the app first (`devloop deploy`), or pass -n for another namespace".to_owned())
            }
            ReleaseError::NoRevision { .. } => {
                Some("`devloop history` lists the revisions that are kept".to_owned())
            }
            ReleaseError::Pending { .. } => Some(
                "wait for it to finish; if it was interrupted, `devloop rollback` or `helm rollback` clears it".to_owned(),
            ),
        }
    }
}

impl From<ReleaseError> for crate::error::Error {
    fn from(err: ReleaseError) -> Self {
        match err {
            ReleaseError::Cluster(err) => crate::error::Error::Cluster(err),
            other => {
                let hint = other.hint();
                crate::error::Error::usage(other.to_string(), hint)
            }
        }
    }
}
