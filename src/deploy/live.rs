//! What a render learns from the live cluster: `.Capabilities` (the
//! server's version and every `group/version` and `group/version/Kind` it
//! serves, as Helm builds them from discovery) and `lookup`.

use std::collections::BTreeSet;
use std::sync::Arc;

use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::Discovery;
use serde_json::{Map, Value as Json};

use super::error::DeployError;
use super::resources::Resolver;
use crate::cluster::Cluster;
use crate::helm::rendered::{Capabilities, Lookup};

/// `.Capabilities` from the server: one aggregated-discovery request where
/// the server has it (Kubernetes ≥ 1.30), the per-group walk otherwise.
pub async fn capabilities(cluster: &Cluster) -> Result<Capabilities, DeployError> {
    let kube_version = cluster.version().await?;
    let discovery = match Discovery::new(cluster.client.clone())
        .run_aggregated()
        .await
    {
        Ok(d) => d,
        Err(_) => Discovery::new(cluster.client.clone())
            .run()
            .await
            .map_err(|e| cluster.error("discover the API groups", e))?,
    };
    let mut versions = BTreeSet::new();
    for group in discovery.groups() {
        for version in group.versions() {
            let gv = if group.name().is_empty() {
                version.to_owned()
            } else {
                format!("{}/{version}", group.name())
            };
            for (resource, _) in group.versioned_resources(version) {
                versions.insert(format!("{gv}/{}", resource.kind));
            }
            versions.insert(gv);
        }
    }
    Ok(Capabilities {
        kube_version,
        api_versions: versions.into_iter().collect(),
    })
}

/// `lookup` against the cluster. Rendering is synchronous and runs on a
/// blocking thread; each call blocks on the runtime that owns the client.
pub struct LiveLookup {
    cluster: Cluster,
    resolver: Arc<Resolver>,
    runtime: tokio::runtime::Handle,
}

impl LiveLookup {
    pub fn new(cluster: Cluster, resolver: Arc<Resolver>) -> LiveLookup {
        LiveLookup {
            cluster,
            resolver,
            runtime: tokio::runtime::Handle::current(),
        }
    }

    async fn fetch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String> {
        let served = match self.resolver.resolve(api_version, kind).await {
            Ok(s) => s,
            // Helm: an unknown kind is an error from the template.
            Err(e) => return Err(e.to_string()),
        };
        let api: Api<DynamicObject> = if served.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.cluster.client.clone(), namespace, &served.resource)
        } else {
            Api::all_with(self.cluster.client.clone(), &served.resource)
        };
        let empty = || Json::Object(Map::new());
        if name.is_empty() {
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| self.cluster.error(&format!("lookup {kind}"), e).to_string())?;
            let items = list
                .items
                .iter()
                .map(|o| serde_json::to_value(o).unwrap_or_default())
                .collect();
            let mut out = Map::new();
            out.insert("apiVersion".into(), Json::from(api_version));
            out.insert("kind".into(), Json::from(format!("{kind}List")));
            out.insert("items".into(), Json::Array(items));
            return Ok(Json::Object(out));
        }
        match api.get_opt(name).await {
            Ok(Some(obj)) => Ok(serde_json::to_value(&obj).unwrap_or_else(|_| empty())),
            Ok(None) => Ok(empty()),
            Err(e) => Err(self
                .cluster
                .error(&format!("lookup {kind} {name}"), e)
                .to_string()),
        }
    }
}

impl Lookup for LiveLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String> {
        self.runtime
            .block_on(self.fetch(api_version, kind, namespace, name))
    }
}
