//! Server-side apply of one rendered object: into the release's namespace,
//! stamped with Helm's ownership metadata, field manager `devloop` with
//! force (devloop owns these objects in its dev namespace), and never over
//! an object that belongs to someone else.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value as Json;

use super::error::DeployError;
use super::ownership::{FIELD_MANAGER, Release};
use super::resources::{Resolved, Resolver};
use crate::cluster::Cluster;

/// One object in the cluster, as devloop names it in messages and prunes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl ObjectRef {
    /// The kube-rs API for this object's resource.
    pub fn api(&self, cluster: &Cluster, served: &Resolved) -> Api<DynamicObject> {
        match &self.namespace {
            Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &served.resource),
            None => Api::all_with(cluster.client.clone(), &served.resource),
        }
    }
}

/// The identity of a rendered document, checked before anything is sent.
pub fn identify(source: &str, object: &Json) -> Result<(String, String, String), DeployError> {
    let field = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let invalid = |message: &str| DeployError::Invalid {
        source_path: source.to_owned(),
        message: message.to_owned(),
    };
    let api_version =
        field("/apiVersion").ok_or_else(|| invalid("the document has no apiVersion"))?;
    let kind = field("/kind").ok_or_else(|| invalid("the document has no kind"))?;
    let name = field("/metadata/name")
        .ok_or_else(|| invalid(&format!("the {kind} has no metadata.name")))?;
    Ok((api_version, kind, name))
}

/// Applies one object for `release`; returns where it went and its
/// generation after the apply (unchanged when the apply changed nothing).
pub async fn apply(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    source: &str,
    object: &Json,
) -> Result<(ObjectRef, Option<i64>), DeployError> {
    let (api_version, kind, name) = identify(source, object)?;
    let served = resolver.resolve(&api_version, &kind).await?;
    let mut object = object.clone();
    let namespace = if served.namespaced {
        let named = object
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty());
        if let Some(named) = named
            && named != release.namespace
        {
            return Err(DeployError::WrongNamespace {
                kind,
                name,
                named: named.to_owned(),
                namespace: release.namespace.clone(),
            });
        }
        if let Some(metadata) = object.get_mut("metadata").and_then(Json::as_object_mut) {
            metadata.insert(
                "namespace".to_owned(),
                Json::from(release.namespace.as_str()),
            );
        }
        Some(release.namespace.clone())
    } else {
        None
    };
    release.stamp(&mut object);
    let target = ObjectRef {
        api_version,
        kind,
        name,
        namespace,
    };
    let api = target.api(cluster, &served);
    let action = format!("read {target}");
    if let Some(live) = api
        .get_opt(&target.name)
        .await
        .map_err(|e| cluster.error(&action, e))?
    {
        let live = serde_json::to_value(&live).unwrap_or_default();
        if !release.owns(&live) {
            return Err(DeployError::Foreign {
                kind: target.kind.clone(),
                name: target.name.clone(),
                namespace: release.namespace.clone(),
                why: Release::foreign_owner(&live),
            });
        }
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let applied = api
        .patch(&target.name, &params, &Patch::Apply(&object))
        .await
        .map_err(|e| cluster.error(&format!("apply {target}"), e))?;
    Ok((target, applied.metadata.generation))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_document_without_identity_is_named_by_its_source() {
        let err = identify("web/templates/x.yaml", &json!({"kind": "Service"}))
            .expect_err("no apiVersion");
        assert_eq!(
            err.to_string(),
            "web/templates/x.yaml: the document has no apiVersion"
        );
        let err = identify(
            "web/templates/x.yaml",
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {}}),
        )
        .expect_err("no name");
        assert_eq!(
            err.to_string(),
            "web/templates/x.yaml: the Service has no metadata.name"
        );
        let ok = identify(
            "s",
            &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}),
        )
        .expect("identified");
        assert_eq!(ok, ("v1".into(), "Service".into(), "web".into()));
    }
}
