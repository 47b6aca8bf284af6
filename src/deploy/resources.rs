//! From a manifest's `apiVersion` and `kind` to the API resource that serves
//! it (plural, scope), asked of the cluster once per kind and cached.

use std::collections::HashMap;

use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use tokio::sync::Mutex;

use super::error::DeployError;
use crate::cluster::Cluster;

#[derive(Debug, Clone)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Discovery, one group/version at a time (a whole-cluster discovery costs
/// a request per group, slow on clusters with many CRDs).
pub struct Resolver {
    cluster: Cluster,
    cache: Mutex<HashMap<(String, String), Resolved>>,
}

impl Resolver {
    pub fn new(cluster: Cluster) -> Resolver {
        Resolver {
            cluster,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, DeployError> {
        let key = (api_version.to_owned(), kind.to_owned());
        if let Some(found) = self.cache.lock().await.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(&self.cluster.client, &gvk)
            .await
            .map_err(|err| match err {
                kube::Error::Discovery(_) => DeployError::UnknownKind {
                    api_version: api_version.to_owned(),
                    kind: kind.to_owned(),
                },
                kube::Error::Api(status) if status.code == 404 => DeployError::UnknownKind {
                    api_version: api_version.to_owned(),
                    kind: kind.to_owned(),
                },
                other => self
                    .cluster
                    .error(&format!("discover {kind} in {api_version}"), other)
                    .into(),
            })?;
        let found = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        self.cache.lock().await.insert(key, found.clone());
        Ok(found)
    }
}
