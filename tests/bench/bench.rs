//! `devloop-bench`: the parts of the benchmark suite (`tests/bench/run`) that
//! must call devloop's library or speak Kubernetes themselves. Not part of
//! the `devloop` binary and not a test: it prints measurements as JSON lines
//! for `tests/bench/bench.py`, which compares them with same-run baselines.
//!
//! - `context DIR`: one build context (tar + sha256) of DIR, as `devloop up`
//!   sends it, written to nothing; seconds, bytes, entries.
//! - `digest DIR RUNS`: the digest of an unchanged tree, RUNS times.
//! - `forward KUBECONFIG NAMESPACE RELEASE PORT LISTEN`: a port-forward the
//!   naive pipeline is measured through, so "new answer" is detected the same
//!   way as through devloop's forward: per connection a kube-rs
//!   port-forward to the newest ready pod of the release.

use std::path::Path;
use std::time::Instant;

use devloop::build::context::BuildContext;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["context", dir] => context(Path::new(dir)),
        ["digest", dir, runs] => digest(Path::new(dir), runs.parse()?),
        ["forward", kubeconfig, namespace, release, port, listen] => {
            forward(kubeconfig, namespace, release, port.parse()?, listen).await
        }
        _ => Err("usage: devloop-bench context DIR | digest DIR RUNS | \
                  forward KUBECONFIG NAMESPACE RELEASE PORT LISTEN"
            .into()),
    }
}

fn open(dir: &Path) -> Result<BuildContext, Failure> {
    Ok(BuildContext::open(dir, "Dockerfile")?)
}

fn context(dir: &Path) -> Result<(), Failure> {
    let started = Instant::now();
    let ctx = open(dir)?;
    let (_, summary) = ctx.write(std::io::sink(), &mut |_| {})?;
    println!(
        "{{\"seconds\":{:.6},\"bytes\":{},\"entries\":{}}}",
        started.elapsed().as_secs_f64(),
        summary.bytes,
        summary.entries
    );
    Ok(())
}

fn digest(dir: &Path, runs: usize) -> Result<(), Failure> {
    let ctx = open(dir)?;
    let mut seconds = Vec::with_capacity(runs);
    let mut entries = 0;
    for _ in 0..runs {
        let started = Instant::now();
        entries = ctx.digest()?.entries;
        seconds.push(format!("{:.6}", started.elapsed().as_secs_f64()));
    }
    println!(
        "{{\"seconds\":[{}],\"entries\":{entries}}}",
        seconds.join(",")
    );
    Ok(())
}

async fn forward(
    kubeconfig: &str,
    namespace: &str,
    release: &str,
    port: u16,
    listen: &str,
) -> Result<(), Failure> {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig)?,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config)?, namespace);
    let selector = format!("app.kubernetes.io/instance={release}");
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("{{\"listening\":\"{}\"}}", listener.local_addr()?);
    loop {
        let (mut local, _) = listener.accept().await?;
        let pods = pods.clone();
        let selector = selector.clone();
        tokio::spawn(async move {
            let Some(pod) = newest_ready(&pods, &selector).await else {
                return;
            };
            let Ok(mut pf) = pods.portforward(&pod, &[port]).await else {
                return;
            };
            if let Some(mut remote) = pf.take_stream(port) {
                let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
            }
        });
    }
}

/// The newest ready, not terminating pod of the release: after a rollout
/// that is the new version's.
async fn newest_ready(pods: &Api<Pod>, selector: &str) -> Option<String> {
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .ok()?;
    list.items
        .into_iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .max_by_key(|p| p.metadata.creation_timestamp.clone())
        .and_then(|p| p.metadata.name)
}
