//! Fault injection as real clients see it: dropped log/exec/port-forward
//! streams end with errors (kube-rs and kubectl), half-open connections
//! hang until the client's deadline, injected 500s and 429s (with
//! `Retry-After`, which client-go obeys), delays, a killed container's
//! exit code, a deleted pod, and the admin endpoint.

mod common;

use std::io::{Read as _, Write as _};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{AttachParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::io::AsyncReadExt as _;

use common::Cluster;

async fn client(c: &Cluster, read_timeout: Option<Duration>) -> Client {
    client_with(c, read_timeout, true).await
}

async fn client_with(c: &Cluster, read_timeout: Option<Duration>, retry: bool) -> Client {
    let kc = Kubeconfig::from_yaml(&c.sim.kubeconfig_yaml()).expect("kubeconfig parses");
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    config.read_timeout = read_timeout;
    config.default_retry = retry;
    Client::try_from(config).expect("client")
}

/// Starts `kubectl args` in the background.
fn spawn_kubectl(c: &Cluster, args: &[&str]) -> std::process::Child {
    c.command(&c.kubeconfig, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs")
}

/// The first line `child` prints (the rest of its stdout is read and
/// dropped in the background).
async fn first_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead as _;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line.trim_end().to_owned());
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("kubectl prints in time")
        .expect("a line")
}

async fn finish(child: std::process::Child) -> std::process::Output {
    tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output().expect("kubectl ends")),
    )
    .await
    .expect("kubectl ends in time")
    .expect("join")
}

fn sleeper(c: &Cluster, name: &str) {
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: [sh, -c, 'echo up; nc -ll -p 9000 -e cat & while true; do sleep 1; done']
"
    ));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{name}"),
        "--timeout=30s",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_streams_end_with_errors() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    sleeper(&c, "s");
    let pods: Api<Pod> = Api::default_namespaced(client(&c, None).await);
    let follow = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let t = Duration::from_secs(15);
    let mut lines = tokio::time::timeout(t, pods.log_stream("s", &follow))
        .await
        .expect("log stream in time")
        .expect("logs")
        .lines();
    let first = tokio::time::timeout(t, lines.try_next())
        .await
        .expect("first line in time");
    assert_eq!(first.expect("a line").as_deref(), Some("up"));
    let exec = tokio::time::timeout(
        t,
        pods.exec("s", ["sleep", "60"], &AttachParams::default().stderr(true)),
    )
    .await
    .expect("exec in time")
    .expect("exec");
    let mut pf = tokio::time::timeout(t, pods.portforward("s", &[9000]))
        .await
        .expect("portforward in time")
        .expect("portforward");
    let mut fwd = pf.take_stream(9000).expect("stream");
    // Both kubectl streams are going once they printed their first line.
    let mut kubectl_logs = spawn_kubectl(&c, &["logs", "-f", "s"]);
    let mut kubectl_exec = spawn_kubectl(
        &c,
        &["exec", "s", "--", "sh", "-c", "echo started; sleep 60"],
    );
    assert_eq!(first_line(&mut kubectl_logs).await, "up");
    assert_eq!(first_line(&mut kubectl_exec).await, "started");

    c.sim.drop_connections();

    let next = tokio::time::timeout(Duration::from_secs(10), lines.try_next())
        .await
        .expect("the log stream ends at once");
    assert!(
        next.is_err(),
        "a dropped log stream is an error, not an end: {next:?}"
    );
    let joined = tokio::time::timeout(Duration::from_secs(10), exec.join())
        .await
        .expect("exec ends at once");
    assert!(joined.is_err(), "a dropped exec is an error: {joined:?}");
    let mut b = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), fwd.read(&mut b))
        .await
        .expect("the forward ends at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let joined = tokio::time::timeout(Duration::from_secs(10), pf.join())
        .await
        .expect("port-forward ends at once");
    assert!(
        joined.is_err(),
        "a dropped port-forward is an error: {joined:?}"
    );

    let logs = finish(kubectl_logs).await;
    assert!(
        !logs.status.success(),
        "kubectl logs -f fails when its stream is cut"
    );
    let exec = finish(kubectl_exec).await;
    assert!(
        !exec.status.success(),
        "kubectl exec fails when its stream is cut"
    );
    eprintln!(
        "kubectl logs -f said: {}kubectl exec said: {}",
        String::from_utf8_lossy(&logs.stderr),
        String::from_utf8_lossy(&exec.stderr)
    );
    // The cluster itself is fine: new requests work.
    let again = tokio::time::timeout(t, pods.get("s"))
        .await
        .expect("in time");
    assert!(again.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn half_open_delays_and_injected_errors() {
    let c = Cluster::without_world().await;
    let namespaces: Api<Namespace> = Api::all(client(&c, Some(Duration::from_secs(2))).await);
    namespaces.get("default").await.expect("works before");
    // kubectl's discovery cache is warm, so it sends one request below.
    c.ok(&["get", "ns", "default"]);

    // Half-open: requests on open connections and new connections (not
    // even a TLS handshake) hang until the client gives up.
    c.sim.set_half_open(true);
    let started = Instant::now();
    let hung = tokio::time::timeout(Duration::from_secs(20), namespaces.get("default"))
        .await
        .expect("kube-rs's read timeout fires");
    assert!(hung.is_err(), "{hung:?}");
    // kube-rs arms its read timeout per read on the connection.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let out = c.run(&["get", "ns", "default", "--request-timeout=2s"]);
    let took = started.elapsed();
    assert_ne!(out.code, 0);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    eprintln!("kubectl against half-open: {}", out.stderr.trim());
    c.sim.set_half_open(false);
    c.sim.drop_connections();
    c.ok(&["get", "ns", "default"]);

    // 500: the next request fails as a server error, the one after works.
    c.sim.fail_next(1, 500, 0);
    let out = c.run(&["get", "ns", "default"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("InternalError"), "{}", out.stderr);
    c.ok(&["get", "ns", "default"]);
    c.sim.fail_next(1, 500, 0);
    let err = namespaces.get("default").await.expect_err("500");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 500),
        "{err:?}"
    );

    // 429 with Retry-After: client-go waits and retries by itself.
    c.sim.fail_next(2, 429, 1);
    let started = Instant::now();
    c.ok(&["get", "ns", "default"]);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "kubectl waited Retry-After twice"
    );
    // kube-rs retries 429s by itself too (its default retry policy) ...
    c.sim.fail_next(2, 429, 1);
    namespaces
        .get("default")
        .await
        .expect("retried past two 429s");
    // ... and without it the 429 and its Retry-After reach the caller.
    c.sim.fail_next(1, 429, 7);
    let raw = client_with(&c, None, false).await;
    let request = http::Request::get("/api/v1/namespaces/default")
        .body(kube::client::Body::empty())
        .expect("request");
    let response = raw.send(request).await.expect("a response");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");

    // Delay: every response waits.
    c.sim.set_delay(Duration::from_millis(1500));
    let started = Instant::now();
    namespaces.get("default").await.expect("slow but fine");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let out = c.run(&["get", "ns", "default", "--request-timeout=1s"]);
    assert_ne!(out.code, 0, "kubectl's deadline is shorter than the delay");
    c.sim.clear_faults();
    c.ok(&["get", "ns", "default", "--request-timeout=1s"]);

    // The same switches through the admin endpoint, which no fault blocks.
    let token = c.sim.token().to_owned();
    let (code, body) = admin(
        &c,
        "POST",
        "/faults/delay",
        r#"{"milliseconds": 1200}"#,
        &token,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"delayMilliseconds\":1200"), "{body}");
    let started = Instant::now();
    c.ok(&["get", "ns", "default"]);
    assert!(started.elapsed() >= Duration::from_millis(1200));
    let (code, body) = admin(
        &c,
        "POST",
        "/faults/half-open",
        r#"{"enabled": true}"#,
        &token,
    );
    assert_eq!(code, 200, "{body}");
    let out = c.run(&["get", "ns", "default", "--request-timeout=3s"]);
    assert_ne!(out.code, 0, "half-open through the admin endpoint");
    assert_eq!(admin(&c, "POST", "/faults/clear", "", &token).0, 200);
    assert_eq!(
        admin(&c, "POST", "/faults/drop-connections", "", &token).0,
        200
    );
    let (code, body) = admin(&c, "GET", "/faults", "", &token);
    assert_eq!(code, 200);
    assert!(
        body.contains("\"halfOpen\":false") && body.contains("\"delayMilliseconds\":0"),
        "{body}"
    );
    c.ok(&["get", "ns", "default", "--request-timeout=2s"]);
}

/// A plain HTTP/1.0 request to the admin endpoint: (status, body).
fn admin(c: &Cluster, method: &str, path: &str, body: &str, token: &str) -> (u16, String) {
    let url = c.sim.admin_url();
    let addr = url.strip_prefix("http://").expect("http");
    let mut s = std::net::TcpStream::connect(addr).expect("admin endpoint");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn killed_container_deleted_pod_and_admin_endpoint() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    sleeper(&c, "victim");
    let pods: Api<Pod> = Api::default_namespaced(client(&c, None).await);
    let follow = spawn_kubectl(&c, &["logs", "-f", "victim"]);
    let params = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let mut lines = pods
        .log_stream("victim", &params)
        .await
        .expect("logs")
        .lines();
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.sim
        .kill_container("default", "victim", None, 42)
        .await
        .expect("kill");
    // The followed stream ends with the container; the kubelet restarts it.
    let out = finish(follow).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "up\n");
    // kube-rs's followed stream ends cleanly too.
    let mut seen = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(15), lines.try_next())
        .await
        .expect("the stream ends with the container")
        .expect("a clean end")
    {
        seen.push(line);
    }
    assert_eq!(seen, ["up"]);
    c.until(
        &["get", "pod", "victim", "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].restartCount}"],
        20,
        |o| o == "42 1",
    );

    // The same through the admin endpoint (plain HTTP, the API's token).
    let token = c.sim.token().to_owned();
    assert_eq!(admin(&c, "GET", "/faults", "", "wrong").0, 401);
    let (code, body) = admin(&c, "GET", "/faults", "", &token);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"halfOpen\":false"), "{body}");
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/victim",
        "--timeout=30s",
    ]);
    let (code, body) = admin(
        &c,
        "POST",
        "/faults/kill-container",
        r#"{"pod": "victim", "exitCode": 7}"#,
        &token,
    );
    assert_eq!(code, 200, "{body}");
    c.until(
        &[
            "get",
            "pod",
            "victim",
            "-o",
            "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}",
        ],
        20,
        |o| o == "7",
    );
    let (code, body) = admin(
        &c,
        "POST",
        "/faults/fail",
        r#"{"count": 1, "code": 500}"#,
        &token,
    );
    assert_eq!(code, 200, "{body}");
    let out = c.run(&["get", "pod", "victim"]);
    assert!(out.stderr.contains("InternalError"), "{}", out.stderr);

    let (code, body) = admin(
        &c,
        "POST",
        "/faults/delete-pod",
        r#"{"pod": "victim"}"#,
        &token,
    );
    assert_eq!(code, 200, "{body}");
    let out = c.run(&["get", "pod", "victim"]);
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);
    let gone = pods.get("victim").await.expect_err("deleted");
    assert!(
        matches!(&gone, kube::Error::Api(s) if s.code == 404),
        "{gone:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.containers().is_empty() {
        assert!(Instant::now() < deadline, "the deleted pod's containers go");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (code, _) = admin(
        &c,
        "POST",
        "/faults/delete-pod",
        r#"{"pod": "victim"}"#,
        &token,
    );
    assert_eq!(code, 400, "a missing pod is an error");
}
