//! Port-forwards of `devloop up`: one listener per app port on 127.0.0.1,
//! bound once for the whole session (the local port stays stable while pods
//! come and go). Each accepted connection is tunnelled to the newest ready
//! pod of the app's pod watch ([`super::pods`]) through the API server's
//! port-forward, so after a rollout, a restart or a dropped API connection
//! the next connection goes to whichever pod is ready then, with no API
//! call to find it.
//!
//! Nothing waits without a deadline: a dial that hangs gets a second
//! attempt beside it after [`HEDGE`], and is given up after
//! [`DIAL_DEADLINE`]; a connection whose pod is gone is closed
//! (the client reads an end of stream), and so is one that sat idle for
//! [`IDLE_LIMIT`] while the API stopped answering, so a half-open tunnel
//! never holds a client.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Portforwarder};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::pods::{PodView, PodsRx, watch_pods};
use crate::config::PortSpec;
use crate::sync::gate::Gate;

/// How long a new connection waits for a ready pod (a rollout in progress).
const READY_WAIT: Duration = Duration::from_secs(30);
/// How long opening the tunnel may take before the connection is dropped.
const DIAL_DEADLINE: Duration = Duration::from_secs(5);
/// How often a connection waiting for a pod re-checks the live-sync gate.
const GATE_POLL: Duration = Duration::from_millis(100);
/// How long a dial may hang before another attempt starts beside it.
const HEDGE: Duration = Duration::from_millis(500);
/// How long a connection may sit idle while the API does not answer.
const IDLE_LIMIT: Duration = Duration::from_secs(10);

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

/// Accepts connections until the task is dropped (which closes the port
/// and every connection through it), with a pod watch of its own.
pub async fn serve(client: kube::Client, forward: Forward, listener: TcpListener) {
    let pods = watch_pods(client.clone(), &forward.namespace, &forward.selector);
    serve_pods(client, forward, listener, pods, None).await;
}

/// [`serve`] with the app's shared pod watch, and its live-sync gate: a
/// pod that lost its synced files (a restarted container) gets no new
/// connection until it is synced again.
pub async fn serve_pods(
    client: kube::Client,
    forward: Forward,
    listener: TcpListener,
    pods: PodsRx,
    gate: Option<Arc<Gate>>,
) {
    let api: Api<Pod> = Api::namespaced(client, &forward.namespace);
    // Owned here, so dropping the forward ends its connections too.
    let mut open = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((conn, _)) = accepted else { continue };
                let _ = conn.set_nodelay(true);
                // A failed connection is closed; the next one tries afresh.
                open.spawn(tunnel(api.clone(), forward.container_port, pods.clone(), gate.clone(), conn));
            }
            Some(_) = open.join_next(), if !open.is_empty() => {}
        }
    }
}

/// Waits (up to what is left of [`READY_WAIT`]) for a ready pod and opens
/// a port-forward to it; a pod that went away meanwhile is skipped.
async fn dial(
    api: &Api<Pod>,
    port: u16,
    pods: &mut PodsRx,
    gate: Option<&Gate>,
) -> Result<(String, Portforwarder), String> {
    let deadline = Instant::now() + READY_WAIT;
    let admit = |p: &PodView| gate.is_none_or(|g| g.admits(p.instance.as_deref()));
    loop {
        let pod = pods
            .borrow()
            .newest_ready_where(admit)
            .map(|p| p.name.clone());
        let Some(pod) = pod else {
            if Instant::now() >= deadline {
                return Err("no ready pod".to_owned());
            }
            // A new snapshot, or the gate may have opened (a re-sync).
            if let Ok(Err(_)) = tokio::time::timeout(GATE_POLL, pods.changed()).await {
                return Err("the session is ending".to_owned());
            }
            continue;
        };
        match tokio::time::timeout(DIAL_DEADLINE, hedged(api, &pod, port)).await {
            Ok(Ok(pf)) => return Ok((pod, pf)),
            _ if Instant::now() >= deadline => return Err(format!("cannot reach {pod}")),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Opens the port-forward, starting another attempt every [`HEDGE`] while
/// earlier ones hang: a request sent on a connection that went half-open
/// never answers, and waiting out the whole deadline would hold the client
/// for seconds after the API answers again. The first to open wins; the
/// others are dropped with their connections.
async fn hedged(api: &Api<Pod>, pod: &str, port: u16) -> Result<Portforwarder, kube::Error> {
    let ports = [port];
    let mut attempts = FuturesUnordered::new();
    attempts.push(api.portforward(pod, &ports));
    let mut hedge = tokio::time::interval_at(Instant::now() + HEDGE, HEDGE);
    loop {
        tokio::select! {
            Some(result) = attempts.next() => match result {
                Ok(pf) => return Ok(pf),
                Err(err) if attempts.is_empty() => return Err(err),
                Err(_) => {}
            },
            _ = hedge.tick() => attempts.push(api.portforward(pod, &ports)),
        }
    }
}

async fn tunnel(
    api: Api<Pod>,
    port: u16,
    mut pods: PodsRx,
    gate: Option<Arc<Gate>>,
    mut conn: TcpStream,
) {
    let Ok((pod, mut pf)) = dial(&api, port, &mut pods, gate.as_deref()).await else {
        return;
    };
    let Some(upstream) = pf.take_stream(port) else {
        return;
    };
    let activity = Activity::new();
    let (up_read, up_write) = tokio::io::split(upstream);
    {
        let (conn_read, conn_write) = conn.split();
        let both = async {
            tokio::try_join!(
                pump(conn_read, up_write, &activity),
                pump(up_read, conn_write, &activity),
            )
        };
        tokio::select! {
            _ = both => {}
            () = watchdog(&mut pods, &pod, &activity) => {}
        }
    }
    // Closed cleanly: the client reads an end of stream, not a reset or a hang.
    let _ = conn.shutdown().await;
    drop(conn);
    // kube-rs's join can wait on a forward the server already closed.
    let _ = tokio::time::timeout(Duration::from_secs(2), pf.join()).await;
}

/// Copies one direction until its end, then closes the other side's write half.
async fn pump<R, W>(mut from: R, mut to: W, activity: &Activity) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        activity.touch();
        to.write_all(&buf[..n]).await?;
    }
}

/// Returns when the connection must end: its pod is gone, or it has been
/// idle while the API stopped answering (a half-open tunnel would otherwise
/// hold the client forever).
async fn watchdog(pods: &mut PodsRx, pod: &str, activity: &Activity) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            changed = pods.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
        }
        let now = pods.borrow().clone();
        if now.api_ok && !now.pods.contains_key(pod) {
            return;
        }
        if !now.api_ok && activity.idle() >= IDLE_LIMIT {
            return;
        }
    }
}

/// When a connection last moved a byte.
struct Activity {
    start: std::time::Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: std::time::Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
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
