//! A simulated cluster for devloop's end-to-end tests: the simulator with
//! the world's engine as its kubelet, a kubeconfig on disk, a kube-rs client,
//! and HTTP through a kube-rs port-forward (what a user's browser would see).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use devloop_sim::{Sim, SimOptions};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::World;

pub struct Cluster {
    pub sim: Sim,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the simulator with the world's engine (call inside a
    /// multi-thread runtime).
    pub async fn start(world: &World) -> Cluster {
        let sim = Sim::start(SimOptions {
            world: world.settings(),
            ..SimOptions::default()
        })
        .await
        .expect("the simulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&kubeconfig).expect("read kubeconfig"),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("kube config");
        let client = kube::Client::try_from(config).expect("client");
        Cluster {
            sim,
            client,
            kubeconfig,
            _dir: dir,
        }
    }

    /// Ready pods of `release` in `namespace`.
    pub async fn ready_pods(&self, namespace: &str, release: &str) -> Vec<Pod> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = ListParams::default().labels(&format!("app.kubernetes.io/instance={release}"));
        pods.list(&params)
            .await
            .map(|l| l.items)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .collect()
    }

    /// `GET /` on `port` of a ready pod of the release, through a kube-rs
    /// port-forward; the response body.
    pub async fn get(&self, namespace: &str, release: &str, port: u16) -> Option<String> {
        let pod = self
            .ready_pods(namespace, release)
            .await
            .into_iter()
            .next()?;
        let name = pod.metadata.name?;
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let mut forward =
            tokio::time::timeout(Duration::from_secs(5), pods.portforward(&name, &[port]))
                .await
                .ok()?
                .ok()?;
        let mut stream = forward.take_stream(port)?;
        stream
            .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .ok()?
            .ok()?;
        drop(stream);
        // kube-rs's join can wait on a forward the server already closed.
        let _ = tokio::time::timeout(Duration::from_secs(2), forward.join()).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1").then(|| body.to_owned())
    }

    /// Polls [`Cluster::get`] until the body contains `want` (or `within` passes).
    pub async fn answers(
        &self,
        namespace: &str,
        release: &str,
        port: u16,
        want: &str,
        within: Duration,
    ) -> Result<Duration, Option<String>> {
        let started = Instant::now();
        let mut last = None;
        while started.elapsed() < within {
            last = self.get(namespace, release, port).await;
            if last.as_deref().is_some_and(|b| b.contains(want)) {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(last)
    }
}
