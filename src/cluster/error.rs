//! What can go wrong talking to a cluster, with the hint a user needs and
//! whether it is the user's input (exit 1) or the cluster's (exit 2).

use std::path::PathBuf;

use crate::guard::GuardError;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// None of the kubeconfig files exists.
    #[error("no kubeconfig found (looked at {})", list(.0))]
    NoKubeconfig(Vec<PathBuf>),
    /// A kubeconfig exists but cannot be read or used.
    #[error("cannot use the kubeconfig: {0}")]
    Kubeconfig(String),
    /// The guard refused the context or namespace.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The API server did not answer (connection refused, TLS, timeout).
    #[error("cannot reach the Kubernetes API at {server}: {message}")]
    Unreachable { server: String, message: String },
    /// The API server refused the credentials (401) or the action (403).
    #[error("the Kubernetes API at {server} refused devloop's credentials: {message}")]
    Unauthorized { server: String, message: String },
    /// The API server rejected what devloop sent (the chart's objects are
    /// invalid, a conflict devloop does not own...).
    #[error("{action}: {message}")]
    Rejected {
        action: String,
        message: String,
        code: u16,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ClusterError {
    /// A user's input is at fault only when the server rejected the objects
    /// (4xx other than auth) or the kubeconfig/guard said no.
    pub fn is_user(&self) -> bool {
        match self {
            ClusterError::Kubeconfig(_) | ClusterError::Guard(_) => true,
            ClusterError::Rejected { code, .. } => (400..500).contains(code),
            ClusterError::NoKubeconfig(_)
            | ClusterError::Unreachable { .. }
            | ClusterError::Unauthorized { .. } => false,
        }
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ClusterError::NoKubeconfig(_) => {
                "point --kubeconfig or KUBECONFIG at a cluster's kubeconfig (kind, k3d, minikube and docker-desktop write ~/.kube/config)".to_owned()
            }
            ClusterError::Kubeconfig(_) => "check the file with `kubectl config view`".to_owned(),
            ClusterError::Guard(err) => err.hint(),
            ClusterError::Unreachable { .. } => {
                "is the cluster running? `kubectl cluster-info` shows what kubectl reaches".to_owned()
            }
            ClusterError::Unauthorized { .. } => {
                "refresh the credentials (a token may have expired), then check with `kubectl auth whoami`".to_owned()
            }
            ClusterError::Rejected { code: 409, .. } => {
                "another client changed this object; run the command again".to_owned()
            }
            ClusterError::Rejected { .. } => return None,
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            ClusterError::NoKubeconfig(_) => "no_kubeconfig",
            ClusterError::Kubeconfig(_) => "kubeconfig",
            ClusterError::Guard(_) => "guard",
            ClusterError::Unreachable { .. } => "api_unreachable",
            ClusterError::Unauthorized { .. } => "api_unauthorized",
            ClusterError::Rejected { .. } => "api_rejected",
        }
    }

    /// Classifies a kube-rs error from `action` (e.g. "apply Deployment web").
    pub fn from_kube(server: &str, action: &str, err: kube::Error) -> ClusterError {
        match err {
            kube::Error::Api(status) if status.code == 401 || status.code == 403 => {
                ClusterError::Unauthorized {
                    server: server.to_owned(),
                    message: status.message,
                }
            }
            kube::Error::Api(status) if status.code >= 500 => ClusterError::Unreachable {
                server: server.to_owned(),
                message: format!("{action}: {} ({})", status.message, status.code),
            },
            kube::Error::Api(status) => ClusterError::Rejected {
                action: action.to_owned(),
                message: status.message,
                code: status.code,
            },
            kube::Error::Auth(e) => ClusterError::Unauthorized {
                server: server.to_owned(),
                message: e.to_string(),
            },
            other => ClusterError::Unreachable {
                server: server.to_owned(),
                message: source_chain(&other),
            },
        }
    }
}

/// The error and its causes on one line: hyper's and rustls's useful part
/// (connection refused, unknown CA) is usually the innermost.
pub fn source_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}
