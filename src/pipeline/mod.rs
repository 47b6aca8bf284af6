//! One app's way into the cluster, shared by `devloop deploy` (once) and
//! `devloop up` (after every change): build and deliver the image, render
//! the chart with it, record the revision as Helm does, run the hooks,
//! apply, wait for the rollout, record how it ended.
//!
//! Each stage reports its time through a [`Reporter`]; a failure returns
//! the stage's error, the revision is recorded `failed`, and what was
//! serving keeps serving.

mod debug;
pub mod image;
mod parts;
pub mod stored;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::build::docker::DockerBuilder;
use crate::build::registry::{DeliveryInputs, HostingRegistry};
use crate::build::{BuildRequest, BuildResult, Builder as _, delivery};
use crate::cluster::Cluster;
use crate::config::AppConfig;
use crate::deploy::{self, Resolver, hooks, inputs, live, pull_secret};
use crate::error::{Error, Result};
use crate::helm::chart::values::{self, ValueInputs};
use crate::helm::chart::{Chart, ReleaseInfo};
use crate::helm::rendered::{Capabilities, HookEvent, Rendered};
use crate::output::Printer;
use crate::release::{self, NewRelease, Status, Store};
use crate::rollout::{self, WaitOptions};
use crate::session::events::Stage;
use crate::session::pipeline::Reporter;

/// The release label that holds the inputs digest of a deployed revision.
const INPUTS_LABEL: &str = "devloop.dev/inputs";

/// How deploys behave.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--push` / `--no-push`.
    pub push: Option<bool>,
    /// `--create-pull-secret`.
    pub create_pull_secret: bool,
    /// The rollout deadline.
    pub timeout: Option<Duration>,
    /// Deploy even when no input changed.
    pub force: bool,
}

/// What one deploy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// Nothing changed since revision `revision`.
    Unchanged { revision: u32 },
    /// Revision `revision` is deployed and ready.
    Ready { revision: u32 },
}

/// Everything a deploy needs from the cluster and the engine, connected once.
pub struct Pipeline {
    pub cluster: Cluster,
    pub resolver: Arc<Resolver>,
    capabilities: Capabilities,
    hosting: Option<HostingRegistry>,
    /// `None` for commands that build nothing (rollback).
    builder: Option<DockerBuilder>,
    docker_config: std::path::PathBuf,
    pub options: Options,
    /// `devloop up --debug`: how each app runs under its debugger.
    pub debug: Option<Arc<crate::debug::Settings>>,
    /// Builds leave removing old images to [`Pipeline::prune`] (`up` runs
    /// it beside the deploy).
    pub defer_prune: bool,
    /// Support images built this session, by pack.
    debug_support:
        std::sync::Mutex<std::collections::HashMap<String, crate::debug::transform::Support>>,
}

impl Pipeline {
    /// Reads the cluster's capabilities and, with `engine`, connects to the
    /// Docker engine.
    pub async fn connect(
        cluster: Cluster,
        env: &dyn Fn(&str) -> Option<String>,
        options: Options,
        engine: bool,
    ) -> Result<Pipeline> {
        let capabilities = live::capabilities(&cluster).await?;
        let hosting = parts::hosting_registry(&cluster).await;
        let builder = if engine {
            Some(DockerBuilder::connect(env).await?)
        } else {
            None
        };
        Ok(Pipeline {
            resolver: Arc::new(Resolver::new(cluster.clone())),
            cluster,
            capabilities,
            hosting,
            builder,
            docker_config: crate::build::registry::docker_config_dir(env),
            options,
            debug: None,
            defer_prune: false,
            debug_support: std::sync::Mutex::default(),
        })
    }

    /// Builds the app's image and makes it reachable by the cluster.
    pub async fn build(&self, app: &AppConfig, reporter: Reporter<'_>) -> Result<BuildResult> {
        let request = BuildRequest {
            app: app.name.value.clone(),
            context: app.path.value.clone(),
            dockerfile: "Dockerfile".to_owned(),
            image: app.image.value.clone(),
            build_args: self.build_args(app),
            target: None,
            delivery: self.delivery(app)?,
            keep_images: app.keep_images.value,
            defer_prune: self.defer_prune,
        };
        let builder = self
            .builder
            .as_ref()
            .ok_or_else(|| Error::Internal("the pipeline has no engine".to_owned()))?;
        let result = builder.build(&request, reporter.printer).await?;
        let fresh = (!result.built).then(|| "fresh".to_owned());
        reporter.event(
            Stage::Build,
            result.timings.context + result.timings.build,
            fresh,
        );
        if result.delivered {
            reporter.event(Stage::Push, result.timings.deliver, None);
        }
        Ok(result)
    }

    /// Removes `app`'s old images, keeping `image` (after a build with
    /// [`Pipeline::defer_prune`]).
    pub async fn prune(&self, app: &AppConfig, image: &BuildResult, printer: &Printer) {
        if let Some(builder) = &self.builder {
            builder
                .prune_images(
                    &crate::build::owner(&app.name.value, &app.path.value),
                    app.keep_images.value,
                    &image.local,
                    printer,
                )
                .await;
        }
    }

    /// The ENTRYPOINT and CMD of a built image, as a container would run them.
    pub async fn image_command(&self, image: &BuildResult) -> Result<Vec<String>> {
        let builder = self
            .builder
            .as_ref()
            .ok_or_else(|| Error::Internal("the pipeline has no engine".to_owned()))?;
        Ok(builder.image_command(&image.local).await?)
    }

    /// Where the app's images go (push, load or nothing).
    fn delivery(&self, app: &AppConfig) -> Result<crate::build::Delivery> {
        Ok(delivery(DeliveryInputs {
            kube_context: Some(&self.cluster.context),
            registry: app.registry.value.as_deref(),
            hosting_registry: self.hosting.as_ref(),
            push: self.options.push,
        })?)
    }

    /// Renders, records, applies and waits for `image` of `app`.
    pub async fn deploy(
        &self,
        app: &AppConfig,
        image: &BuildResult,
        reporter: Reporter<'_>,
    ) -> Result<Deployed> {
        self.deploy_with(app, image, &Json::Null, reporter).await
    }

    /// [`Pipeline::deploy`] with `extra` values over the image's (an object;
    /// `up` sets the sync supervisor's `command` and `args` this way).
    pub async fn deploy_with(
        &self,
        app: &AppConfig,
        image: &BuildResult,
        extra: &Json,
        reporter: Reporter<'_>,
    ) -> Result<Deployed> {
        let target = deploy::Release {
            name: app.name.value.clone(),
            namespace: app.namespace.value.clone(),
        };
        let store = Store::new(&self.cluster, &target.namespace, &target.name);
        let read = Instant::now();
        let history = store.history().await?;
        reporter.printer.debug(format_args!(
            "{}: read {} stored revision(s) in {:.3}s",
            target.name,
            history.len(),
            read.elapsed().as_secs_f64()
        ));
        let plan = release::deploy_plan(&target.name, &history)?;
        let started = Instant::now();
        // The pull secret and the stored revision live in the namespace.
        deploy::namespace::ensure(&self.cluster, &target.namespace).await?;
        let pull_secrets = self.pull_secrets(app, image, &target).await?;
        let mut overrides = image::values(image, &pull_secrets);
        if let (Some(into), Some(more)) = (overrides.as_object_mut(), extra.as_object()) {
            into.extend(more.clone());
        }
        let (chart, vals) = load_values(app, &overrides).await?;
        let digest = inputs::digest(&app.chart.value, &vals.merged, &image.reference)
            .map_err(|e| Error::io("cannot read", app.chart.value.display(), e))?;
        let label = self.debug_label(app, digest.trim_start_matches("sha256:")[..40].to_owned());
        if !self.options.force
            && let Some(last) = history.iter().max_by_key(|r| r.version)
            && last.status() == Status::Deployed
            && last.labels.get(INPUTS_LABEL) == Some(&label)
        {
            return Ok(Deployed::Unchanged {
                revision: last.version,
            });
        }
        let mut rendered = self
            .render(&chart, &vals.merged, &target, plan.version, plan.install)
            .await?;
        self.debug_transform(app, image, &mut rendered, reporter)
            .await?;
        reporter.stage(Stage::Render, started.elapsed(), None);
        let mut record = release::Release::new(&NewRelease {
            name: &target.name,
            namespace: &target.namespace,
            version: plan.version,
            chart: &parts::chart_parts(&chart),
            config: vals.config.as_object().cloned().unwrap_or_default(),
            rendered: &rendered,
            status: plan.pending(),
            description: plan.pending_description().to_owned(),
            first_deployed: plan.first_deployed.clone(),
            now: k8s_openapi::jiff::Timestamp::now(),
        });
        record.labels.insert(INPUTS_LABEL.to_owned(), label);
        let stored = Instant::now();
        store
            .begin(
                &mut record,
                plan.pending(),
                plan.pending_description(),
                app.history_max.value,
            )
            .await?;
        reporter.printer.debug(format_args!(
            "{}: stored revision {} in {:.3}s",
            target.name,
            plan.version,
            stored.elapsed().as_secs_f64()
        ));
        let previous = parts::previous_kinds(&history);
        let events = if plan.install {
            (HookEvent::PreInstall, HookEvent::PostInstall)
        } else {
            (HookEvent::PreUpgrade, HookEvent::PostUpgrade)
        };
        let outcome = self
            .apply_and_wait(&target, &rendered, &previous, events, reporter)
            .await;
        match outcome {
            Ok(()) => {
                store
                    .finish(&mut record, Status::Deployed, plan.complete_description())
                    .await?;
                Ok(Deployed::Ready {
                    revision: plan.version,
                })
            }
            Err(err) => {
                let description = plan.failed_description(&target.name, &err.to_string());
                store
                    .finish(&mut record, Status::Failed, &description)
                    .await?;
                Err(err)
            }
        }
    }

    /// Re-applies revision `target` (default: the one before the newest)
    /// and records it as a new revision, as `helm rollback` does.
    pub async fn rollback(
        &self,
        app: &AppConfig,
        target: Option<u32>,
        reporter: Reporter<'_>,
    ) -> Result<(u32, u32)> {
        let release = deploy::Release {
            name: app.name.value.clone(),
            namespace: app.namespace.value.clone(),
        };
        let store = Store::new(&self.cluster, &release.namespace, &release.name);
        let history = store.history().await?;
        let plan = release::rollback_plan(
            &release.name,
            &release.namespace,
            &history,
            target,
            k8s_openapi::jiff::Timestamp::now(),
        )?;
        let rendered = stored::rendered(&plan.record).map_err(|message| {
            Error::Internal(format!(
                "revision {} cannot be read: {message}",
                plan.target
            ))
        })?;
        let mut record = plan.record;
        let description = format!("Rollback to {}", plan.target);
        store
            .begin(
                &mut record,
                Status::PendingRollback,
                &description,
                app.history_max.value,
            )
            .await?;
        let previous = parts::previous_kinds(&history);
        let events = (HookEvent::PreRollback, HookEvent::PostRollback);
        match self
            .apply_and_wait(&release, &rendered, &previous, events, reporter)
            .await
        {
            Ok(()) => {
                store
                    .finish(&mut record, Status::Deployed, &description)
                    .await?;
                Ok((plan.target, record.version))
            }
            Err(err) => {
                let failed = format!("Rollback {:?} failed: {err}", release.name);
                store.finish(&mut record, Status::Failed, &failed).await?;
                Err(err)
            }
        }
    }

    /// Hooks before, apply, rollout, hooks after.
    pub async fn apply_and_wait(
        &self,
        target: &deploy::Release,
        rendered: &Rendered,
        previous: &[(String, String)],
        (before, after): (HookEvent, HookEvent),
        reporter: Reporter<'_>,
    ) -> Result<()> {
        let options = WaitOptions {
            deadline: self.options.timeout.unwrap_or(rollout::DEFAULT_DEADLINE),
            ..WaitOptions::default()
        };
        let mut progress = |update: &rollout::Update| {
            reporter
                .printer
                .debug(format_args!("{}: {}", update.object, update.what));
        };
        let started = Instant::now();
        let cluster = &self.cluster;
        let resolver = &self.resolver;
        hooks::run(
            cluster,
            resolver,
            target,
            &rendered.hooks,
            before,
            &options,
            &mut progress,
        )
        .await?;
        let applied = deploy::apply_release(cluster, resolver, target, rendered, previous).await?;
        let pruned = (!applied.pruned.is_empty()).then(|| {
            let names: Vec<String> = applied.pruned.iter().map(ToString::to_string).collect();
            format!("pruned {}", names.join(", "))
        });
        reporter.stage(Stage::Apply, started.elapsed(), pruned);
        let started = Instant::now();
        rollout::wait(
            cluster,
            &target.namespace,
            &applied.deployments(),
            &options,
            &mut progress,
        )
        .await?;
        hooks::run(
            cluster,
            resolver,
            target,
            &rendered.hooks,
            after,
            &options,
            &mut progress,
        )
        .await?;
        reporter.stage(Stage::Rollout, started.elapsed(), None);
        Ok(())
    }

    async fn render(
        &self,
        chart: &Chart,
        merged: &Json,
        target: &deploy::Release,
        revision: u32,
        install: bool,
    ) -> Result<Rendered> {
        let lookup: Arc<dyn crate::helm::rendered::Lookup> = Arc::new(live::LiveLookup::new(
            self.cluster.clone(),
            Arc::clone(&self.resolver),
        ));
        let chart = chart.clone();
        let merged = merged.clone();
        let info = ReleaseInfo {
            name: target.name.clone(),
            namespace: target.namespace.clone(),
            revision: i64::from(revision),
            is_install: install,
        };
        let caps = self.capabilities.clone();
        // `lookup` blocks on the runtime, so the render runs off it.
        tokio::task::spawn_blocking(move || {
            crate::helm::chart::render(&chart, &merged, &info, &caps, Some(lookup))
        })
        .await
        .map_err(|e| Error::Internal(format!("the render task failed: {e}")))?
        .map_err(Error::from)
    }

    /// `imagePullSecrets`: devloop.toml's, plus the one `--create-pull-secret` makes.
    async fn pull_secrets(
        &self,
        app: &AppConfig,
        image: &BuildResult,
        target: &deploy::Release,
    ) -> Result<Vec<String>> {
        let mut names = app.image_pull_secrets.value.clone();
        if self.options.create_pull_secret {
            let registry = image::split(&image.reference).0;
            let host = crate::build::registry::registry_host(registry).to_owned();
            let dir = self.docker_config.clone();
            let lookup_host = host.clone();
            let credentials = tokio::task::spawn_blocking(move || {
                crate::build::registry::credentials(&dir, &lookup_host)
            })
            .await
            .map_err(|e| Error::Internal(format!("the credentials task failed: {e}")))??;
            let Some(credentials) = credentials else {
                return Err(Error::usage(
                    format!("--create-pull-secret: no Docker credentials for {host}"),
                    Some(format!("log in first: `docker login {host}`")),
                ));
            };
            names.push(pull_secret::ensure(&self.cluster, target, &credentials).await?);
        }
        Ok(names)
    }
}

/// Loads the chart and coalesces the app's values files with devloop's
/// image values over them.
async fn load_values(app: &AppConfig, overrides: &Json) -> Result<(Chart, values::Values)> {
    let inputs = ValueInputs {
        files: app.values.value.clone(),
        overrides: overrides.clone(),
        ..ValueInputs::default()
    };
    let path = app.chart.value.clone();
    tokio::task::spawn_blocking(move || {
        let chart = Chart::load(&path)?;
        let vals = values::coalesce(&chart, &inputs)?;
        Ok::<_, Error>((chart, vals))
    })
    .await
    .map_err(|e| Error::Internal(format!("the chart task failed: {e}")))?
}
