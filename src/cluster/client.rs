//! A kube-rs client for the resolved target, built as kubectl builds one:
//! the kubeconfig files merged in order, the selected context, its auth
//! (token, client certificate, exec plugin: kube-rs handles all three).

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::KubeTarget;
use super::error::{ClusterError, source_chain};

/// A connected client and where it points, for messages.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// The API server's URL, for error messages.
    pub server: String,
    /// The context's name.
    pub context: String,
    /// The context's default namespace (kubectl's when `-n` is absent).
    pub default_namespace: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl KubeTarget {
    /// The merged kubeconfig, as kubectl merges `KUBECONFIG` (first file
    /// wins per key; missing files skipped, broken ones are errors).
    pub fn kubeconfig(&self) -> Result<Kubeconfig, ClusterError> {
        let mut merged: Option<Kubeconfig> = None;
        for path in &self.kubeconfig.value {
            if !path.exists() {
                continue;
            }
            let file = Kubeconfig::read_from(path).map_err(|e| {
                ClusterError::Kubeconfig(format!("{}: {}", path.display(), source_chain(&e)))
            })?;
            merged = Some(match merged {
                None => file,
                Some(m) => m
                    .merge(file)
                    .map_err(|e| ClusterError::Kubeconfig(source_chain(&e)))?,
            });
        }
        merged.ok_or_else(|| ClusterError::NoKubeconfig(self.kubeconfig.value.clone()))
    }

    /// A client for the selected context.
    pub async fn connect(&self) -> Result<Cluster, ClusterError> {
        let kubeconfig = self.kubeconfig()?;
        let context = self.context.value.clone().ok_or_else(|| {
            ClusterError::Kubeconfig(
                "no context selected: the kubeconfig has no current-context; pass --context"
                    .to_owned(),
            )
        })?;
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            cluster: None,
            user: None,
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig(source_chain(&e)))?;
        let server = config.cluster_url.to_string();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Unreachable {
            server: server.clone(),
            message: source_chain(&e),
        })?;
        Ok(Cluster {
            client,
            server,
            context,
            default_namespace,
        })
    }
}

impl Cluster {
    /// Classifies a kube-rs error from `action` against this cluster.
    pub fn error(&self, action: &str, err: kube::Error) -> ClusterError {
        ClusterError::from_kube(&self.server, action, err)
    }

    /// The server's version (`v1.33.0`), which also proves it answers and
    /// accepts the credentials.
    pub async fn version(&self) -> Result<String, ClusterError> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| self.error("read the server version", e))?;
        Ok(info.git_version)
    }
}
