//! The WebSocket side of the streaming subresources: the upgrade handshake
//! with the channel subprotocols (`v5.channel.k8s.io`, `v4.channel.k8s.io`)
//! and the framing, one leading channel byte per binary message.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt as _;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use crate::Shared;
use crate::api::{Body, error_response};
use crate::objects::ApiError;

pub type Ws = WebSocketStream<TokioIo<Upgraded>>;
pub type Sink = SplitSink<Ws, Message>;
pub type Source = SplitStream<Ws>;

/// The v5 channel that carries "close this stream" (one byte: the channel).
pub const CLOSE: u8 = 255;

/// An accepted upgrade: the 101 response to return and what to await for
/// the connection.
pub struct Upgrade {
    pub response: Response<Body>,
    pub on: OnUpgrade,
    /// The subprotocol chosen.
    pub protocol: String,
}

/// The subprotocols the client offers (one header, comma separated, or
/// several headers).
fn offered(req: &Request<Incoming>) -> Vec<String> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether the request asks for a WebSocket.
fn wants_websocket(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Accepts the upgrade with the first of `supported` (in the server's order
/// of preference) that the client offers.
pub fn accept(
    req: &mut Request<Incoming>,
    supported: &[&str],
) -> Result<Upgrade, Box<Response<Body>>> {
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()));
    let (Some(accept_key), true) = (key, wants_websocket(req)) else {
        return Err(Box::new(error_response(&ApiError::bad_request(
            "Upgrade request required: this subresource speaks WebSocket (v5.channel.k8s.io, v4.channel.k8s.io); SPDY is not simulated",
        ))));
    };
    let offered = offered(req);
    let Some(protocol) = supported
        .iter()
        .find(|s| offered.iter().any(|o| o == *s))
        .map(|s| (*s).to_owned())
    else {
        return Err(Box::new(error_response(&ApiError::bad_request(format!(
            "none of the WebSocket subprotocols {offered:?} is supported (devloop-sim speaks {supported:?})"
        )))));
    };
    let on = hyper::upgrade::on(req);
    let mut response = Response::new(crate::api::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept_key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Ok(v) = HeaderValue::from_str(&protocol) {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    Ok(Upgrade {
        response,
        on,
        protocol,
    })
}

/// Runs `session` on the upgraded connection in its own task; the task (and
/// with it the connection, without a close frame) ends when the
/// simulator's connections are dropped (fault injection, shutdown).
pub fn spawn<F, Fut>(shared: &Arc<Shared>, on: OnUpgrade, session: F)
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut kill = shared.kill.subscribe();
    tokio::spawn(async move {
        let Ok(upgraded) = on.await else { return };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        tokio::select! {
            () = session(ws) => {}
            _ = kill.changed() => {}
        }
    });
}

/// One message on `channel`.
pub fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(Bytes::from(v))
}

/// A normal closure (1000): Go clients (kubectl) take a close without a
/// status code (1005) as an error.
pub fn close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// Ends a session politely after the close frame went out: waits (briefly)
/// for the client's close reply, then shuts the connection down with a TLS
/// `close_notify`, so clients see a clean end, not a cut connection.
pub async fn finish(sink: Sink, mut source: Source) {
    let drain = async { while source.next().await.is_some_and(|m| m.is_ok()) {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
    if let Ok(mut ws) = sink.reunite(source) {
        let _ = ws.get_mut().shutdown().await;
    }
}

/// Sends a message; `false` when the client is gone.
pub async fn send(sink: &mut Sink, message: Message) -> bool {
    sink.send(message).await.is_ok()
}

/// The next binary message as (channel, data); `None` at close or error.
pub async fn next(source: &mut Source) -> Option<(u8, Bytes)> {
    loop {
        match source.next().await? {
            Ok(Message::Binary(mut b)) if !b.is_empty() => {
                let ch = b.split_to(1)[0];
                return Some((ch, b));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
