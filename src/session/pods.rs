//! The pods of one app as `devloop up` sees them: one watch per app (a
//! list, then events), published as snapshots that the forwards and log
//! streams reconcile against. Forwards and logs never list pods themselves,
//! so a new connection costs no API round trip to find its pod, and a pod
//! that becomes ready, restarts or goes away is known as soon as the API
//! says so.
//!
//! Every wait on the API has a deadline: a watch that stays silent for
//! twice [`QUIET_RELIST`] is dropped and started again with a list, which
//! is how a half-open connection is noticed: a list that does not answer
//! in that time, or fails, marks the API down (`api_ok`, which the forwards
//! and logs read) and is retried after [`RETRY`]. A quiet app is not an
//! outage: its list answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;

/// A watch with no event for this long is started again. Short enough that
/// a half-open connection is replaced quickly, long enough that a quiet app
/// costs one list per app every few seconds.
const QUIET_RELIST: Duration = Duration::from_secs(5);
/// Pause after a failed list or watch before the next attempt.
const RETRY: Duration = Duration::from_millis(200);

/// One container of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub running: bool,
    /// Changes when the container restarts: a new instance.
    pub restarts: i32,
}

/// What the forwards and logs need of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    pub name: String,
    /// The app container's instance, as live sync tracks it
    /// ([`crate::sync::gate::instance`]).
    pub instance: Option<String>,
    pub created: Option<Timestamp>,
    pub ready: bool,
    pub terminating: bool,
    /// `pod-template-hash`: which rollout (`ReplicaSet`) the pod belongs to.
    pub template: Option<String>,
    /// The app's own container: the pod spec's first.
    pub main: Option<String>,
    pub containers: Vec<ContainerView>,
}

impl PodView {
    /// Whether the app's own container is running.
    pub fn main_running(&self) -> bool {
        self.main
            .as_ref()
            .is_some_and(|main| self.containers.iter().any(|c| &c.name == main && c.running))
    }
}

/// The app's pods at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pods {
    pub pods: BTreeMap<String, PodView>,
    /// Whether the last API call of the watch answered.
    pub api_ok: bool,
}

impl Pods {
    /// The newest ready pod that is not terminating: where a new
    /// connection goes.
    pub fn newest_ready(&self) -> Option<&PodView> {
        self.newest_ready_where(|_| true)
    }

    /// [`Pods::newest_ready`] among the pods `admit` lets through.
    pub fn newest_ready_where(&self, admit: impl Fn(&PodView) -> bool) -> Option<&PodView> {
        self.newest(|p| p.ready && admit(p))
    }

    /// The newest pod that is not terminating and passes `keep` (by
    /// creation, then name, so ties resolve the same way every time).
    fn newest(&self, keep: impl Fn(&PodView) -> bool) -> Option<&PodView> {
        self.pods
            .values()
            .filter(|p| !p.terminating && keep(p))
            .max_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)))
    }

    /// Whether `pod` is from an older rollout than the newest pod, or on its
    /// way out: its log lines are its last ones.
    pub fn is_old(&self, pod: &str) -> bool {
        let Some(view) = self.pods.get(pod) else {
            return true;
        };
        if view.terminating {
            return true;
        }
        match (
            self.newest(|_| true).and_then(|n| n.template.as_ref()),
            &view.template,
        ) {
            (Some(newest), Some(own)) => newest != own,
            _ => false,
        }
    }
}

/// The label selector of a release's pods: the instance label devloop's
/// charts (and Helm's conventions) put on them.
pub fn selector(release: &str) -> String {
    format!("app.kubernetes.io/instance={release}")
}

/// Receives the app's pod snapshots.
pub type PodsRx = watch::Receiver<Arc<Pods>>;

/// Starts watching the pods matching `selector` in `namespace`; the watch
/// ends when every receiver is dropped.
pub fn watch_pods(client: kube::Client, namespace: &str, selector: &str) -> PodsRx {
    let (tx, rx) = watch::channel(Arc::new(Pods::default()));
    let api: Api<Pod> = Api::namespaced(client, namespace);
    let config = watcher::Config::default()
        .labels(selector)
        .timeout(QUIET_RELIST.as_secs().try_into().unwrap_or(5));
    tokio::spawn(run(api, config, tx));
    rx
}

async fn run(api: Api<Pod>, config: watcher::Config, tx: watch::Sender<Arc<Pods>>) {
    let mut pods = Pods::default();
    let mut listing: Option<BTreeMap<String, PodView>> = None;
    while !tx.is_closed() {
        let mut stream = watcher::watcher(api.clone(), config.clone()).boxed();
        // Whether this stream's list answered: silence after that is a quiet
        // app (or a connection gone half-open), silence before it is an API
        // that does not answer.
        let mut listed = false;
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(QUIET_RELIST * 2, stream.next()) => next,
                () = tx.closed() => return,
            };
            let event = match next {
                Ok(Some(Ok(event))) => event,
                // Quiet for long: start over with a fresh list, which tells
                // a quiet app from a half-open connection.
                Err(_) if listed => break,
                // An error, or no answer to the list: the API is down.
                Ok(Some(Err(_))) | Err(_) => {
                    pods.api_ok = false;
                    publish(&tx, &pods);
                    tokio::time::sleep(RETRY).await;
                    break;
                }
                Ok(None) => break,
            };
            if matches!(event, Event::InitDone) {
                listed = true;
            }
            pods.api_ok = true;
            match event {
                Event::Init => listing = Some(BTreeMap::new()),
                Event::InitApply(pod) => {
                    if let (Some(list), Some(view)) = (listing.as_mut(), view(&pod)) {
                        list.insert(view.name.clone(), view);
                    }
                }
                Event::InitDone => {
                    if let Some(list) = listing.take() {
                        pods.pods = list;
                    }
                }
                Event::Apply(pod) => {
                    if let Some(view) = view(&pod) {
                        pods.pods.insert(view.name.clone(), view);
                    }
                }
                Event::Delete(pod) => {
                    if let Some(name) = &pod.metadata.name {
                        pods.pods.remove(name);
                    }
                }
            }
            if listing.is_none() {
                publish(&tx, &pods);
            }
        }
    }
}

fn publish(tx: &watch::Sender<Arc<Pods>>, pods: &Pods) {
    tx.send_if_modified(|current| {
        if **current == *pods {
            return false;
        }
        *current = Arc::new(pods.clone());
        true
    });
}

fn view(pod: &Pod) -> Option<PodView> {
    let name = pod.metadata.name.clone()?;
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let containers: Vec<ContainerView> = status
        .and_then(|s| s.container_statuses.as_ref())
        .map(|statuses| {
            statuses
                .iter()
                .map(|s| ContainerView {
                    name: s.name.clone(),
                    running: s.state.as_ref().is_some_and(|st| st.running.is_some()),
                    restarts: s.restart_count,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(PodView {
        name,
        instance: crate::sync::gate::instance(pod),
        created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
        ready,
        terminating: pod.metadata.deletion_timestamp.is_some(),
        template: pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash").cloned()),
        main: pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .map(|c| c.name.clone()),
        containers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, secs: i64, ready: bool, template: &str) -> PodView {
        PodView {
            name: name.to_owned(),
            instance: None,
            created: Timestamp::from_second(secs).ok(),
            ready,
            terminating: false,
            template: Some(template.to_owned()),
            main: None,
            containers: Vec::new(),
        }
    }

    fn pods(list: Vec<PodView>) -> Pods {
        Pods {
            pods: list.into_iter().map(|p| (p.name.clone(), p)).collect(),
            api_ok: true,
        }
    }

    #[test]
    fn connections_go_to_the_newest_ready_pod_and_never_a_terminating_one() {
        let mut set = pods(vec![
            pod("web-a-1", 10, true, "a"),
            pod("web-b-1", 20, true, "b"),
            pod("web-b-2", 30, false, "b"),
        ]);
        assert_eq!(set.newest_ready().map(|p| p.name.as_str()), Some("web-b-1"));
        if let Some(p) = set.pods.get_mut("web-b-1") {
            p.terminating = true;
        }
        assert_eq!(set.newest_ready().map(|p| p.name.as_str()), Some("web-a-1"));
        assert!(
            pods(vec![pod("web-a-1", 10, false, "a")])
                .newest_ready()
                .is_none()
        );
    }

    #[test]
    fn pods_of_an_older_rollout_or_on_their_way_out_are_old() {
        let mut set = pods(vec![
            pod("web-a-1", 10, true, "a"),
            pod("web-b-1", 20, false, "b"),
        ]);
        assert!(set.is_old("web-a-1"), "a newer rollout exists");
        assert!(!set.is_old("web-b-1"));
        assert!(set.is_old("gone"));
        if let Some(p) = set.pods.get_mut("web-b-1") {
            p.terminating = true;
        }
        assert!(!set.is_old("web-a-1"), "the newer rollout is going away");
        assert!(set.is_old("web-b-1"));
    }
}
