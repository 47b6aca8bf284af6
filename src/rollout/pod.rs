//! One pod's health, read from its status and its Events: the pure core
//! that both the Deployment rollout and hook Jobs use. It says whether the
//! pod has failed for good (and why, in the user's terms), is worth a note
//! while waiting, or is fine. It fetches nothing: logs, nodes and image
//! platforms come in through [`Facts`].

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event, Node, Pod};
use k8s_openapi::jiff::Timestamp;

use super::failure::{Reason, RolloutFailure};

/// How many log lines a crash report shows (issue #13).
pub const LOG_LINES: usize = 20;

/// What the diagnosis knows besides the objects themselves.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// Events of the namespace (only those about a pod are read).
    pub events: &'a [Event],
    /// The cluster's nodes (for their architecture); may be empty.
    pub nodes: &'a [Node],
    /// Last log lines by (pod, container), as fetched so far.
    pub logs: &'a BTreeMap<(String, String), Vec<String>>,
    /// Image reference → its platform (`linux/arm64`), when the caller knows.
    pub image_platforms: &'a BTreeMap<String, String>,
    pub now: Timestamp,
    /// How long a running container may fail its readiness probe before the
    /// rollout fails (a slow start is not a failure).
    pub probe_grace: Duration,
}

/// One pod's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodHealth {
    Fine,
    /// Not failed yet, but worth saying while waiting.
    Note(String),
    Failed(Box<RolloutFailure>),
}

/// Waiting reasons that a retry does not fix.
const CONFIG_REASONS: &[&str] = &[
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "PreCreateHookError",
    "PreStartHookError",
];
const PULL_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// The verdict on `pod`; `object` names its owner (`Deployment/web`).
pub fn health(pod: &Pod, object: &str, facts: &Facts<'_>) -> PodHealth {
    if pod.metadata.deletion_timestamp.is_some() {
        return PodHealth::Fine;
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    let fail = |reason, container: Option<&str>, message: String, detail: Vec<String>| {
        PodHealth::Failed(Box::new(RolloutFailure {
            reason,
            object: object.to_owned(),
            pod: Some(name.clone()),
            container: container.map(str::to_owned),
            message,
            detail,
        }))
    };
    let status = pod.status.as_ref();
    if let Some(cond) = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
        .filter(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
    {
        let why = latest_event(pod, facts.events, &["FailedScheduling"])
            .and_then(|e| e.message.clone())
            .or_else(|| cond.message.clone())
            .unwrap_or_default();
        return fail(
            Reason::Unschedulable,
            None,
            format!("no node can run the pod: {why}"),
            requests(pod),
        );
    }
    let spec_containers = pod.spec.as_ref().map(|s| {
        s.init_containers
            .iter()
            .flatten()
            .chain(&s.containers)
            .collect::<Vec<_>>()
    });
    let statuses = status.into_iter().flat_map(|s| {
        s.init_container_statuses
            .iter()
            .flatten()
            .chain(s.container_statuses.iter().flatten())
    });
    let mut note = None;
    for cs in statuses {
        let spec = spec_containers
            .as_ref()
            .and_then(|c| c.iter().find(|c| c.name == cs.name).copied());
        match container_health(pod, cs, spec, facts) {
            Verdict::Fine => {}
            Verdict::Note(n) => note = note.or(Some(n)),
            Verdict::Failed(reason, message, detail) => {
                return fail(reason, Some(&cs.name), message, detail);
            }
        }
    }
    // A pod stuck before its containers (a volume that cannot mount, a
    // sandbox that cannot start) may still recover: say why it waits.
    let stuck = latest_event(
        pod,
        facts.events,
        &["FailedMount", "FailedCreatePodSandBox"],
    )
    .filter(|_| pod_phase(pod) == "Pending")
    .and_then(|e| e.message.clone());
    note.or(stuck).map_or(PodHealth::Fine, PodHealth::Note)
}

enum Verdict {
    Fine,
    Note(String),
    Failed(Reason, String, Vec<String>),
}

fn container_health(
    pod: &Pod,
    cs: &ContainerStatus,
    spec: Option<&Container>,
    facts: &Facts<'_>,
) -> Verdict {
    let state = cs.state.as_ref();
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or("");
    let message = waiting.and_then(|w| w.message.as_deref()).unwrap_or("");
    let image = spec
        .and_then(|s| s.image.clone())
        .unwrap_or(cs.image.clone());
    if PULL_REASONS.contains(&reason) {
        return image_pull(pod, &cs.name, &image, reason, message, facts);
    }
    if CONFIG_REASONS.contains(&reason) {
        if message.contains("exec format error") {
            return architecture(pod, &image, message, facts);
        }
        return Verdict::Failed(
            Reason::ContainerConfig,
            format!("{reason}: {message}"),
            vec![format!("image: {image}")],
        );
    }
    // A container that exited and will not run again (restartPolicy Never,
    // a failed Job pod) is as final as a crash loop.
    let final_exit = state
        .and_then(|s| s.terminated.as_ref())
        .filter(|t| t.exit_code != 0)
        .filter(|_| pod_phase(pod) == "Failed");
    if reason == "CrashLoopBackOff" || final_exit.is_some() {
        return crash(pod, cs, &image, facts);
    }
    if let Some(running) = state.and_then(|s| s.running.as_ref())
        && !cs.ready
        && let Some(probe) = spec.and_then(|s| s.readiness_probe.as_ref())
        && let Some(event) = latest_event_about(pod, facts.events, &cs.name, "Readiness probe")
    {
        let got = event.message.clone().unwrap_or_default();
        let since = running.started_at.as_ref().map(|t| t.0);
        let running_for = since.map_or(Duration::ZERO, |t| elapsed(t, facts.now));
        let threshold = probe_window(probe);
        if running_for >= facts.probe_grace.max(threshold) {
            return Verdict::Failed(
                Reason::ReadinessProbe,
                format!(
                    "the readiness probe still fails after {}s: {got}",
                    running_for.as_secs()
                ),
                vec![
                    format!("probe: {}", describe_probe(probe)),
                    format!("failed {} times", event.count.unwrap_or(1)),
                ],
            );
        }
        return Verdict::Note(format!("readiness probe failing: {got}"));
    }
    if !reason.is_empty() && reason != "ContainerCreating" && reason != "PodInitializing" {
        return Verdict::Note(format!("{}: {reason}", cs.name));
    }
    Verdict::Fine
}

fn image_pull(
    pod: &Pod,
    container: &str,
    image: &str,
    reason: &str,
    message: &str,
    facts: &Facts<'_>,
) -> Verdict {
    // The pull's own error (the registry's words) is on the `Failed` event;
    // `ImagePullBackOff`'s waiting message may only say "Back-off pulling".
    let said = latest_event_about(pod, facts.events, container, "Failed to pull image")
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| message.to_owned());
    let said = strip_image_prefix(&said, image);
    Verdict::Failed(
        Reason::ImagePull,
        format!("cannot pull image {image} ({reason})"),
        vec![
            format!("image: {image}"),
            format!("registry: {}", registry_of(image)),
            format!("registry said: {said}"),
        ],
    )
}

fn crash(pod: &Pod, cs: &ContainerStatus, image: &str, facts: &Facts<'_>) -> Verdict {
    let terminated = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .or_else(|| cs.state.as_ref().and_then(|s| s.terminated.as_ref()));
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let lines = facts
        .logs
        .get(&(pod_name, cs.name.clone()))
        .cloned()
        .unwrap_or_default();
    let term_message = terminated
        .and_then(|t| t.message.clone())
        .unwrap_or_default();
    let exec_format = term_message.contains("exec format error")
        || lines.iter().any(|l| l.contains("exec format error"));
    let (node_platform, image_platform) = platforms(pod, image, facts);
    let mismatch = matches!((&node_platform, &image_platform), (Some(n), Some(i)) if n != i);
    if exec_format || mismatch {
        let code = terminated.map_or(-1, |t| t.exit_code);
        let what = lines
            .iter()
            .find(|l| l.contains("exec format error"))
            .cloned()
            .or(Some(term_message).filter(|m| !m.is_empty()))
            .unwrap_or_else(|| format!("exit code {code}, no log lines"));
        return architecture(pod, image, &what, facts);
    }
    let code = terminated.map_or_else(|| "unknown".to_owned(), |t| t.exit_code.to_string());
    let why = terminated
        .and_then(|t| t.reason.as_deref())
        .filter(|r| *r == "OOMKilled")
        .map_or(String::new(), |_| " (OOMKilled: out of memory)".to_owned());
    let mut detail = vec![format!("image: {image}")];
    if lines.is_empty() {
        detail.push("no log lines".to_owned());
    } else {
        detail.push(format!("last {} log lines:", lines.len()));
        detail.extend(lines.iter().map(|l| format!("| {l}")));
    }
    let looping = cs
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .is_some_and(|w| w.reason.as_deref() == Some("CrashLoopBackOff"));
    let mut message = format!("the container exited with code {code}{why}");
    if looping {
        message = format!(
            "{message} (CrashLoopBackOff, restarted {} time{})",
            cs.restart_count,
            if cs.restart_count == 1 { "" } else { "s" }
        );
    }
    Verdict::Failed(Reason::CrashLoop, message, detail)
}

fn architecture(pod: &Pod, image: &str, what: &str, facts: &Facts<'_>) -> Verdict {
    let (node, img) = platforms(pod, image, facts);
    let node = node.unwrap_or_else(|| "unknown".to_owned());
    let img = img.unwrap_or_else(|| "another architecture".to_owned());
    Verdict::Failed(
        Reason::Architecture,
        format!("the image is built for {img} but the node runs {node} (exec format error)"),
        vec![
            format!("image: {image}"),
            format!("the container said: {what}"),
        ],
    )
}

/// (node platform, image platform) as `os/arch`, when known.
fn platforms(pod: &Pod, image: &str, facts: &Facts<'_>) -> (Option<String>, Option<String>) {
    let node_name = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    let node = facts
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == node_name)
        .or_else(|| (facts.nodes.len() == 1).then(|| &facts.nodes[0]))
        .and_then(|n| n.status.as_ref()?.node_info.as_ref())
        .map(|i| format!("{}/{}", i.operating_system, i.architecture));
    (node, facts.image_platforms.get(image).cloned())
}

fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// The registry part of an image reference (`docker.io` when it has none).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

fn strip_image_prefix(message: &str, image: &str) -> String {
    for prefix in ["Failed to pull image", "Back-off pulling image"] {
        let full = format!("{prefix} \"{image}\": ");
        if let Some(rest) = message.strip_prefix(&full) {
            return rest.to_owned();
        }
    }
    message.to_owned()
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    let secs = now.as_second().saturating_sub(since.as_second());
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// How long the kubelet itself needs to call a container unready.
fn probe_window(probe: &k8s_openapi::api::core::v1::Probe) -> Duration {
    let delay = probe.initial_delay_seconds.unwrap_or(0);
    let period = probe.period_seconds.unwrap_or(10);
    let threshold = probe.failure_threshold.unwrap_or(3);
    Duration::from_secs(u64::try_from(delay + period * threshold).unwrap_or(0))
}

fn describe_probe(probe: &k8s_openapi::api::core::v1::Probe) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let port = |p: &IntOrString| match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(h) = &probe.http_get {
        format!(
            "GET {}:{}{}",
            h.scheme.as_deref().unwrap_or("HTTP").to_lowercase(),
            port(&h.port),
            h.path.as_deref().unwrap_or("/")
        )
    } else if let Some(t) = &probe.tcp_socket {
        format!("TCP port {}", port(&t.port))
    } else if let Some(e) = &probe.exec {
        format!(
            "exec {}",
            e.command
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        )
    } else {
        "grpc".to_owned()
    }
}

/// The pod's resource requests, for an unschedulable report.
fn requests(pod: &Pod) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .filter_map(|c| {
            let req = c.resources.as_ref()?.requests.as_ref()?;
            let list: Vec<String> = req.iter().map(|(k, v)| format!("{k}={}", v.0)).collect();
            Some(format!("container {} requests {}", c.name, list.join(", ")))
        })
        .collect()
}

/// The newest event about `pod` with one of `reasons`.
fn latest_event<'a>(pod: &Pod, events: &'a [Event], reasons: &[&str]) -> Option<&'a Event> {
    about(pod, events)
        .filter(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
        .max_by_key(|e| event_time(e))
}

/// The newest event about `pod` (and `container`, when not empty) whose
/// message starts with `prefix`.
fn latest_event_about<'a>(
    pod: &Pod,
    events: &'a [Event],
    container: &str,
    prefix: &str,
) -> Option<&'a Event> {
    about(pod, events)
        .filter(|e| e.message.as_deref().is_some_and(|m| m.starts_with(prefix)))
        .filter(|e| {
            container.is_empty()
                || e.involved_object
                    .field_path
                    .as_deref()
                    .is_none_or(|f| f.ends_with(&format!("{{{container}}}")))
        })
        .max_by_key(|e| event_time(e))
}

fn about<'a>(pod: &Pod, events: &'a [Event]) -> impl Iterator<Item = &'a Event> {
    let uid = pod.metadata.uid.clone();
    let name = pod.metadata.name.clone();
    events.iter().filter(move |e| {
        let o = &e.involved_object;
        o.kind.as_deref().is_none_or(|k| k == "Pod")
            && match (&o.uid, &uid) {
                (Some(a), Some(b)) => a == b,
                _ => o.name == name,
            }
    })
}

fn event_time(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}
