//! Every verdict of [`diagnose`] from objects as a cluster reports them.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::diagnose;
use crate::rollout::failure::{Progress, Reason, RolloutFailure};
use crate::rollout::pod::Facts;

const NOW: &str = "2026-01-01T00:10:00Z";

fn template(image: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{
            "name": "app", "image": image,
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1},
        }]},
    })
}

/// Deployment `web` (uid d1) at generation 2, three replicas, image v2.
fn deployment(observed: i64, status: &Value) -> Deployment {
    let mut status = status.clone();
    status["observedGeneration"] = json!(observed);
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "dev", "uid": "d1", "generation": 2,
                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template("reg/web:v2")},
        "status": status,
    }))
    .expect("deployment")
}

fn rs(name: &str, uid: &str, image: &str, revision: &str, status: &Value) -> ReplicaSet {
    let mut t = template(image);
    t["metadata"]["labels"]["pod-template-hash"] = json!(name);
    serde_json::from_value(json!({
        "metadata": {"name": format!("web-{name}"), "uid": uid, "generation": 1,
                     "annotations": {"deployment.kubernetes.io/revision": revision},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": t},
        "status": status,
    }))
    .expect("replicaset")
}

/// The new (`n1`, v2) and old (`o1`, v1, 3 ready) `ReplicaSet`s.
fn replica_sets(new_status: &Value) -> Vec<ReplicaSet> {
    vec![
        rs(
            "old",
            "o1",
            "reg/web:v1",
            "1",
            &json!({"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}),
        ),
        rs("new", "n1", "reg/web:v2", "2", new_status),
    ]
}

/// A pod of the new `ReplicaSet` with `status` (uid p1).
fn pod(status: &Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-new-abcde", "uid": "p1", "labels": {"app": "web"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-new", "uid": "n1", "controller": true}]},
        "spec": {"nodeName": "node1", "containers": template("reg/web:v2")["spec"]["containers"].clone(),
                 "restartPolicy": "Always"},
        "status": status,
    }))
    .expect("pod")
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({"phase": "Pending", "containerStatuses": [{
        "name": "app", "image": "reg/web:v2", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": reason, "message": message}},
    }]})
}

fn event(reason: &str, message: &str, count: i32) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": format!("e-{reason}-{count}")},
        "involvedObject": {"kind": "Pod", "name": "web-new-abcde", "uid": "p1", "fieldPath": "spec.containers{app}"},
        "reason": reason, "message": message, "count": count, "type": "Warning",
        "lastTimestamp": "2026-01-01T00:09:59Z",
    }))
    .expect("event")
}

fn node(arch: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": "node1"},
        "status": {"nodeInfo": {"architecture": arch, "operatingSystem": "linux", "bootID": "", "containerRuntimeVersion": "",
                   "kernelVersion": "", "kubeProxyVersion": "", "kubeletVersion": "", "machineID": "", "osImage": "", "systemUUID": ""}},
    }))
    .expect("node")
}

struct Case {
    deployment: Deployment,
    replica_sets: Vec<ReplicaSet>,
    pods: Vec<Pod>,
    events: Vec<Event>,
    logs: Vec<String>,
    platforms: BTreeMap<String, String>,
}

impl Case {
    fn new(pods: Vec<Pod>) -> Case {
        Case {
            deployment: deployment(
                2,
                &json!({"replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3}),
            ),
            replica_sets: replica_sets(&json!({"replicas": 1})),
            pods,
            events: Vec::new(),
            logs: Vec::new(),
            platforms: BTreeMap::new(),
        }
    }

    fn run(&self) -> Progress {
        let mut logs = BTreeMap::new();
        if !self.logs.is_empty() {
            logs.insert(
                ("web-new-abcde".to_owned(), "app".to_owned()),
                self.logs.clone(),
            );
        }
        let nodes = [node("amd64")];
        let facts = Facts {
            events: &self.events,
            nodes: &nodes,
            logs: &logs,
            image_platforms: &self.platforms,
            now: NOW.parse::<Timestamp>().expect("now"),
            probe_grace: Duration::from_secs(20),
        };
        diagnose(&self.deployment, &self.replica_sets, &self.pods, &facts)
    }

    fn failure(&self) -> RolloutFailure {
        match self.run() {
            Progress::Failed(f) => *f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

const OLD_SERVES: &str = "the previous version keeps serving: ReplicaSet web-old has 3 ready pods";

#[test]
fn done_when_the_new_replica_set_is_fully_available_for_the_current_generation() {
    let mut case = Case::new(Vec::new());
    case.deployment = deployment(
        2,
        &json!({"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}),
    );
    let full =
        json!({"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "observedGeneration": 1});
    case.replica_sets = replica_sets(&full);
    assert_eq!(case.run(), Progress::Done);

    // The same counts for an older generation are not the new spec's.
    case.deployment = deployment(
        1,
        &json!({"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}),
    );
    assert!(
        matches!(case.run(), Progress::Waiting { what } if what.contains("not seen the new spec"))
    );

    // Ready but not yet available (minReadySeconds) is not done.
    case.deployment = deployment(
        2,
        &json!({"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 2}),
    );
    case.replica_sets = replica_sets(
        &json!({"replicas": 3, "readyReplicas": 3, "availableReplicas": 2, "observedGeneration": 1}),
    );
    assert_eq!(
        case.run(),
        Progress::Waiting {
            what: "2 of 3 new pods available".to_owned()
        }
    );

    // Old pods still counted: waiting for them to go.
    case.deployment = deployment(
        2,
        &json!({"replicas": 4, "updatedReplicas": 3, "readyReplicas": 4, "availableReplicas": 4}),
    );
    case.replica_sets = replica_sets(&full);
    assert_eq!(
        case.run(),
        Progress::Waiting {
            what: "1 old pods terminating".to_owned()
        }
    );
}

#[test]
fn a_new_replica_set_is_found_by_template_then_by_revision() {
    let mut case = Case::new(Vec::new());
    case.replica_sets.pop();
    assert_eq!(
        case.run(),
        Progress::Waiting {
            what: "waiting for the new ReplicaSet".to_owned()
        }
    );
    // A server that defaulted the template differently: the revision decides.
    let mut other = rs("new", "n1", "reg/web:v2", "2", &json!({"replicas": 1}));
    other
        .spec
        .as_mut()
        .and_then(|s| s.template.as_mut())
        .and_then(|t| t.spec.as_mut())
        .expect("spec")
        .dns_policy = Some("ClusterFirst".to_owned());
    case.replica_sets.push(other);
    case.pods = vec![pod(&waiting("ImagePullBackOff", "Back-off pulling image"))];
    assert_eq!(case.failure().reason, Reason::ImagePull);
}

#[test]
fn image_pull_failures_name_the_image_the_registry_and_its_message() {
    let mut case = Case::new(vec![pod(&waiting(
        "ImagePullBackOff",
        "Back-off pulling image \"reg/web:v2\"",
    ))]);
    case.events = vec![event(
        "Failed",
        "Failed to pull image \"reg/web:v2\": manifest unknown: manifest unknown",
        2,
    )];
    // `reg` has no dot or port: a Docker Hub namespace.
    let f = case.failure();
    assert_eq!(f.reason, Reason::ImagePull);
    assert_eq!(f.object, "Deployment/web");
    assert_eq!(f.pod.as_deref(), Some("web-new-abcde"));
    assert_eq!(f.container.as_deref(), Some("app"));
    assert_eq!(f.message, "cannot pull image reg/web:v2 (ImagePullBackOff)");
    assert_eq!(
        f.detail,
        [
            "image: reg/web:v2",
            "registry: docker.io",
            "registry said: manifest unknown: manifest unknown",
            OLD_SERVES,
        ]
    );
    // ErrImagePull without an event: the waiting message is the registry's.
    let case = Case::new(vec![pod(&waiting(
        "ErrImagePull",
        "Failed to pull image \"reg/web:v2\": unauthorized",
    ))]);
    assert!(
        case.failure()
            .detail
            .contains(&"registry said: unauthorized".to_owned())
    );
    assert_eq!(
        super::super::pod::registry_of("127.0.0.1:5000/a/b:1"),
        "127.0.0.1:5000"
    );
    assert_eq!(super::super::pod::registry_of("ghcr.io/a/b"), "ghcr.io");
    assert_eq!(super::super::pod::registry_of("busybox"), "docker.io");
}

fn crashed(exit: i32, reason: &str) -> Value {
    json!({"phase": "Running", "containerStatuses": [{
        "name": "app", "image": "reg/web:v2", "imageID": "", "ready": false, "restartCount": 2,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": exit, "reason": reason}},
    }]})
}

#[test]
fn crash_loops_give_the_exit_code_and_the_last_log_lines() {
    let mut case = Case::new(vec![pod(&crashed(3, "Error"))]);
    case.logs = vec!["starting".to_owned(), "panic: no DATABASE_URL".to_owned()];
    let f = case.failure();
    assert_eq!(f.reason, Reason::CrashLoop);
    assert_eq!(
        f.message,
        "the container exited with code 3 (CrashLoopBackOff, restarted 2 times)"
    );
    assert_eq!(
        f.detail,
        [
            "image: reg/web:v2",
            "last 2 log lines:",
            "| starting",
            "| panic: no DATABASE_URL",
            OLD_SERVES
        ]
    );
    // No logs (a server without the log subresource): said so.
    let case = Case::new(vec![pod(&crashed(137, "OOMKilled"))]);
    let f = case.failure();
    assert!(
        f.message.contains("code 137 (OOMKilled: out of memory)"),
        "{}",
        f.message
    );
    assert!(f.detail.contains(&"no log lines".to_owned()));
}

#[test]
fn exec_format_errors_name_both_architectures() {
    let mut case = Case::new(vec![pod(&crashed(1, "Error"))]);
    case.logs = vec!["exec /app: exec format error".to_owned()];
    case.platforms
        .insert("reg/web:v2".to_owned(), "linux/arm64".to_owned());
    let f = case.failure();
    assert_eq!(f.reason, Reason::Architecture);
    assert_eq!(
        f.message,
        "the image is built for linux/arm64 but the node runs linux/amd64 (exec format error)"
    );
    assert!(
        f.detail
            .contains(&"the container said: exec /app: exec format error".to_owned())
    );
    // Known platforms that differ are enough, even without logs.
    let mut case = Case::new(vec![pod(&crashed(1, "Error"))]);
    case.platforms
        .insert("reg/web:v2".to_owned(), "linux/arm64".to_owned());
    let f = case.failure();
    assert_eq!(f.reason, Reason::Architecture);
    assert!(
        f.detail
            .contains(&"the container said: exit code 1, no log lines".to_owned()),
        "{f}"
    );
    // The same platform is an ordinary crash.
    let mut case = Case::new(vec![pod(&crashed(1, "Error"))]);
    case.platforms
        .insert("reg/web:v2".to_owned(), "linux/amd64".to_owned());
    assert_eq!(case.failure().reason, Reason::CrashLoop);
    // containerd reports it as a start error.
    let case = Case::new(vec![pod(&waiting(
        "RunContainerError",
        "failed to create containerd task: exec /app: exec format error",
    ))]);
    let f = case.failure();
    assert_eq!(f.reason, Reason::Architecture);
    assert!(
        f.message
            .contains("another architecture but the node runs linux/amd64"),
        "{}",
        f.message
    );
}

#[test]
fn container_config_errors_fail_at_once() {
    let message = "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root";
    let case = Case::new(vec![pod(&waiting("CreateContainerConfigError", message))]);
    let f = case.failure();
    assert_eq!(f.reason, Reason::ContainerConfig);
    assert_eq!(f.message, format!("CreateContainerConfigError: {message}"));
}

#[test]
fn unschedulable_pods_say_why() {
    let mut case = Case::new(vec![pod(&json!({"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
    }]}))]);
    let f = case.failure();
    assert_eq!(f.reason, Reason::Unschedulable);
    assert_eq!(
        f.message,
        "no node can run the pod: 0/1 nodes are available: 1 Insufficient cpu."
    );
    case.events = vec![event(
        "FailedScheduling",
        "0/1 nodes are available: 1 Insufficient memory.",
        1,
    )];
    assert!(case.failure().message.ends_with("1 Insufficient memory."));
}

fn running_unready(started: &str) -> Value {
    json!({"phase": "Running", "containerStatuses": [{
        "name": "app", "image": "reg/web:v2", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"running": {"startedAt": started}},
    }]})
}

#[test]
fn a_failing_readiness_probe_is_a_note_then_a_failure_after_the_grace() {
    let probe = event(
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 404",
        7,
    );
    // Running for 5 s: still a note.
    let mut case = Case::new(vec![pod(&running_unready("2026-01-01T00:09:55Z"))]);
    case.events = vec![probe.clone()];
    assert_eq!(
        case.run(),
        Progress::Waiting {
            what: "0 of 3 new pods available: readiness probe failing: Readiness probe failed: HTTP probe failed with statuscode: 404".to_owned()
        }
    );
    // Running for 30 s, past the 20 s grace: a failure with what it got.
    let mut case = Case::new(vec![pod(&running_unready("2026-01-01T00:09:30Z"))]);
    case.events = vec![probe];
    let f = case.failure();
    assert_eq!(f.reason, Reason::ReadinessProbe);
    assert_eq!(
        f.message,
        "the readiness probe still fails after 30s: Readiness probe failed: HTTP probe failed with statuscode: 404"
    );
    assert_eq!(
        f.detail,
        ["probe: GET http:8080/healthz", "failed 7 times", OLD_SERVES]
    );
    // Without a failing probe event an unready container is just starting.
    let case = Case::new(vec![pod(&running_unready("2026-01-01T00:09:30Z"))]);
    assert_eq!(
        case.run(),
        Progress::Waiting {
            what: "0 of 3 new pods available".to_owned()
        }
    );
}

#[test]
fn the_clusters_own_verdicts_fail_the_rollout() {
    let mut case = Case::new(Vec::new());
    case.deployment = deployment(
        2,
        &json!({"conditions": [{
            "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-new\" has timed out progressing.",
        }]}),
    );
    let f = case.failure();
    assert_eq!(f.reason, Reason::Deadline);
    assert_eq!(f.detail, [OLD_SERVES]);
    case.deployment = deployment(
        2,
        &json!({"conditions": [{
            "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": "pods \"web-new-x\" is forbidden: exceeded quota",
        }]}),
    );
    let f = case.failure();
    assert_eq!(f.reason, Reason::ReplicaFailure);
    assert!(f.message.ends_with("exceeded quota"), "{}", f.message);
}

#[test]
fn pods_of_other_replica_sets_and_terminating_pods_are_not_judged() {
    let mut old = pod(&waiting("ImagePullBackOff", "x"));
    old.metadata.owner_references.as_mut().expect("refs")[0].uid = "o1".to_owned();
    let mut leaving = pod(&waiting("ImagePullBackOff", "x"));
    leaving.metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(NOW.parse().expect("time")),
    );
    let case = Case::new(vec![old, leaving]);
    assert!(matches!(case.run(), Progress::Waiting { .. }));
}

#[test]
fn a_failure_reads_as_one_message_with_its_detail_lines() {
    let case = Case::new(vec![pod(&crashed(3, "Error"))]);
    let text = crate::rollout::RolloutError::Failed(Box::new(case.failure())).to_string();
    assert_eq!(
        text,
        format!(
            "rollout failed: Deployment/web, pod web-new-abcde, container app: the container exited with code 3 (CrashLoopBackOff, restarted 2 times)\n    image: reg/web:v2\n    no log lines\n    {OLD_SERVES}"
        )
    );
}

#[test]
fn a_pod_stuck_before_its_containers_says_why_while_waiting() {
    let mut case = Case::new(vec![pod(&json!({"phase": "Pending"}))]);
    case.events = vec![event(
        "FailedMount",
        "MountVolume.SetUp failed for volume \"config\" : configmap \"web-config\" not found",
        3,
    )];
    assert_eq!(
        case.run(),
        Progress::Waiting {
            what: "0 of 3 new pods available: MountVolume.SetUp failed for volume \"config\" : configmap \"web-config\" not found".to_owned()
        }
    );
}
