//! The older `v4.channel.k8s.io` exec protocol, spoken by a raw WebSocket
//! client (kube-rs and kubectl both prefer v5): stdout and stderr on their
//! channels, the exit status as a `Status` on channel 3, a normal close.

mod common;

use std::sync::Arc;

use futures_util::StreamExt as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use common::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_over_v4_reports_output_and_exit_status() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: v4}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: main, image: {image}, command: [sleep, '3600']}}
"
    ));
    c.ok(&["wait", "--for=condition=Ready", "pod/v4", "--timeout=30s"]);

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(c.sim.ca_pem().as_bytes()).expect("CA PEM"))
        .expect("CA");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(c.sim.addr())
        .await
        .expect("connect");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("TLS");
    let url = format!(
        "wss://{}/api/v1/namespaces/default/pods/v4/exec?command=sh&command=-c&command=echo%20out%3B%20echo%20err%20%3E%262%3B%20exit%204&stdout=true&stderr=true",
        c.sim.addr()
    );
    let mut req = url.into_client_request().expect("request");
    let h = req.headers_mut();
    h.insert(
        "Authorization",
        format!("Bearer {}", c.sim.token()).parse().expect("header"),
    );
    h.insert(
        "Sec-WebSocket-Protocol",
        "v4.channel.k8s.io".parse().expect("header"),
    );
    let (mut ws, response) = tokio_tungstenite::client_async(req, tls)
        .await
        .expect("upgrade");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "v4.channel.k8s.io"
    );
    let mut channels: [Vec<u8>; 4] = Default::default();
    let mut closed = None;
    while let Some(m) = tokio::time::timeout(std::time::Duration::from_secs(20), ws.next())
        .await
        .expect("the exec ends in time")
    {
        match m.expect("a message") {
            Message::Binary(b) => channels[usize::from(b[0])].extend_from_slice(&b[1..]),
            Message::Close(frame) => closed = frame,
            _ => {}
        }
    }
    assert_eq!(channels[1], b"out\n");
    assert_eq!(channels[2], b"err\n");
    let status: serde_json::Value = serde_json::from_slice(&channels[3]).expect("a Status");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(
        status["details"]["causes"][0],
        serde_json::json!({"reason": "ExitCode", "message": "4"})
    );
    assert_eq!(u16::from(closed.expect("a close frame").code), 1000);
}
