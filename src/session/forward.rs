//! Port-forwards of `devloop up`: one listener per app port on 127.0.0.1,
//! bound once for the whole session (the local port stays stable while pods
//! come and go). Each accepted connection is tunnelled to a ready pod of the
//! app's newest rollout through the API server's port-forward, so after a
//! rollout, a restart or a dropped API connection the next connection simply
//! goes to whichever pod is ready then. Dials have deadlines, so a half-open
//! API connection fails a connection instead of wedging the forward.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::net::{TcpListener, TcpStream};

use crate::config::PortSpec;

/// How long a new connection waits for a ready pod (a rollout in progress).
const READY_WAIT: Duration = Duration::from_secs(30);
/// How long opening the tunnel may take before the connection is dropped.
const DIAL_DEADLINE: Duration = Duration::from_secs(5);

/// One forward: an app's container port and where it listens locally.
#[derive(Debug, Clone)]
pub struct Forward {
    pub app: String,
    pub namespace: String,
    /// Label selector of the app's pods.
    pub selector: String,
    pub container_port: u16,
    pub local: SocketAddr,
}

/// Binds 127.0.0.1 for `port`: the pinned local port (`"18080:8080"`), else
/// the same number when free, else the next free one above it.
pub async fn bind(port: PortSpec) -> std::io::Result<TcpListener> {
    let pinned = port.local != port.remote;
    let first = port.local;
    let mut candidate = first;
    loop {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, candidate)).await {
            Ok(listener) => return Ok(listener),
            Err(err) if pinned => return Err(err),
            Err(err) => {
                candidate = candidate.checked_add(1).ok_or(err)?;
                if candidate.saturating_sub(first) > 100 {
                    // Nothing free nearby: let the OS pick.
                    return TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await;
                }
            }
        }
    }
}

/// Accepts connections until the task is dropped (which closes the port).
pub async fn serve(client: kube::Client, forward: Forward, listener: TcpListener) {
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            continue;
        };
        let client = client.clone();
        let forward = forward.clone();
        tokio::spawn(async move {
            // A failed connection is closed; the next one tries afresh.
            let _ = tunnel(&client, &forward, conn).await;
        });
    }
}

/// The newest ready, not terminating pod matching the forward's selector.
async fn ready_pod(api: &Api<Pod>, selector: &str) -> Option<String> {
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .ok()?;
    pods.items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
        .max_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        })
        .and_then(|p| p.metadata.name)
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn tunnel(
    client: &kube::Client,
    forward: &Forward,
    mut conn: TcpStream,
) -> Result<(), String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &forward.namespace);
    let waited = tokio::time::Instant::now();
    let pod = loop {
        let found = tokio::time::timeout(DIAL_DEADLINE, ready_pod(&api, &forward.selector))
            .await
            .ok()
            .flatten();
        if let Some(pod) = found {
            break pod;
        }
        if waited.elapsed() >= READY_WAIT {
            return Err("no ready pod".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let port = forward.container_port;
    let mut pf = tokio::time::timeout(DIAL_DEADLINE, api.portforward(&pod, &[port]))
        .await
        .map_err(|_| "the port-forward did not open in time".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut upstream = pf
        .take_stream(port)
        .ok_or_else(|| "no stream for the port".to_owned())?;
    let copied = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
    drop(upstream);
    // kube-rs's join can wait on a forward the server already closed.
    let _ = tokio::time::timeout(Duration::from_secs(2), pf.join()).await;
    copied.map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_port_moves_to_the_next_free_one_unless_pinned() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let moved = bind(PortSpec {
            local: port,
            remote: port,
        })
        .await
        .expect("a free port");
        let moved = moved.local_addr().expect("addr");
        assert_ne!(moved.port(), port);
        assert!(moved.ip().is_loopback());
        let pinned = bind(PortSpec {
            local: port,
            remote: 8080,
        })
        .await;
        assert!(pinned.is_err(), "a pinned port that is taken is an error");
    }
}
