//! `pods/portforward` over WebSocket as kube-rs's `Api::portforward` and
//! the API server speak it: per requested port a data channel (2i) and an
//! error channel (2i+1), each opened by a frame carrying the port (u16,
//! little endian). Each port is one TCP connection made from inside the
//! pod's network namespace: a Docker exec of busybox `nc 127.0.0.1 PORT`
//! in the pod's infra container, so any port the pod listens on on
//! localhost or a wildcard address works (declared or not), and nothing
//! connects to a container bridge address.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ListContainersOptions;
use futures_util::StreamExt as _;
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::ws;
use crate::Shared;
use crate::api::{Body, error_response};
use crate::objects::{ApiError, meta_str};

/// kube-rs accepts v4 or v5 and uses neither's extras here; the real
/// server answers `v4.channel.k8s.io` (or the older `portforward.k8s.io`).
const PROTOCOLS: &[&str] = &[
    "v4.channel.k8s.io",
    "portforward.k8s.io",
    "v5.channel.k8s.io",
];

type Input = Pin<Box<dyn AsyncWrite + Send>>;

fn ports(q: &[(String, String)]) -> Result<Vec<u16>, ApiError> {
    let mut out = Vec::new();
    for (_, v) in q.iter().filter(|(k, _)| k == "ports") {
        for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => out.push(n),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "unable to parse \"{p}\" as a port: must be 1-65535"
                    )));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(
            "query parameter \"ports\" is required",
        ));
    }
    Ok(out)
}

/// The pod's infra container (it owns the network namespace).
async fn infra(docker: &Docker, uid: &str) -> Option<String> {
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![
            format!("io.kubernetes.pod.uid={uid}"),
            "io.kubernetes.container.name=POD".to_owned(),
        ],
    )]);
    let options = ListContainersOptions {
        filters: Some(filters),
        ..Default::default()
    };
    docker
        .list_containers(Some(options))
        .await
        .ok()?
        .into_iter()
        .find_map(|c| c.id)
}

pub async fn serve(
    shared: &Arc<Shared>,
    docker: Docker,
    pod: &Value,
    mut req: Request<Incoming>,
) -> Response<Body> {
    let q = super::query_pairs(req.uri().query());
    let ports = match ports(&q) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let uid = meta_str(pod, "uid").unwrap_or("").to_owned();
    let running = pod["status"]["phase"] == "Running";
    let infra = match infra(&docker, &uid).await {
        Some(id) if running => id,
        _ => {
            return error_response(&ApiError::bad_request(format!(
                "unable to upgrade connection: pod {} is not running",
                meta_str(pod, "name").unwrap_or("")
            )));
        }
    };
    let upgrade = match ws::accept(&mut req, PROTOCOLS) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    ws::spawn(shared, upgrade.on, move |socket| {
        session(docker, infra, uid, ports, socket)
    });
    upgrade.response
}

/// What the relays tell the session.
enum Out {
    Frame(Message),
    Done,
}

async fn session(docker: Docker, infra: String, uid: String, ports: Vec<u16>, socket: ws::Ws) {
    let (mut sink, mut source) = socket.split();
    for (i, port) in ports.iter().enumerate() {
        let ch = u8::try_from(2 * i).unwrap_or(u8::MAX - 1);
        for c in [ch, ch + 1] {
            if !ws::send(&mut sink, ws::frame(c, &port.to_le_bytes())).await {
                return;
            }
        }
    }
    let (tx, mut rx) = mpsc::channel::<Out>(16);
    let mut inputs: Vec<Option<Input>> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ch = u8::try_from(2 * i).unwrap_or(u8::MAX - 1);
        let context = (infra.clone(), uid.clone(), *port, ch);
        inputs.push(relay(&docker, context, tx.clone()).await);
    }
    drop(tx);
    // In and out are separate futures: a slow pod must never stop the
    // client's data from being read, nor the other way round.
    let inbound = async {
        while let Some((ch, data)) = ws::next(&mut source).await {
            let i = usize::from(ch / 2);
            if ch % 2 == 1 || data.is_empty() {
                continue;
            }
            if let Some(Some(input)) = inputs.get_mut(i)
                && (input.write_all(&data).await.is_err() || input.flush().await.is_err())
            {
                inputs[i] = None;
            }
        }
        // The client closed: every connection's sending side ends.
        for input in inputs.iter_mut().flatten() {
            let _ = input.shutdown().await;
        }
        inputs.clear();
        std::future::pending::<()>().await;
    };
    let outbound = async {
        let mut done = 0;
        while let Some(out) = rx.recv().await {
            match out {
                Out::Frame(m) => {
                    if !ws::send(&mut sink, m).await {
                        return;
                    }
                }
                Out::Done => done += 1,
            }
            if done == ports.len() {
                break;
            }
        }
        let _ = ws::send(&mut sink, ws::close()).await;
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
    ws::finish(sink, source).await;
}

/// Connects to `port` inside the pod and pumps what comes back to the
/// session; returns the connection's sending side.
async fn relay(
    docker: &Docker,
    (infra, uid, port, ch): (String, String, u16, u8),
    tx: mpsc::Sender<Out>,
) -> Option<Input> {
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(vec!["nc".into(), "127.0.0.1".into(), port.to_string()]),
        ..Default::default()
    };
    let options = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: None,
    };
    let started = match docker.create_exec(&infra, config).await {
        Ok(created) => docker
            .start_exec(&created.id, Some(options))
            .await
            .map(|s| (created.id, s)),
        Err(e) => Err(e),
    };
    let (exec_id, mut output, input) = match started {
        Ok((id, StartExecResults::Attached { output, input })) => (id, output, input),
        Ok((_, StartExecResults::Detached)) => return None,
        Err(e) => {
            let message = format!("error forwarding port {port} to pod {infra}, uid {uid}: {e}");
            let _ = tx
                .send(Out::Frame(ws::frame(ch + 1, message.as_bytes())))
                .await;
            let _ = tx.send(Out::Done).await;
            return None;
        }
    };
    let docker = docker.clone();
    tokio::spawn(async move {
        let mut stderr = Vec::new();
        while let Some(Ok(chunk)) = output.next().await {
            match chunk {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    if tx.send(Out::Frame(ws::frame(ch, &message))).await.is_err() {
                        return;
                    }
                }
                LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
        let code = super::exec::exit_code(&docker, &exec_id).await;
        if code.is_some_and(|c| c != 0) {
            let detail = String::from_utf8_lossy(&stderr).trim().to_owned();
            let message = format!(
                "error forwarding port {port} to pod {infra}, uid {uid}: failed to connect to localhost:{port} inside the pod's network namespace: dial tcp4 127.0.0.1:{port}: connect: connection refused ({detail})"
            );
            let _ = tx
                .send(Out::Frame(ws::frame(ch + 1, message.as_bytes())))
                .await;
        }
        let _ = tx.send(Out::Done).await;
    });
    Some(input)
}
