//! `pods/exec` and `pods/attach` over WebSocket (`v5.channel.k8s.io`,
//! `v4.channel.k8s.io`): channel 0 stdin, 1 stdout, 2 stderr, 3 error (the
//! exit status as a `Status`), 4 resize; v5's close signal (255) ends
//! stdin. Exec is a Docker exec in the container, attach a Docker attach.

use std::pin::Pin;
use std::sync::Arc;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::{AttachContainerOptions, ResizeExecOptions};
use futures_util::{Stream, StreamExt as _};
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::ws::{self, CLOSE};
use super::{first, flag, query_pairs};
use crate::Shared;
use crate::api::{Body, error_response};
use crate::objects::ApiError;

const PROTOCOLS: &[&str] = &["v5.channel.k8s.io", "v4.channel.k8s.io"];

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// The streams a request asks for.
#[allow(clippy::struct_excessive_bools)] // the API's four stream flags
struct Streams {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
}

/// What runs: a Docker exec (with its id, for the exit code and resizes)
/// or an attach to the container's own process.
enum Process {
    Exec(String),
    Attach,
}

pub fn serve(
    shared: &Arc<Shared>,
    docker: Docker,
    pod: &Value,
    mut req: Request<Incoming>,
    attach: bool,
) -> Response<Body> {
    let q = query_pairs(req.uri().query());
    let streams = Streams {
        stdin: flag(&q, "stdin"),
        stdout: flag(&q, "stdout"),
        stderr: flag(&q, "stderr"),
        tty: flag(&q, "tty"),
    };
    let command: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if !attach && command.is_empty() {
        return error_response(&ApiError::bad_request(
            "you must specify at least 1 command",
        ));
    }
    if !(streams.stdin || streams.stdout || streams.stderr) {
        return error_response(&ApiError::bad_request(
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    let id = match super::container_name(pod, first(&q, "container"))
        .and_then(|c| super::running_container(pod, &c))
    {
        Ok(id) => id,
        Err(e) => return error_response(&e),
    };
    let upgrade = match ws::accept(&mut req, PROTOCOLS) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let v5 = upgrade.protocol.starts_with("v5");
    ws::spawn(shared, upgrade.on, move |socket| async move {
        let started = if attach {
            start_attach(&docker, &id, &streams).await
        } else {
            start_exec(&docker, &id, command.clone(), &streams).await
        };
        let (sink, source) = socket.split();
        match started {
            Ok((process, output, input)) => {
                session(&docker, process, &command, sink, source, output, input, v5).await;
            }
            Err(message) => {
                let (mut sink, source) = (sink, source);
                let status = json!({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500});
                let _ = ws::send(&mut sink, ws::frame(3, status.to_string().as_bytes())).await;
                let _ = ws::send(&mut sink, ws::close()).await;
                ws::finish(sink, source).await;
            }
        }
    });
    upgrade.response
}

async fn start_exec(
    docker: &Docker,
    id: &str,
    cmd: Vec<String>,
    s: &Streams,
) -> Result<(Process, Output, Input), String> {
    let config = ExecConfig {
        attach_stdin: Some(s.stdin),
        attach_stdout: Some(s.stdout),
        attach_stderr: Some(s.stderr),
        tty: Some(s.tty),
        cmd: Some(cmd),
        ..Default::default()
    };
    let created = docker
        .create_exec(id, config)
        .await
        .map_err(|e| format!("error executing command in container: {e}"))?;
    let options = StartExecOptions {
        detach: false,
        tty: s.tty,
        output_capacity: None,
    };
    match docker.start_exec(&created.id, Some(options)).await {
        Ok(StartExecResults::Attached { output, input }) => {
            Ok((Process::Exec(created.id), output, input))
        }
        Ok(StartExecResults::Detached) => Err("the exec detached".to_owned()),
        Err(e) => Err(format!("error executing command in container: {e}")),
    }
}

async fn start_attach(
    docker: &Docker,
    id: &str,
    s: &Streams,
) -> Result<(Process, Output, Input), String> {
    let options = AttachContainerOptions {
        stream: true,
        stdin: s.stdin,
        stdout: s.stdout,
        stderr: s.stderr,
        ..Default::default()
    };
    let attached = docker
        .attach_container(id, Some(options))
        .await
        .map_err(|e| format!("error attaching to container: {e}"))?;
    Ok((Process::Attach, attached.output, attached.input))
}

/// Pumps the client's stdin and resizes in, the output out, then reports
/// the exit status on the error channel and closes.
#[allow(clippy::too_many_arguments)] // the two ends of one session
async fn session(
    docker: &Docker,
    process: Process,
    command: &[String],
    mut sink: ws::Sink,
    mut source: ws::Source,
    mut output: Output,
    mut input: Input,
    v5: bool,
) {
    let exec_id = match &process {
        Process::Exec(id) => Some(id.clone()),
        Process::Attach => None,
    };
    let inbound = async {
        let mut open = true;
        while let Some((ch, data)) = ws::next(&mut source).await {
            match ch {
                0 if open
                    && (input.write_all(&data).await.is_err() || input.flush().await.is_err()) =>
                {
                    open = false;
                }
                4 => resize(docker, exec_id.as_deref(), &data).await,
                CLOSE if v5 && data.first() == Some(&0) && open => {
                    let _ = input.shutdown().await;
                    open = false;
                }
                _ => {}
            }
        }
        // The client went away (or closed): stdin ends.
        let _ = input.shutdown().await;
        std::future::pending::<()>().await;
    };
    let outbound = async {
        while let Some(Ok(chunk)) = output.next().await {
            let (ch, bytes) = match chunk {
                LogOutput::StdErr { message } => (2, message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => (1, message),
                LogOutput::StdIn { .. } => continue,
            };
            if !ws::send(&mut sink, ws::frame(ch, &bytes)).await {
                return;
            }
        }
        let status = match &process {
            Process::Exec(id) => exit_status(docker, id, command).await,
            Process::Attach => json!({"metadata": {}, "status": "Success"}),
        };
        let _ = ws::send(&mut sink, ws::frame(3, status.to_string().as_bytes())).await;
        let _ = ws::send(&mut sink, ws::close()).await;
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
    ws::finish(sink, source).await;
}

async fn resize(docker: &Docker, exec_id: Option<&str>, data: &[u8]) {
    let Some(id) = exec_id else { return };
    let Ok(size) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let dim = |k: &str| i32::try_from(size[k].as_i64().unwrap_or(0)).unwrap_or(0);
    let (w, h) = (dim("Width"), dim("Height"));
    if w > 0 && h > 0 {
        let _ = docker.resize_exec(id, ResizeExecOptions { h, w }).await;
    }
}

/// The exit status as the kubelet reports it: `Success`, or a
/// `NonZeroExitCode` failure whose `ExitCode` cause kubectl exits with.
/// A finished Docker exec's exit code (it may be marked finished a moment
/// after its output ends).
pub async fn exit_code(docker: &Docker, exec_id: &str) -> Option<i64> {
    for _ in 0..50 {
        match docker.inspect_exec(exec_id).await {
            Ok(i) if i.running != Some(true) => return i.exit_code,
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            Err(_) => return None,
        }
    }
    None
}

async fn exit_status(docker: &Docker, exec_id: &str, command: &[String]) -> Value {
    match exit_code(docker, exec_id).await {
        Some(0) => json!({"metadata": {}, "status": "Success"}),
        Some(n) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {n}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": n.to_string()}]},
        }),
        None => json!({
            "metadata": {},
            "status": "Failure",
            "message": "error executing command: the exit status is unknown",
            "reason": "InternalError",
            "code": 500,
        }),
    }
}
