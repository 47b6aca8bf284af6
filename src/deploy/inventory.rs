//! Finding a release's objects in the cluster: by the release annotation
//! (after narrowing by `app.kubernetes.io/instance`), over the kinds a chart
//! renders, the kinds the previous revision had, and the common kinds —
//! never by scanning every resource of the cluster.

use std::collections::BTreeSet;

use kube::api::{DeleteParams, ListParams};

use super::apply::ObjectRef;
use super::error::DeployError;
use super::ownership::Release;
use super::resources::Resolver;
use crate::cluster::Cluster;

/// Kinds charts commonly render, looked at even when neither this render nor
/// the stored release names them (a revision written by an older devloop, a
/// Helm release devloop has not seen).
pub const COMMON_KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
];

/// The kinds to look at: `extra` plus [`COMMON_KINDS`], deduplicated.
pub fn kinds_to_scan(
    extra: impl IntoIterator<Item = (String, String)>,
) -> BTreeSet<(String, String)> {
    let mut kinds: BTreeSet<(String, String)> = extra.into_iter().collect();
    kinds.extend(
        COMMON_KINDS
            .iter()
            .map(|(v, k)| ((*v).to_owned(), (*k).to_owned())),
    );
    kinds
}

/// Every live object of `release` among `kinds` (kinds the cluster does not
/// serve are skipped: nothing of them can exist).
pub async fn owned_objects(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    kinds: &BTreeSet<(String, String)>,
) -> Result<BTreeSet<ObjectRef>, DeployError> {
    matching(cluster, resolver, release, kinds, &|json| {
        release.owns(json)
    })
    .await
}

/// Hook objects devloop created for `release` (not part of the release, so
/// only `down` looks for them).
pub async fn hook_objects(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    kinds: &BTreeSet<(String, String)>,
) -> Result<BTreeSet<ObjectRef>, DeployError> {
    let hook_of = |json: &serde_json::Value| {
        json.pointer("/metadata/annotations")
            .and_then(|a| a.get(super::hooks::HOOK_OF_ANNOTATION))
            .and_then(serde_json::Value::as_str)
            == Some(release.name.as_str())
    };
    matching(cluster, resolver, release, kinds, &hook_of).await
}

/// Objects among `kinds` with the release's instance label that `keep`
/// accepts.
async fn matching(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    kinds: &BTreeSet<(String, String)>,
    keep: &(dyn Fn(&serde_json::Value) -> bool + Sync),
) -> Result<BTreeSet<ObjectRef>, DeployError> {
    let mut found = BTreeSet::new();
    let params = ListParams::default().labels(&release.selector());
    for (api_version, kind) in kinds {
        let served = match resolver.resolve(api_version, kind).await {
            Ok(r) => r,
            Err(DeployError::UnknownKind { .. }) => continue,
            Err(e) => return Err(e),
        };
        let probe = ObjectRef {
            api_version: api_version.clone(),
            kind: kind.clone(),
            name: String::new(),
            namespace: served.namespaced.then(|| release.namespace.clone()),
        };
        let list = probe
            .api(cluster, &served)
            .list(&params)
            .await
            .map_err(|e| cluster.error(&format!("list {kind}s"), e))?;
        for item in list.items {
            let json = serde_json::to_value(&item).unwrap_or_default();
            if keep(&json)
                && let Some(name) = item.metadata.name
            {
                found.insert(ObjectRef {
                    name,
                    ..probe.clone()
                });
            }
        }
    }
    Ok(found)
}

/// Deletes `objects` (background propagation: the garbage collector removes
/// what they own). Already-gone objects are fine.
pub async fn delete_all(
    cluster: &Cluster,
    resolver: &Resolver,
    objects: impl IntoIterator<Item = &ObjectRef>,
) -> Result<(), DeployError> {
    for object in objects {
        let served = resolver.resolve(&object.api_version, &object.kind).await?;
        match object
            .api(cluster, &served)
            .delete(&object.name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(cluster.error(&format!("delete {object}"), e).into()),
        }
    }
    Ok(())
}
