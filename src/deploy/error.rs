//! What can stop a deploy or `down`, beyond the cluster being unreachable.

use crate::cluster::ClusterError;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// An object of the chart exists but belongs to someone else.
    #[error("{kind} {name} already exists in namespace {namespace} and {why}")]
    Foreign {
        kind: String,
        name: String,
        namespace: String,
        why: String,
    },
    /// A rendered object names a namespace other than the release's.
    #[error("{kind} {name} names namespace {named}, but devloop deploys only into {namespace}")]
    WrongNamespace {
        kind: String,
        name: String,
        named: String,
        namespace: String,
    },
    /// The cluster does not serve a kind the chart renders.
    #[error("the cluster has no {kind} in {api_version}")]
    UnknownKind { api_version: String, kind: String },
    /// A rendered document is not a Kubernetes object.
    #[error("{source_path}: {message}")]
    Invalid {
        source_path: String,
        message: String,
    },
    /// A hook failed or used a kind of hook deploy does not run.
    #[error("{0}")]
    Hook(String),
}

impl DeployError {
    pub fn is_user(&self) -> bool {
        match self {
            DeployError::Cluster(err) => err.is_user(),
            DeployError::Foreign { .. }
            | DeployError::WrongNamespace { .. }
            | DeployError::UnknownKind { .. }
            | DeployError::Invalid { .. }
            | DeployError::Hook(_) => true,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            DeployError::Cluster(err) => err.hint(),
            DeployError::Foreign { .. } => Some(
                "rename the object in the chart, or delete the existing one if it is a leftover"
                    .to_owned(),
            ),
            DeployError::WrongNamespace { .. } => Some(
                "remove metadata.namespace from the template (Helm fills in the release namespace)"
                    .to_owned(),
            ),
            DeployError::UnknownKind { .. } => Some(
                "install the CRD that defines it, or check apiVersion for a typo (`kubectl api-resources` lists what the cluster serves)".to_owned(),
            ),
            DeployError::Invalid { .. } => Some(
                "check the template with `devloop template --show-only <file>`".to_owned(),
            ),
            DeployError::Hook(_) => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            DeployError::Cluster(err) => err.code(),
            DeployError::Foreign { .. } => "foreign_object",
            DeployError::WrongNamespace { .. } => "wrong_namespace",
            DeployError::UnknownKind { .. } => "unknown_kind",
            DeployError::Invalid { .. } => "invalid_manifest",
            DeployError::Hook(_) => "hook_failed",
        }
    }
}
