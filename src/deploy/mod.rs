//! The deploy stage: put a rendered release into the cluster and take it
//! out again.
//!
//! [`apply_release`] creates the namespace if needed, applies the chart's
//! CRDs and manifests with server-side apply (stamped with Helm's ownership
//! metadata, [`ownership`]), and prunes what this release had and no longer
//! renders ([`inventory`]). [`down`] deletes a release's objects, its stored
//! revisions and the namespace devloop created. Waiting for the rollout and
//! recording the revision are the callers' next steps.

pub mod apply;
pub mod error;
pub mod hooks;
pub mod inputs;
pub mod inventory;
pub mod live;
pub mod namespace;
pub mod ownership;
pub mod pull_secret;
pub mod resources;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams};

pub use apply::ObjectRef;
pub use error::DeployError;
pub use ownership::Release;
pub use resources::Resolver;

use crate::cluster::Cluster;
use crate::helm::rendered::Rendered;

/// What one apply did.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub namespace_created: bool,
    /// Every object of the release, in apply order.
    pub applied: Vec<ObjectRef>,
    /// Objects of earlier revisions the chart no longer renders, now deleted.
    pub pruned: Vec<ObjectRef>,
}

impl ApplyOutcome {
    /// The Deployments to wait for.
    pub fn deployments(&self) -> Vec<String> {
        self.applied
            .iter()
            .filter(|o| o.kind == "Deployment")
            .map(|o| o.name.clone())
            .collect()
    }
}

/// Applies `rendered` as `release`; `previous_kinds` are the kinds of the
/// revision this one replaces (from the stored release), so prune finds
/// objects of kinds the chart stopped rendering.
pub async fn apply_release(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    rendered: &Rendered,
    previous_kinds: &[(String, String)],
) -> Result<ApplyOutcome, DeployError> {
    let mut outcome = ApplyOutcome {
        namespace_created: namespace::ensure(cluster, &release.namespace).await?,
        ..ApplyOutcome::default()
    };
    for crd in &rendered.crds {
        apply_crd_if_missing(cluster, resolver, &crd.source, &crd.object).await?;
    }
    for manifest in &rendered.manifests {
        let (target, _) = apply::apply(
            cluster,
            resolver,
            release,
            &manifest.source,
            &manifest.object,
        )
        .await?;
        outcome.applied.push(target);
    }
    let kinds = inventory::kinds_to_scan(
        outcome
            .applied
            .iter()
            .map(|o| (o.api_version.clone(), o.kind.clone()))
            .chain(previous_kinds.iter().cloned()),
    );
    let live = inventory::owned_objects(cluster, resolver, release, &kinds).await?;
    let keep: BTreeSet<&ObjectRef> = outcome.applied.iter().collect();
    outcome.pruned = live.into_iter().filter(|o| !keep.contains(o)).collect();
    inventory::delete_all(cluster, resolver, &outcome.pruned).await?;
    Ok(outcome)
}

/// CRDs from a chart's `crds/` are created when missing and never updated
/// or deleted, as Helm does (changing a CRD can destroy other users' data).
async fn apply_crd_if_missing(
    cluster: &Cluster,
    resolver: &Resolver,
    source: &str,
    object: &serde_json::Value,
) -> Result<(), DeployError> {
    let (api_version, kind, name) = apply::identify(source, object)?;
    let served = resolver.resolve(&api_version, &kind).await?;
    let api: Api<kube::api::DynamicObject> =
        Api::all_with(cluster.client.clone(), &served.resource);
    if api
        .get_opt(&name)
        .await
        .map_err(|e| cluster.error(&format!("read {kind}/{name}"), e))?
        .is_some()
    {
        return Ok(());
    }
    let object: kube::api::DynamicObject =
        serde_json::from_value(object.clone()).map_err(|e| DeployError::Invalid {
            source_path: source.to_owned(),
            message: e.to_string(),
        })?;
    api.create(&kube::api::PostParams::default(), &object)
        .await
        .map_err(|e| cluster.error(&format!("create {kind}/{name}"), e))?;
    Ok(())
}

/// What `down` removed.
#[derive(Debug, Default)]
pub struct DownOutcome {
    pub deleted: Vec<ObjectRef>,
    pub revisions: usize,
    pub namespace_deleted: bool,
    /// Objects that kept the namespace alive (not the release's).
    pub kept_namespace_for: Vec<String>,
}

/// Deletes the release: its objects (found by release among `kinds` and
/// the common kinds), hook objects devloop created for it, its stored
/// revisions, and then the namespace if devloop created it and nothing else
/// is left. Waits (up to `grace`) for the release's pods to be gone, so no
/// container outlives the command.
pub async fn down(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    kinds: &[(String, String)],
    grace: Duration,
) -> Result<DownOutcome, DeployError> {
    let kinds = inventory::kinds_to_scan(kinds.iter().cloned());
    let mut outcome = DownOutcome {
        deleted: inventory::owned_objects(cluster, resolver, release, &kinds)
            .await?
            .into_iter()
            .collect(),
        ..DownOutcome::default()
    };
    let hooks = inventory::hook_objects(cluster, resolver, release, &kinds).await?;
    outcome.deleted.extend(hooks);
    inventory::delete_all(cluster, resolver, &outcome.deleted).await?;
    outcome.revisions = delete_revisions(cluster, release).await?;
    pull_secret::delete(cluster, release).await?;
    wait_for_pods_gone(cluster, release, grace).await?;
    if namespace::created_by_devloop(cluster, &release.namespace).await? {
        outcome.kept_namespace_for =
            namespace::leftovers(cluster, resolver, &release.namespace).await?;
        if outcome.kept_namespace_for.is_empty() {
            namespace::delete(cluster, &release.namespace).await?;
            outcome.namespace_deleted = true;
        }
    }
    Ok(outcome)
}

/// Deletes the release's stored revisions (Helm's `sh.helm.release.v1.*`
/// Secrets, labelled `owner=helm,name=<release>`).
async fn delete_revisions(cluster: &Cluster, release: &Release) -> Result<usize, DeployError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &release.namespace);
    let params = ListParams::default().labels(&format!("owner=helm,name={}", release.name));
    let list = api
        .list(&params)
        .await
        .map_err(|e| cluster.error("list the release's revisions", e))?;
    let mut count = 0;
    for secret in list.items {
        let Some(name) = secret.metadata.name else {
            continue;
        };
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => count += 1,
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(cluster.error(&format!("delete Secret/{name}"), e).into()),
        }
    }
    Ok(count)
}

/// Polls until no pod of the release (by its instance label) is left.
async fn wait_for_pods_gone(
    cluster: &Cluster,
    release: &Release,
    grace: Duration,
) -> Result<(), DeployError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &release.namespace);
    let params = ListParams::default().labels(&release.selector());
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        let pods = api
            .list(&params)
            .await
            .map_err(|e| cluster.error("list the release's pods", e))?;
        if pods.items.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
