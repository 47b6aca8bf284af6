//! The Job controller: runs a Job's pods to `completions` successes (at
//! most `parallelism` at a time), recreates failed ones with the real
//! controller's back-off (10 s doubling, capped at 6 min) until failures
//! pass `backoffLimit`, and writes status (`active`, `ready`, `succeeded`,
//! `failed`, `startTime`, `completionTime`) and the conditions `kubectl
//! wait` and Helm read: `SuccessCriteriaMet` + `Complete`, or
//! `FailureTarget` + `Failed` (`BackoffLimitExceeded`, `DeadlineExceeded`).
//!
//! Pods carry the labels the real controller gives them (`controller-uid`,
//! `job-name`, both also under `batch.kubernetes.io/`) and a controller
//! ownerReference, so deleting the Job deletes them (`gc.rs`). With
//! `restartPolicy: OnFailure` the kubelet restarts the container in place
//! and each restart counts as a failure, as in Kubernetes.

use std::sync::Arc;

use serde_json::{Value, json};

use super::replicaset::PODS;
use super::{
    age_seconds, condition, controller_ref, key_of, list, modify, owned_by, set_condition,
};
use crate::Shared;
use crate::objects::{self, meta_str};

pub const JOBS: &str = "batch/jobs";
const COMPONENT: &str = "job-controller";
/// The real controller's pod re-creation back-off after a failure.
const BACKOFF_BASE: i64 = 10;
const BACKOFF_MAX: i64 = 360;

pub fn sync_all(shared: &Arc<Shared>) {
    let pods = list(shared, PODS);
    for job in list(shared, JOBS) {
        if job["metadata"].get("deletionTimestamp").is_some() || job["spec"]["suspend"] == true {
            continue;
        }
        let uid = meta_str(&job, "uid").unwrap_or("");
        let ns = meta_str(&job, "namespace").unwrap_or("");
        let owned: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| meta_str(p, "namespace") == Some(ns) && owned_by(p, uid))
            .collect();
        sync(shared, &job, &owned);
    }
}

fn finished(job: &Value) -> bool {
    ["Complete", "Failed"]
        .iter()
        .any(|k| condition(job, k).is_some_and(|c| c["status"] == "True"))
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

fn sync(shared: &Arc<Shared>, job: &Value, pods: &[&Arc<Value>]) {
    let name = meta_str(job, "name").unwrap_or("").to_owned();
    let active: Vec<&Arc<Value>> = pods
        .iter()
        .copied()
        .filter(|p| {
            p["metadata"].get("deletionTimestamp").is_none()
                && !matches!(phase(p), "Succeeded" | "Failed")
        })
        .collect();
    if finished(job) {
        // A finished Job keeps no running pods (a Failed one stops them).
        delete_pods(shared, &active);
        return;
    }
    let count = |p: &str| i64::try_from(pods.iter().filter(|x| phase(x) == p).count()).unwrap_or(0);
    let succeeded = count("Succeeded");
    let failed_pods = count("Failed");
    // OnFailure restarts in place: each restart is a failure for backoffLimit.
    let restarts: i64 = if job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure" {
        active.iter().map(|p| restart_count(p)).sum()
    } else {
        0
    };
    let failures = failed_pods + restarts;
    let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
    let parallelism = job["spec"]["parallelism"].as_i64().unwrap_or(1);
    let backoff_limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let started = job["status"]["startTime"].clone();
    let deadline = job["spec"]["activeDeadlineSeconds"].as_i64();
    let outcome = if succeeded >= completions {
        Some(Ok(()))
    } else if failures > backoff_limit {
        Some(Err((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        )))
    } else if deadline.is_some_and(|d| started.is_string() && age_seconds(&started) >= d) {
        Some(Err((
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        )))
    } else {
        None
    };
    let mut created = 0;
    if outcome.is_none() {
        let want = parallelism.min(completions - succeeded);
        let have = i64::try_from(active.len()).unwrap_or(0);
        if have < want && backoff_over(pods, failed_pods) {
            for _ in have..want {
                if !create_pod(shared, job, &name) {
                    break;
                }
                created += 1;
            }
        }
    } else {
        delete_pods(shared, &active);
    }
    let ready = i64::try_from(active.iter().filter(|p| super::pod_ready(p)).count()).unwrap_or(0);
    let active_count = if outcome.is_some() {
        0
    } else {
        i64::try_from(active.len()).unwrap_or(0) + created
    };
    let counts = [
        ("active", active_count),
        ("succeeded", succeeded),
        ("failed", failed_pods),
    ];
    write_status(shared, job, &counts, ready, outcome);
    match outcome {
        Some(Ok(())) => super::events::record(
            shared,
            job,
            COMPONENT,
            "Normal",
            "Completed",
            "Job completed",
        ),
        Some(Err((reason, message))) => {
            super::events::record(shared, job, COMPONENT, "Warning", reason, message);
        }
        None => {}
    }
}

type Outcome = Option<Result<(), (&'static str, &'static str)>>;

fn write_status(
    shared: &Arc<Shared>,
    job: &Value,
    counts: &[(&str, i64)],
    ready: i64,
    outcome: Outcome,
) {
    let uid = meta_str(job, "uid").unwrap_or("").to_owned();
    let now = objects::now();
    modify(shared, &key_of(JOBS, job), &uid, |j| {
        if !j["status"].is_object() {
            j["status"] = json!({});
        }
        let st = &mut j["status"];
        if st.get("startTime").is_none() {
            st["startTime"] = json!(now);
        }
        for (field, n) in counts {
            set_count(st, field, *n);
        }
        st["ready"] = json!(ready);
        st["terminating"] = json!(0);
        st["uncountedTerminatedPods"] = json!({});
        match outcome {
            Some(Ok(())) => {
                st["completionTime"] = json!(now);
                set_condition(
                    j,
                    cond(
                        "SuccessCriteriaMet",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                    ),
                );
                set_condition(
                    j,
                    cond(
                        "Complete",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods",
                    ),
                );
            }
            Some(Err((reason, message))) => {
                set_condition(j, cond("FailureTarget", reason, message));
                set_condition(j, cond("Failed", reason, message));
            }
            None => {}
        }
    });
}

fn cond(kind: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": objects::now(),
    })
}

/// Counts are `omitempty` in the real type: zero is absent.
fn set_count(status: &mut Value, field: &str, n: i64) {
    if n > 0 {
        status[field] = json!(n);
    } else if let Some(m) = status.as_object_mut() {
        m.remove(field);
    }
}

fn restart_count(pod: &Value) -> i64 {
    pod["status"]["containerStatuses"]
        .as_array()
        .map_or(0, |s| {
            s.iter().filter_map(|c| c["restartCount"].as_i64()).sum()
        })
}

/// Whether the back-off after the newest failed pod has passed.
fn backoff_over(pods: &[&Arc<Value>], failed: i64) -> bool {
    if failed == 0 {
        return true;
    }
    let newest_failure = pods
        .iter()
        .filter(|p| phase(p) == "Failed")
        .map(|p| finished_at(p))
        .min_by_key(age_seconds)
        .unwrap_or(Value::Null);
    let shift = u32::try_from(failed - 1).unwrap_or(0).min(6);
    let delay = (BACKOFF_BASE << shift).min(BACKOFF_MAX);
    age_seconds(&newest_failure) >= delay
}

/// When a failed pod's container ended (its creation when unknown).
fn finished_at(pod: &Value) -> Value {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find_map(|c| c["state"]["terminated"]["finishedAt"].as_str())
        })
        .map_or_else(
            || pod["metadata"]["creationTimestamp"].clone(),
            |t| json!(t),
        )
}

fn create_pod(shared: &Arc<Shared>, job: &Value, name: &str) -> bool {
    let ns = meta_str(job, "namespace").unwrap_or("").to_owned();
    let uid = meta_str(job, "uid").unwrap_or("");
    let template = &job["spec"]["template"];
    let mut metadata = template["metadata"].clone();
    if !metadata.is_object() {
        metadata = json!({});
    }
    if !metadata["labels"].is_object() {
        metadata["labels"] = json!({});
    }
    for (k, v) in [
        ("controller-uid", uid),
        ("batch.kubernetes.io/controller-uid", uid),
        ("job-name", name),
        ("batch.kubernetes.io/job-name", name),
    ] {
        metadata["labels"][k] = json!(v);
    }
    metadata["generateName"] = json!(format!("{name}-"));
    metadata["ownerReferences"] = json!([controller_ref(job)]);
    if let Some(m) = metadata.as_object_mut() {
        m.remove("name");
        m.remove("creationTimestamp");
    }
    let pod = json!({"metadata": metadata, "spec": template["spec"]});
    let rt = crate::rt(shared, "v1", "Pod");
    match crate::api::create_object(shared, &rt, Some(&ns), pod, (COMPONENT, "Update"), false) {
        Ok(p) => {
            let message = format!("Created pod: {}", meta_str(&p, "name").unwrap_or(""));
            super::events::record(
                shared,
                job,
                COMPONENT,
                "Normal",
                "SuccessfulCreate",
                &message,
            );
            true
        }
        Err(e) => {
            let message = format!(
                "Error creating: {}",
                e.status()["message"].as_str().unwrap_or("")
            );
            super::events::record(shared, job, COMPONENT, "Warning", "FailedCreate", &message);
            false
        }
    }
}

fn delete_pods(shared: &Arc<Shared>, pods: &[&Arc<Value>]) {
    let rt = crate::rt(shared, "v1", "Pod");
    for p in pods {
        let _ = crate::api::delete_key(shared, &rt, &key_of(PODS, p), false, None, &Value::Null);
    }
}
