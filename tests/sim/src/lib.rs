//! devloop-sim: an in-process Kubernetes API-server simulator for devloop's
//! tests (never part of the `devloop` binary).
//!
//! ```no_run
//! # async fn demo() -> Result<(), devloop_sim::SimError> {
//! let sim = devloop_sim::Sim::start(devloop_sim::SimOptions::default()).await?;
//! std::fs::write("/tmp/kubeconfig", sim.kubeconfig_yaml()).expect("write");
//! // ... run kubectl / devloop / kube-rs against it ...
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod api;
mod apply;
mod controllers;
mod discovery;
mod faults;
mod fields;
mod kubelet;
mod objects;
mod patch;
mod proto;
mod registry;
mod select;
mod store;
mod streams;
mod table;
mod tls;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::objects::meta_str;
use crate::registry::Registry;
use crate::store::{Change, Store};

/// The name of the kubeconfig's context, cluster and user.
pub const CONTEXT: &str = "devloop-sim";

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Where to listen; must be a loopback address. Port 0 picks one.
    pub listen: SocketAddr,
    /// The bearer token clients must send; random when `None`.
    pub token: Option<String>,
    /// How many events watches can resume from (older: 410 Gone).
    pub history_limit: usize,
    /// How often watches that allow bookmarks get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// The test world's settings (`target/world.env`); used from part 3 on.
    pub world: BTreeMap<String, String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(10),
            world: BTreeMap::new(),
        }
    }
}

/// Why a simulator could not start.
#[derive(Debug)]
pub struct SimError(pub String);

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SimError {}

/// `KEY=value` lines of `target/world.env` (empty when the file is missing).
pub fn read_world_env(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// State shared by the server's tasks.
pub(crate) struct Shared {
    registry: Registry,
    store: Store,
    token: String,
    ca_pem: String,
    addr: SocketAddr,
    bookmark_interval: Duration,
    /// Bumped to cut every open connection (test hook and shutdown).
    kill: watch::Sender<u64>,
    /// The next Service cluster IP (10.96.0.0/12) and node port to hand out.
    next_cluster_ip: std::sync::atomic::AtomicU32,
    next_node_port: std::sync::atomic::AtomicU32,
    /// Whether a kubelet runs (then pods on the node are deleted gracefully:
    /// they stay Terminating until the kubelet has stopped their containers).
    kubelet_active: std::sync::atomic::AtomicBool,
    /// The kubelet's Docker engine, for logs, exec, attach and port-forward.
    docker: std::sync::OnceLock<bollard::Docker>,
    /// Exit codes to report for containers killed by fault injection
    /// (container id to code), read by the kubelet when it sees them exit.
    exit_overrides: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Injected faults: failures, delays, half-open connections.
    faults: faults::Faults,
}

/// A running simulator. Dropping it without [`Sim::shutdown`] stops it too.
pub struct Sim {
    shared: Arc<Shared>,
    world: BTreeMap<String, String>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// The controllers and the kubelet (when the world has a Docker engine).
    workers: Vec<JoinHandle<()>>,
    /// The kubelet's instance id (its containers' `devloop-sim.instance` label).
    kubelet_instance: Option<String>,
    /// The admin endpoint (fault injection, plain HTTP).
    admin_addr: SocketAddr,
}

impl Sim {
    /// Starts serving HTTPS on `options.listen` (in the current tokio runtime).
    pub async fn start(options: SimOptions) -> Result<Sim, SimError> {
        if !options.listen.ip().is_loopback() {
            return Err(SimError(format!(
                "devloop-sim listens on loopback addresses only, not {}",
                options.listen
            )));
        }
        let tls = tls::generate().map_err(SimError)?;
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|e| SimError(format!("cannot listen on {}: {e}", options.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError(format!("no local address: {e}")))?;
        let token = options.token.unwrap_or_else(|| {
            format!(
                "{:016x}{:016x}",
                objects::random_u64(),
                objects::random_u64()
            )
        });
        let (kill, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            registry: Registry::default(),
            store: Store::new(options.history_limit),
            token,
            ca_pem: tls.ca_pem,
            addr,
            bookmark_interval: options.bookmark_interval,
            kill,
            next_cluster_ip: std::sync::atomic::AtomicU32::new(10),
            next_node_port: std::sync::atomic::AtomicU32::new(30_000),
            kubelet_active: std::sync::atomic::AtomicBool::new(false),
            docker: std::sync::OnceLock::new(),
            exit_overrides: std::sync::Mutex::default(),
            faults: faults::Faults::default(),
        });
        bootstrap(&shared);
        let admin = TcpListener::bind(SocketAddr::new(addr.ip(), 0))
            .await
            .map_err(|e| SimError(format!("cannot listen for the admin endpoint: {e}")))?;
        let admin_addr = admin
            .local_addr()
            .map_err(|e| SimError(format!("no admin address: {e}")))?;
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(admin::serve(admin, Arc::clone(&shared), stop_rx.clone()));
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config);
        let task = tokio::spawn(serve(
            listener,
            acceptor,
            Arc::clone(&shared),
            stop_rx.clone(),
        ));
        let mut workers = vec![tokio::spawn(controllers::run(
            Arc::clone(&shared),
            stop_rx.clone(),
        ))];
        let mut kubelet_instance = None;
        if options.world.contains_key("DOCKER_HOST") {
            let kubelet = kubelet::start(Arc::clone(&shared), &options.world)
                .await
                .map_err(SimError)?;
            kubelet_instance = Some(kubelet.instance.clone());
            let _ = shared.docker.set(kubelet.docker.clone());
            shared
                .kubelet_active
                .store(true, std::sync::atomic::Ordering::SeqCst);
            workers.push(tokio::spawn(kubelet::run(kubelet, stop_rx)));
        }
        Ok(Sim {
            shared,
            world: options.world,
            stop,
            task: Some(task),
            workers,
            kubelet_instance,
            admin_addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> String {
        format!("https://{}", self.shared.addr)
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The CA that signed the server's certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.shared.ca_pem
    }

    pub fn world(&self) -> &BTreeMap<String, String> {
        &self.world
    }

    /// The kubelet's instance id, which every pod container carries as label
    /// `devloop-sim.instance` (`None` without a Docker engine in the world).
    pub fn kubelet_instance(&self) -> Option<&str> {
        self.kubelet_instance.as_deref()
    }

    /// A kubeconfig whose context `devloop-sim` reaches this simulator
    /// (namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        self.kubeconfig_with_token(&self.shared.token)
    }

    /// The same kubeconfig with another token (to prove auth failures).
    pub fn kubeconfig_with_token(&self, token: &str) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.shared.ca_pem);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {CONTEXT}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {CONTEXT}\n  user:\n    token: {token}\ncontexts:\n- name: {CONTEXT}\n  context:\n    cluster: {CONTEXT}\n    user: {CONTEXT}\n    namespace: default\ncurrent-context: {CONTEXT}\npreferences: {{}}\n",
            server = self.server_url(),
        )
    }

    /// Writes [`Sim::kubeconfig_yaml`] to `path` atomically (a temp file
    /// beside it, then a rename), so readers never see half a kubeconfig.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("devloop-sim.tmp");
        std::fs::write(&tmp, self.kubeconfig_yaml())?;
        std::fs::rename(&tmp, path)
    }

    /// Test hook and fault: cuts every open connection (watches, logs, exec,
    /// attach and port-forward streams included) without a goodbye, as when
    /// a load balancer or the server restarts.
    pub fn drop_connections(&self) {
        self.shared.kill.send_modify(|n| *n += 1);
    }

    /// The admin endpoint, `http://127.0.0.1:PORT` (plain HTTP, the same
    /// bearer token): fault injection from other processes (`src/admin.rs`).
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin_addr)
    }

    /// Fault: the next `count` API requests fail with `code` (500, or 429
    /// with `Retry-After: retry_after_seconds`).
    pub fn fail_next(&self, count: u32, code: u16, retry_after_seconds: u64) {
        self.shared
            .faults
            .fail_next(count, code, retry_after_seconds);
    }

    /// Fault: every API response waits `delay` first (zero: no delay).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.faults.set_delay(delay);
    }

    /// Fault: new connections are accepted and never answered (no TLS
    /// handshake), and requests on open ones never get a response, until
    /// turned off (and [`Sim::drop_connections`] releases the held ones).
    pub fn set_half_open(&self, on: bool) {
        self.shared.faults.set_half_open(on);
    }

    /// Ends the failures, delay and half-open mode.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Fault: kills a pod's running container (the pod's only one when
    /// `container` is `None`) so that it exits with `exit_code`; the kubelet
    /// restarts it per the pod's restartPolicy.
    pub async fn kill_container(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        exit_code: i64,
    ) -> Result<(), SimError> {
        faults::kill_container(&self.shared, namespace, pod, container, exit_code)
            .await
            .map(|_| ())
            .map_err(SimError)
    }

    /// Fault: deletes a pod at once (grace period 0), as a lost node or a
    /// forced eviction does; its containers are killed.
    pub fn delete_pod(&self, namespace: &str, pod: &str) -> Result<(), SimError> {
        faults::delete_pod(&self.shared, namespace, pod).map_err(SimError)
    }

    /// Test hook: forgets the event history, as etcd compaction does, so
    /// watches (and continue tokens) from any resourceVersion handed out so
    /// far get 410 Gone; live watches go on until their connection ends.
    pub fn compact_history(&self) {
        self.shared.store.compact();
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.current_rv()
    }

    /// Stops listening, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        for w in std::mem::take(&mut self.workers) {
            let _ = w.await;
        }
        self.kubelet_instance = None;
    }

    fn stop_now(&self) {
        let _ = self.stop.send(true);
        self.shared.kill.send_modify(|n| *n += 1);
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop_now();
        // Dropped without `shutdown`: the kubelet may not get to clean up
        // (the runtime may be going away), so remove its containers here.
        if let Some(instance) = &self.kubelet_instance {
            let label = format!("label={}={instance}", kubelet::docker::INSTANCE);
            if let Ok(out) = std::process::Command::new("docker")
                .args(["ps", "-aq", "--filter", &label])
                .output()
            {
                let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                if !ids.is_empty() {
                    let _ = std::process::Command::new("docker")
                        .args(["rm", "-f"])
                        .args(&ids)
                        .output();
                }
            }
        }
    }
}

async fn serve(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => a,
        };
        let Ok((tcp, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = Arc::clone(&shared);
        let mut kill = shared.kill.subscribe();
        tokio::spawn(async move {
            let conn = async {
                if shared.faults.half_open() {
                    // Accepted, then never answered (not even the TLS
                    // handshake) until the connections are dropped.
                    let _held = tcp;
                    std::future::pending::<()>().await;
                    return;
                }
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc_shared = Arc::clone(&shared);
                let svc = hyper::service::service_fn(move |req| {
                    let shared = Arc::clone(&svc_shared);
                    async move { Ok::<_, Infallible>(api::handle(shared, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .with_upgrades()
                    .await;
            };
            tokio::select! {
                () = conn => {}
                _ = kill.changed() => {}
            }
        });
    }
}

fn rt(shared: &Shared, api_version: &str, kind: &str) -> registry::ResourceType {
    shared
        .registry
        .by_kind(api_version, kind)
        .expect("built-in kinds are registered")
}

/// The cluster as a fresh one looks: system namespaces and one Node.
fn bootstrap(shared: &Arc<Shared>) {
    let ns = rt(shared, "v1", "Namespace");
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let obj = json!({"metadata": {"name": name}});
        let _ = api::create_object(shared, &ns, None, obj, ("kube-apiserver", "Update"), false);
    }
    let svc = rt(shared, "v1", "Service");
    let kubernetes = json!({
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": shared.addr.port()}]},
    });
    let _ = api::create_object(
        shared,
        &svc,
        Some("default"),
        kubernetes,
        ("kube-apiserver", "Update"),
        false,
    );
    let node_rt = rt(shared, "v1", "Node");
    let (node, status) = node_object();
    let name = meta_str(&node, "name").unwrap_or("devloop-sim").to_owned();
    if api::create_object(shared, &node_rt, None, node, ("kubelet", "Update"), false).is_ok() {
        let key = (node_rt.storage_key(), String::new(), name);
        let _ = shared.store.mutate(&key, false, |old| {
            let mut n = old.cloned().unwrap_or(Value::Null);
            n["status"] = status;
            Ok::<_, Infallible>(Change::Put(n))
        });
    }
}

fn node_object() -> (Value, Value) {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_lowercase())
        .filter(|h| objects::valid_name(h))
        .unwrap_or_else(|| "devloop-sim".to_owned());
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(4 * 1024 * 1024);
    let arch = discovery::arch();
    let capacity = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{mem_kib}Ki"),
        "pods": "110",
        "ephemeral-storage": "100Gi",
    });
    let now = objects::now();
    let node = json!({
        "metadata": {
            "name": host,
            "labels": {
                "kubernetes.io/arch": arch,
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": host,
                "beta.kubernetes.io/arch": arch,
                "beta.kubernetes.io/os": "linux",
                "node-role.kubernetes.io/control-plane": "",
            },
        },
        "spec": {},
    });
    let status = json!({
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "devloop-sim node is ready",
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        }],
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": host},
        ],
        "nodeInfo": {
            "architecture": arch,
            "operatingSystem": "linux",
            "osImage": "devloop-sim",
            "kernelVersion": "",
            "kubeletVersion": discovery::KUBE_VERSION,
            "kubeProxyVersion": discovery::KUBE_VERSION,
            "containerRuntimeVersion": "docker://",
            "machineID": "", "systemUUID": "", "bootID": "",
        },
    });
    (node, status)
}

/// What controllers do for a new namespace: the `default` `ServiceAccount`
/// and the `kube-root-ca.crt` `ConfigMap`.
pub(crate) fn populate_namespace(shared: &Arc<Shared>, ns: &str) {
    let sa = rt(shared, "v1", "ServiceAccount");
    let _ = api::create_object(
        shared,
        &sa,
        Some(ns),
        json!({"metadata": {"name": "default"}}),
        ("kube-controller-manager", "Update"),
        false,
    );
    let cm = rt(shared, "v1", "ConfigMap");
    let _ = api::create_object(
        shared,
        &cm,
        Some(ns),
        json!({
            "metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": shared.ca_pem},
        }),
        ("kube-controller-manager", "Update"),
        false,
    );
}

/// The namespace controller: removes a terminating namespace's content,
/// then the namespace.
pub(crate) fn finish_namespace(shared: &Arc<Shared>, ns: &str) {
    for (key, _) in shared.store.all() {
        if key.1 == ns {
            let _ = shared.store.mutate(&key, false, |old| {
                Ok::<_, Infallible>(old.map_or(Change::Keep(Value::Null), |o| {
                    let mut o = o.clone();
                    objects::meta_mut(&mut o)
                        .insert("deletionTimestamp".into(), json!(objects::now()));
                    Change::Remove(o)
                }))
            });
        }
    }
    let key = ("/namespaces".to_owned(), String::new(), ns.to_owned());
    let _ = shared.store.mutate(&key, false, |old| {
        Ok::<_, Infallible>(match old {
            Some(o) if o["metadata"].get("deletionTimestamp").is_some() => {
                Change::Remove(o.clone())
            }
            Some(o) => Change::Keep(o.clone()),
            None => Change::Keep(Value::Null),
        })
    });
}

/// The garbage collector (background propagation): deletes the dependents
/// of a deleted object.
pub(crate) fn collect_garbage(shared: &Arc<Shared>, deleted: &Value) {
    let Some(uid) = meta_str(deleted, "uid") else {
        return;
    };
    let types = shared.registry.all();
    for (key, obj) in shared.store.all() {
        let owned = obj["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid));
        if !owned {
            continue;
        }
        if let Some(t) = types.iter().find(|t| t.storage_key() == key.0) {
            let _ = api::delete_key(shared, t, &key, false, None, &Value::Null);
        }
    }
}
