//! `devloop build`: build each app's image once, make it reachable by the
//! cluster (push, load or nothing), print the image reference on stdout.

use std::collections::BTreeMap;
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::AppArgs;
use crate::build::context::BuildContext;
use crate::build::docker::DockerBuilder;
use crate::build::registry::DeliveryInputs;
use crate::build::{BuildRequest, BuildResult, Builder as _, delivery};
use crate::config::AppConfig;
use crate::context::Context;
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub apps: AppArgs,
    /// Push to the registry, even for a kind/k3d or shared-daemon cluster
    #[arg(long, overrides_with = "no_push")]
    pub push: bool,
    /// Do not push: load into kind/k3d nodes, else keep the image local
    #[arg(long)]
    pub no_push: bool,
    /// A build argument, KEY=VALUE (repeatable)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub args: Vec<String>,
    /// The Dockerfile stage to build
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// The Dockerfile, relative to the app directory
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "Dockerfile"
    )]
    pub dockerfile: String,
    /// Print the files the build context sends (after .dockerignore) and its digest; needs no Docker
    #[arg(long)]
    pub show_context: bool,
}

#[derive(Serialize)]
struct Built<'a> {
    event: &'static str,
    app: &'a str,
    #[serde(flatten)]
    result: &'a BuildResult,
}

pub fn run(args: &BuildArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    if args.show_context {
        return show_context(&apps, &args.dockerfile, ctx);
    }
    let build_args = parse_build_args(&args.args)?;
    let kube = ctx.kube_target();
    let push = match (args.push, args.no_push) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    let mut requests = Vec::with_capacity(apps.len());
    for app in &apps {
        let delivery = delivery(DeliveryInputs {
            kube_context: kube.context.value.as_deref(),
            registry: app.registry.value.as_deref(),
            hosting_registry: None,
            push,
        })?;
        requests.push(BuildRequest {
            app: app.name.value.clone(),
            context: app.path.value.clone(),
            dockerfile: args.dockerfile.clone(),
            image: app.image.value.clone(),
            build_args: build_args.clone(),
            target: args.target.clone().filter(|t| !t.is_empty()),
            delivery,
            keep_images: app.keep_images.value,
            defer_prune: false,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let builder = DockerBuilder::connect(&|key: &str| ctx.env(key)).await?;
        ctx.printer.debug(format_args!(
            "Docker engine {} (from {})",
            builder.endpoint().host,
            builder.endpoint().origin
        ));
        for request in &requests {
            let result = builder.build(request, &ctx.printer).await?;
            ctx.printer.debug(format_args!(
                "timings: context {:.2}s, build {:.2}s, deliver {:.2}s",
                result.timings.context.as_secs_f64(),
                result.timings.build.as_secs_f64(),
                result.timings.deliver.as_secs_f64()
            ));
            if ctx.printer.is_json() {
                ctx.printer.event(&Built {
                    event: "built",
                    app: &request.app,
                    result: &result,
                });
            } else {
                ctx.printer.data(&result.reference);
            }
        }
        Ok(())
    })
}

fn parse_build_args(raw: &[String]) -> Result<BTreeMap<String, String>> {
    raw.iter()
        .map(|arg| match arg.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(Error::usage(
                format!("--build-arg `{arg}` is not KEY=VALUE"),
                None,
            )),
        })
        .collect()
}

/// `--show-context`: the entries on stdout, the digest and throughput on stderr.
fn show_context(apps: &[&AppConfig], dockerfile: &str, ctx: &Context) -> Result<()> {
    for app in apps {
        let started = Instant::now();
        let context = BuildContext::open(&app.path.value, dockerfile)?;
        let mut count = 0_u64;
        let (_, summary) = context.write(std::io::sink(), &mut |name| {
            count += 1;
            ctx.printer.data(name);
        })?;
        let secs = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
        let mib_s = summary.bytes as f64 / (1024.0 * 1024.0) / secs.max(1e-9);
        ctx.printer.status(
            "Context",
            format_args!(
                "{}: {count} entries, {} bytes, sha256:{} ({secs:.2}s, {mib_s:.0} MiB/s{})",
                app.name.value,
                summary.bytes,
                summary.digest,
                peak_rss().map_or_else(String::new, |kib| format!(", peak RSS {} MiB", kib / 1024))
            ),
        );
    }
    Ok(())
}

/// This process's peak resident memory in KiB (Linux), for `--show-context`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
