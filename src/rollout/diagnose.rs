//! Where a Deployment's rollout stands, as a pure function of what the
//! watchers saw: the Deployment, its `ReplicaSet`s, their pods and the
//! namespace's Events (plus the [`Facts`] the waiter gathered). Success is
//! the new `ReplicaSet` fully available for the Deployment's current
//! generation; failure is the first pod of the new `ReplicaSet` that cannot
//! get there, named in the user's terms (see [`super::pod`]).
//!
//! It never fetches anything and never looks at the clock itself, so every
//! verdict is table-tested (`diagnose/tests.rs`).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use super::failure::{Progress, Reason, RolloutFailure};
use super::pod::{Facts, PodHealth, health};

/// The annotation the Deployment controller numbers revisions with.
const REVISION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller adds to its `ReplicaSet`s' templates.
const HASH_LABEL: &str = "pod-template-hash";

/// The rollout's progress; `replica_sets` and `pods` may hold other objects
/// of the namespace (only the Deployment's are read).
pub fn diagnose(
    deployment: &Deployment,
    replica_sets: &[ReplicaSet],
    pods: &[Pod],
    facts: &Facts<'_>,
) -> Progress {
    let object = object_name(deployment);
    let generation = deployment.metadata.generation.unwrap_or(0);
    let status = deployment.status.clone().unwrap_or_default();
    if status.observed_generation.unwrap_or(0) < generation {
        return waiting("the Deployment controller has not seen the new spec yet");
    }
    let conditions = status.conditions.unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
    {
        return failed(RolloutFailure {
            reason: Reason::ReplicaFailure,
            object,
            pod: None,
            container: None,
            message: format!(
                "the cluster refused to create pods: {}",
                c.message.clone().unwrap_or_default()
            ),
            detail: previous_version(deployment, replica_sets)
                .into_iter()
                .collect(),
        });
    }
    let Some(new_rs) = new_replica_set(deployment, replica_sets) else {
        return waiting("waiting for the new ReplicaSet");
    };
    let new_uid = new_rs.metadata.uid.as_deref().unwrap_or_default();
    let mut notes = Vec::new();
    for pod in pods.iter().filter(|p| controlled_by(&p.metadata, new_uid)) {
        match health(pod, &object, facts) {
            PodHealth::Fine => {}
            PodHealth::Note(note) => notes.push(note),
            PodHealth::Failed(mut failure) => {
                failure
                    .detail
                    .extend(previous_version(deployment, replica_sets));
                return Progress::Failed(failure);
            }
        }
    }
    if let Some(c) = conditions.iter().find(|c| {
        c.type_ == "Progressing"
            && c.status == "False"
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    }) {
        return failed(RolloutFailure {
            reason: Reason::Deadline,
            object,
            pod: None,
            container: None,
            message: format!(
                "progressDeadlineSeconds exceeded: {}",
                c.message.clone().unwrap_or_default()
            ),
            detail: notes
                .into_iter()
                .chain(previous_version(deployment, replica_sets))
                .collect(),
        });
    }
    let want = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let rs_status = new_rs.status.clone().unwrap_or_default();
    let rs_current =
        rs_status.observed_generation.unwrap_or(0) >= new_rs.metadata.generation.unwrap_or(0);
    let ready = rs_status.ready_replicas.unwrap_or(0);
    let available = rs_status.available_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    if rs_current
        && updated == want
        && rs_status.replicas == want
        && ready == want
        && available == want
        && total == want
    {
        return Progress::Done;
    }
    let mut what = if updated < want || available < want {
        format!("{available} of {want} new pods available")
    } else {
        let old = total - updated;
        format!("{old} old pods terminating")
    };
    if let Some(note) = notes.first() {
        what.push_str(": ");
        what.push_str(note);
    }
    waiting(&what)
}

/// `Deployment/<name>`.
pub fn object_name(deployment: &Deployment) -> String {
    format!(
        "Deployment/{}",
        deployment.metadata.name.as_deref().unwrap_or_default()
    )
}

/// A line saying the previous version still serves, when one does.
pub fn previous_version(deployment: &Deployment, replica_sets: &[ReplicaSet]) -> Option<String> {
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    let new_uid = new_replica_set(deployment, replica_sets).and_then(|r| r.metadata.uid.clone());
    replica_sets
        .iter()
        .filter(|rs| controlled_by(&rs.metadata, uid) && rs.metadata.uid != new_uid)
        .find_map(|rs| {
            let ready = rs.status.as_ref()?.ready_replicas.unwrap_or(0);
            (ready > 0).then(|| {
                format!(
                    "the previous version keeps serving: ReplicaSet {} has {ready} ready pod{}",
                    rs.metadata.name.as_deref().unwrap_or_default(),
                    if ready == 1 { "" } else { "s" }
                )
            })
        })
}

/// The `ReplicaSet` running the Deployment's current template: the one
/// whose template equals it (without the hash label), else the one with
/// the Deployment's revision.
pub fn new_replica_set<'a>(
    deployment: &Deployment,
    replica_sets: &'a [ReplicaSet],
) -> Option<&'a ReplicaSet> {
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    let template = deployment.spec.as_ref().map(|s| &s.template);
    let owned: Vec<&ReplicaSet> = replica_sets
        .iter()
        .filter(|rs| controlled_by(&rs.metadata, uid))
        .collect();
    let by_template = owned.iter().copied().find(|rs| {
        let mut t = rs.spec.as_ref().and_then(|s| s.template.clone());
        if let Some(labels) = t
            .as_mut()
            .and_then(|t| t.metadata.as_mut())
            .and_then(|m| m.labels.as_mut())
        {
            labels.remove(HASH_LABEL);
        }
        if let Some(m) = t.as_mut().and_then(|t| t.metadata.as_mut())
            && m.labels
                .as_ref()
                .is_some_and(std::collections::BTreeMap::is_empty)
        {
            m.labels = None;
        }
        t.as_ref() == template
    });
    by_template.or_else(|| {
        let revision = deployment.metadata.annotations.as_ref()?.get(REVISION)?;
        owned.into_iter().find(|rs| {
            rs.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                == Some(revision)
        })
    })
}

/// Whether `meta`'s controller ownerReference has `uid`.
pub fn controlled_by(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    uid: &str,
) -> bool {
    !uid.is_empty()
        && meta
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.uid == uid && r.controller == Some(true))
}

fn waiting(what: &str) -> Progress {
    Progress::Waiting {
        what: what.to_owned(),
    }
}

fn failed(failure: RolloutFailure) -> Progress {
    Progress::Failed(Box::new(failure))
}

#[cfg(test)]
mod tests;
