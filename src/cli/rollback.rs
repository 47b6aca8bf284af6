//! `devloop rollback [REVISION]`: re-apply an earlier revision of the app's
//! release (default: the one before the newest) and record it as a new
//! revision, as `helm rollback` does — helm sees it too.

use clap::Args;
use serde::Serialize;

use super::AppArgs;
use super::cluster_args::{ClusterArgs, runtime};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::pipeline::{Options, Pipeline};
use crate::session::pipeline::Reporter;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The revision to go back to (default: the one before the newest)
    #[arg(value_name = "REVISION")]
    pub revision: Option<u32>,
    #[command(flatten)]
    pub apps: AppArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// How long the rollout may take (e.g. 90s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = super::duration::parse)]
    pub timeout: std::time::Duration,
}

#[derive(Serialize)]
struct RolledBack<'a> {
    event: &'static str,
    app: &'a str,
    to: u32,
    revision: u32,
}

pub fn run(args: &RollbackArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    if apps.len() > 1 && args.revision.is_some() {
        return Err(Error::usage(
            "a revision number belongs to one app's release",
            Some("pass --app NAME".to_owned()),
        ));
    }
    runtime()?.block_on(async {
        let cluster = args.cluster.connect(ctx, &config, &apps).await?;
        let options = Options {
            timeout: Some(args.timeout),
            ..Options::default()
        };
        let pipeline =
            Pipeline::connect(cluster, &|key: &str| ctx.env(key), options, false).await?;
        for app in &apps {
            let reporter = Reporter {
                printer: &ctx.printer,
                app: &app.name.value,
                iteration: 1,
            };
            let (to, revision) = pipeline.rollback(app, args.revision, reporter).await?;
            if ctx.printer.is_json() {
                ctx.printer.event(&RolledBack {
                    event: "rolled_back",
                    app: &app.name.value,
                    to,
                    revision,
                });
            } else {
                ctx.printer.status(
                    "Rolled back",
                    format_args!(
                        "{} to revision {to} (now revision {revision})",
                        app.name.value
                    ),
                );
            }
        }
        Ok(())
    })
}
