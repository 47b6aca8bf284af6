//! The Deployment controller: one `ReplicaSet` per pod template (named and
//! labelled with its `pod-template-hash`), rolling updates honouring
//! `maxSurge`/`maxUnavailable` (or Recreate), revision annotations for
//! `kubectl rollout history/undo`, and the status and conditions
//! `kubectl rollout status` and kstatus read.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{
    condition, controller_ref, int_or_percent, key_of, list, modify, owned_by, set_condition,
};
use crate::Shared;
use crate::objects::{self, meta_str};

pub const DEPLOYMENTS: &str = "apps/deployments";
pub const REPLICASETS: &str = "apps/replicasets";
const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";
const COMPONENT: &str = "deployment-controller";

pub fn sync_all(shared: &Arc<Shared>) {
    let rss = list(shared, REPLICASETS);
    for d in list(shared, DEPLOYMENTS) {
        if d["metadata"].get("deletionTimestamp").is_some() {
            continue;
        }
        let uid = meta_str(&d, "uid").unwrap_or("").to_owned();
        let ns = meta_str(&d, "namespace").unwrap_or("");
        let owned: Vec<Arc<Value>> = rss
            .iter()
            .filter(|rs| meta_str(rs, "namespace") == Some(ns) && owned_by(rs, &uid))
            .cloned()
            .collect();
        sync(shared, &d, owned);
    }
}

/// `pod-template-hash`: FNV-32a of the template (and collision count),
/// encoded as the real controller's `SafeEncodeString` does.
pub fn template_hash(template: &Value, collisions: i64) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    let text = format!(
        "{template}{}",
        if collisions > 0 {
            collisions.to_string()
        } else {
            String::new()
        }
    );
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// The template of a `ReplicaSet` without its `pod-template-hash` label.
fn template_without_hash(rs: &Value) -> Value {
    let mut t = rs["spec"]["template"].clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH);
    }
    normalize(&t)
}

/// Templates compare without empty label maps and creationTimestamp nulls.
fn normalize(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(md) = t["metadata"].as_object_mut() {
        md.remove("creationTimestamp");
        md.retain(|_, v| !(v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty)));
    }
    t
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn spec_replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1)
}

fn status_i(obj: &Value, field: &str) -> i64 {
    obj["status"][field].as_i64().unwrap_or(0)
}

#[allow(clippy::too_many_lines)]
fn sync(shared: &Arc<Shared>, d: &Value, mut rss: Vec<Arc<Value>>) {
    let name = meta_str(d, "name").unwrap_or("").to_owned();
    let ns = meta_str(d, "namespace").unwrap_or("").to_owned();
    let uid = meta_str(d, "uid").unwrap_or("").to_owned();
    let template = normalize(&d["spec"]["template"]);
    let replicas = spec_replicas(d);
    let strategy = &d["spec"]["strategy"];
    let recreate = strategy["type"] == "Recreate";
    let mut surge = int_or_percent(
        &strategy["rollingUpdate"]["maxSurge"],
        replicas,
        true,
        "25%",
    );
    let mut unavailable = int_or_percent(
        &strategy["rollingUpdate"]["maxUnavailable"],
        replicas,
        false,
        "25%",
    );
    if recreate {
        surge = 0;
        unavailable = replicas;
    } else if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    let paused = d["spec"]["paused"] == true;
    rss.sort_by_key(|rs| {
        (
            revision(rs),
            meta_str(rs, "creationTimestamp").unwrap_or("").to_owned(),
        )
    });
    let max_revision = rss.iter().map(|rs| revision(rs)).max().unwrap_or(0);
    let mut created_new = false;
    let mut scaled = false;
    let new_index = rss
        .iter()
        .position(|rs| template_without_hash(rs) == template);
    let new_rs: Option<Value> = match new_index {
        Some(i) => {
            let rs = rss.remove(i);
            if revision(&rs) < max_revision || revision(&rs) == 0 {
                let key = key_of(REPLICASETS, &rs);
                let rs_uid = meta_str(&rs, "uid").unwrap_or("").to_owned();
                let next = (max_revision + 1).to_string();
                modify(shared, &key, &rs_uid, |rs| {
                    objects::meta_mut(rs)
                        .entry("annotations")
                        .or_insert_with(|| json!({}))[REVISION] = json!(next);
                })
                .or_else(|| Some((*rs).clone()))
            } else {
                Some((*rs).clone())
            }
        }
        None if paused => None,
        None => {
            let collisions = d["status"]["collisionCount"].as_i64().unwrap_or(0);
            let hash = template_hash(&template, collisions);
            let mut t = d["spec"]["template"].clone();
            t["metadata"]["labels"][HASH] = json!(hash);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"][HASH] = json!(hash);
            let mut labels = t["metadata"]["labels"].clone();
            labels[HASH] = json!(hash);
            let old_total: i64 = rss.iter().map(|rs| spec_replicas(rs)).sum();
            let initial = if recreate {
                0
            } else {
                (replicas + surge - old_total).clamp(0, replicas)
            };
            let rs = json!({
                "metadata": {
                    "name": format!("{name}-{hash}"),
                    "labels": labels,
                    "annotations": {
                        REVISION: (max_revision + 1).to_string(),
                        "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                        "deployment.kubernetes.io/max-replicas": (replicas + surge).to_string(),
                    },
                    "ownerReferences": [controller_ref(d)],
                },
                "spec": {
                    "replicas": initial,
                    "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                    "selector": selector,
                    "template": t,
                },
            });
            let rt = crate::rt(shared, "apps/v1", "ReplicaSet");
            let created =
                crate::api::create_object(shared, &rt, Some(&ns), rs, (COMPONENT, "Update"), false);
            if let Ok(rs) = created {
                created_new = true;
                if initial > 0 {
                    super::events::record(
                        shared,
                        d,
                        COMPONENT,
                        "Normal",
                        "ScalingReplicaSet",
                        &format!(
                            "Scaled up replica set {} from 0 to {initial}",
                            meta_str(&rs, "name").unwrap_or("")
                        ),
                    );
                }
                Some(rs)
            } else {
                // A name collision with a ReplicaSet this Deployment does
                // not own: bump collisionCount, as the real controller does.
                let key = key_of(DEPLOYMENTS, d);
                modify(shared, &key, &uid, |d| {
                    d["status"]["collisionCount"] = json!(collisions + 1);
                });
                return;
            }
        }
    };
    let olds = rss;
    if !paused && let Some(new) = &new_rs {
        let mut scale = |rs: &Value, to: i64| {
            let from = spec_replicas(rs);
            if from == to {
                return;
            }
            let key = key_of(REPLICASETS, rs);
            let rs_uid = meta_str(rs, "uid").unwrap_or("").to_owned();
            modify(shared, &key, &rs_uid, |rs| {
                rs["spec"]["replicas"] = json!(to);
                let g = rs["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                let md = objects::meta_mut(rs);
                md.insert("generation".into(), json!(g));
                let ann = md.entry("annotations").or_insert_with(|| json!({}));
                ann["deployment.kubernetes.io/desired-replicas"] = json!(replicas.to_string());
                ann["deployment.kubernetes.io/max-replicas"] =
                    json!((replicas + surge).to_string());
            });
            let (verb, _) = if to > from { ("up", 0) } else { ("down", 0) };
            super::events::record(
                shared,
                d,
                COMPONENT,
                "Normal",
                "ScalingReplicaSet",
                &format!(
                    "Scaled {verb} replica set {} from {from} to {to}",
                    meta_str(rs, "name").unwrap_or("")
                ),
            );
            scaled = true;
        };
        let old_active: i64 = olds.iter().map(|rs| spec_replicas(rs)).sum();
        if recreate {
            if old_active > 0 {
                for rs in &olds {
                    scale(rs, 0);
                }
            } else if olds.iter().all(|rs| status_i(rs, "replicas") == 0) {
                scale(new, replicas);
            }
        } else {
            let mut new_spec = spec_replicas(new);
            let total = old_active + new_spec;
            if new_spec < replicas {
                let up = (replicas + surge - total).min(replicas - new_spec);
                if up > 0 {
                    scale(new, new_spec + up);
                    new_spec += up;
                }
            } else if new_spec > replicas {
                scale(new, replicas);
                new_spec = replicas;
            }
            let min_available = replicas - unavailable;
            let new_unavailable = (new_spec - status_i(new, "availableReplicas")).max(0);
            let all = old_active + new_spec;
            let mut max_scaled_down = all - min_available - new_unavailable;
            let mut remaining: Vec<(Value, i64)> = olds
                .iter()
                .map(|rs| ((**rs).clone(), spec_replicas(rs)))
                .collect();
            // Old pods that are not available go first: that costs no availability.
            for (rs, spec) in &mut remaining {
                if max_scaled_down <= 0 {
                    break;
                }
                let unhealthy = (*spec - status_i(rs, "availableReplicas")).max(0);
                let n = unhealthy.min(max_scaled_down);
                if n > 0 {
                    scale(rs, *spec - n);
                    *spec -= n;
                    max_scaled_down -= n;
                }
            }
            let available: i64 = olds
                .iter()
                .map(|rs| status_i(rs, "availableReplicas"))
                .sum::<i64>()
                + status_i(new, "availableReplicas");
            let mut down = available - min_available;
            for (rs, spec) in &mut remaining {
                if down <= 0 {
                    break;
                }
                let n = (*spec).min(down);
                if n > 0 {
                    scale(rs, *spec - n);
                    *spec -= n;
                    down -= n;
                }
            }
        }
        // Revision history: old ReplicaSets beyond revisionHistoryLimit go.
        let limit = d["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10);
        let idle: Vec<&Arc<Value>> = olds
            .iter()
            .filter(|rs| spec_replicas(rs) == 0 && status_i(rs, "replicas") == 0)
            .collect();
        let excess = i64::try_from(idle.len()).unwrap_or(0) - limit;
        for rs in idle
            .iter()
            .take(usize::try_from(excess.max(0)).unwrap_or(0))
        {
            let rt = crate::rt(shared, "apps/v1", "ReplicaSet");
            let _ = crate::api::delete_key(
                shared,
                &rt,
                &key_of(REPLICASETS, rs),
                false,
                None,
                &Value::Null,
            );
        }
    }
    // Status, from the ReplicaSets as they are now.
    let current: Vec<Arc<Value>> = list(shared, REPLICASETS)
        .into_iter()
        .filter(|rs| meta_str(rs, "namespace") == Some(ns.as_str()) && owned_by(rs, &uid))
        .collect();
    let new_name = new_rs
        .as_ref()
        .and_then(|rs| meta_str(rs, "name"))
        .unwrap_or("")
        .to_owned();
    let new_now = current
        .iter()
        .find(|rs| meta_str(rs, "name") == Some(new_name.as_str()));
    let sum = |f: &str| current.iter().map(|rs| status_i(rs, f)).sum::<i64>();
    let total = sum("replicas");
    let updated = new_now.map_or(0, |rs| status_i(rs, "replicas"));
    let ready = sum("readyReplicas");
    let available = sum("availableReplicas");
    let new_revision = new_now.map(|rs| revision(rs));
    let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
    let key = key_of(DEPLOYMENTS, d);
    modify(shared, &key, &uid, |d| {
        if let Some(r) = new_revision {
            objects::meta_mut(d)
                .entry("annotations")
                .or_insert_with(|| json!({}))[REVISION] = json!(r.to_string());
        }
        let old_status = d["status"].clone();
        let mut status = if old_status.is_object() {
            old_status.clone()
        } else {
            json!({})
        };
        status["observedGeneration"] = d["metadata"]["generation"].clone();
        status["replicas"] = json!(total);
        status["updatedReplicas"] = json!(updated);
        status["readyReplicas"] = json!(ready);
        status["availableReplicas"] = json!(available);
        status["unavailableReplicas"] = json!((total.max(replicas) - available).max(0));
        for f in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ] {
            if status[f] == 0
                && let Some(m) = status.as_object_mut()
            {
                m.remove(f);
            }
        }
        let progressed = scaled
            || created_new
            || [
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
            ]
            .iter()
            .any(|f| status[*f] != old_status[*f]);
        d["status"] = status;
        let now = objects::now();
        if available >= replicas - unavailable {
            set_condition(
                d,
                json!({"type": "Available", "status": "True", "lastUpdateTime": null,
                "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}),
            );
        } else {
            set_condition(
                d,
                json!({"type": "Available", "status": "False", "lastUpdateTime": null,
                "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."}),
            );
        }
        let complete =
            updated == replicas && available >= replicas && total == replicas && new_rs.is_some();
        let prev = condition(d, "Progressing").cloned();
        let prev_reason = prev
            .as_ref()
            .and_then(|c| c["reason"].as_str())
            .unwrap_or("")
            .to_owned();
        if paused {
            set_condition(
                d,
                json!({"type": "Progressing", "status": "Unknown", "lastUpdateTime": null,
                "reason": "DeploymentPaused", "message": "Deployment is paused"}),
            );
        } else if complete {
            set_condition(
                d,
                json!({"type": "Progressing", "status": "True", "lastUpdateTime": if prev_reason == "NewReplicaSetAvailable" { Value::Null } else { json!(now) },
                "reason": "NewReplicaSetAvailable", "message": format!("ReplicaSet \"{new_name}\" has successfully progressed.")}),
            );
        } else if created_new {
            set_condition(
                d,
                json!({"type": "Progressing", "status": "True", "lastUpdateTime": now,
                "reason": "NewReplicaSetCreated", "message": format!("Created new replica set \"{new_name}\"")}),
            );
        } else if progressed
            || prev.is_none()
            || prev_reason == "NewReplicaSetAvailable"
            || prev_reason == "DeploymentPaused"
        {
            set_condition(
                d,
                json!({"type": "Progressing", "status": "True", "lastUpdateTime": now,
                "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet \"{new_name}\" is progressing.")}),
            );
        } else if prev_reason != "ProgressDeadlineExceeded"
            && prev
                .as_ref()
                .is_some_and(|c| super::age_seconds(&c["lastUpdateTime"]) > deadline)
        {
            set_condition(
                d,
                json!({"type": "Progressing", "status": "False", "lastUpdateTime": now,
                "reason": "ProgressDeadlineExceeded", "message": format!("ReplicaSet \"{new_name}\" has timed out progressing.")}),
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hashes_use_the_safe_alphabet_and_follow_the_template() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}});
        let b = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x:2"}]}});
        let ha = template_hash(&a, 0);
        assert_eq!(ha, template_hash(&a, 0));
        assert_ne!(ha, template_hash(&b, 0));
        assert_ne!(ha, template_hash(&a, 1));
        assert!(
            ha.chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
            "{ha}"
        );
        assert!((8..=10).contains(&ha.len()), "{ha}");
    }

    #[test]
    fn surge_rounds_up_and_unavailable_down() {
        use super::super::int_or_percent;
        assert_eq!(int_or_percent(&Value::Null, 3, true, "25%"), 1);
        assert_eq!(int_or_percent(&Value::Null, 3, false, "25%"), 0);
        assert_eq!(int_or_percent(&json!("50%"), 5, true, "25%"), 3);
        assert_eq!(int_or_percent(&json!("50%"), 5, false, "25%"), 2);
        assert_eq!(int_or_percent(&json!(2), 5, false, "25%"), 2);
    }
}
