//! The release's namespace: created when missing (and marked, so `down`
//! knows it may remove it), deleted by `down` only when devloop created it
//! and nothing but what Kubernetes puts in every namespace is left.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, ObjectMeta, PostParams};

use super::error::DeployError;
use super::inventory::COMMON_KINDS;
use super::ownership::{CREATED_BY_ANNOTATION, MANAGED_BY_LABEL};
use super::resources::Resolver;
use crate::cluster::Cluster;

/// Creates `name` unless it exists; true when devloop created it now.
pub async fn ensure(cluster: &Cluster, name: &str) -> Result<bool, DeployError> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let action = format!("read namespace {name}");
    if api
        .get_opt(name)
        .await
        .map_err(|e| cluster.error(&action, e))?
        .is_some()
    {
        return Ok(false);
    }
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_owned(),
                "devloop".to_owned(),
            )])),
            annotations: Some(BTreeMap::from([(
                CREATED_BY_ANNOTATION.to_owned(),
                "devloop".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => Ok(true),
        // Another devloop (or the user) created it meanwhile.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(cluster.error(&format!("create namespace {name}"), e).into()),
    }
}

/// Whether devloop created `name` (its annotation says so).
pub async fn created_by_devloop(cluster: &Cluster, name: &str) -> Result<bool, DeployError> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let action = format!("read namespace {name}");
    let ns = api
        .get_opt(name)
        .await
        .map_err(|e| cluster.error(&action, e))?;
    Ok(ns.is_some_and(|ns| {
        ns.metadata
            .annotations
            .is_some_and(|a| a.get(CREATED_BY_ANNOTATION).is_some_and(|v| v == "devloop"))
    }))
}

/// What is left in `name` beyond what Kubernetes creates in every namespace
/// (the `default` service account, the `kube-root-ca.crt` config map), among
/// pods and the kinds charts commonly render.
pub async fn leftovers(
    cluster: &Cluster,
    resolver: &Resolver,
    name: &str,
) -> Result<Vec<String>, DeployError> {
    let mut left = Vec::new();
    let kinds = COMMON_KINDS.iter().chain(&[("v1", "Pod")]);
    for (api_version, kind) in kinds {
        let served = match resolver.resolve(api_version, kind).await {
            Ok(r) => r,
            Err(DeployError::UnknownKind { .. }) => continue,
            Err(e) => return Err(e),
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), name, &served.resource);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| cluster.error(&format!("list {kind}s in {name}"), e))?;
        for item in list.items {
            let item_name = item.metadata.name.unwrap_or_default();
            let default = matches!(
                (*kind, item_name.as_str()),
                ("ServiceAccount", "default") | ("ConfigMap", "kube-root-ca.crt")
            );
            if !default {
                left.push(format!("{kind}/{item_name}"));
            }
        }
    }
    Ok(left)
}

/// Deletes the namespace (background).
pub async fn delete(cluster: &Cluster, name: &str) -> Result<(), DeployError> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(cluster.error(&format!("delete namespace {name}"), e).into()),
    }
}
