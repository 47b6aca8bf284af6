//! The logs of `devloop up`: every container of every pod of each app,
//! prefixed `pod/container` and coloured per pod, reconciled from the app's
//! pod watch ([`super::pods`]): the running containers it shows are the
//! streams wanted, and each snapshot, each ended stream and a short tick
//! compare those with the streams open. Nothing is restarted blindly.
//!
//! A stream that ends while its container still runs (a dropped connection)
//! resumes from the last second shown, dropping the lines already printed
//! ([`Resume`]); a restarted container's new instance is followed from its
//! first line. Lines of pods from an older rollout, or on their way out,
//! are marked `(old)`; a pod that becomes ready, restarts or goes away is
//! said once, and its streams stop.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{BoxStream, SelectAll, StreamExt as _};
use futures_util::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio::time::Instant;

use super::events::{self, Event};
use super::pods::{Pods, PodsRx};
use super::resume::{Resume, split_line};
use crate::output::Printer;

/// A stream that just ended is not asked for again sooner than this, so a
/// failing API is not hammered; lines are delayed, never lost.
const REOPEN_AFTER: Duration = Duration::from_millis(500);
/// How often the wanted streams are compared with the open ones when no
/// snapshot arrives (a stream may wait out [`REOPEN_AFTER`]).
const TICK: Duration = Duration::from_millis(250);

/// Whose pods to follow.
#[derive(Debug, Clone)]
pub struct LogTarget {
    pub app: String,
    pub namespace: String,
    pub pods: PodsRx,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// Index into the targets.
    target: usize,
    pod: String,
    container: String,
}

/// A line of a stream, or its end.
type Item = (Key, Option<String>);

/// What follow remembers between events.
#[derive(Default)]
struct Followed {
    streams: SelectAll<BoxStream<'static, Item>>,
    open: HashSet<Key>,
    /// Per target: whether its API calls failed at the last snapshot.
    api_down: HashMap<usize, bool>,
    opened_at: HashMap<Key, Instant>,
    shown: HashMap<Key, Resume>,
    /// Pods already said to be ready; gone pods are forgotten.
    ready: HashSet<(usize, String)>,
    restarts: HashMap<Key, i32>,
    colours: HashMap<String, usize>,
}

/// Follows the targets' logs until dropped. `since` limits the first
/// request of each container (seconds).
pub async fn follow(
    printer: &Printer,
    client: kube::Client,
    mut targets: Vec<LogTarget>,
    since: Option<i64>,
) {
    let mut state = Followed::default();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = any_changed(&mut targets) => {}
            Some((key, line)) = state.streams.next(), if !state.streams.is_empty() => {
                match line {
                    Some(line) => state.show(printer, &targets, &key, &line),
                    None => { state.open.remove(&key); }
                }
                continue;
            }
        }
        let snapshots: Vec<Arc<Pods>> = targets.iter().map(|t| t.pods.borrow().clone()).collect();
        state.say_pods(printer, &targets, &snapshots);
        state.restart_after_outage(&snapshots);
        state.reconcile(&client, &targets, &snapshots, since);
    }
}

/// Resolves when any target's pods change (never when all watches ended).
async fn any_changed(targets: &mut [LogTarget]) {
    let changes = targets.iter_mut().map(|t| Box::pin(t.pods.changed()));
    match futures_util::future::select_all(changes).await {
        (Ok(()), _, _) => {}
        (Err(_), _, _) => std::future::pending().await,
    }
}

impl Followed {
    /// Opens a stream for every running container that has none.
    fn reconcile(
        &mut self,
        client: &kube::Client,
        targets: &[LogTarget],
        snapshots: &[Arc<Pods>],
        since: Option<i64>,
    ) {
        for (target, pods) in snapshots.iter().enumerate() {
            for pod in pods.pods.values() {
                for container in pod.containers.iter().filter(|c| c.running) {
                    let key = Key {
                        target,
                        pod: pod.name.clone(),
                        container: container.name.clone(),
                    };
                    if self.open.contains(&key)
                        || self
                            .opened_at
                            .get(&key)
                            .is_some_and(|t| t.elapsed() < REOPEN_AFTER)
                    {
                        continue;
                    }
                    let resume = self.shown.entry(key.clone()).or_default();
                    resume.restart();
                    let namespace = targets[target].namespace.clone();
                    self.streams.push(open(
                        client.clone(),
                        namespace,
                        key.clone(),
                        resume.since_time().as_deref(),
                        since,
                    ));
                    self.open.insert(key.clone());
                    self.opened_at.insert(key, Instant::now());
                }
            }
        }
    }

    /// When the API answers again after it did not, open streams may sit on
    /// half-open connections that will never end: every stream is opened
    /// again, resuming where it was ([`Resume`] drops what was shown).
    fn restart_after_outage(&mut self, snapshots: &[Arc<Pods>]) {
        let mut recovered = false;
        for (target, pods) in snapshots.iter().enumerate() {
            let was_down = self.api_down.insert(target, !pods.api_ok);
            recovered |= was_down == Some(true) && pods.api_ok;
        }
        if recovered {
            self.streams = SelectAll::new();
            self.open.clear();
            self.opened_at.clear();
        }
    }

    /// Says once when a pod becomes ready, a container restarts, or a pod
    /// goes away (whose streams then end with it).
    fn say_pods(&mut self, printer: &Printer, targets: &[LogTarget], snapshots: &[Arc<Pods>]) {
        for (target, pods) in snapshots.iter().enumerate() {
            let app = &targets[target].app;
            if !pods.api_ok {
                continue;
            }
            for pod in pods.pods.values() {
                if pod.ready && !pod.terminating && self.ready.insert((target, pod.name.clone())) {
                    say(printer, app, &pod.name, "ready");
                }
                for c in &pod.containers {
                    let key = Key {
                        target,
                        pod: pod.name.clone(),
                        container: c.name.clone(),
                    };
                    let before = self.restarts.insert(key, c.restarts);
                    if before.is_some_and(|b| b < c.restarts) {
                        say(
                            printer,
                            app,
                            &format!("{}/{}", pod.name, c.name),
                            "restarted",
                        );
                    }
                }
            }
            let gone: Vec<String> = self
                .ready
                .iter()
                .filter(|(t, p)| *t == target && !pods.pods.contains_key(p))
                .map(|(_, p)| p.clone())
                .collect();
            for pod in gone {
                self.ready.remove(&(target, pod.clone()));
                self.restarts
                    .retain(|k, _| !(k.target == target && k.pod == pod));
                self.shown
                    .retain(|k, _| !(k.target == target && k.pod == pod));
                self.opened_at
                    .retain(|k, _| !(k.target == target && k.pod == pod));
                self.colours.remove(&pod);
                say(printer, app, &pod, "gone");
            }
        }
    }

    fn show(&mut self, printer: &Printer, targets: &[LogTarget], key: &Key, line: &str) {
        let resume = self.shown.entry(key.clone()).or_default();
        let Some((ts, text)) = split_line(line) else {
            return;
        };
        if !resume.admit(ts) {
            return;
        }
        let target = &targets[key.target];
        let old = target.pods.borrow().is_old(&key.pod);
        if printer.is_json() {
            events::emit(
                printer,
                &Event::Log {
                    app: target.app.clone(),
                    pod: key.pod.clone(),
                    container: key.container.clone(),
                    line: text.to_owned(),
                    old,
                },
            );
            return;
        }
        let next = self.colours.len();
        let colour = *self.colours.entry(key.pod.clone()).or_insert(next);
        let mark = if old { " (old)" } else { "" };
        let prefix = printer.paint_tag(colour, &format!("{}/{}{mark}", key.pod, key.container));
        printer.data(format_args!("{prefix} | {text}"));
    }
}

fn say(printer: &Printer, app: &str, pod: &str, state: &str) {
    if printer.is_json() {
        events::emit(
            printer,
            &Event::Pod {
                app: app.to_owned(),
                pod: pod.to_owned(),
                state: state.to_owned(),
            },
        );
    } else {
        printer.status("Pod", format_args!("{pod} {state}"));
    }
}

/// One followed stream: its lines, then an end marker.
fn open(
    client: kube::Client,
    namespace: String,
    key: Key,
    resume_at: Option<&str>,
    since: Option<i64>,
) -> BoxStream<'static, Item> {
    let params = LogParams {
        container: Some(key.container.clone()),
        follow: true,
        timestamps: true,
        since_time: resume_at.and_then(|t| t.parse().ok()),
        since_seconds: if resume_at.is_none() { since } else { None },
        ..LogParams::default()
    };
    let end_key = key.clone();
    let lines = futures_util::stream::once(async move {
        let api: Api<Pod> = Api::namespaced(client, &namespace);
        match api.log_stream(&key.pod, &params).await {
            Ok(reader) => reader
                .lines()
                .map_ok(move |line| (key.clone(), Some(line)))
                .take_while(|r| futures_util::future::ready(r.is_ok()))
                .filter_map(|r| futures_util::future::ready(r.ok()))
                .boxed(),
            Err(_) => futures_util::stream::empty().boxed(),
        }
    })
    .flatten();
    lines
        .chain(futures_util::stream::once(async move { (end_key, None) }))
        .boxed()
}
