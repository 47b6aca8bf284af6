//! `devloop deploy`: build, push or load, render, apply and wait — once,
//! for each app. With nothing changed since the last deploy (chart files,
//! merged values, image, devloop's version) it does nothing and says so.

use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::AppArgs;
use super::cluster_args::{ClusterArgs, runtime};
use crate::context::Context;
use crate::error::Result;
use crate::pipeline::{Deployed, Options, Pipeline};
use crate::session::pipeline::Reporter;

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub apps: AppArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub deploy: DeployFlags,
    /// Deploy even when nothing changed since the last deploy
    #[arg(long)]
    pub force: bool,
}

/// Flags `deploy` and `up` share.
#[derive(Debug, Args, Clone)]
pub struct DeployFlags {
    /// Push to the registry, even for a kind/k3d or shared-daemon cluster
    #[arg(long, overrides_with = "no_push")]
    pub push: bool,
    /// Do not push: load into kind/k3d nodes, else keep the image local
    #[arg(long)]
    pub no_push: bool,
    /// Copy your Docker credentials for the registry into a pull Secret in the namespace
    #[arg(long)]
    pub create_pull_secret: bool,
    /// How long a rollout may take (e.g. 90s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = super::duration::parse)]
    pub timeout: std::time::Duration,
}

impl DeployFlags {
    pub fn options(&self, force: bool) -> Options {
        Options {
            push: match (self.push, self.no_push) {
                (true, _) => Some(true),
                (false, true) => Some(false),
                (false, false) => None,
            },
            create_pull_secret: self.create_pull_secret,
            timeout: Some(self.timeout),
            force,
        }
    }
}

#[derive(Serialize)]
struct Done<'a> {
    event: &'static str,
    app: &'a str,
    namespace: &'a str,
    revision: u32,
    unchanged: bool,
    image: &'a str,
}

pub fn run(args: &DeployArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    runtime()?.block_on(async {
        let cluster = args.cluster.connect(ctx, &config, &apps).await?;
        let pipeline = Pipeline::connect(
            cluster,
            &|key: &str| ctx.env(key),
            args.deploy.options(args.force),
            true,
        )
        .await?;
        for app in &apps {
            let started = Instant::now();
            let reporter = Reporter {
                printer: &ctx.printer,
                app: &app.name.value,
                iteration: 1,
            };
            let image = pipeline.build(app, reporter).await?;
            let deployed = pipeline.deploy(app, &image, reporter).await?;
            let (revision, unchanged) = match deployed {
                Deployed::Unchanged { revision } => (revision, true),
                Deployed::Ready { revision } => (revision, false),
            };
            if ctx.printer.is_json() {
                ctx.printer.event(&Done {
                    event: "deployed",
                    app: &app.name.value,
                    namespace: &app.namespace.value,
                    revision,
                    unchanged,
                    image: &image.reference,
                });
            } else if unchanged {
                ctx.printer.status(
                    "Unchanged",
                    format_args!(
                        "{}: nothing changed since revision {revision} (--force deploys anyway)",
                        app.name.value
                    ),
                );
            } else {
                ctx.printer.status(
                    "Deployed",
                    format_args!(
                        "{} revision {revision} to {} in {:.1}s",
                        app.name.value,
                        app.namespace.value,
                        started.elapsed().as_secs_f64()
                    ),
                );
            }
        }
        Ok(())
    })
}
