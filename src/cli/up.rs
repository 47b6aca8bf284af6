//! `devloop up`: deploy every app, then watch the tree and redeploy what a
//! change needs until Ctrl-C. A failed iteration is reported and the loop
//! keeps watching; devloop.toml changes restart the session. Ctrl-C leaves
//! the deployment running (`--cleanup` removes it); a second Ctrl-C exits at
//! once.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::AppArgs;
use super::cluster_args::{ClusterArgs, runtime};
use super::deploy::DeployFlags;
use crate::config::Config;
use crate::context::Context;
use crate::deploy::{self, Resolver};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::session::events::{self, Event};
use crate::session::forward::{self, Forward};
use crate::session::layout::{self, AppFiles};
use crate::session::logs::{self, LogTarget};
use crate::session::plan::Plan;
use crate::session::pods::{self, PodsRx, watch_pods};
use crate::session::run::{self, Exit, LoopApp};
use crate::session::stages::UpStages;
use crate::session::state::{self, AppState, SessionState};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub apps: AppArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub deploy: DeployFlags,
    /// On exit, delete what the session deployed (as `devloop down`)
    #[arg(long)]
    pub cleanup: bool,
    /// Do not stream the pods' logs
    #[arg(long)]
    pub no_logs: bool,
    /// Show only log lines newer than this (e.g. 10s, 5m); default: all
    #[arg(long, value_name = "DURATION", value_parser = super::duration::parse)]
    pub since: Option<Duration>,
    #[command(flatten)]
    pub debug: DebugFlags,
}

/// `devloop up --debug` and its companions.
#[derive(Debug, Args)]
pub struct DebugFlags {
    /// Run the apps under their debugger and forward its port (devloop.toml `[debug] port`)
    #[arg(long)]
    pub debug: bool,
    /// With --debug: hold rebuilds while a debugger is attached
    #[arg(long, requires = "debug")]
    pub hold_while_attached: bool,
    /// With --debug: start the app paused until a debugger attaches
    #[arg(long, requires = "debug")]
    pub wait_for_debugger: bool,
}

pub fn run(args: &UpArgs, ctx: &Context) -> Result<()> {
    let runtime = runtime()?;
    loop {
        let config = ctx.load_config(args.apps.registry.as_deref())?;
        match runtime.block_on(session(args, ctx, &config))? {
            Exit::Stopped => return Ok(()),
            Exit::Reload { trigger } => {
                let what: Vec<String> = trigger.iter().map(|p| p.display().to_string()).collect();
                ctx.printer.status(
                    "Reloading",
                    format_args!("{} changed: restarting the session", what.join(", ")),
                );
            }
        }
    }
}

async fn session(args: &UpArgs, ctx: &Context, config: &Config) -> Result<Exit> {
    let apps = config.select(args.apps.app.as_deref())?;
    let cluster = args.cluster.connect(ctx, config, &apps).await?;
    let mut stages = Pipeline::connect(
        cluster.clone(),
        &|key: &str| ctx.env(key),
        args.deploy.options(false),
        true,
    )
    .await?;
    stages.defer_prune = true;
    let files = app_files(&apps, args.debug.debug)?;
    let pods = watch_apps(&cluster, &apps);
    let mut forwards = tokio::task::JoinSet::new();
    let bound = bind_forwards(ctx, &cluster, &apps, &files, &pods, &mut forwards).await?;
    let attached = start_debug(args, ctx, &cluster, &apps, &mut stages, &mut forwards).await?;
    let config_file = config.file.clone();
    let roots = layout::roots(&config.root, &files);
    let ignore_files = files.clone();
    let ignore_config = config_file.clone();
    // devloop's own state file may lie in the tree (a `$HOME` or
    // `$XDG_STATE_HOME` inside the repository): writing it is no change.
    let own_state = state::path(&config.root, &|k| ctx.env(k));
    let ignore: Arc<crate::watch::IgnoreFn> = Arc::new(move |path, is_dir| {
        own_state.parent().is_some_and(|d| path.starts_with(d))
            || layout::ignored(&ignore_files, ignore_config.as_deref(), path, is_dir)
    });
    let (_watcher, changes) =
        crate::watch::watch(&roots, &ignore).map_err(|e| Error::Internal(format!("{e}")))?;
    let loop_apps: Vec<LoopApp<'_>> = files
        .iter()
        .map(|f| LoopApp {
            name: f.name.clone(),
            plan: Box::new(|changes| f.plan(config_file.as_deref(), changes)),
        })
        .collect();
    let state_path = write_state(ctx, config, &cluster, &apps, &bound);
    events::emit(
        &ctx.printer,
        &Event::SessionStarted {
            apps: apps.iter().map(|a| a.name.value.clone()).collect(),
            context: cluster.context.clone(),
            namespaces: apps.iter().map(|a| a.namespace.value.clone()).collect(),
        },
    );
    ctx.printer.status(
        "Watching",
        format_args!(
            "{} (context {}); Ctrl-C stops",
            config.root.display(),
            cluster.context
        ),
    );
    let up_stages =
        UpStages::new(&stages, apps.clone(), &files, &pods).with_state_file(state_path.clone());
    let held = crate::debug::hold::Hold::new(&up_stages, attached.clone())
        .only_if(args.debug.hold_while_attached);
    let looped = run::run(
        &ctx.printer,
        &loop_apps,
        &held,
        changes,
        Plan::Rebuild {
            trigger: Vec::new(),
        },
        interrupted(),
    );
    let logs = follow_logs(args, ctx, &cluster, &apps, &pods);
    // The logs follow until the loop ends.
    let exit = tokio::select! {
        exit = looped => exit,
        () = logs => Exit::Stopped,
        () = up_stages.resync(&ctx.printer, &pods) => Exit::Stopped,
        () = crate::debug::report::report(&ctx.printer, attached) => Exit::Stopped,
    };
    state::remove(&state_path);
    // Closes the forwarded ports.
    drop(forwards);
    if exit == Exit::Stopped {
        if args.cleanup {
            cleanup(ctx, &cluster, &apps).await?;
        } else {
            ctx.printer.status(
                "Stopped",
                "the apps keep running; `devloop down` removes them",
            );
        }
        events::emit(
            &ctx.printer,
            &Event::SessionStopped {
                cleanup: args.cleanup,
            },
        );
    }
    Ok(exit)
}

/// One pod watch per app, shared by its forwards, its logs and live sync.
fn watch_apps(
    cluster: &crate::cluster::Cluster,
    apps: &[&crate::config::AppConfig],
) -> Vec<PodsRx> {
    apps.iter()
        .map(|a| {
            watch_pods(
                cluster.client.clone(),
                &a.namespace.value,
                &pods::selector(&a.name.value),
            )
        })
        .collect()
}

/// Binds every app's ports on 127.0.0.1 and starts serving them; prints
/// the table once. The tasks live in `tasks` (dropping it closes the ports).
async fn bind_forwards(
    ctx: &Context,
    cluster: &crate::cluster::Cluster,
    apps: &[&crate::config::AppConfig],
    files: &[AppFiles],
    pods: &[PodsRx],
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<Vec<Forward>> {
    let mut bound = Vec::new();
    for ((app, files), pods) in apps.iter().zip(files).zip(pods) {
        for port in &app.ports.value {
            let listener = forward::bind(*port).await.map_err(|e| {
                Error::usage(
                    format!(
                        "cannot listen on 127.0.0.1:{} for {}: {e}",
                        port.local, app.name.value
                    ),
                    Some(
                        "pick another local port in devloop.toml's `ports` (\"LOCAL:REMOTE\")"
                            .to_owned(),
                    ),
                )
            })?;
            let local = listener
                .local_addr()
                .map_err(|e| Error::Internal(format!("a bound listener has no address: {e}")))?;
            let spec = Forward {
                app: app.name.value.clone(),
                namespace: app.namespace.value.clone(),
                selector: pods::selector(&app.name.value),
                container_port: port.remote,
                local,
            };
            events::emit(
                &ctx.printer,
                &Event::Forward {
                    app: spec.app.clone(),
                    name: format!("{}-{}", spec.app, spec.container_port),
                    container_port: spec.container_port,
                    local_address: local.to_string(),
                },
            );
            tasks.spawn(forward::serve_pods(
                cluster.client.clone(),
                spec.clone(),
                listener,
                pods.clone(),
                Some(files.gate.clone()),
            ));
            bound.push(spec);
        }
    }
    print_forwards(ctx, &bound);
    Ok(bound)
}

/// The forwards as one table, printed once: the addresses stay the same
/// for the whole session.
fn print_forwards(ctx: &Context, bound: &[Forward]) {
    if bound.is_empty() {
        return;
    }
    let width = bound.iter().map(|f| f.app.len()).max().unwrap_or(0).max(3);
    ctx.printer.status(
        "Forwarding",
        format_args!("{:width$}  {:<26} container port", "app", "local"),
    );
    for f in bound {
        ctx.printer.status(
            "",
            format_args!(
                "{:width$}  {:<26} {}",
                f.app,
                format!("http://{}", f.local),
                f.container_port
            ),
        );
    }
}

/// The apps' logs until dropped (forever with `--no-logs`).
async fn follow_logs(
    args: &UpArgs,
    ctx: &Context,
    cluster: &crate::cluster::Cluster,
    apps: &[&crate::config::AppConfig],
    pods: &[PodsRx],
) {
    if args.no_logs {
        std::future::pending::<()>().await;
    }
    let targets = apps
        .iter()
        .zip(pods)
        .map(|(a, pods)| LogTarget {
            app: a.name.value.clone(),
            namespace: a.namespace.value.clone(),
            pods: pods.clone(),
        })
        .collect();
    let since = args
        .since
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1));
    logs::follow(&ctx.printer, cluster.client.clone(), targets, since).await;
}

/// `--debug`: the apps' debugger data and forwards; returns the debugger
/// connections to hold rebuilds on (`--hold-while-attached`; else none).
async fn start_debug(
    args: &UpArgs,
    ctx: &Context,
    cluster: &crate::cluster::Cluster,
    apps: &[&crate::config::AppConfig],
    stages: &mut Pipeline,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<std::collections::HashMap<String, tokio::sync::watch::Receiver<usize>>> {
    if !args.debug.debug {
        return Ok(std::collections::HashMap::new());
    }
    let packs = super::packs::load(ctx)?;
    let started = crate::debug::session::start(
        &ctx.printer,
        &packs,
        cluster,
        apps,
        args.debug.wait_for_debugger,
        tasks,
    )
    .await?;
    stages.debug = Some(started.settings);
    Ok(started.attached)
}

fn app_files(apps: &[&crate::config::AppConfig], debug: bool) -> Result<Vec<AppFiles>> {
    apps.iter().map(|app| AppFiles::new(app, debug)).collect()
}

/// Tells `devloop status` about this session; returns the file's path.
fn write_state(
    ctx: &Context,
    config: &Config,
    cluster: &crate::cluster::Cluster,
    apps: &[&crate::config::AppConfig],
    forwards: &[Forward],
) -> std::path::PathBuf {
    let path = state::path(&config.root, &|k| ctx.env(k));
    let session_state = SessionState {
        pid: std::process::id(),
        started: k8s_openapi::jiff::Timestamp::now().to_string(),
        context: cluster.context.clone(),
        apps: apps
            .iter()
            .map(|a| AppState {
                name: a.name.value.clone(),
                namespace: a.namespace.value.clone(),
                forwards: forwards
                    .iter()
                    .filter(|f| f.app == a.name.value)
                    .map(|f| format!("{} -> {}", f.local, f.container_port))
                    .collect(),
                sync: None,
            })
            .collect(),
    };
    if let Err(err) = state::write(&path, &session_state) {
        ctx.printer
            .warn(format_args!("cannot write {}: {err}", path.display()));
    }
    path
}

/// The first Ctrl-C (or SIGTERM); a second one while devloop winds down
/// exits at once.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = sigterm => {}
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

async fn cleanup(
    ctx: &Context,
    cluster: &crate::cluster::Cluster,
    apps: &[&crate::config::AppConfig],
) -> Result<()> {
    let resolver = Resolver::new(cluster.clone());
    for app in apps {
        let release = deploy::Release {
            name: app.name.value.clone(),
            namespace: app.namespace.value.clone(),
        };
        let outcome = super::down::remove(cluster, &resolver, &release).await?;
        ctx.printer.status(
            "Removed",
            format_args!(
                "{} from {}: {} objects",
                release.name,
                release.namespace,
                outcome.deleted.len()
            ),
        );
    }
    Ok(())
}
