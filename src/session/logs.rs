//! The logs of `devloop up`: every container of every pod of each app,
//! prefixed `pod/container`, reconciled from the pods the API lists (desired
//! streams vs running ones) rather than restarted blindly. A stream that
//! ends while its container still runs (a dropped connection) resumes from
//! the last second shown, dropping the lines already printed ([`Resume`]);
//! a stream whose pod is gone is said to be so once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::stream::{BoxStream, SelectAll, StreamExt as _};
use futures_util::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use super::events::{self, Event};
use super::resume::{Resume, split_line};
use crate::output::Printer;

/// Whose pods to follow.
#[derive(Debug, Clone)]
pub struct LogTarget {
    pub app: String,
    pub namespace: String,
    pub selector: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    pod: String,
    container: String,
}

/// A line of a stream, or its end.
type Item = (Key, Option<String>);

/// Follows the targets' logs until dropped. `since` limits the first
/// request of each container (seconds).
pub async fn follow(
    printer: &Printer,
    client: kube::Client,
    targets: Vec<LogTarget>,
    since: Option<i64>,
) {
    let mut streams: SelectAll<BoxStream<'static, Item>> = SelectAll::new();
    let mut active: HashSet<Key> = HashSet::new();
    let mut shown: HashMap<Key, Resume> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let running = running_containers(&client, &targets).await;
                for key in running {
                    if active.contains(&key) {
                        continue;
                    }
                    let resume = shown.entry(key.clone()).or_default();
                    resume.restart();
                    streams.push(open(client.clone(), key.clone(), resume.since_time().as_deref(), since));
                    active.insert(key);
                }
            }
            Some((key, line)) = streams.next(), if !streams.is_empty() => match line {
                Some(line) => {
                    let resume = shown.entry(key.clone()).or_default();
                    let Some((ts, text)) = split_line(&line) else { continue };
                    if resume.admit(ts) {
                        print(printer, &targets, &key, text);
                    }
                }
                None => {
                    active.remove(&key);
                }
            },
        }
    }
}

fn print(printer: &Printer, targets: &[LogTarget], key: &Key, text: &str) {
    if printer.is_json() {
        let app = targets
            .iter()
            .find(|t| t.namespace == key.namespace)
            .map(|t| t.app.clone())
            .unwrap_or_default();
        events::emit(
            printer,
            &Event::Log {
                app,
                pod: key.pod.clone(),
                container: key.container.clone(),
                line: text.to_owned(),
            },
        );
    } else {
        printer.data(format_args!("{}/{} | {text}", key.pod, key.container));
    }
}

/// One followed stream: its lines, then an end marker.
fn open(
    client: kube::Client,
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
        let api: Api<Pod> = Api::namespaced(client, &key.namespace);
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

/// The containers now running in the targets' pods.
async fn running_containers(client: &kube::Client, targets: &[LogTarget]) -> Vec<Key> {
    let mut keys = Vec::new();
    for target in targets {
        let api: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
        let Ok(pods) = api
            .list(&ListParams::default().labels(&target.selector))
            .await
        else {
            continue;
        };
        for pod in pods.items {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let statuses = pod
                .status
                .and_then(|s| s.container_statuses)
                .unwrap_or_default();
            for status in statuses {
                if status.state.is_some_and(|s| s.running.is_some()) {
                    keys.push(Key {
                        namespace: target.namespace.clone(),
                        pod: name.clone(),
                        container: status.name,
                    });
                }
            }
        }
    }
    keys
}
