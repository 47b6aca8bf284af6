//! Waits for Deployments to roll out: watches them, their `ReplicaSet`s,
//! their pods (the Deployment's selector) and the namespace's pod Events,
//! and asks [`diagnose`] after every change and every second. The first
//! failure ends the wait (after fetching the crashed container's last log
//! lines); so does the deadline, with what it was still waiting for.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;

use super::diagnose::{diagnose, object_name, previous_version};
use super::failure::{Progress, Reason, RolloutError, RolloutFailure};
use super::pod::Facts;
use super::watch::Watch;
use super::{Update, WaitOptions, logs};
use crate::cluster::Cluster;

/// One Deployment being waited for.
struct Target {
    name: String,
    pods: Store<Pod>,
    last: Option<String>,
    done: bool,
}

/// Waits until every Deployment in `names` (in `namespace`) has rolled out,
/// calling `on_progress` whenever what one waits for changes.
pub async fn wait(
    cluster: &Cluster,
    namespace: &str,
    names: &[String],
    options: &WaitOptions,
    on_progress: &mut (dyn FnMut(&Update) + Send),
) -> Result<(), RolloutError> {
    let started = tokio::time::Instant::now();
    let deadline = started + options.deadline;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), namespace);
    let pod_api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let mut watch = Watch::new();
    let mut targets = Vec::new();
    for name in names {
        let deployment = deployments
            .get(name)
            .await
            .map_err(|e| cluster.error(&format!("read Deployment {name}"), e))?;
        let selector = deployment
            .spec
            .as_ref()
            .map(|s| selector_string(&s.selector))
            .unwrap_or_default();
        let pods = watch.add(
            pod_api.clone(),
            watcher::Config::default().labels(&selector),
        );
        targets.push(Target {
            name: name.clone(),
            pods,
            last: None,
            done: false,
        });
    }
    let deployment_store = watch.add(deployments, watcher::Config::default());
    let rs_store = watch.add(
        Api::<ReplicaSet>::namespaced(cluster.client.clone(), namespace),
        watcher::Config::default(),
    );
    let event_store = watch.add(
        Api::<Event>::namespaced(cluster.client.clone(), namespace),
        watcher::Config::default().fields("involvedObject.kind=Pod"),
    );
    let nodes = list_nodes(cluster).await;
    let mut logs = BTreeMap::new();
    loop {
        let rss = owned_clones(&rs_store);
        let events = owned_clones(&event_store);
        for target in targets.iter_mut().filter(|t| !t.done) {
            let Some(deployment) = deployment_store
                .state()
                .into_iter()
                .find(|d| d.metadata.name.as_deref() == Some(&target.name))
            else {
                continue;
            };
            let pods = owned_clones(&target.pods);
            let object = object_name(&deployment);
            let seen = Seen {
                pod_api: &pod_api,
                nodes: &nodes,
                events: &events,
                options,
            };
            let progress = seen
                .judge(&mut logs, |facts| diagnose(&deployment, &rss, &pods, facts))
                .await;
            match progress {
                Progress::Done => {
                    target.done = true;
                    on_progress(&Update {
                        object,
                        what: "available".to_owned(),
                        done: true,
                    });
                }
                Progress::Waiting { what } => {
                    if target.last.as_deref() != Some(&what) {
                        on_progress(&Update {
                            object,
                            what: what.clone(),
                            done: false,
                        });
                        target.last = Some(what);
                    }
                }
                Progress::Failed(failure) => return Err(RolloutError::Failed(failure)),
            }
        }
        if targets.iter().all(|t| t.done) {
            return Ok(());
        }
        tokio::select! {
            next = watch.next(cluster, "the rollout") => next?,
            () = tokio::time::sleep_until(deadline) => {
                return Err(at_deadline(&targets, &deployment_store, &rss, options));
            }
        }
    }
}

/// The failure at the deadline: the first Deployment not done, with what it
/// still waited for and whether its previous version serves.
fn at_deadline(
    targets: &[Target],
    deployments: &Store<Deployment>,
    rss: &[ReplicaSet],
    options: &WaitOptions,
) -> RolloutError {
    let target = targets.iter().find(|t| !t.done);
    let name = target.map(|t| t.name.clone()).unwrap_or_default();
    let previous = deployments
        .state()
        .into_iter()
        .find(|d| d.metadata.name.as_deref() == Some(&name))
        .and_then(|d| previous_version(&d, rss));
    deadline_failure(
        &format!("Deployment/{name}"),
        options.deadline,
        target.and_then(|t| t.last.clone()),
        previous,
    )
}

/// The failure at the deadline, with what the wait was still waiting for.
pub fn deadline_failure(
    object: &str,
    deadline: std::time::Duration,
    waiting: Option<String>,
    previous: Option<String>,
) -> RolloutError {
    let waiting = waiting.unwrap_or_else(|| "the first status".to_owned());
    RolloutError::Failed(Box::new(RolloutFailure {
        reason: Reason::Deadline,
        object: object.to_owned(),
        pod: None,
        container: None,
        message: format!(
            "not ready within the deadline of {}s; still waiting for {waiting}",
            deadline.as_secs()
        ),
        detail: previous.into_iter().collect(),
    }))
}

/// What the watchers saw besides the object judged, and how to fetch logs.
pub(super) struct Seen<'a> {
    pub pod_api: &'a Api<Pod>,
    pub nodes: &'a [Node],
    pub events: &'a [Event],
    pub options: &'a WaitOptions,
}

impl Seen<'_> {
    /// `verdict` on what was seen; a crash report without its log lines
    /// fetches them (once per container) and asks again.
    pub async fn judge(
        &self,
        logs: &mut BTreeMap<(String, String), Vec<String>>,
        verdict: impl Fn(&Facts<'_>) -> Progress,
    ) -> Progress {
        let progress = verdict(&self.facts(logs));
        if let Progress::Failed(failure) = &progress
            && let Some((pod, container)) = wants_logs(failure, logs)
        {
            let lines = logs::last_lines(self.pod_api, &pod, &container).await;
            logs.insert((pod, container), lines);
            return verdict(&self.facts(logs));
        }
        progress
    }

    fn facts<'a>(&'a self, logs: &'a BTreeMap<(String, String), Vec<String>>) -> Facts<'a> {
        Facts {
            events: self.events,
            nodes: self.nodes,
            logs,
            image_platforms: &self.options.image_platforms,
            now: k8s_openapi::jiff::Timestamp::now(),
            probe_grace: self.options.probe_grace,
        }
    }
}

/// The (pod, container) whose logs a crash report still lacks.
fn wants_logs(
    failure: &RolloutFailure,
    logs: &BTreeMap<(String, String), Vec<String>>,
) -> Option<(String, String)> {
    if !matches!(
        failure.reason,
        Reason::CrashLoop | Reason::JobFailed | Reason::Architecture
    ) {
        return None;
    }
    let key = (failure.pod.clone()?, failure.container.clone()?);
    (!logs.contains_key(&key)).then_some(key)
}

/// The cluster's nodes, for their architecture; a user who may not list
/// nodes (a namespaced role) just gets reports without it.
pub(super) async fn list_nodes(cluster: &Cluster) -> Vec<Node> {
    Api::<Node>::all(cluster.client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

pub(super) fn owned_clones<K: Clone + kube::Resource>(store: &Store<K>) -> Vec<K>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store
        .state()
        .iter()
        .map(|k| K::clone(Arc::as_ref(k)))
        .collect()
}

/// A `LabelSelector` as a list/watch query (`app=web,tier in (a,b)`).
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            _ => format!("!{}", e.key),
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::selector_string;

    #[test]
    fn selectors_become_list_queries() {
        let selector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web", "tier": "front"},
            "matchExpressions": [
                {"key": "track", "operator": "In", "values": ["stable", "canary"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "owner", "operator": "Exists"},
            ],
        }))
        .expect("selector");
        assert_eq!(
            selector_string(&selector),
            "app=web,tier=front,track in (stable,canary),!legacy,env notin (prod),owner"
        );
    }
}
