//! `devloop status`: each app's release revision, its pods and their state,
//! and — while a `devloop up` runs for this repository — that session and
//! its forwards.

use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;

use super::AppArgs;
use super::cluster_args::runtime;
use crate::context::Context;
use crate::deploy;
use crate::error::Result;
use crate::release::Store;
use crate::session::state;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub apps: AppArgs,
}

#[derive(Serialize)]
struct AppStatus {
    event: &'static str,
    app: String,
    namespace: String,
    revision: Option<u32>,
    release_status: Option<String>,
    pods: Vec<PodStatus>,
    /// The pid of the `devloop up` session, if one runs.
    session: Option<u32>,
    forwards: Vec<String>,
    /// Live sync of the running session: files on top of the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    sync: Option<state::SyncStatus>,
}

#[derive(Serialize)]
struct PodStatus {
    name: String,
    phase: String,
    ready: bool,
    restarts: i32,
}

fn pod_status(pod: Pod) -> PodStatus {
    let status = pod.status.unwrap_or_default();
    let statuses = status.container_statuses.unwrap_or_default();
    let terminating = pod.metadata.deletion_timestamp.is_some();
    PodStatus {
        name: pod.metadata.name.unwrap_or_default(),
        phase: if terminating {
            "Terminating".to_owned()
        } else {
            status.phase.unwrap_or_default()
        },
        ready: !statuses.is_empty() && statuses.iter().all(|c| c.ready),
        restarts: statuses.iter().map(|c| c.restart_count).sum(),
    }
}

pub fn run(args: &StatusArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    let session = state::read(&state::path(&config.root, &|k| ctx.env(k)));
    runtime()?.block_on(async {
        let cluster = ctx.kube_target().connect().await?;
        for app in &apps {
            let release = deploy::Release {
                name: app.name.value.clone(),
                namespace: app.namespace.value.clone(),
            };
            let store = Store::new(&cluster, &release.namespace, &release.name);
            let newest = store.last().await?;
            let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &release.namespace);
            let list = pods
                .list(&ListParams::default().labels(&release.selector()))
                .await
                .map_err(|e| cluster.error("list pods", e))?;
            let in_session = session
                .as_ref()
                .and_then(|s| s.apps.iter().find(|a| a.name == release.name));
            let status = AppStatus {
                event: "status",
                app: release.name.clone(),
                namespace: release.namespace.clone(),
                revision: newest.as_ref().map(|r| r.version),
                release_status: newest.as_ref().map(|r| r.status().to_string()),
                pods: list.items.into_iter().map(pod_status).collect(),
                session: in_session.and(session.as_ref().map(|s| s.pid)),
                forwards: in_session.map(|a| a.forwards.clone()).unwrap_or_default(),
                sync: in_session.and_then(|a| a.sync.clone()),
            };
            print(ctx, &status);
        }
        Ok(())
    })
}

fn print(ctx: &Context, status: &AppStatus) {
    if ctx.printer.is_json() {
        ctx.printer.event(status);
        return;
    }
    let revision = match (&status.revision, &status.release_status) {
        (Some(r), Some(s)) => format!("revision {r} ({s})"),
        _ => "not deployed".to_owned(),
    };
    let session = status.session.map_or_else(
        || "no `devloop up` running".to_owned(),
        |pid| format!("`devloop up` running (pid {pid})"),
    );
    ctx.printer.data(format_args!(
        "{} in {}: {revision}; {session}",
        status.app, status.namespace
    ));
    for pod in &status.pods {
        ctx.printer.data(format_args!(
            "  pod {} {}{} restarts {}",
            pod.name,
            pod.phase,
            if pod.ready { " ready" } else { "" },
            pod.restarts
        ));
    }
    for forward in &status.forwards {
        ctx.printer.data(format_args!("  forward {forward}"));
    }
    if let Some(sync) = &status.sync {
        ctx.printer
            .data(format_args!("  sync {}", describe_sync(sync)));
    }
}

/// `3 files on top of the image in 1 pod (last 2026-...)`, or why it is off.
fn describe_sync(sync: &state::SyncStatus) -> String {
    if let Some(reason) = &sync.disabled {
        return format!("off until the next rebuild: {reason}");
    }
    let last = sync
        .last
        .as_ref()
        .map_or_else(String::new, |t| format!(" (last sync {t})"));
    format!(
        "{} rules; {} files on top of the image in {} pod(s){last}",
        sync.rules, sync.files, sync.pods
    )
}
