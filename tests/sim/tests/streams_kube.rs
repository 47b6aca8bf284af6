//! Part 4's proof with kube-rs: port-forward carrying 100 MiB both ways
//! intact over several concurrent connections to a port the pod does not
//! declare, an HTTP request through a forward, a refused port's error;
//! exec with stdin, output and exit status; log streaming with
//! timestamps that ends when the container stops.

mod common;

use std::time::{Duration, Instant};

use futures_util::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use common::Cluster;

async fn client(c: &Cluster) -> Client {
    let kc = Kubeconfig::from_yaml(&c.sim.kubeconfig_yaml()).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

/// A deterministic byte stream (xorshift), so what comes back can be
/// checked without keeping what went out.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let b = self.0.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
    }
}

const CHUNK: usize = 64 * 1024;
/// How far the writer may run ahead of the echo: kube-rs's forwarder is one
/// loop that stops reading the WebSocket while a send to it waits, so an
/// unbounded writer can stall an echo (as it could on a real cluster).
const WINDOW: u64 = 512 * 1024;

/// Sends `total` bytes through `stream` to an echo server and checks every
/// byte that comes back.
async fn echo(stream: tokio::io::DuplexStream, seed: u64, total: u64) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let writer = async move {
        let mut gen_ = Bytes(seed);
        let mut sent = 0u64;
        let mut buf = vec![0u8; CHUNK];
        while sent < total {
            while sent - *rx.borrow_and_update() > WINDOW {
                rx.changed().await.expect("reader alive");
            }
            let n = usize::try_from((total - sent).min(CHUNK as u64)).expect("small");
            gen_.fill(&mut buf[..n]);
            wr.write_all(&buf[..n]).await.expect("write to the forward");
            sent += n as u64;
        }
        wr
    };
    let reader = async move {
        let mut expect = Bytes(seed);
        let mut got = 0u64;
        let mut buf = vec![0u8; CHUNK];
        let mut want = vec![0u8; CHUNK];
        // xorshift fills in 8-byte steps: compare against a stream that is
        // regenerated in the same 8-byte-aligned chunks as it was sent.
        let mut pending: Vec<u8> = Vec::new();
        while got < total {
            let n = rd.read(&mut buf).await.expect("read from the forward");
            assert!(n > 0, "the forward ended after {got} of {total} bytes");
            pending.extend_from_slice(&buf[..n]);
            while pending.len() >= CHUNK
                || (got + pending.len() as u64 == total && !pending.is_empty())
            {
                let m = pending.len().min(CHUNK);
                expect.fill(&mut want[..m]);
                assert!(pending[..m] == want[..m], "corrupted near byte {got}");
                pending.drain(..m);
                got += m as u64;
                let _ = tx.send(got);
            }
        }
    };
    let (_wr, ()) = tokio::join!(writer, reader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_100_mib_undeclared_port_http_and_refusal() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: fwd}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    ports: [{{containerPort: 8080}}]
    command: [sh, -c, 'mkdir -p /www; echo hello-http > /www/index.html; nc -ll -p 9000 -e cat & exec httpd -f -p 8080 -h /www']
"
    ));
    c.ok(&["wait", "--for=condition=Ready", "pod/fwd", "--timeout=30s"]);
    let pods: Api<Pod> = Api::default_namespaced(client(&c).await);

    // An HTTP request through the declared port.
    let mut pf = pods.portforward("fwd", &[8080]).await.expect("portforward");
    let mut s = pf.take_stream(8080).expect("stream");
    s.write_all(b"GET / HTTP/1.0\r\nHost: fwd\r\n\r\n")
        .await
        .expect("send");
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_string(&mut response))
        .await
        .expect("the server's close ends the forward")
        .expect("read");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("hello-http\n"), "{response}");
    // The server closed the WebSocket when the pod's side closed (as the
    // kubelet does once every port's connection is done); kube-rs's own
    // close then fails with SendAfterClosing, so it is not joined.
    drop(s);
    drop(pf);

    // 100 MiB both ways over 4 concurrent forwards to the undeclared port.
    let started = Instant::now();
    let per = 25 * 1024 * 1024u64;
    let mut tasks = Vec::new();
    for i in 0..4u64 {
        let pods = pods.clone();
        tasks.push(tokio::spawn(async move {
            let mut pf = pods.portforward("fwd", &[9000]).await.expect("portforward");
            let s = pf.take_stream(9000).expect("stream");
            echo(s, 0x9e37_79b9_7f4a_7c15 ^ (i + 1), per).await;
            pf.abort();
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(50), t)
            .await
            .expect("100 MiB within 50 s")
            .expect("forward task");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "port-forward: 4 x 25 MiB echoed (100 MiB each way) in {secs:.1} s, {:.1} MiB/s each way",
        100.0 / secs
    );

    // A port nobody listens on: the error channel says so.
    let mut pf = pods.portforward("fwd", &[9999]).await.expect("portforward");
    let error = pf.take_error(9999).expect("error channel");
    let message = tokio::time::timeout(Duration::from_secs(20), error)
        .await
        .expect("an error in time")
        .expect("an error message");
    assert!(message.contains("connection refused"), "{message}");
    assert!(message.contains("9999"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_stdin_exit_status_and_log_stream_with_timestamps() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: box}}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: {image}
    command: [sh, -c, 'sleep 2; for i in 1 2 3 4 5; do echo tick-$i; sleep 0.3; done; sleep 6']
"
    ));
    c.ok(&["wait", "--for=condition=Ready", "pod/box", "--timeout=30s"]);
    let pods: Api<Pod> = Api::default_namespaced(client(&c).await);

    let params = AttachParams::default()
        .stdin(true)
        .stdout(true)
        .stderr(true);
    let mut p = pods
        .exec("box", ["sh", "-c", "cat; echo bye >&2; exit 5"], &params)
        .await
        .expect("exec");
    let mut stdin = p.stdin().expect("stdin");
    let mut stdout = p.stdout().expect("stdout");
    let mut stderr = p.stderr().expect("stderr");
    let status = p.take_status().expect("status");
    stdin.write_all(b"ping over stdin\n").await.expect("write");
    stdin.shutdown().await.expect("close stdin");
    drop(stdin);
    let mut out = String::new();
    let mut err = String::new();
    stdout.read_to_string(&mut out).await.expect("stdout");
    stderr.read_to_string(&mut err).await.expect("stderr");
    assert_eq!(out, "ping over stdin\n");
    assert_eq!(err, "bye\n");
    let status = status.await.expect("a status");
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let cause = &status.details.expect("details").causes.expect("causes")[0];
    assert_eq!(cause.reason.as_deref(), Some("ExitCode"));
    assert_eq!(cause.message.as_deref(), Some("5"));
    p.join().await.expect("exec ends");

    let ok = pods
        .exec("box", ["true"], &AttachParams::default().stderr(true))
        .await
        .expect("exec");
    let mut ok = ok;
    let status = ok.take_status().expect("status").await.expect("a status");
    assert_eq!(status.status.as_deref(), Some("Success"));

    // Follow with timestamps from the start; the stream ends with the
    // container (it exits ~6 s after its last tick).
    let params = LogParams {
        follow: true,
        timestamps: true,
        ..LogParams::default()
    };
    let started = Instant::now();
    let mut lines = pods
        .log_stream("box", &params)
        .await
        .expect("log stream")
        .lines();
    let mut seen = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(30), lines.try_next())
        .await
        .expect("the stream ends in time")
        .expect("read a line")
    {
        let (ts, text) = line.split_once(' ').expect("timestamp first");
        seen.push((
            ts.parse::<jiff::Timestamp>().expect("RFC 3339"),
            text.to_owned(),
        ));
    }
    let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["tick-1", "tick-2", "tick-3", "tick-4", "tick-5"]);
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "timestamps increase"
    );
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "it followed until the exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_reaches_the_containers_own_stdin_and_stdout() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: att}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    stdin: true
    command: [sh, -c, 'while read line; do echo got-$line; done']
"
    ));
    c.ok(&["wait", "--for=condition=Ready", "pod/att", "--timeout=30s"]);
    let pods: Api<Pod> = Api::default_namespaced(client(&c).await);
    let params = AttachParams::default()
        .stdin(true)
        .stdout(true)
        .stderr(false);
    let mut p = tokio::time::timeout(Duration::from_secs(15), pods.attach("att", &params))
        .await
        .expect("attach in time")
        .expect("attach");
    let mut stdin = p.stdin().expect("stdin");
    let mut stdout = p.stdout().expect("stdout");
    stdin.write_all(b"one\ntwo\n").await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&got).contains("got-two\n") {
        let n = tokio::time::timeout(Duration::from_secs(15), stdout.read(&mut buf))
            .await
            .expect("output in time")
            .expect("read");
        assert!(
            n > 0,
            "attach ended early: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), "got-one\ngot-two\n");
    // The container's process reads the attached stdin, not an exec's.
    assert_eq!(c.ok(&["logs", "att"]), "got-one\ngot-two\n");
    p.abort();
}
