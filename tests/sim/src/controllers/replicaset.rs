//! The `ReplicaSet` controller: keeps `spec.replicas` pods from the template
//! (owned by the `ReplicaSet`), deletes the surplus (unscheduled, pending and
//! not-ready ones first), and writes the replica counts into status.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{age_seconds, condition, controller_ref, key_of, list, modify, owned_by, pod_ready};
use crate::Shared;
use crate::objects::meta_str;

use super::deployment::REPLICASETS;
pub const PODS: &str = "/pods";
const COMPONENT: &str = "replicaset-controller";

pub fn sync_all(shared: &Arc<Shared>) {
    let pods = list(shared, PODS);
    for rs in list(shared, REPLICASETS) {
        if rs["metadata"].get("deletionTimestamp").is_some() {
            continue;
        }
        let uid = meta_str(&rs, "uid").unwrap_or("").to_owned();
        let ns = meta_str(&rs, "namespace").unwrap_or("");
        let owned: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| meta_str(p, "namespace") == Some(ns) && owned_by(p, &uid))
            .collect();
        sync(shared, &rs, &owned);
    }
}

fn active(pod: &Value) -> bool {
    pod["metadata"].get("deletionTimestamp").is_none()
        && !matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        )
}

/// Ready for at least `minReadySeconds`.
pub fn available(pod: &Value, min_ready: i64) -> bool {
    pod_ready(pod)
        && (min_ready == 0
            || condition(pod, "Ready")
                .is_some_and(|c| age_seconds(&c["lastTransitionTime"]) >= min_ready))
}

fn sync(shared: &Arc<Shared>, rs: &Value, pods: &[&Arc<Value>]) {
    let ns = meta_str(rs, "namespace").unwrap_or("").to_owned();
    let name = meta_str(rs, "name").unwrap_or("").to_owned();
    let uid = meta_str(rs, "uid").unwrap_or("").to_owned();
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1);
    let mut active_pods: Vec<&Arc<Value>> = pods.iter().copied().filter(|p| active(p)).collect();
    let have = i64::try_from(active_pods.len()).unwrap_or(0);
    let rt = crate::rt(shared, "v1", "Pod");
    if have < want {
        for _ in have..want {
            let template = &rs["spec"]["template"];
            let mut metadata = template["metadata"].clone();
            if !metadata.is_object() {
                metadata = json!({});
            }
            metadata["generateName"] = json!(format!("{name}-"));
            metadata["ownerReferences"] = json!([controller_ref(rs)]);
            if let Some(m) = metadata.as_object_mut() {
                m.remove("name");
                m.remove("creationTimestamp");
            }
            let pod = json!({"metadata": metadata, "spec": template["spec"]});
            match crate::api::create_object(
                shared,
                &rt,
                Some(&ns),
                pod,
                (COMPONENT, "Update"),
                false,
            ) {
                Ok(p) => super::events::record(
                    shared,
                    rs,
                    COMPONENT,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {}", meta_str(&p, "name").unwrap_or("")),
                ),
                Err(e) => {
                    super::events::record(
                        shared,
                        rs,
                        COMPONENT,
                        "Warning",
                        "FailedCreate",
                        &format!(
                            "Error creating: {}",
                            e.status()["message"].as_str().unwrap_or("")
                        ),
                    );
                    break;
                }
            }
        }
    } else if have > want {
        // Which pods go first: unscheduled, pending, not ready, newest.
        active_pods.sort_by_key(|p| {
            (
                p["spec"]["nodeName"].is_string(),
                p["status"]["phase"] == "Running",
                pod_ready(p),
                std::cmp::Reverse(meta_str(p, "creationTimestamp").unwrap_or("").to_owned()),
            )
        });
        let surplus = usize::try_from(have - want).unwrap_or(0);
        for p in active_pods.drain(..surplus) {
            if crate::api::delete_key(shared, &rt, &key_of(PODS, p), false, None, &Value::Null)
                .is_ok()
            {
                super::events::record(
                    shared,
                    rs,
                    COMPONENT,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", meta_str(p, "name").unwrap_or("")),
                );
            }
        }
    }
    let min_ready = rs["spec"]["minReadySeconds"].as_i64().unwrap_or(0);
    let count = |f: &dyn Fn(&Value) -> bool| {
        i64::try_from(active_pods.iter().filter(|p| f(p)).count()).unwrap_or(0)
    };
    let replicas = count(&|_| true);
    let ready = count(&pod_ready);
    let avail = count(&|p| available(p, min_ready));
    modify(shared, &key_of(REPLICASETS, rs), &uid, |rs| {
        let mut status = json!({
            "replicas": replicas,
            "fullyLabeledReplicas": replicas,
            "observedGeneration": rs["metadata"]["generation"],
        });
        if ready > 0 {
            status["readyReplicas"] = json!(ready);
        }
        if avail > 0 {
            status["availableReplicas"] = json!(avail);
        }
        rs["status"] = status;
    });
}
