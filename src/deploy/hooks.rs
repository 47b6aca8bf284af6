//! Chart hooks as Helm runs them: for one event, in weight order (then by
//! name), each hook object created fresh, waited for when it is a Job or a
//! Pod, and deleted per its `helm.sh/hook-delete-policy`
//! (`before-hook-creation` when none is given, as Helm defaults).
//!
//! Hook objects are not part of the release (Helm leaves them out of the
//! manifest, so prune never sees them); devloop marks them with
//! [`HOOK_OF_ANNOTATION`] so `down` still removes them.

use std::time::Duration;

use kube::api::{DeleteParams, DynamicObject, PostParams};
use serde_json::Value as Json;

use super::apply::{ObjectRef, identify};
use super::error::DeployError;
use super::ownership::{INSTANCE_LABEL, Release};
use super::resources::Resolver;
use crate::cluster::Cluster;
use crate::error::Error;
use crate::helm::rendered::{Hook, HookDeletePolicy, HookEvent};
use crate::rollout::{self, Update, WaitOptions};

/// Marks an object devloop created as a hook of the named release.
pub const HOOK_OF_ANNOTATION: &str = "devloop.dev/hook-of";

/// The hooks of `event`, in the order Helm runs them.
pub fn ordered(hooks: &[Hook], event: HookEvent) -> Vec<&Hook> {
    let mut selected: Vec<&Hook> = hooks.iter().filter(|h| h.events.contains(&event)).collect();
    selected.sort_by(|a, b| {
        a.weight
            .cmp(&b.weight)
            .then_with(|| a.manifest.name().cmp(b.manifest.name()))
    });
    selected
}

fn policies(hook: &Hook) -> Vec<HookDeletePolicy> {
    if hook.delete_policies.is_empty() {
        vec![HookDeletePolicy::BeforeHookCreation]
    } else {
        hook.delete_policies.clone()
    }
}

/// Runs the hooks of `event`; returns the objects it ran (`Job/migrate`).
pub async fn run(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    hooks: &[Hook],
    event: HookEvent,
    options: &WaitOptions,
    on_progress: &mut (dyn FnMut(&Update) + Send),
) -> Result<Vec<String>, Error> {
    let selected = ordered(hooks, event);
    let mut ran = Vec::new();
    for hook in &selected {
        let target = target(resolver, release, hook).await?;
        let policies = policies(hook);
        if policies.contains(&HookDeletePolicy::BeforeHookCreation) {
            delete_and_wait(cluster, resolver, &target).await?;
        }
        create(cluster, resolver, release, hook, &target, event).await?;
        if let Err(err) = wait(cluster, release, &target, options, on_progress).await {
            if policies.contains(&HookDeletePolicy::HookFailed) {
                delete_and_wait(cluster, resolver, &target).await?;
            }
            return Err(err);
        }
        ran.push(target.to_string());
    }
    for hook in &selected {
        if policies(hook).contains(&HookDeletePolicy::HookSucceeded) {
            let target = target(resolver, release, hook).await?;
            delete_and_wait(cluster, resolver, &target).await?;
        }
    }
    Ok(ran)
}

async fn target(
    resolver: &Resolver,
    release: &Release,
    hook: &Hook,
) -> Result<ObjectRef, DeployError> {
    let (api_version, kind, name) = identify(&hook.manifest.source, &hook.manifest.object)?;
    let served = resolver.resolve(&api_version, &kind).await?;
    Ok(ObjectRef {
        api_version,
        kind,
        name,
        namespace: served.namespaced.then(|| release.namespace.clone()),
    })
}

async fn create(
    cluster: &Cluster,
    resolver: &Resolver,
    release: &Release,
    hook: &Hook,
    target: &ObjectRef,
    event: HookEvent,
) -> Result<(), DeployError> {
    let mut object = hook.manifest.object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        if target.namespace.is_some() {
            meta.insert("namespace".into(), Json::from(release.namespace.as_str()));
        }
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Json::Object(serde_json::Map::new()));
        if let Some(labels) = labels.as_object_mut() {
            labels
                .entry(INSTANCE_LABEL)
                .or_insert_with(|| Json::from(release.name.as_str()));
        }
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Json::Object(serde_json::Map::new()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(HOOK_OF_ANNOTATION.into(), Json::from(release.name.as_str()));
        }
    }
    let object: DynamicObject =
        serde_json::from_value(object).map_err(|e| DeployError::Invalid {
            source_path: hook.manifest.source.clone(),
            message: e.to_string(),
        })?;
    let served = resolver.resolve(&target.api_version, &target.kind).await?;
    match target
        .api(cluster, &served)
        .create(&PostParams::default(), &object)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Err(DeployError::Hook(format!(
            "the {} hook {target} already exists (its delete policy keeps it); add `helm.sh/hook-delete-policy: before-hook-creation` or delete it",
            event.as_str()
        ))),
        Err(e) => Err(cluster
            .error(&format!("create the {} hook {target}", event.as_str()), e)
            .into()),
    }
}

/// Jobs until complete, Pods until succeeded; anything else is done once
/// created (Helm's rule).
async fn wait(
    cluster: &Cluster,
    release: &Release,
    target: &ObjectRef,
    options: &WaitOptions,
    on_progress: &mut (dyn FnMut(&Update) + Send),
) -> Result<(), Error> {
    match target.kind.as_str() {
        "Job" => {
            rollout::wait_job(
                cluster,
                &release.namespace,
                &target.name,
                options,
                on_progress,
            )
            .await?;
        }
        "Pod" => {
            rollout::job::wait_pod(
                cluster,
                &release.namespace,
                &target.name,
                options,
                on_progress,
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Deletes `target` and waits until it is gone (a hook re-created while the
/// old one still terminates would clash), up to 60 s.
pub async fn delete_and_wait(
    cluster: &Cluster,
    resolver: &Resolver,
    target: &ObjectRef,
) -> Result<(), DeployError> {
    let served = resolver.resolve(&target.api_version, &target.kind).await?;
    let api = target.api(cluster, &served);
    match api.delete(&target.name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(e) => return Err(cluster.error(&format!("delete {target}"), e).into()),
    }
    let until = tokio::time::Instant::now() + Duration::from_mins(1);
    while api
        .get_opt(&target.name)
        .await
        .map_err(|e| cluster.error(&format!("read {target}"), e))?
        .is_some()
    {
        if tokio::time::Instant::now() >= until {
            return Err(DeployError::Hook(format!(
                "{target} is still being deleted after 60s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::helm::rendered::Manifest;

    fn hook(name: &str, weight: i32, events: &[HookEvent]) -> Hook {
        Hook {
            manifest: Manifest {
                source: format!("c/templates/{name}.yaml"),
                text: String::new(),
                object: json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}}),
            },
            events: events.to_vec(),
            weight,
            delete_policies: vec![],
        }
    }

    #[test]
    fn hooks_run_by_weight_then_name_for_their_event_only() {
        let hooks = [
            hook("seed", 5, &[HookEvent::PostInstall, HookEvent::PostUpgrade]),
            hook("migrate", 0, &[HookEvent::PreUpgrade]),
            hook("backup", -5, &[HookEvent::PreUpgrade]),
            hook("also", 0, &[HookEvent::PreUpgrade, HookEvent::PreInstall]),
            hook("smoke", 0, &[HookEvent::Test]),
        ];
        let names = |event| {
            ordered(&hooks, event)
                .iter()
                .map(|h| h.manifest.name().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(HookEvent::PreUpgrade), ["backup", "also", "migrate"]);
        assert_eq!(names(HookEvent::PreInstall), ["also"]);
        assert_eq!(names(HookEvent::PostUpgrade), ["seed"]);
        assert!(names(HookEvent::PostDelete).is_empty());
        assert_eq!(
            policies(&hooks[0]),
            vec![HookDeletePolicy::BeforeHookCreation]
        );
    }
}
