//! Starting debug mode for a `devloop up` session: each app's debugger data,
//! its forward on the pinned local port (bound once, so launch.json's entry
//! stays valid across rebuilds), the `debugger` line and event.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::{Settings, attach, for_app};
use crate::cluster::Cluster;
use crate::config::AppConfig;
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::pack::Pack;
use crate::session::events::{self, Event};
use crate::session::forward::Forward;

/// What the session needs from debug mode.
pub struct Started {
    pub settings: Arc<Settings>,
    /// Open debugger connections, by app.
    pub attached: HashMap<String, watch::Receiver<usize>>,
}

/// Finds every app's debugger, binds and serves its forward in `tasks`.
pub async fn start(
    printer: &Printer,
    packs: &[Pack],
    cluster: &Cluster,
    apps: &[&AppConfig],
    wait: bool,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<Started> {
    let mut settings = Settings {
        wait,
        apps: HashMap::new(),
    };
    let mut attached = HashMap::new();
    for app in apps {
        let name = app.name.value.clone();
        let found = for_app(&name, &app.path.value, packs)?;
        let remote = found.debug.port;
        let local = app.debug_port.value.unwrap_or(remote);
        let bound = attach::bind(local, remote).await.map_err(|e| {
            Error::usage(
                format!("cannot listen on 127.0.0.1:{local} for {name}'s debugger: {e}"),
                Some(
                    "stop what uses it, or pin another port in devloop.toml (`[debug] port`) and in launch.json"
                        .to_owned(),
                ),
            )
        })?;
        let runtime = if found.debug.annotation.is_empty() {
            found.pack.clone()
        } else {
            found.debug.annotation.clone()
        };
        printer.status(
            "debugger:",
            format_args!(
                "{name} {runtime}/{} on {}{}",
                found.debug.runtime,
                bound.local,
                if wait {
                    " (the app waits for it to attach)"
                } else {
                    ""
                }
            ),
        );
        events::emit(
            printer,
            &Event::Debugger {
                app: name.clone(),
                runtime,
                debugger: found.debug.runtime.clone(),
                container_port: remote,
                local_address: bound.local.to_string(),
                waiting: wait,
            },
        );
        let (tx, rx) = watch::channel(0);
        let forward = Forward {
            app: name.clone(),
            namespace: app.namespace.value.clone(),
            selector: crate::session::pods::selector(&name),
            container_port: remote,
            local: bound.local,
        };
        tasks.spawn(attach::serve(
            cluster.client.clone(),
            forward,
            bound.listener,
            tx,
        ));
        attached.insert(name.clone(), rx);
        settings.apps.insert(name, found);
    }
    Ok(Started {
        settings: Arc::new(settings),
        attached,
    })
}
