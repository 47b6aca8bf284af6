//! Waiting for what runs to completion — a Job (a chart hook such as a
//! migration) or a bare hook Pod — to finish. For a Job, `Complete`
//! is success; `Failed` (e.g. `BackoffLimitExceeded`) is a failure with the
//! last failed pod's exit code and log lines. A pod that can never start
//! (image pull, container config, unschedulable) fails the wait at once, as
//! the Job itself would only wait forever. A pod that exits non-zero while
//! the Job still has retries is a note, not a failure: the Job retries it.
//! A bare Pod succeeds with phase `Succeeded` and fails with `Failed` (its
//! exit code and last log lines) or when it can never start.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::Api;
use kube::runtime::watcher;

use super::diagnose::controlled_by;
use super::failure::{Progress, Reason, RolloutError, RolloutFailure};
use super::pod::{Facts, PodHealth, health};
use super::wait::{Seen, deadline_failure, list_nodes, owned_clones};
use super::watch::Watch;
use super::{Update, WaitOptions};
use crate::cluster::Cluster;

/// How long a failed Job's report waits for its failed pod to be seen.
const POD_STATUS_LAG: std::time::Duration = std::time::Duration::from_secs(3);

/// The Job's progress; `pods` may hold other pods (only the Job's are read).
pub fn job_progress(job: &Job, pods: &[Pod], facts: &Facts<'_>) -> Progress {
    let object = format!("Job/{}", job.metadata.name.as_deref().unwrap_or_default());
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let is = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    if is("Complete").is_some() {
        return Progress::Done;
    }
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let mut own: Vec<&Pod> = pods
        .iter()
        .filter(|p| controlled_by(&p.metadata, uid))
        .collect();
    // Newest first: the last attempt explains the failure best.
    own.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0)));
    if let Some(cond) = is("Failed") {
        let mut failure = RolloutFailure {
            reason: Reason::JobFailed,
            object: object.clone(),
            pod: None,
            container: None,
            message: format!(
                "the Job failed: {}: {}",
                cond.reason.as_deref().unwrap_or("Failed"),
                cond.message.as_deref().unwrap_or_default()
            ),
            detail: Vec::new(),
        };
        if let Some(PodHealth::Failed(pod)) = own
            .iter()
            .map(|p| health(p, &object, facts))
            .find(|h| matches!(h, PodHealth::Failed(_)))
        {
            failure.pod = pod.pod;
            failure.container = pod.container;
            failure
                .detail
                .push(format!("last attempt: {}", pod.message));
            failure.detail.extend(pod.detail);
        }
        return Progress::Failed(Box::new(failure));
    }
    let mut notes = Vec::new();
    for pod in &own {
        match health(pod, &object, facts) {
            PodHealth::Fine => {}
            PodHealth::Note(note) => notes.push(note),
            PodHealth::Failed(f) if f.reason == Reason::CrashLoop => {
                notes.push(format!("a pod failed ({}), the Job retries", f.message));
            }
            PodHealth::Failed(f) => return Progress::Failed(f),
        }
    }
    let mut what = format!(
        "the Job to complete ({} active, {} failed)",
        status.active.unwrap_or(0),
        status.failed.unwrap_or(0)
    );
    if let Some(note) = notes.first() {
        what.push_str(": ");
        what.push_str(note);
    }
    Progress::Waiting { what }
}

/// A bare Pod's progress (Helm waits for hook Pods to succeed).
pub fn pod_progress(pod: &Pod, facts: &Facts<'_>) -> Progress {
    let object = format!("Pod/{}", pod.metadata.name.as_deref().unwrap_or_default());
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Succeeded") => return Progress::Done,
        Some("Failed") => {
            if let PodHealth::Failed(mut f) = health(pod, &object, facts) {
                if f.reason == Reason::CrashLoop {
                    f.reason = Reason::JobFailed;
                    f.message = format!("the Pod failed: {}", f.message);
                }
                return Progress::Failed(f);
            }
            let reason = pod.status.as_ref().and_then(|s| s.reason.clone());
            return Progress::Failed(Box::new(RolloutFailure {
                reason: Reason::JobFailed,
                object,
                pod: pod.metadata.name.clone(),
                container: None,
                message: format!("the Pod failed: {}", reason.unwrap_or_default()),
                detail: Vec::new(),
            }));
        }
        _ => {}
    }
    match health(pod, &object, facts) {
        PodHealth::Failed(f) => Progress::Failed(f),
        PodHealth::Note(note) => Progress::Waiting {
            what: format!("the Pod to succeed: {note}"),
        },
        PodHealth::Fine => Progress::Waiting {
            what: "the Pod to succeed".to_owned(),
        },
    }
}

/// Waits until hook Pod `name` succeeds, calling `on_progress` as it goes.
pub async fn wait_pod(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    options: &WaitOptions,
    on_progress: &mut (dyn FnMut(&Update) + Send),
) -> Result<(), RolloutError> {
    let deadline = tokio::time::Instant::now() + options.deadline;
    let object = format!("Pod/{name}");
    let mut watch = Watch::new();
    let pod_api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let pods = watch.add(
        pod_api.clone(),
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    );
    let events = watch.add(
        Api::<Event>::namespaced(cluster.client.clone(), namespace),
        watcher::Config::default().fields("involvedObject.kind=Pod"),
    );
    let nodes = list_nodes(cluster).await;
    let mut logs = BTreeMap::new();
    let mut last = None;
    loop {
        if let Some(pod) = pods.state().into_iter().next() {
            let events = owned_clones(&events);
            let seen = Seen {
                pod_api: &pod_api,
                nodes: &nodes,
                events: &events,
                options,
            };
            match seen
                .judge(&mut logs, |facts| pod_progress(&pod, facts))
                .await
            {
                Progress::Done => {
                    on_progress(&Update {
                        object,
                        what: "succeeded".to_owned(),
                        done: true,
                    });
                    return Ok(());
                }
                Progress::Failed(failure) => return Err(RolloutError::Failed(failure)),
                Progress::Waiting { what } => {
                    if last.as_ref() != Some(&what) {
                        on_progress(&Update {
                            object: object.clone(),
                            what: what.clone(),
                            done: false,
                        });
                        last = Some(what);
                    }
                }
            }
        }
        tokio::select! {
            next = watch.next(cluster, "the Pod") => next?,
            () = tokio::time::sleep_until(deadline) => {
                return Err(deadline_failure(&object, options.deadline, last, None));
            }
        }
    }
}

/// Waits until Job `name` completes, calling `on_progress` as it goes.
pub async fn wait_job(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    options: &WaitOptions,
    on_progress: &mut (dyn FnMut(&Update) + Send),
) -> Result<(), RolloutError> {
    let deadline = tokio::time::Instant::now() + options.deadline;
    let object = format!("Job/{name}");
    let mut watch = Watch::new();
    let jobs = watch.add(
        Api::<Job>::namespaced(cluster.client.clone(), namespace),
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    );
    let pod_api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    // Both label spellings: `job-name` (every version), and the newer
    // `batch.kubernetes.io/job-name` that a server may set alone one day.
    let pods = watch.add(
        pod_api.clone(),
        watcher::Config::default().labels(&format!("job-name={name}")),
    );
    let events = watch.add(
        Api::<Event>::namespaced(cluster.client.clone(), namespace),
        watcher::Config::default().fields("involvedObject.kind=Pod"),
    );
    let nodes = list_nodes(cluster).await;
    let mut logs = BTreeMap::new();
    let mut last = None;
    let mut failed_at = None;
    loop {
        if let Some(job) = jobs.state().into_iter().next() {
            let pods = owned_clones(&pods);
            let events = owned_clones(&events);
            let seen = Seen {
                pod_api: &pod_api,
                nodes: &nodes,
                events: &events,
                options,
            };
            let progress = seen
                .judge(&mut logs, |facts| job_progress(&job, &pods, facts))
                .await;
            match progress {
                Progress::Done => {
                    on_progress(&Update {
                        object,
                        what: "complete".to_owned(),
                        done: true,
                    });
                    return Ok(());
                }
                // The Job's watch can deliver `Failed` before the pod watch
                // delivers the pod that failed it: give the pod a moment.
                Progress::Failed(failure)
                    if failure.reason == Reason::JobFailed
                        && failure.pod.is_none()
                        && failed_at
                            .get_or_insert_with(tokio::time::Instant::now)
                            .elapsed()
                            < POD_STATUS_LAG => {}
                Progress::Failed(failure) => return Err(RolloutError::Failed(failure)),
                Progress::Waiting { what } => {
                    if last.as_ref() != Some(&what) {
                        on_progress(&Update {
                            object: object.clone(),
                            what: what.clone(),
                            done: false,
                        });
                        last = Some(what);
                    }
                }
            }
        }
        tokio::select! {
            next = watch.next(cluster, "the Job") => next?,
            () = tokio::time::sleep_until(deadline) => {
                return Err(deadline_failure(&object, options.deadline, last, None));
            }
        }
    }
}

#[cfg(test)]
mod tests;
