//! The watchers a wait reads: one kube-rs reflector store per query, all
//! merged into one stream that only says "something changed", plus a
//! once-a-second tick (some verdicts depend on time: a probe's grace).
//!
//! Errors: kube's watcher retries with its default back-off (and re-lists
//! after 410 Gone); a refused credential ends the wait at once, a watch that
//! keeps failing ends it after [`UNREACHABLE_FOR`].

use std::fmt::Debug;
use std::time::Duration;

use futures_util::stream::{BoxStream, SelectAll, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::cluster::{Cluster, ClusterError};

/// How long every watcher may fail in a row before the wait gives up on the
/// cluster: long enough for an API server restart or a dropped connection
/// (watchers re-list within 1-2 s), short enough to beat the 2 min deadline.
const UNREACHABLE_FOR: Duration = Duration::from_secs(15);
/// How often verdicts are re-read without a change.
const TICK: Duration = Duration::from_secs(1);

type Changes = BoxStream<'static, Result<(), watcher::Error>>;

pub struct Watch {
    streams: SelectAll<Changes>,
    failing_since: Option<Instant>,
    /// The latest error while failing, for the message.
    last_error: Option<ClusterError>,
}

impl Watch {
    pub fn new() -> Watch {
        Watch {
            streams: SelectAll::new(),
            failing_since: None,
            last_error: None,
        }
    }

    /// Watches `api` with `config`; the store fills as events arrive.
    pub fn add<K>(&mut self, api: kube::Api<K>, config: watcher::Config) -> Store<K>
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
    {
        let (reader, writer) = reflector::store();
        let stream = watcher(api, config)
            .default_backoff()
            .reflect(writer)
            .map(|event| event.map(|_| ()))
            .boxed();
        self.streams.push(stream);
        reader
    }

    /// Returns after the next change or tick; an error means the cluster
    /// cannot be watched (auth refused, or unreachable for a while).
    pub async fn next(&mut self, cluster: &Cluster, what: &str) -> Result<(), ClusterError> {
        let Ok(Some(item)) = tokio::time::timeout(TICK, self.streams.next()).await else {
            return self.check_failing(cluster, what);
        };
        match item {
            Ok(()) => {
                self.failing_since = None;
                self.last_error = None;
                Ok(())
            }
            Err(err) => {
                let err = classify(cluster, what, err);
                // Refused credentials will not fix themselves; anything else
                // (410 Gone after a compaction, a dropped connection, a 5xx)
                // the watcher recovers from by re-listing.
                if matches!(err, ClusterError::Unauthorized { .. }) {
                    return Err(err);
                }
                self.failing_since.get_or_insert_with(Instant::now);
                self.last_error = Some(err);
                self.check_failing(cluster, what)
            }
        }
    }

    fn check_failing(&mut self, cluster: &Cluster, what: &str) -> Result<(), ClusterError> {
        match self.failing_since {
            Some(since) if since.elapsed() >= UNREACHABLE_FOR => {
                let last = self.last_error.take();
                Err(match last {
                    Some(
                        ClusterError::Unreachable { message, .. }
                        | ClusterError::Rejected { message, .. },
                    ) => ClusterError::Unreachable {
                        server: cluster.server.clone(),
                        message: format!(
                            "watching {what} failed for {}s: {message}",
                            UNREACHABLE_FOR.as_secs()
                        ),
                    },
                    Some(other) => other,
                    None => ClusterError::Unreachable {
                        server: cluster.server.clone(),
                        message: format!(
                            "watching {what} failed for {}s",
                            UNREACHABLE_FOR.as_secs()
                        ),
                    },
                })
            }
            _ => Ok(()),
        }
    }
}

fn classify(cluster: &Cluster, what: &str, err: watcher::Error) -> ClusterError {
    let action = format!("watch {what}");
    match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => cluster.error(&action, e),
        watcher::Error::WatchError(status) => cluster.error(&action, kube::Error::Api(status)),
        watcher::Error::NoResourceVersion => ClusterError::Unreachable {
            server: cluster.server.clone(),
            message: format!("{action}: the API server sent no resourceVersion"),
        },
    }
}
