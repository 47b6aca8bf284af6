//! The kubelet of the simulator's one node: every pod bound to it is a
//! group of real containers on the test world's Docker engine (an infra
//! container owning the network namespace, init containers, the app
//! containers joined to it), with pulls, restarts, probes and graceful
//! deletion as a real kubelet does them.

pub mod docker;
pub mod images;
pub mod pod;
pub mod probes;
pub mod volumes;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Shared;
use crate::objects::meta_str;

/// The node's name (the one Node's).
pub fn node_name(shared: &Shared) -> String {
    shared
        .store
        .list("/nodes", None)
        .0
        .first()
        .and_then(|n| meta_str(n, "name").map(str::to_owned))
        .unwrap_or_else(|| "devloop-sim".to_owned())
}

pub struct Kubelet {
    pub shared: Arc<Shared>,
    pub docker: Docker,
    /// This simulator's id (the `devloop-sim.instance` label).
    pub instance: String,
    pub node: String,
    /// The image the infra containers run (`busybox:1.37` from the world).
    pub infra_image: String,
    /// What this node pulled (image references): the node's own image store.
    pub pulled: Mutex<HashSet<String>>,
    /// Host directory for the pods' volumes.
    pub volume_root: std::path::PathBuf,
    next_ip: std::sync::atomic::AtomicU32,
}

impl Kubelet {
    /// A fake, unroutable pod IP (10.244.0.0/16): nothing ever connects to it.
    pub fn pod_ip(&self) -> String {
        let n = self
            .next_ip
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("10.244.{}.{}", (n / 250) % 250, n % 250 + 2)
    }
}

/// Connects to the engine and removes leftovers of dead simulator processes.
pub async fn start(
    shared: Arc<Shared>,
    world: &std::collections::BTreeMap<String, String>,
) -> Result<Arc<Kubelet>, String> {
    let host = world
        .get("DOCKER_HOST")
        .cloned()
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
    let docker = docker::connect(&host).await?;
    let instance = format!(
        "{}-{:08x}",
        std::process::id(),
        crate::objects::random_u64() & 0xffff_ffff
    );
    for (id, labels) in docker::with_label(&docker, docker::PID).await {
        let alive = labels
            .get(docker::PID)
            .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            docker::remove(&docker, &id).await;
        }
    }
    let volume_root = std::env::temp_dir().join(format!("devloop-sim-{instance}"));
    let node = node_name(&shared);
    Ok(Arc::new(Kubelet {
        shared,
        docker,
        instance,
        node,
        infra_image: world
            .get("DEVLOOP_WORLD_BUSYBOX")
            .cloned()
            .unwrap_or_else(|| "busybox:1.37".to_owned()),
        pulled: Mutex::new(HashSet::new()),
        volume_root,
        next_ip: std::sync::atomic::AtomicU32::new(0),
    }))
}

/// Runs pod workers for the pods bound to the node until `stop`; then
/// removes every container of this instance.
pub async fn run(kubelet: Arc<Kubelet>, mut stop: watch::Receiver<bool>) {
    let mut workers: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut passes = 0u32;
    loop {
        passes = passes.wrapping_add(1);
        if passes.is_multiple_of(25) {
            sweep(&kubelet, &workers).await;
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if *stop.borrow() {
            break;
        }
        workers.retain(|_, h| !h.is_finished());
        for p in kubelet.shared.store.list("/pods", None).0 {
            if meta_str(&p, "uid").is_none()
                || p["spec"]["nodeName"].as_str() != Some(kubelet.node.as_str())
            {
                continue;
            }
            let uid = meta_str(&p, "uid").unwrap_or("").to_owned();
            if workers.contains_key(&uid) {
                continue;
            }
            if matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
                && p["metadata"].get("deletionTimestamp").is_none()
            {
                continue;
            }
            let key = crate::controllers::key_of("/pods", &p);
            let handle = tokio::spawn(pod::run(
                Arc::clone(&kubelet),
                key,
                uid.clone(),
                stop.clone(),
            ));
            workers.insert(uid, handle);
        }
    }
    for (_, h) in workers {
        let _ = h.await;
    }
    cleanup(&kubelet.docker, &kubelet.instance).await;
    let _ = std::fs::remove_dir_all(&kubelet.volume_root);
}

/// Removes the containers of pods that are gone while no worker ran for
/// them (a finished pod keeps its containers for its logs until deleted).
async fn sweep(kubelet: &Kubelet, workers: &HashMap<String, JoinHandle<()>>) {
    let label = format!("{}={}", docker::INSTANCE, kubelet.instance);
    let pods: HashSet<String> = kubelet
        .shared
        .store
        .list("/pods", None)
        .0
        .iter()
        .filter_map(|p| meta_str(p, "uid").map(str::to_owned))
        .collect();
    for (id, labels) in docker::with_label(&kubelet.docker, &label).await {
        let uid = labels
            .get("io.kubernetes.pod.uid")
            .cloned()
            .unwrap_or_default();
        if !pods.contains(&uid) && !workers.contains_key(&uid) {
            docker::remove(&kubelet.docker, &id).await;
        }
    }
}

/// Removes every container of simulator instance `instance`.
pub async fn cleanup(docker: &Docker, instance: &str) {
    for (id, _) in docker::with_label(docker, &format!("{}={instance}", docker::INSTANCE)).await {
        docker::remove(docker, &id).await;
    }
}
