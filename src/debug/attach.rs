//! The debugger's forward: the pinned local port (devloop.toml `[debug] port`,
//! else the runtime's port) to the debug port of the app's ready pod, with the
//! app ports' own forward underneath (`session::forward`, so the same
//! reconnect behaviour). A thin relay in front of it counts the debugger
//! connections, so `--hold-while-attached` knows when one is attached.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::config::PortSpec;
use crate::session::forward::{self, Forward};

/// The local port: bound for the session, so an editor configuration
/// pointing at it stays valid across rebuilds.
pub struct Listener {
    pub listener: TcpListener,
    pub local: SocketAddr,
}

/// Binds 127.0.0.1:`local` for the container's debug port `remote`. The
/// port is the one launch.json names: when it is taken, that is an error,
/// never another port.
pub async fn bind(local: u16, remote: u16) -> std::io::Result<Listener> {
    let listener = forward::bind(PortSpec { local, remote }).await?;
    let address = listener.local_addr()?;
    if address.port() != local {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("127.0.0.1:{local} is taken (the editor's attach configuration names it)"),
        ));
    }
    Ok(Listener {
        listener,
        local: address,
    })
}

/// Relays debugger connections on `public` through an app-style forward of
/// `forward.container_port`; `attached` counts the open connections.
/// Runs until dropped.
pub async fn serve(
    client: kube::Client,
    mut forward: Forward,
    public: TcpListener,
    attached: watch::Sender<usize>,
) {
    // The forward itself listens on a loopback port of the OS's choosing.
    let Ok(inner) = forward::bind(PortSpec {
        local: 0,
        remote: forward.container_port,
    })
    .await
    else {
        return;
    };
    let Ok(inner_address) = inner.local_addr() else {
        return;
    };
    forward.local = inner_address;
    let relay = async {
        loop {
            let Ok((conn, _)) = public.accept().await else {
                continue;
            };
            let attached = attached.clone();
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect(inner_address).await else {
                    return;
                };
                let _count = Count::new(attached);
                let (mut conn, mut upstream) = (conn, upstream);
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
            });
        }
    };
    tokio::join!(forward::serve(client, forward.clone(), inner), relay);
}

/// One open debugger connection, counted while it lives.
struct Count(watch::Sender<usize>);

impl Count {
    fn new(sender: watch::Sender<usize>) -> Count {
        sender.send_modify(|n| *n += 1);
        Count(sender)
    }
}

impl Drop for Count {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_debug_port_is_an_error_not_another_port() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let err = bind(port, port).await.err().expect("taken");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        drop(taken);
        let free = bind(port, port).await.expect("free now");
        assert_eq!(free.local.port(), port);
    }

    #[tokio::test]
    async fn connections_are_counted_while_open() {
        let (tx, rx) = watch::channel(0);
        {
            let _a = Count::new(tx.clone());
            let _b = Count::new(tx.clone());
            assert_eq!(*rx.borrow(), 2);
        }
        assert_eq!(*rx.borrow(), 0);
    }
}
