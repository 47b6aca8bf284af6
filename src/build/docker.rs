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
mod load;
pub mod progress;

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, ListImagesOptionsBuilder, PushImageOptionsBuilder,
    RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};

pub use endpoint::Endpoint;

use super::context::{BuildContext, Summary};
use super::registry::{self, Credentials};
use super::{
    APP_LABEL, BuildError, BuildRequest, BuildResult, Builder, Delivery, PullPolicy, Timings,
    content_tag,
};
use crate::output::Printer;

/// bollard's per-request timeout. Builds and pushes of large images over a
/// slow link take many minutes, and the default 120 s would cut them off; an
/// hour bounds a wedged engine without ever cutting a real build.
const REQUEST_TIMEOUT_SECS: u64 = 3600;

/// How long connecting and negotiating may take: a local engine answers in
/// milliseconds; a remote one that has not answered in 10 s is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Size of the chunks the context is streamed in, and how many may wait in
/// the channel: 8 x 256 KiB bounds the memory the context can hold.
const CHUNK: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 8;

/// The Docker Engine builder.
pub struct DockerBuilder {
    docker: Docker,
    endpoint: Endpoint,
    docker_config: std::path::PathBuf,
}

impl DockerBuilder {
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
        .map_err(|e| unreachable(e.to_string()))?;
        let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(e.to_string()))?;
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
            Delivery::Push { registry } => {
                let dir = self.docker_config.clone();
                let registry = registry.clone();
                blocking(move || registry::credentials(&dir, &registry)).await?
            }
            _ => None,
        };
        // Already in the registry: nothing to build or push.
        if let Delivery::Push { registry } = &request.delivery {
            let remote = format!("{registry}/{}:{tag}", request.image);
            if let Some(digest) = self
                .registry_digest(&remote, registry, credentials.as_ref())
                .await?
            {
                printer.status("Fresh", format_args!("{remote} (in the registry)"));
                return Ok(BuildResult {
                    reference: format!("{registry}/{}@{digest}", request.image),
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
            self.build_image(request, &context, &summary, &local, printer)
                .await?;
        }
        timings.build = build_started.elapsed();

        let deliver_started = Instant::now();
        let (reference, pull_policy, delivered) = self
            .deliver(request, &tag, &local, credentials.as_ref(), printer)
            .await?;
        timings.deliver = deliver_started.elapsed();
        self.prune(request, &local, printer).await;
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
            Delivery::Push { registry } => {
                let digest = self
                    .push(request, registry, tag, local, credentials, printer)
                    .await?;
                (
                    format!("{registry}/{}@{digest}", request.image),
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

    async fn build_image(
        &self,
        request: &BuildRequest,
        context: &BuildContext,
        summary: &Summary,
        local: &str,
        printer: &Printer,
    ) -> Result<(), BuildError> {
        printer.status("Building", format_args!("{} ({local})", request.app));
        let labels = HashMap::from([(APP_LABEL.to_owned(), request.app.clone())]);
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
        let (body, sent) = stream_context(context.clone());
        let mut stream =
            self.docker
                .build_image(options.build(), None, Some(bollard::body_try_stream(body)));
        let mut progress = progress::Progress::default();
        let bar = printer.progress(None);
        let started = Instant::now();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        let (done, output) = progress.feed(&text, Instant::now());
                        for step in done {
                            print_step(printer, &step);
                        }
                        for line in output {
                            printer.debug(line);
                        }
                        if let Some(current) = progress.current() {
                            bar.set_message(current.to_owned());
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

    /// The manifest digest of `remote` in its registry, or `None` when it is not there.
    async fn registry_digest(
        &self,
        remote: &str,
        registry: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Option<String>, BuildError> {
        match self
            .docker
            .inspect_registry_image(remote, credentials.map(to_bollard))
            .await
        {
            Ok(inspect) => Ok(inspect.descriptor.digest),
            Err(err) => {
                let message = registry::redact(&err.to_string(), credentials);
                if is_auth_error(&message) && credentials.is_some() {
                    Err(BuildError::Auth {
                        registry: registry.to_owned(),
                        message,
                    })
                } else {
                    // Not there, or not readable anonymously: the push decides.
                    Ok(None)
                }
            }
        }
    }

    async fn push(
        &self,
        request: &BuildRequest,
        registry: &str,
        tag: &str,
        local: &str,
        credentials: Option<&Credentials>,
        printer: &Printer,
    ) -> Result<String, BuildError> {
        let repo = format!("{registry}/{}", request.image);
        let remote = format!("{repo}:{tag}");
        let engine = |e: bollard::errors::Error| BuildError::Engine {
            message: e.to_string(),
        };
        let options = TagImageOptionsBuilder::default()
            .repo(&repo)
            .tag(tag)
            .build();
        self.docker
            .tag_image(local, Some(options))
            .await
            .map_err(engine)?;
        printer.status("Pushing", &remote);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = self
            .docker
            .push_image(&repo, Some(options), credentials.map(to_bollard));
        // bollard's PushImageInfo drops the layer id; the engine sends one
        // final status per layer, so counting them counts layers.
        let (mut pushed, mut present) = (0_usize, 0_usize);
        let mut digest = None;
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| {
                let mut message = registry::redact(&e.to_string(), credentials);
                if credentials.is_none() {
                    message = format!(
                        "{message} (no credentials for it in {})",
                        self.docker_config.join("config.json").display()
                    );
                }
                if is_auth_error(&message) {
                    BuildError::Auth {
                        registry: registry.to_owned(),
                        message,
                    }
                } else {
                    BuildError::Push {
                        registry: registry.to_owned(),
                        image: remote.clone(),
                        message,
                    }
                }
            })?;
            let status = info.status.unwrap_or_default();
            match status.as_str() {
                "Pushed" => pushed += 1,
                s if s == "Layer already exists" || s.starts_with("Mounted from") => present += 1,
                s if s.contains("digest: sha256:") => {
                    digest = s
                        .split_whitespace()
                        .find(|w| w.starts_with("sha256:"))
                        .map(str::to_owned);
                }
                _ => {}
            }
        }
        printer.status(
            "Pushed",
            format_args!("{remote} ({pushed} layers sent, {present} already there)"),
        );
        match digest {
            Some(d) => Ok(d),
            None => self
                .registry_digest(&remote, registry, credentials)
                .await?
                .ok_or_else(|| BuildError::Push {
                    registry: registry.to_owned(),
                    image: remote,
                    message: "the registry reported no manifest digest".to_owned(),
                }),
        }
    }

    /// Removes this app's devloop images beyond the newest `keep_images`;
    /// images in use by a container stay (the engine refuses), quietly.
    async fn prune(&self, request: &BuildRequest, keep: &str, printer: &Printer) {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{APP_LABEL}={}", request.app)],
        )]);
        let options = ListImagesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let Ok(mut images) = self.docker.list_images(Some(options)).await else {
            return;
        };
        images.sort_by_key(|i| std::cmp::Reverse(i.created));
        let keep_id = self
            .docker
            .inspect_image(keep)
            .await
            .ok()
            .and_then(|i| i.id);
        for image in images.iter().skip(request.keep_images.max(1)) {
            if keep_id.as_deref() == Some(image.id.as_str()) {
                continue;
            }
            let options = RemoveImageOptionsBuilder::default().force(false).build();
            // Each tag of the image is removed by name, then the image itself.
            let names: Vec<&str> = if image.repo_tags.is_empty() {
                vec![image.id.as_str()]
            } else {
                image.repo_tags.iter().map(String::as_str).collect()
            };
            for name in names {
                match self
                    .docker
                    .remove_image(name, Some(options.clone()), None)
                    .await
                {
                    Ok(_) => printer.debug(format_args!("removed old image {name}")),
                    Err(err) => printer.debug(format_args!("kept {name}: {err}")),
                }
            }
        }
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

fn is_auth_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
        "401",
        "403",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

fn to_bollard(c: &Credentials) -> DockerCredentials {
    DockerCredentials {
        username: c.username.clone(),
        password: c.password.clone(),
        identitytoken: c.identity_token.clone(),
        serveraddress: Some(c.server.clone()),
        ..Default::default()
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

/// The context as a stream of chunks, written by a blocking task; the task
/// returns the summary of what it sent.
fn stream_context(
    context: BuildContext,
) -> (
    impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
    tokio::task::JoinHandle<Result<Summary, BuildError>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(CHUNKS_IN_FLIGHT);
    let task = tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = context
            .write(writer, &mut |_| {})
            .and_then(|(mut writer, summary)| {
                writer.send().map_err(|source| BuildError::Context {
                    path: context.root.clone(),
                    source,
                })?;
                Ok(summary)
            });
        if let Err(err) = &result {
            let _ = tx.blocking_send(Err(io::Error::other(err.to_string())));
        }
        result
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (stream, task)
}

struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine stopped reading the context",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
