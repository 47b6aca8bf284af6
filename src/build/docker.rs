//! The real [`Builder`]: the Docker Engine API through bollard.
//!
//! Connects where the docker CLI would (see [`endpoint`]), negotiates the API
//! version (Debian's engine speaks 1.41), builds with the classic builder
//! from a streamed context, then pushes (credentials from Docker's config,
//! skipped when the registry has the tag), loads into kind/k3d node
//! containers (see [`load`]), or does nothing for a shared daemon. Old
//! devloop images of the app are removed, keeping the newest N.
//!
//! `BuildKit` is not used: bollard needs its `buildkit` feature (`tonic`, `prost`
//! and a gRPC session) for it, which this binary does not carry yet; the
//! classic builder builds every Dockerfile devloop scaffolds.

pub mod endpoint;
mod inspect;
mod load;
pub mod progress;
mod prune;
mod push;
mod upload;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt as _;

pub use endpoint::Endpoint;
pub use inspect::ImageConfig;

use super::context::{BuildContext, Summary};
use super::registry::{self, Credentials};
use super::{
    BuildError, BuildRequest, BuildResult, Builder, Delivery, OWNER_LABEL, PullPolicy, Timings,
    content_tag, owner,
};
use crate::output::Printer;

/// bollard's per-request timeout. Builds and pushes of large images over a
/// slow link take many minutes, and the default 120 s would cut them off; an
/// hour bounds a wedged engine without ever cutting a real build.
const REQUEST_TIMEOUT_SECS: u64 = 3600;

/// How long connecting and negotiating may take: a local engine answers in
/// milliseconds; a remote one that has not answered in 10 s is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The Docker Engine builder.
/// One image build: what [`DockerBuilder::build_image`] sends and names.
#[derive(Clone, Copy)]
struct Job<'a> {
    request: &'a BuildRequest,
    context: &'a BuildContext,
    summary: &'a Summary,
    local: &'a str,
}

pub struct DockerBuilder {
    docker: Docker,
    endpoint: Endpoint,
    docker_config: std::path::PathBuf,
}

impl DockerBuilder {
    /// The image's ENTRYPOINT followed by its CMD (what a container runs
    /// when the pod sets neither).
    pub async fn image_command(&self, image: &str) -> Result<Vec<String>, BuildError> {
        let inspect = self
            .docker
            .inspect_image(image)
            .await
            .map_err(|e| BuildError::Engine {
                message: format!("cannot inspect {image}: {e}"),
            })?;
        let config = inspect.config.unwrap_or_default();
        let mut command = config.entrypoint.unwrap_or_default();
        command.extend(config.cmd.unwrap_or_default());
        Ok(command)
    }

    /// Connects to the engine the environment names and negotiates the API version.
    pub async fn connect(
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DockerBuilder, BuildError> {
        let docker_config = registry::docker_config_dir(env);
        let endpoint = endpoint::resolve(env, &docker_config)?;
        let unreachable = |message: String| BuildError::NoEngine {
            host: endpoint.host.clone(),
            origin: endpoint.origin.clone(),
            message,
        };
        let version = bollard::API_DEFAULT_VERSION;
        let host = endpoint.host.as_str();
        let docker = if let Some(path) = host.strip_prefix("unix://") {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, version)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            match &endpoint.tls {
                Some(tls) => Docker::connect_with_ssl(
                    host,
                    &tls.key,
                    &tls.cert,
                    &tls.ca,
                    REQUEST_TIMEOUT_SECS,
                    version,
                ),
                None => Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, version),
            }
        } else {
            return Err(unreachable(
                "devloop speaks unix:// and tcp:// (with or without TLS) to the engine".to_owned(),
            ));
        }
        .map_err(|e| unreachable(error_chain(&e)))?;
        let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(error_chain(&e)))?;
        Ok(DockerBuilder {
            docker,
            endpoint,
            docker_config,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    async fn run(
        &self,
        request: &BuildRequest,
        printer: &Printer,
    ) -> Result<BuildResult, BuildError> {
        let mut timings = Timings::default();
        let started = Instant::now();
        let context = BuildContext::open(&request.context, &request.dockerfile)?;
        let summary = blocking({
            let context = context.clone();
            move || context.digest()
        })
        .await?;
        timings.context = started.elapsed();
        let tag = content_tag(
            &summary.digest,
            &context.dockerfile,
            &request.build_args,
            request.target.as_deref(),
        );
        let local = format!("{}:{tag}", request.image);
        printer.debug(format_args!(
            "context {} entries, {} bytes, sha256:{} ({:.2}s)",
            summary.entries,
            summary.bytes,
            summary.digest,
            timings.context.as_secs_f64()
        ));

        let credentials = match &request.delivery {
            Delivery::Push { registry, .. } => {
                let dir = self.docker_config.clone();
                let registry = registry.clone();
                blocking(move || registry::credentials(&dir, &registry)).await?
            }
            _ => None,
        };
        // Already in the registry: nothing to build or push.
        if let Delivery::Push {
            registry,
            pull_from,
        } = &request.delivery
        {
            let remote = format!("{registry}/{}:{tag}", request.image);
            if let Some(digest) = self
                .registry_digest(&remote, registry, credentials.as_ref())
                .await?
            {
                printer.status("Fresh", format_args!("{remote} (in the registry)"));
                return Ok(BuildResult {
                    reference: pushed_reference(
                        registry,
                        pull_from.as_deref(),
                        &request.image,
                        &digest,
                    ),
                    pull_policy: PullPolicy::Chart,
                    delivery: request.delivery.clone(),
                    local,
                    tag,
                    built: false,
                    delivered: false,
                    context_bytes: summary.bytes,
                    timings,
                });
            }
        }

        let exists = self.docker.inspect_image(&local).await.is_ok();
        let build_started = Instant::now();
        if exists {
            printer.status("Fresh", format_args!("{local} (no change)"));
        } else {
            let job = Job {
                request,
                context: &context,
                summary: &summary,
                local: &local,
            };
            self.build_retrying(&job, printer).await?;
        }
        timings.build = build_started.elapsed();

        let deliver_started = Instant::now();
        let (reference, pull_policy, delivered) = self
            .deliver(request, &tag, &local, credentials.as_ref(), printer)
            .await?;
        timings.deliver = deliver_started.elapsed();
        if !request.defer_prune {
            let owner = owner(&request.app, &request.context);
            self.prune_images(&owner, request.keep_images, &local, printer)
                .await;
        }
        Ok(BuildResult {
            reference,
            pull_policy,
            delivery: request.delivery.clone(),
            local,
            tag,
            built: !exists,
            delivered,
            context_bytes: summary.bytes,
            timings,
        })
    }

    /// Push, load or nothing; returns the reference, pull policy and whether anything moved.
    async fn deliver(
        &self,
        request: &BuildRequest,
        tag: &str,
        local: &str,
        credentials: Option<&Credentials>,
        printer: &Printer,
    ) -> Result<(String, PullPolicy, bool), BuildError> {
        Ok(match &request.delivery {
            Delivery::Push {
                registry,
                pull_from,
            } => {
                let digest = self
                    .push(request, registry, tag, local, credentials, printer)
                    .await?;
                (
                    pushed_reference(registry, pull_from.as_deref(), &request.image, &digest),
                    PullPolicy::Chart,
                    true,
                )
            }
            Delivery::Load { runtime, cluster } => {
                let loaded = load::load(&self.docker, *runtime, cluster, local, printer).await?;
                (local.to_owned(), PullPolicy::IfNotPresent, loaded)
            }
            Delivery::SharedDaemon | Delivery::Local => {
                (local.to_owned(), PullPolicy::IfNotPresent, false)
            }
        })
    }

    /// [`Self::build_image`], once more when another build on this engine
    /// removed an image this one had just taken from its cache (the classic
    /// builder holds no lease on cached steps): the second try builds that
    /// step afresh.
    async fn build_retrying(&self, job: &Job<'_>, printer: &Printer) -> Result<(), BuildError> {
        let mut retried = false;
        loop {
            match self.build_image(job, printer).await {
                Err(err) if err.is_vanished_image() && !retried => {
                    printer.warn(format_args!(
                        "{err}\n  (another build on this Docker engine removed a cached layer); building again"
                    ));
                    retried = true;
                }
                other => return other,
            }
        }
    }

    async fn build_image(&self, job: &Job<'_>, printer: &Printer) -> Result<(), BuildError> {
        let Job {
            request,
            context,
            summary,
            local,
        } = *job;
        printer.status("Building", format_args!("{} ({local})", request.app));
        let labels = HashMap::from([(
            OWNER_LABEL.to_owned(),
            owner(&request.app, &request.context),
        )]);
        let args: HashMap<String, String> = request.build_args.clone().into_iter().collect();
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&context.dockerfile)
            .t(local)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .buildargs(&args);
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        let (body, sent) = upload::stream_context(context.clone());
        let mut stream =
            self.docker
                .build_image(options.build(), None, Some(bollard::body_try_stream(body)));
        let mut progress = progress::Progress::default();
        let bar = printer.progress(None);
        bar.enable_steady_tick(Duration::from_millis(120));
        let started = Instant::now();
        let mut announced: Option<String> = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        let (done, output) = progress.feed(&text, Instant::now());
                        for step in done {
                            print_step(printer, &step);
                        }
                        if let Some(current) = progress.current()
                            && announced.as_deref() != Some(current)
                        {
                            // With -v the step's output follows; say whose it is.
                            printer.debug(format_args!("running {current}"));
                            bar.set_message(current.to_owned());
                            announced = Some(current.to_owned());
                        }
                        for line in output {
                            printer.debug(line);
                        }
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    bar.finish_and_clear();
                    return Err(progress.failure(&error));
                }
                Err(other) => {
                    bar.finish_and_clear();
                    // A context that could not be read fails the upload: report that.
                    if let Ok(Err(err)) = sent.await {
                        return Err(err);
                    }
                    return Err(BuildError::Engine {
                        message: other.to_string(),
                    });
                }
            }
        }
        bar.finish_and_clear();
        if let Some(step) = progress.finish(Instant::now()) {
            print_step(printer, &step);
        }
        let sent = sent.await.map_err(|e| BuildError::Engine {
            message: format!("the context writer failed: {e}"),
        })??;
        if sent.digest != summary.digest {
            return Err(BuildError::ContextChanged {
                path: context.root.clone(),
            });
        }
        printer.status(
            "Built",
            format_args!(
                "{local} ({} steps, {} cached, {:.1}s)",
                progress.steps,
                progress.cached,
                started.elapsed().as_secs_f64()
            ),
        );
        Ok(())
    }
}

impl Builder for DockerBuilder {
    fn build(
        &self,
        request: &BuildRequest,
        printer: &Printer,
    ) -> impl Future<Output = Result<BuildResult, BuildError>> + Send {
        self.run(request, printer)
    }
}

/// An error with its causes (`client error (Connect): Connection refused`):
/// bollard's own message often hides the cause.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `repo@sha256:...` under the name the cluster pulls by.
fn pushed_reference(registry: &str, pull_from: Option<&str>, image: &str, digest: &str) -> String {
    format!("{}/{image}@{digest}", pull_from.unwrap_or(registry))
}

fn print_step(printer: &Printer, step: &progress::StepDone) {
    if step.cached {
        printer.status("Step", format_args!("{} (cached)", step.short()));
    } else {
        printer.status(
            "Step",
            format_args!("{} ({:.1}s)", step.short(), step.elapsed.as_secs_f64()),
        );
    }
}

/// Runs blocking work (file walks, credential helpers) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BuildError> + Send + 'static,
) -> Result<T, BuildError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BuildError::Engine {
            message: format!("a worker thread failed: {e}"),
        })?
}
