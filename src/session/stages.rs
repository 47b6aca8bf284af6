//! The real [`Pipeline`] of `devloop up`: a rebuild builds, delivers and
//! deploys; a redeploy renders and applies the chart again with the image
//! last built; a sync copies the batch into the running containers and
//! falls back to a rebuild when it cannot (no image deployed yet, no `tar`
//! in the image, a destination the container cannot write).
//!
//! Apps whose rules restart the app get devloop's supervisor as their
//! container command (see [`crate::sync::supervise`]) on every deploy of the
//! session. Restarted containers and new pods are re-synced by
//! [`UpStages::resync`], which runs beside the loop.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::select_all;
use serde_json::Value as Json;

use super::events::{self, Event, Kind, Stage};
use super::layout::AppFiles;
use super::pipeline::{Outcome, Pipeline, Reporter, Running};
use super::plan::{Plan, SyncFile};
use super::pods::PodsRx;
use super::state;
use crate::build::BuildResult;
use crate::config::AppConfig;
use crate::error::Error;
use crate::output::Printer;
use crate::pipeline::{Deployed, Pipeline as Stages};
use crate::sync::app::AppSync;
use crate::sync::supervise;

/// How often a re-sync is tried without news from the pod watch: after a
/// re-sync that failed. It costs no API call when every pod holds the files.
const RESYNC_EVERY: Duration = Duration::from_millis(500);

pub struct UpStages<'a> {
    pub stages: &'a Stages,
    pub apps: Vec<&'a AppConfig>,
    /// The image each app last built, for redeploys.
    images: RefCell<HashMap<String, BuildResult>>,
    /// Values every deploy of an app adds (the supervisor's command).
    extra: RefCell<HashMap<String, Json>>,
    /// Live-sync state of the apps with sync rules.
    syncs: HashMap<String, tokio::sync::Mutex<AppSync>>,
    /// The session's state file, where `devloop status` reads sync state.
    state_file: Option<PathBuf>,
}

impl<'a> UpStages<'a> {
    /// `pods` are the session's pod watches, one per app of `apps`, in order.
    pub fn new(
        stages: &'a Stages,
        apps: Vec<&'a AppConfig>,
        files: &[AppFiles],
        pods: &[PodsRx],
    ) -> UpStages<'a> {
        let syncs = files
            .iter()
            .filter(|f| !f.sync.is_empty())
            .filter_map(|f| {
                let at = apps.iter().position(|a| a.name.value == f.name)?;
                let sync = AppSync::new(
                    &apps[at].namespace.value,
                    pods.get(at)?.clone(),
                    f.context.clone(),
                    (*f.sync).clone(),
                    f.sync_count,
                    f.gate.clone(),
                );
                Some((f.name.clone(), tokio::sync::Mutex::new(sync)))
            })
            .collect();
        UpStages {
            stages,
            apps,
            images: RefCell::new(HashMap::new()),
            extra: RefCell::new(HashMap::new()),
            syncs,
            state_file: None,
        }
    }

    /// Keeps the sync state in the session's state file.
    #[must_use]
    pub fn with_state_file(mut self, path: PathBuf) -> Self {
        self.state_file = Some(path);
        self
    }

    /// Re-syncs restarted containers and new pods until dropped: when the
    /// pod watch sees a change, or every [`RESYNC_EVERY`] to retry.
    pub async fn resync(&self, printer: &Printer, pods: &[PodsRx]) {
        let client = &self.stages.cluster.client;
        let mut pods: Vec<PodsRx> = pods.to_vec();
        loop {
            if pods.is_empty() {
                tokio::time::sleep(RESYNC_EVERY).await;
            } else {
                let changed = pods.iter_mut().map(|rx| Box::pin(rx.changed()));
                let woke = tokio::time::timeout(RESYNC_EVERY, select_all(changed)).await;
                if matches!(woke, Ok((Err(_), _, _))) {
                    // A watch that ended answers at once: pace the retries.
                    tokio::time::sleep(RESYNC_EVERY).await;
                }
            }
            for (app, sync) in &self.syncs {
                // A running sync or rebuild holds the lock and syncs itself.
                let Ok(mut sync) = sync.try_lock() else {
                    continue;
                };
                let started = Instant::now();
                match sync.reconcile(client).await {
                    Ok(Some(done)) if done.pods > 0 => {
                        printer.status(
                            "Resynced",
                            format_args!(
                                "{app}: {} files to {} restarted or new pod(s) in {:.1}s",
                                done.copied + done.removed,
                                done.pods,
                                started.elapsed().as_secs_f64()
                            ),
                        );
                        events::emit(
                            printer,
                            &Event::Resynced {
                                app: app.clone(),
                                pods: done.pods,
                                files: done.copied + done.removed,
                                duration_ms: events::millis(started.elapsed()),
                            },
                        );
                        self.publish(app, &sync);
                    }
                    Ok(_) => {}
                    Err(err) => printer.debug(format_args!("{app}: re-sync: {err}")),
                }
            }
        }
    }

    fn publish(&self, app: &str, sync: &AppSync) {
        if let Some(path) = &self.state_file {
            state::update_sync(path, app, sync.status());
        }
    }

    /// Syncs `files`; `false` when a rebuild must do instead (said why).
    async fn sync(&self, app: &str, files: &[SyncFile], reporter: Reporter<'_>) -> bool {
        let Some(sync) = self.syncs.get(app) else {
            return false;
        };
        let mut sync = sync.lock().await;
        let fallback = |reason: String| {
            reporter
                .printer
                .warn(format_args!("{app}: {reason}, rebuilding"));
            events::emit(
                reporter.printer,
                &Event::SyncFallback {
                    app: app.to_owned(),
                    iteration: reporter.iteration,
                    reason,
                },
            );
        };
        if let Some(reason) = sync.blocked() {
            fallback(reason);
            return false;
        }
        let started = Instant::now();
        match sync.sync(&self.stages.cluster.client, files).await {
            Ok(done) => {
                let then = if done.reloads.is_empty() {
                    String::new()
                } else {
                    format!(", then {}", done.reloads.join(", "))
                };
                let detail = format!(
                    "{} copied, {} removed, {} pod(s){then}",
                    done.copied, done.removed, done.pods
                );
                reporter.stage(Stage::Sync, started.elapsed(), Some(detail));
                self.publish(app, &sync);
                true
            }
            Err(err) => {
                if err.disables() {
                    sync.disable(&err);
                }
                self.publish(app, &sync);
                fallback(err.to_string());
                false
            }
        }
    }

    /// Builds (or reuses, for a redeploy) the image and deploys it.
    async fn deploy(
        &self,
        config: &AppConfig,
        redeploy: bool,
        reporter: Reporter<'_>,
    ) -> Result<Outcome, Error> {
        let app = config.name.value.as_str();
        let sync = self.syncs.get(app);
        let last = self.images.borrow().get(app).cloned();
        let builds = !redeploy || last.is_none();
        let image = match last {
            Some(image) if redeploy => image,
            _ => {
                if let Some(sync) = sync {
                    sync.lock().await.snapshot();
                }
                let image = self.stages.build(config, reporter).await?;
                self.images
                    .borrow_mut()
                    .insert(app.to_owned(), image.clone());
                if let Some(sync) = sync
                    && sync.lock().await.rules.restarts()
                {
                    let command = self.stages.image_command(&image).await?;
                    self.extra
                        .borrow_mut()
                        .insert(app.to_owned(), supervise::values(&command));
                }
                image
            }
        };
        let extra = self.extra.borrow().get(app).cloned().unwrap_or(Json::Null);
        // Old images go while the cluster rolls out (the engine is idle then);
        // the iteration ends when both are done, so the next build never
        // meets a removal in progress.
        let prune = async {
            if builds {
                self.stages.prune(config, &image, reporter.printer).await;
            }
        };
        let (deployed, ()) = tokio::join!(
            self.stages.deploy_with(config, &image, &extra, reporter),
            prune
        );
        let deployed = deployed?;
        if let Deployed::Unchanged { revision } = deployed {
            reporter.printer.debug(format_args!(
                "{app}: nothing to deploy, revision {revision} has these inputs"
            ));
        }
        if !redeploy && let Some(sync) = sync {
            let mut sync = sync.lock().await;
            sync.rolled_out(&image.reference);
            self.publish(app, &sync);
        }
        Ok(Outcome {
            image: Some(image.reference),
        })
    }
}

impl Pipeline for UpStages<'_> {
    fn run<'a>(
        &'a self,
        app: &'a str,
        _kind: Kind,
        plan: &Plan,
        reporter: Reporter<'a>,
    ) -> Running<'a> {
        let plan = plan.clone();
        Box::pin(async move {
            let config = self
                .apps
                .iter()
                .find(|a| a.name.value == app)
                .ok_or_else(|| Error::Internal(format!("no app {app} in the session")))?;
            if let Plan::Sync { files } = &plan
                && self.sync(app, files, reporter).await
            {
                return Ok(Outcome { image: None });
            }
            if let Plan::Rebuild { trigger } = &plan
                && trigger
                    .iter()
                    .any(|p| p.file_name() == Some("Dockerfile".as_ref()))
                && let Some(sync) = self.syncs.get(app)
            {
                sync.lock().await.enable();
            }
            let redeploy = matches!(plan, Plan::Redeploy { .. });
            self.deploy(config, redeploy, reporter).await
        })
    }
}
