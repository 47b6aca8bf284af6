//! [`job_progress`]: complete, failed with the last attempt's exit code and
//! logs, retries that are not failures, pods that can never start.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::job_progress;
use crate::rollout::failure::{Progress, Reason};
use crate::rollout::pod::Facts;

fn job(conditions: &Value, failed: i32) -> Job {
    serde_json::from_value(json!({
        "metadata": {"name": "migrate", "uid": "j1"},
        "spec": {"template": {"spec": {"containers": [{"name": "migrate", "image": "reg/app:1"}]}}},
        "status": {"conditions": conditions, "failed": failed, "active": 1},
    }))
    .expect("job")
}

fn pod(name: &str, created: &str, status: &Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "uid": name, "creationTimestamp": created,
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "migrate", "uid": "j1", "controller": true}]},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": "reg/app:1"}]},
        "status": status,
    }))
    .expect("pod")
}

fn failed_pod(name: &str, created: &str) -> Pod {
    pod(
        name,
        created,
        &json!({"phase": "Failed", "containerStatuses": [{
            "name": "migrate", "image": "reg/app:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 3, "reason": "Error"}},
        }]}),
    )
}

fn run(job: &Job, pods: &[Pod], logs: &BTreeMap<(String, String), Vec<String>>) -> Progress {
    let facts = Facts {
        events: &[],
        nodes: &[],
        logs,
        image_platforms: &BTreeMap::new(),
        now: "2026-01-01T00:00:00Z".parse().expect("now"),
        probe_grace: Duration::from_secs(20),
    };
    job_progress(job, pods, &facts)
}

#[test]
fn complete_is_done() {
    let complete = json!([{"type": "Complete", "status": "True"}]);
    assert_eq!(
        run(&job(&complete, 0), &[], &BTreeMap::new()),
        Progress::Done
    );
}

#[test]
fn a_failed_job_reports_its_last_attempt_with_logs() {
    let failed = json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                         "message": "Job has reached the specified backoff limit"}]);
    let pods = [
        failed_pod("migrate-a", "2026-01-01T00:00:00Z"),
        failed_pod("migrate-b", "2026-01-01T00:00:10Z"),
    ];
    let mut logs = BTreeMap::new();
    logs.insert(
        ("migrate-b".to_owned(), "migrate".to_owned()),
        vec!["relation \"users\" already exists".to_owned()],
    );
    let Progress::Failed(f) = run(&job(&failed, 2), &pods, &logs) else {
        panic!("expected a failure");
    };
    assert_eq!(f.reason, Reason::JobFailed);
    assert_eq!(f.object, "Job/migrate");
    assert_eq!(
        f.message,
        "the Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    );
    assert_eq!(f.pod.as_deref(), Some("migrate-b"));
    assert_eq!(
        f.detail,
        [
            "last attempt: the container exited with code 3",
            "image: reg/app:1",
            "last 1 log lines:",
            "| relation \"users\" already exists",
        ]
    );
}

#[test]
fn a_failed_attempt_with_retries_left_is_waited_on() {
    let pods = [failed_pod("migrate-a", "2026-01-01T00:00:00Z")];
    let Progress::Waiting { what } = run(&job(&json!([]), 1), &pods, &BTreeMap::new()) else {
        panic!("expected waiting");
    };
    assert!(
        what.starts_with("the Job to complete (1 active, 1 failed): a pod failed"),
        "{what}"
    );
}

#[test]
fn a_pod_that_can_never_start_fails_the_wait() {
    let pods = [pod(
        "migrate-a",
        "2026-01-01T00:00:00Z",
        &json!({"phase": "Pending", "containerStatuses": [{
            "name": "migrate", "image": "reg/app:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ErrImagePull", "message": "Failed to pull image \"reg/app:1\": not found"}},
        }]}),
    )];
    let Progress::Failed(f) = run(&job(&json!([]), 0), &pods, &BTreeMap::new()) else {
        panic!("expected a failure");
    };
    assert_eq!(f.reason, Reason::ImagePull);
    assert_eq!(f.object, "Job/migrate");
}

#[test]
fn a_bare_pod_succeeds_or_fails_with_its_exit_code() {
    let logs = BTreeMap::new();
    let facts = Facts {
        events: &[],
        nodes: &[],
        logs: &logs,
        image_platforms: &BTreeMap::new(),
        now: "2026-01-01T00:00:00Z".parse().expect("now"),
        probe_grace: Duration::from_secs(20),
    };
    let done = pod(
        "hook",
        "2026-01-01T00:00:00Z",
        &json!({"phase": "Succeeded"}),
    );
    assert_eq!(super::pod_progress(&done, &facts), Progress::Done);
    let Progress::Failed(f) =
        super::pod_progress(&failed_pod("hook", "2026-01-01T00:00:00Z"), &facts)
    else {
        panic!("expected a failure");
    };
    assert_eq!(
        (f.object.as_str(), f.reason),
        ("Pod/hook", Reason::JobFailed)
    );
    assert_eq!(
        f.message,
        "the Pod failed: the container exited with code 3"
    );
    let running = pod("hook", "2026-01-01T00:00:00Z", &json!({"phase": "Running"}));
    assert_eq!(
        super::pod_progress(&running, &facts),
        Progress::Waiting {
            what: "the Pod to succeed".to_owned()
        }
    );
}
