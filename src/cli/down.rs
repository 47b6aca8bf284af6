//! `devloop down`: delete each app's release from the cluster — its
//! objects, its stored revisions, and the namespace if devloop created it
//! and nothing else is left in it.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::AppArgs;
use super::cluster_args::{ClusterArgs, runtime};
use crate::context::Context;
use crate::deploy::{self, Release, Resolver};
use crate::error::Result;

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub apps: AppArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Serialize)]
struct Removed<'a> {
    event: &'static str,
    app: &'a str,
    namespace: &'a str,
    objects: Vec<String>,
    revisions: usize,
    namespace_deleted: bool,
    namespace_kept_for: &'a [String],
}

/// How long `down` waits for the release's pods to terminate.
const POD_GRACE: Duration = Duration::from_mins(1);

/// Deletes `release` as `down` does; the newest stored revision says which
/// kinds it has, also ones outside the common set. `up --cleanup` uses it too.
pub(super) async fn remove(
    cluster: &crate::cluster::Cluster,
    resolver: &Resolver,
    release: &Release,
) -> Result<deploy::DownOutcome> {
    let store = crate::release::Store::new(cluster, &release.namespace, &release.name);
    let kinds: Vec<(String, String)> = store
        .last()
        .await?
        .map(|r| {
            r.resources()
                .into_iter()
                .map(|o| (o.api_version, o.kind))
                .collect()
        })
        .unwrap_or_default();
    Ok(deploy::down(cluster, resolver, release, &kinds, POD_GRACE).await?)
}

pub fn run(args: &DownArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    runtime()?.block_on(async {
        let cluster = args.cluster.connect(ctx, &config, &apps).await?;
        let resolver = Resolver::new(cluster.clone());
        for app in &apps {
            let started = Instant::now();
            let release = Release {
                name: app.name.value.clone(),
                namespace: app.namespace.value.clone(),
            };
            let outcome = remove(&cluster, &resolver, &release).await?;
            if ctx.printer.is_json() {
                ctx.printer.event(&Removed {
                    event: "removed",
                    app: &release.name,
                    namespace: &release.namespace,
                    objects: outcome.deleted.iter().map(ToString::to_string).collect(),
                    revisions: outcome.revisions,
                    namespace_deleted: outcome.namespace_deleted,
                    namespace_kept_for: &outcome.kept_namespace_for,
                });
                continue;
            }
            ctx.printer.status(
                "Removed",
                format_args!(
                    "{} from {}: {} objects, {} revisions ({:.1}s)",
                    release.name,
                    release.namespace,
                    outcome.deleted.len(),
                    outcome.revisions,
                    started.elapsed().as_secs_f64()
                ),
            );
            if outcome.namespace_deleted {
                ctx.printer
                    .status("Removed", format_args!("namespace {}", release.namespace));
            } else if !outcome.kept_namespace_for.is_empty() {
                ctx.printer.status(
                    "Kept",
                    format_args!(
                        "namespace {}: it still holds {}",
                        release.namespace,
                        outcome.kept_namespace_for.join(", ")
                    ),
                );
            }
        }
        Ok(())
    })
}
