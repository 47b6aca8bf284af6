//! One pod's worker: infra container, init containers in order, app
//! containers, restarts with `CrashLoopBackOff`, probes, status, and graceful
//! termination (preStop, SIGTERM, grace period, kill).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, StopContainerOptions};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::Kubelet;
use super::probes::{ProbeState, Verdict};
use crate::controllers::{modify, set_condition};
use crate::objects::{self, meta_str};
use crate::store::{Change, Key};

#[derive(Default)]
struct Container {
    id: Option<String>,
    restarts: i64,
    /// When the container may be (re)started (back-off).
    not_before: Option<Instant>,
    /// The waiting reason and message shown while not running.
    waiting: Option<(String, String)>,
    last_terminated: Option<Value>,
    /// Terminated for good (restartPolicy says no restart), or init done.
    done: Option<Value>,
    started_at: String,
    started: Option<Instant>,
    image_id: String,
    ready: bool,
    startup_ok: bool,
    readiness: Option<ProbeState>,
    liveness: Option<ProbeState>,
    startup: Option<ProbeState>,
    back_off_pull: u32,
    seen_running: bool,
    /// The last two exited containers, newest last: kept (not removed) so
    /// `pods/log` can read the current terminated one and `previous`.
    dead: Vec<String>,
}

struct Pod {
    k: Arc<Kubelet>,
    key: Key,
    uid: String,
    infra: Option<String>,
    ip: String,
    start_time: String,
    containers: HashMap<String, Container>,
    inits: HashMap<String, Container>,
    volumes: Option<Vec<(String, std::path::PathBuf, bool)>>,
    volume_error: Option<String>,
}

fn field(name: &str, init: bool) -> String {
    if init {
        format!("spec.initContainers{{{name}}}")
    } else {
        format!("spec.containers{{{name}}}")
    }
}

/// The back-off before restart number `restarts + 1`: none for the first,
/// then 10 s doubling to 5 min.
fn back_off(restarts: i64) -> Duration {
    if restarts == 0 {
        return Duration::ZERO;
    }
    let exp = u32::try_from((restarts - 1).min(5)).unwrap_or(5);
    Duration::from_secs((10u64 << exp).min(300))
}

pub async fn run(k: Arc<Kubelet>, key: Key, uid: String, mut stop: watch::Receiver<bool>) {
    let mut pod = Pod {
        ip: k.pod_ip(),
        k,
        key,
        uid,
        infra: None,
        start_time: objects::now(),
        containers: HashMap::new(),
        inits: HashMap::new(),
        volumes: None,
        volume_error: None,
    };
    loop {
        if *stop.borrow() {
            pod.teardown(None, 0).await;
            return;
        }
        let current = pod
            .k
            .shared
            .store
            .get(&pod.key)
            .filter(|p| meta_str(p, "uid") == Some(pod.uid.as_str()));
        let Some(spec) = current else {
            // Deleted without grace (or its namespace went): kill at once.
            pod.teardown(None, 0).await;
            return;
        };
        if spec["metadata"].get("deletionTimestamp").is_some() {
            let grace = spec["metadata"]["deletionGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30);
            pod.teardown(Some(&spec), grace).await;
            let uid = pod.uid.clone();
            let _ = pod.k.shared.store.mutate(&pod.key, false, |old| {
                Ok::<_, std::convert::Infallible>(match old {
                    Some(o) if meta_str(o, "uid") == Some(uid.as_str()) => {
                        Change::Remove(o.clone())
                    }
                    _ => Change::Keep(Value::Null),
                })
            });
            return;
        }
        let finished = pod.step(&spec).await;
        pod.write_status(&spec);
        if finished {
            // The containers stay (their logs are readable) until the pod is
            // deleted; the deletion's worker removes them by label.
            return;
        }
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

impl Pod {
    fn labels(&self, pod: &Value, container: &str) -> HashMap<String, String> {
        HashMap::from([
            (super::docker::INSTANCE.to_owned(), self.k.instance.clone()),
            (
                super::docker::PID.to_owned(),
                std::process::id().to_string(),
            ),
            (
                "io.kubernetes.pod.name".to_owned(),
                meta_str(pod, "name").unwrap_or("").to_owned(),
            ),
            (
                "io.kubernetes.pod.namespace".to_owned(),
                meta_str(pod, "namespace").unwrap_or("").to_owned(),
            ),
            ("io.kubernetes.pod.uid".to_owned(), self.uid.clone()),
            (
                "io.kubernetes.container.name".to_owned(),
                container.to_owned(),
            ),
        ])
    }

    fn pod_ref(pod: &Value) -> String {
        format!(
            "{}_{}({})",
            meta_str(pod, "name").unwrap_or(""),
            meta_str(pod, "namespace").unwrap_or(""),
            meta_str(pod, "uid").unwrap_or("")
        )
    }

    fn event(&self, pod: &Value, field: Option<&str>, kind: &str, reason: &str, message: &str) {
        crate::controllers::events::record_field(
            &self.k.shared,
            pod,
            field,
            "kubelet",
            kind,
            reason,
            message,
        );
    }

    /// One pass; `true` when the pod has finished (Succeeded/Failed).
    async fn step(&mut self, pod: &Value) -> bool {
        if self.infra.is_none() {
            match self.create_infra(pod).await {
                Ok(id) => self.infra = Some(id),
                Err(e) => {
                    self.event(
                        pod,
                        None,
                        "Warning",
                        "FailedCreatePodSandBox",
                        &format!("Failed to create pod sandbox: {e}"),
                    );
                    return false;
                }
            }
        }
        if self.volumes.is_none() {
            let dir = self.k.volume_root.join(&self.uid);
            match super::volumes::prepare(&self.k, pod, &dir) {
                Ok(v) => {
                    self.volumes = Some(v);
                    self.volume_error = None;
                }
                Err(e) => {
                    if self.volume_error.as_deref() != Some(e.as_str()) {
                        self.event(
                            pod,
                            None,
                            "Warning",
                            "FailedMount",
                            &format!("MountVolume.SetUp failed for volume: {e}"),
                        );
                    }
                    self.volume_error = Some(e);
                    return false;
                }
            }
        }
        let policy = pod["spec"]["restartPolicy"]
            .as_str()
            .unwrap_or("Always")
            .to_owned();
        // Init containers, one at a time, in order.
        let inits = pod["spec"]["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in &inits {
            let name = c["name"].as_str().unwrap_or("").to_owned();
            let mut state = self.inits.remove(&name).unwrap_or_default();
            let done = state.done.as_ref().is_some_and(|t| t["exitCode"] == 0);
            if !done {
                let init_policy = if policy == "Never" {
                    "Never"
                } else {
                    "OnFailure"
                };
                self.drive(pod, c, &mut state, init_policy, true).await;
            }
            let done_now = state.done.as_ref().is_some_and(|t| t["exitCode"] == 0);
            let failed = state.done.is_some() && !done_now;
            self.inits.insert(name, state);
            if failed {
                return true;
            }
            if !done_now {
                return false;
            }
        }
        let containers = pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in &containers {
            let name = c["name"].as_str().unwrap_or("").to_owned();
            let mut state = self.containers.remove(&name).unwrap_or_default();
            if state.done.is_none() {
                self.drive(pod, c, &mut state, &policy, false).await;
            }
            self.containers.insert(name, state);
        }
        !containers.is_empty() && self.containers.values().all(|c| c.done.is_some())
    }

    /// Moves one container on: observe, restart with back-off, probe.
    #[allow(clippy::too_many_lines)] // one container's lifecycle, read top to bottom
    async fn drive(
        &mut self,
        pod: &Value,
        c: &Value,
        state: &mut Container,
        policy: &str,
        init: bool,
    ) {
        let name = c["name"].as_str().unwrap_or("");
        let fp = field(name, init);
        let docker = self.k.docker.clone();
        if let Some(id) = state.id.clone() {
            let info = docker.inspect_container(&id, None).await.ok();
            let st = info.as_ref().and_then(|i| i.state.clone());
            let running = st.as_ref().and_then(|s| s.running).unwrap_or(false);
            if running {
                if !init && !state.seen_running {
                    // Ready (without probes) once seen running after the start.
                    state.seen_running = true;
                    state.ready = state.readiness.is_none() && state.startup_ok;
                }
                if !init {
                    self.probe(pod, c, state, &id).await;
                }
                return;
            }
            let st = st.unwrap_or_default();
            // A fault injected with an exit code (`Sim::kill_container`)
            // shows that code, as if the process had exited with it.
            let injected = self
                .k
                .shared
                .exit_overrides
                .lock()
                .map_or(None, |mut o| o.remove(&id));
            let code = injected.unwrap_or_else(|| st.exit_code.unwrap_or(-1));
            let reason = if st.oom_killed == Some(true) {
                "OOMKilled"
            } else if code == 0 {
                "Completed"
            } else {
                "Error"
            };
            let terminated = json!({
                "exitCode": code,
                "reason": reason,
                "startedAt": state.started_at,
                "finishedAt": st.finished_at.as_deref().filter(|f| f.len() >= 19 && !f.starts_with("0001")).map_or_else(objects::now, |f| format!("{}Z", &f[..19])),
                "containerID": format!("docker://{id}"),
            });
            state.dead.push(id);
            if state.dead.len() > 2 {
                let oldest = state.dead.remove(0);
                super::docker::remove(&docker, &oldest).await;
            }
            state.id = None;
            state.ready = false;
            state.started = None;
            let restart = match policy {
                "Always" => true,
                "OnFailure" => code != 0,
                _ => false,
            };
            if restart {
                let delay = back_off(state.restarts);
                state.not_before = Some(Instant::now() + delay);
                state.last_terminated = Some(terminated);
                if !delay.is_zero() {
                    state.waiting = Some((
                        "CrashLoopBackOff".into(),
                        format!(
                            "back-off {}s restarting failed container={name} pod={}",
                            delay.as_secs(),
                            Self::pod_ref(pod)
                        ),
                    ));
                    self.event(
                        pod,
                        Some(&fp),
                        "Warning",
                        "BackOff",
                        &format!(
                            "Back-off restarting failed container {name} in pod {}",
                            Self::pod_ref(pod)
                        ),
                    );
                }
            } else {
                state.done = Some(terminated);
            }
            return;
        }
        if state.not_before.is_some_and(|t| Instant::now() < t) {
            return;
        }
        // Start (or restart) the container.
        let image_id = match super::images::ensure(&self.k, pod, c).await {
            Ok(id) => id,
            Err(e) => {
                let delay = Duration::from_secs((10u64 << state.back_off_pull.min(5)).min(300));
                state.back_off_pull += 1;
                state.not_before = Some(Instant::now() + delay);
                state.waiting = Some((e.reason.to_owned(), e.message));
                let image = c["image"].as_str().unwrap_or("");
                if state.back_off_pull > 1 {
                    state.waiting = Some((
                        "ImagePullBackOff".into(),
                        format!(
                            "Back-off pulling image \"{image}\": {}",
                            state.waiting.as_ref().map_or("", |w| w.1.as_str())
                        ),
                    ));
                    self.event(
                        pod,
                        Some(&fp),
                        "Normal",
                        "BackOff",
                        &format!("Back-off pulling image \"{image}\""),
                    );
                    self.event(
                        pod,
                        Some(&fp),
                        "Warning",
                        "Failed",
                        "Error: ImagePullBackOff",
                    );
                }
                return;
            }
        };
        state.back_off_pull = 0;
        state.image_id = image_id;
        match self.create(pod, c, state).await {
            Ok(id) => {
                if state.last_terminated.is_some() {
                    state.restarts += 1;
                }
                self.event(
                    pod,
                    Some(&fp),
                    "Normal",
                    "Created",
                    &format!("Created container: {name}"),
                );
                if let Err(e) = docker.start_container(&id, None).await {
                    let message = e.to_string();
                    self.event(
                        pod,
                        Some(&fp),
                        "Warning",
                        "Failed",
                        &format!("Error: {message}"),
                    );
                    state.waiting = Some(("RunContainerError".into(), message));
                    state.id = Some(id);
                    return;
                }
                self.event(
                    pod,
                    Some(&fp),
                    "Normal",
                    "Started",
                    &format!("Started container {name}"),
                );
                state.id = Some(id);
                state.waiting = None;
                state.started_at = objects::now();
                let now = Instant::now();
                state.started = Some(now);
                state.readiness = c
                    .get("readinessProbe")
                    .filter(|p| p.is_object())
                    .map(|p| ProbeState::new(p, now));
                state.liveness = c
                    .get("livenessProbe")
                    .filter(|p| p.is_object())
                    .map(|p| ProbeState::new(p, now));
                state.startup = c
                    .get("startupProbe")
                    .filter(|p| p.is_object())
                    .map(|p| ProbeState::new(p, now));
                state.startup_ok = state.startup.is_none();
                state.ready = false;
                state.seen_running = false;
            }
            Err((reason, message)) => {
                self.event(
                    pod,
                    Some(&fp),
                    "Warning",
                    "Failed",
                    &format!("Error: {message}"),
                );
                state.waiting = Some((reason, message));
                state.not_before = Some(Instant::now() + Duration::from_secs(10));
            }
        }
    }

    async fn probe(&mut self, pod: &Value, c: &Value, state: &mut Container, id: &str) {
        let name = c["name"].as_str().unwrap_or("");
        let fp = field(name, false);
        let infra = self.infra.clone().unwrap_or_default();
        let k = Arc::clone(&self.k);
        if !state.startup_ok {
            if let Some(mut ps) = state.startup.take() {
                let verdict =
                    super::probes::tick(&k, &mut ps, &c["startupProbe"], c, &infra, id, &self.ip)
                        .await;
                state.startup = Some(ps);
                match verdict {
                    Verdict::Success => {
                        state.startup_ok = true;
                        state.ready = state.readiness.is_none();
                    }
                    Verdict::Failure(msg, reached) => {
                        self.event(
                            pod,
                            Some(&fp),
                            "Warning",
                            "Unhealthy",
                            &format!("Startup probe failed: {msg}"),
                        );
                        if reached {
                            self.kill(
                                pod,
                                c,
                                id,
                                &format!(
                                    "Container {name} failed startup probe, will be restarted"
                                ),
                            )
                            .await;
                        }
                    }
                    Verdict::Wait | Verdict::Pending => {}
                }
            }
            return;
        }
        if let Some(mut ps) = state.liveness.take() {
            let verdict =
                super::probes::tick(&k, &mut ps, &c["livenessProbe"], c, &infra, id, &self.ip)
                    .await;
            state.liveness = Some(ps);
            if let Verdict::Failure(msg, reached) = verdict {
                self.event(
                    pod,
                    Some(&fp),
                    "Warning",
                    "Unhealthy",
                    &format!("Liveness probe failed: {msg}"),
                );
                if reached {
                    self.kill(
                        pod,
                        c,
                        id,
                        &format!("Container {name} failed liveness probe, will be restarted"),
                    )
                    .await;
                    return;
                }
            }
        }
        if let Some(mut ps) = state.readiness.take() {
            let verdict =
                super::probes::tick(&k, &mut ps, &c["readinessProbe"], c, &infra, id, &self.ip)
                    .await;
            state.readiness = Some(ps);
            match verdict {
                Verdict::Success => state.ready = true,
                Verdict::Failure(msg, reached) => {
                    self.event(
                        pod,
                        Some(&fp),
                        "Warning",
                        "Unhealthy",
                        &format!("Readiness probe failed: {msg}"),
                    );
                    if reached {
                        state.ready = false;
                    }
                }
                Verdict::Wait | Verdict::Pending => {}
            }
        }
    }

    /// Stops a container whose liveness/startup probe failed (it restarts).
    async fn kill(&self, pod: &Value, c: &Value, id: &str, message: &str) {
        let name = c["name"].as_str().unwrap_or("");
        self.event(pod, Some(&field(name, false)), "Normal", "Killing", message);
        let grace = pod["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30);
        let options = StopContainerOptions {
            t: Some(i32::try_from(grace).unwrap_or(30)),
            signal: None,
        };
        let _ = self.k.docker.stop_container(id, Some(options)).await;
    }

    async fn create_infra(&self, pod: &Value) -> Result<String, String> {
        let name = format!(
            "devloop-sim_POD_{}_{}_{}",
            meta_str(pod, "name").unwrap_or(""),
            meta_str(pod, "namespace").unwrap_or(""),
            &self.uid[..8.min(self.uid.len())]
        );
        let body = ContainerCreateBody {
            image: Some(self.k.infra_image.clone()),
            cmd: Some(vec!["sleep".into(), "2147483".into()]),
            hostname: meta_str(pod, "name").map(|n| n.chars().take(63).collect()),
            labels: Some(self.labels(pod, "POD")),
            host_config: Some(HostConfig {
                init: Some(true),
                ipc_mode: Some("shareable".to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name),
            ..Default::default()
        };
        let created = self
            .k
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| e.to_string())?;
        self.k
            .docker
            .start_container(&created.id, None)
            .await
            .map_err(|e| e.to_string())?;
        Ok(created.id)
    }

    /// Creates an app or init container in the pod's namespaces.
    #[allow(clippy::too_many_lines)] // the container's config, field by field
    async fn create(
        &self,
        pod: &Value,
        c: &Value,
        state: &Container,
    ) -> Result<String, (String, String)> {
        let name = c["name"].as_str().unwrap_or("");
        let image = c["image"].as_str().unwrap_or("").to_owned();
        let config_error = |m: String| ("CreateContainerConfigError".to_owned(), m);
        let env = self.env(pod, c).map_err(config_error)?;
        let psc = &pod["spec"]["securityContext"];
        let csc = &c["securityContext"];
        let pick = |f: &str| {
            if csc[f].is_null() {
                psc[f].clone()
            } else {
                csc[f].clone()
            }
        };
        let run_as_user = pick("runAsUser").as_i64();
        let run_as_group = pick("runAsGroup").as_i64();
        let non_root = pick("runAsNonRoot") == true;
        let pod_ref = Self::pod_ref(pod);
        if non_root {
            match run_as_user {
                Some(0) => {
                    return Err(config_error(format!(
                        "container's runAsUser breaks non-root policy (pod: \"{pod_ref}\", container: {name})"
                    )));
                }
                Some(_) => {}
                None => {
                    let user = self
                        .k
                        .docker
                        .inspect_image(&image)
                        .await
                        .ok()
                        .and_then(|i| i.config)
                        .and_then(|c| c.user)
                        .unwrap_or_default();
                    let uid_part = user.split(':').next().unwrap_or("").to_owned();
                    if uid_part.is_empty() || uid_part == "0" || uid_part == "root" {
                        return Err(config_error(format!(
                            "container has runAsNonRoot and image will run as root (pod: \"{pod_ref}\", container: {name})"
                        )));
                    }
                    if uid_part.parse::<u64>().is_err() {
                        return Err(config_error(format!(
                            "container has runAsNonRoot and image has non-numeric user ({uid_part}), cannot verify user is non-root (pod: \"{pod_ref}\", container: {name})"
                        )));
                    }
                }
            }
        }
        let user = match (run_as_user, run_as_group) {
            (Some(u), Some(g)) => Some(format!("{u}:{g}")),
            (Some(u), None) => Some(u.to_string()),
            (None, Some(g)) => {
                let user = self
                    .k
                    .docker
                    .inspect_image(&image)
                    .await
                    .ok()
                    .and_then(|i| i.config)
                    .and_then(|c| c.user)
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| "0".into());
                Some(format!("{}:{g}", user.split(':').next().unwrap_or("0")))
            }
            (None, None) => None,
        };
        let strings = |v: &Value| {
            v.as_array().map(|a| {
                a.iter()
                    .map(|s| expand(s.as_str().unwrap_or(""), &env))
                    .collect::<Vec<String>>()
            })
        };
        let infra = self.infra.clone().unwrap_or_default();
        let binds = super::volumes::binds(c, self.volumes.as_deref().unwrap_or(&[]));
        let body = ContainerCreateBody {
            image: Some(image),
            entrypoint: strings(&c["command"]),
            cmd: strings(&c["args"]).or_else(|| c["command"].is_array().then(Vec::new)),
            env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: c["workingDir"].as_str().map(str::to_owned),
            user,
            tty: c["tty"].as_bool(),
            open_stdin: c["stdin"].as_bool(),
            labels: Some(self.labels(pod, name)),
            host_config: Some(HostConfig {
                network_mode: Some(format!("container:{infra}")),
                ipc_mode: Some(format!("container:{infra}")),
                binds: Some(binds),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(format!(
                "devloop-sim_{name}_{}_{}_{}_{}",
                meta_str(pod, "name").unwrap_or(""),
                meta_str(pod, "namespace").unwrap_or(""),
                &self.uid[..8.min(self.uid.len())],
                state.restarts + i64::from(state.last_terminated.is_some()),
            )),
            ..Default::default()
        };
        self.k
            .docker
            .create_container(Some(options), body)
            .await
            .map(|r| r.id)
            .map_err(|e| ("CreateContainerError".to_owned(), e.to_string()))
    }

    /// The container's environment: env (values, configMap/secret/field
    /// refs) after envFrom, as the kubelet composes it.
    #[allow(clippy::too_many_lines)] // one arm per env source
    fn env(&self, pod: &Value, c: &Value) -> Result<Vec<(String, String)>, String> {
        let ns = meta_str(pod, "namespace").unwrap_or("default");
        let get = |store: &str, name: &str| {
            self.k
                .shared
                .store
                .get(&(store.to_owned(), ns.to_owned(), name.to_owned()))
        };
        let decode = |s: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let mut env: Vec<(String, String)> = vec![
            ("KUBERNETES_SERVICE_HOST".into(), "10.96.0.1".into()),
            ("KUBERNETES_SERVICE_PORT".into(), "443".into()),
        ];
        let set = |env: &mut Vec<(String, String)>, k: String, v: String| {
            env.retain(|(n, _)| *n != k);
            env.push((k, v));
        };
        for from in c["envFrom"].as_array().into_iter().flatten() {
            let prefix = from["prefix"].as_str().unwrap_or("");
            let (r, store, secret) = if from["configMapRef"].is_object() {
                (&from["configMapRef"], "/configmaps", false)
            } else {
                (&from["secretRef"], "/secrets", true)
            };
            let name = r["name"].as_str().unwrap_or("");
            match get(store, name) {
                Some(obj) => {
                    for (k, v) in obj["data"].as_object().into_iter().flatten() {
                        let v = v.as_str().unwrap_or("");
                        set(
                            &mut env,
                            format!("{prefix}{k}"),
                            if secret { decode(v) } else { v.to_owned() },
                        );
                    }
                }
                None if r["optional"] == true => {}
                None => {
                    return Err(format!(
                        "{} \"{name}\" not found",
                        if secret { "secret" } else { "configmap" }
                    ));
                }
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().unwrap_or("").to_owned();
            if let Some(v) = e["value"].as_str() {
                let v = expand(v, &env);
                set(&mut env, name, v);
                continue;
            }
            let from = &e["valueFrom"];
            let value = if let Some(r) = from.get("configMapKeyRef").filter(|r| r.is_object()) {
                let obj = get("/configmaps", r["name"].as_str().unwrap_or(""));
                match obj.as_ref().and_then(|o| {
                    o["data"][r["key"].as_str().unwrap_or("")]
                        .as_str()
                        .map(str::to_owned)
                }) {
                    Some(v) => Some(v),
                    None if r["optional"] == true => None,
                    None if obj.is_none() => {
                        return Err(format!(
                            "configmap \"{}\" not found",
                            r["name"].as_str().unwrap_or("")
                        ));
                    }
                    None => {
                        return Err(format!(
                            "couldn't find key {} in ConfigMap {ns}/{}",
                            r["key"].as_str().unwrap_or(""),
                            r["name"].as_str().unwrap_or("")
                        ));
                    }
                }
            } else if let Some(r) = from.get("secretKeyRef").filter(|r| r.is_object()) {
                let obj = get("/secrets", r["name"].as_str().unwrap_or(""));
                match obj.as_ref().and_then(|o| {
                    o["data"][r["key"].as_str().unwrap_or("")]
                        .as_str()
                        .map(decode)
                }) {
                    Some(v) => Some(v),
                    None if r["optional"] == true => None,
                    None if obj.is_none() => {
                        return Err(format!(
                            "secret \"{}\" not found",
                            r["name"].as_str().unwrap_or("")
                        ));
                    }
                    None => {
                        return Err(format!(
                            "couldn't find key {} in Secret {ns}/{}",
                            r["key"].as_str().unwrap_or(""),
                            r["name"].as_str().unwrap_or("")
                        ));
                    }
                }
            } else if let Some(path) = from["fieldRef"]["fieldPath"].as_str() {
                Some(match path {
                    "metadata.name" => meta_str(pod, "name").unwrap_or("").to_owned(),
                    "metadata.namespace" => ns.to_owned(),
                    "metadata.uid" => self.uid.clone(),
                    "spec.nodeName" => self.k.node.clone(),
                    "spec.serviceAccountName" => pod["spec"]["serviceAccountName"]
                        .as_str()
                        .unwrap_or("default")
                        .to_owned(),
                    "status.podIP" => self.ip.clone(),
                    "status.hostIP" => "127.0.0.1".to_owned(),
                    other => other
                        .strip_prefix("metadata.labels['")
                        .and_then(|l| l.strip_suffix("']"))
                        .map(|l| {
                            pod["metadata"]["labels"][l]
                                .as_str()
                                .unwrap_or("")
                                .to_owned()
                        })
                        .unwrap_or_default(),
                })
            } else {
                Some(String::new())
            };
            if let Some(v) = value {
                set(&mut env, name, v);
            }
        }
        Ok(env)
    }

    /// Graceful termination: preStop, SIGTERM, grace period, kill; then
    /// every container of the pod (and its volumes) goes.
    async fn teardown(&mut self, pod: Option<&Value>, grace: i64) {
        let docker = self.k.docker.clone();
        let mut stops = Vec::new();
        for (name, c) in &self.containers {
            let Some(id) = c.id.clone() else { continue };
            if let Some(pod) = pod {
                self.event(
                    pod,
                    Some(&field(name, false)),
                    "Normal",
                    "Killing",
                    &format!("Stopping container {name}"),
                );
                let spec = pod["spec"]["containers"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|x| x["name"] == name.as_str()).cloned())
                    .unwrap_or(Value::Null);
                if let Some(cmd) = spec["lifecycle"]["preStop"]["exec"]["command"].as_array() {
                    let cmd: Vec<String> = cmd
                        .iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect();
                    let _ = tokio::time::timeout(
                        Duration::from_secs(u64::try_from(grace.max(1)).unwrap_or(1)),
                        super::docker::exec(&docker, &id, cmd),
                    )
                    .await;
                }
            }
            let docker = docker.clone();
            stops.push(tokio::spawn(async move {
                let options = StopContainerOptions {
                    t: Some(i32::try_from(grace).unwrap_or(30)),
                    signal: None,
                };
                let _ = docker.stop_container(&id, Some(options)).await;
                super::docker::remove(&docker, &id).await;
            }));
        }
        for s in stops {
            let _ = s.await;
        }
        for c in self.inits.values().chain(self.containers.values()) {
            if let Some(id) = &c.id {
                super::docker::remove(&docker, id).await;
            }
        }
        if let Some(infra) = self.infra.take() {
            super::docker::remove(&docker, &infra).await;
        }
        // Exited containers kept for their logs, and those of a finished
        // pod whose worker (and its state) is gone.
        let label = format!("io.kubernetes.pod.uid={}", self.uid);
        for (id, _) in super::docker::with_label(&docker, &label).await {
            super::docker::remove(&docker, &id).await;
        }
        let _ = std::fs::remove_dir_all(self.k.volume_root.join(&self.uid));
    }

    fn container_status(c: &Value, state: Option<&Container>, init: bool) -> Value {
        let name = c["name"].as_str().unwrap_or("");
        let image = c["image"].as_str().unwrap_or("");
        let Some(s) = state else {
            let reason = if init {
                "PodInitializing"
            } else {
                "ContainerCreating"
            };
            return json!({"name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0, "started": false,
                "state": {"waiting": {"reason": reason}}, "lastState": {}});
        };
        let state_v = if let Some(id) = &s.id {
            if s.waiting.is_some() {
                json!({"waiting": {"reason": s.waiting.as_ref().map(|w| w.0.clone()), "message": s.waiting.as_ref().map(|w| w.1.clone())}})
            } else {
                let _ = id;
                json!({"running": {"startedAt": s.started_at}})
            }
        } else if let Some(t) = &s.done {
            json!({"terminated": t})
        } else if let Some((reason, message)) = &s.waiting {
            json!({"waiting": {"reason": reason, "message": message}})
        } else if let Some(t) = &s.last_terminated {
            json!({"terminated": t})
        } else {
            json!({"waiting": {"reason": if init { "PodInitializing" } else { "ContainerCreating" }}})
        };
        let mut v = json!({
            "name": name,
            "image": image,
            "imageID": s.image_id,
            "ready": if init { s.done.as_ref().is_some_and(|t| t["exitCode"] == 0) } else { s.ready && s.id.is_some() },
            "restartCount": s.restarts,
            "started": s.id.is_some() && s.startup_ok && !init,
            "state": state_v,
            "lastState": s.last_terminated.as_ref().map_or(json!({}), |t| json!({"terminated": t})),
        });
        if let Some(id) = &s.id {
            v["containerID"] = json!(format!("docker://{id}"));
        } else if let Some(t) = s.done.as_ref() {
            v["containerID"] = t["containerID"].clone();
        }
        v
    }

    #[allow(clippy::too_many_lines)] // the pod status, field by field
    fn write_status(&self, pod: &Value) {
        let inits = pod["spec"]["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let containers = pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let init_statuses: Vec<Value> = inits
            .iter()
            .map(|c| {
                Self::container_status(c, self.inits.get(c["name"].as_str().unwrap_or("")), true)
            })
            .collect();
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                Self::container_status(
                    c,
                    self.containers.get(c["name"].as_str().unwrap_or("")),
                    false,
                )
            })
            .collect();
        let initialized = init_statuses.iter().all(|s| s["ready"] == true);
        let all_ready = !statuses.is_empty() && statuses.iter().all(|s| s["ready"] == true);
        let unready: Vec<&str> = statuses
            .iter()
            .filter(|s| s["ready"] != true)
            .filter_map(|s| s["name"].as_str())
            .collect();
        let all_done = !containers.is_empty()
            && containers.iter().all(|c| {
                self.containers
                    .get(c["name"].as_str().unwrap_or(""))
                    .is_some_and(|s| s.done.is_some())
            });
        let init_failed = self
            .inits
            .values()
            .any(|s| s.done.as_ref().is_some_and(|t| t["exitCode"] != 0));
        let any_started = self
            .containers
            .values()
            .any(|s| s.id.is_some() || s.last_terminated.is_some() || s.done.is_some());
        let phase = if init_failed {
            "Failed"
        } else if all_done {
            if self
                .containers
                .values()
                .all(|s| s.done.as_ref().is_some_and(|t| t["exitCode"] == 0))
            {
                "Succeeded"
            } else {
                "Failed"
            }
        } else if initialized && any_started {
            "Running"
        } else {
            "Pending"
        };
        let ip = self.ip.clone();
        let start = self.start_time.clone();
        let sandbox = self.infra.is_some();
        modify(&self.k.shared, &self.key, &self.uid, |p| {
            if !p["status"].is_object() {
                p["status"] = json!({});
            }
            let st = &mut p["status"];
            st["phase"] = json!(phase);
            st["hostIP"] = json!("127.0.0.1");
            st["hostIPs"] = json!([{"ip": "127.0.0.1"}]);
            if sandbox {
                st["podIP"] = json!(ip);
                st["podIPs"] = json!([{"ip": ip}]);
            }
            st["startTime"] = json!(start);
            st["qosClass"] = json!("BestEffort");
            st["containerStatuses"] = json!(statuses);
            if !init_statuses.is_empty() {
                st["initContainerStatuses"] = json!(init_statuses);
            }
            let b = |x: bool| if x { "True" } else { "False" };
            set_condition(
                p,
                json!({"type": "PodReadyToStartContainers", "status": b(sandbox), "lastProbeTime": null}),
            );
            if initialized {
                set_condition(
                    p,
                    json!({"type": "Initialized", "status": "True", "lastProbeTime": null}),
                );
            } else {
                let pending: Vec<&str> = init_statuses
                    .iter()
                    .filter(|s| s["ready"] != true)
                    .filter_map(|s| s["name"].as_str())
                    .collect();
                set_condition(
                    p,
                    json!({"type": "Initialized", "status": "False", "lastProbeTime": null, "reason": "ContainersNotInitialized",
                    "message": format!("containers with incomplete status: [{}]", pending.join(" "))}),
                );
            }
            for kind in ["Ready", "ContainersReady"] {
                if all_ready {
                    set_condition(
                        p,
                        json!({"type": kind, "status": "True", "lastProbeTime": null}),
                    );
                } else if phase == "Succeeded" || phase == "Failed" {
                    set_condition(
                        p,
                        json!({"type": kind, "status": "False", "lastProbeTime": null, "reason": "PodCompleted"}),
                    );
                } else {
                    set_condition(
                        p,
                        json!({"type": kind, "status": "False", "lastProbeTime": null, "reason": "ContainersNotReady",
                        "message": format!("containers with unready status: [{}]", unready.join(" "))}),
                    );
                }
            }
        });
    }
}

/// `$(VAR)` expansion in command, args and env values (`$$` escapes).
fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            if let Some((_, v)) = env.iter().rev().find(|(k, _)| k == name) {
                out.push_str(v);
            } else {
                out.push_str("$(");
                out.push_str(name);
                out.push(')');
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
