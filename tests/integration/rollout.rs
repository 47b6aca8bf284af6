//! `devloop::rollout` against the cluster simulator, whose kubelet runs pods
//! as real containers on the test world's engine: a good rollout; each way
//! a new version fails (crash loop, missing image, failing readiness probe,
//! runAsNonRoot with a named user, unschedulable, the deadline) with the
//! reason a user needs and the previous version still serving; a hook Job
//! that completes and one that fails; an unreachable and a refusing API
//! server (exit 2).

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use devloop::cluster::{Cluster, ClusterError, KubeTarget};
use devloop::error::{Error, ExitStatus};
use devloop::rollout::{self, Reason, RolloutError, RolloutFailure, Update, WaitOptions};
use devloop_sim::{Sim, SimOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::support::{World, repo_root};

/// A simulator with the world's kubelet and a devloop client for it.
struct Env {
    sim: Sim,
    cluster: Cluster,
    busybox: String,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Option<Env> {
        World::get()?;
        let world = devloop_sim::read_world_env(&repo_root().join("target/world.env"));
        let busybox = busybox_in_registry(&world);
        let sim = Sim::start(SimOptions {
            world,
            ..SimOptions::default()
        })
        .await
        .expect("sim starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let cluster = connect(&kubeconfig).await.expect("connects");
        Some(Env {
            sim,
            cluster,
            busybox,
            _dir: dir,
        })
    }

    /// Server-side applies `obj` (a Deployment or Job) as deploy does.
    async fn apply(&self, obj: &Value) {
        let name = obj["metadata"]["name"].as_str().expect("name");
        let params = PatchParams::apply("devloop").force();
        if obj["kind"] == "Job" {
            let api: Api<Job> = Api::namespaced(self.cluster.client.clone(), "default");
            api.patch(name, &params, &Patch::Apply(obj))
                .await
                .expect("apply job");
        } else {
            let api: Api<Deployment> = Api::namespaced(self.cluster.client.clone(), "default");
            api.patch(name, &params, &Patch::Apply(obj))
                .await
                .expect("apply deployment");
        }
    }

    async fn wait(&self, options: &WaitOptions) -> (Result<(), RolloutError>, Vec<Update>) {
        let mut updates = Vec::new();
        let result = rollout::wait(
            &self.cluster,
            "default",
            &["web".to_owned()],
            options,
            &mut |u: &Update| updates.push(u.clone()),
        )
        .await;
        (result, updates)
    }

    /// Rolls out the good v1 (two ready pods serving HTTP).
    async fn v1(&self) {
        self.apply(&web(&self.busybox, &json!({}), &json!({})))
            .await;
        let (result, _) = self.wait(&options()).await;
        result.expect("v1 rolls out");
    }

    /// Applies v2 (`container` and `pod` merged into the good template),
    /// waits, and returns the failure.
    async fn fail_v2(
        &self,
        container: &Value,
        pod: &Value,
        options: &WaitOptions,
    ) -> RolloutFailure {
        let t = Instant::now();
        self.apply(&web(&self.busybox, container, pod)).await;
        let (result, _) = self.wait(options).await;
        let err = result.expect_err("v2 fails");
        eprintln!(
            "v2 failed in {:?}:\nerror: {err}\nhint: {}",
            t.elapsed(),
            err.hint().unwrap_or_default()
        );
        let failure = err
            .failure()
            .cloned()
            .unwrap_or_else(|| panic!("an app failure, not {err}"));
        // Exit code 1, with the reason's hint.
        let err = Error::from(err);
        assert_eq!(err.exit_status(), ExitStatus::User);
        assert_eq!(err.hint().as_deref(), Some(failure.reason.hint()));
        failure
    }

    /// The previous version still serves: its two pods ready, and the
    /// failure says so.
    async fn assert_v1_serves(&self, failure: &RolloutFailure) {
        let api: Api<Deployment> = Api::namespaced(self.cluster.client.clone(), "default");
        let d = api.get("web").await.expect("get");
        let available = d.status.and_then(|s| s.available_replicas).unwrap_or(0);
        assert!(
            available >= 2,
            "the old pods keep serving: {available} available"
        );
        assert!(
            failure
                .detail
                .iter()
                .any(|l| l.starts_with("the previous version keeps serving: ReplicaSet web-")),
            "{failure}"
        );
    }
}

async fn connect(kubeconfig: &Path) -> Result<Cluster, ClusterError> {
    KubeTarget::resolve(Some(&kubeconfig.to_path_buf()), None, &|_| None)
        .connect()
        .await
}

fn options() -> WaitOptions {
    WaitOptions {
        // Generous on a loaded machine; every failure below comes sooner.
        deadline: Duration::from_secs(45),
        ..WaitOptions::default()
    }
}

/// Deployment `web`: busybox httpd with a readiness probe, two replicas,
/// `maxUnavailable: 0` (the default 25 % of 2 rounds down to 0 too).
fn web(image: &str, container: &Value, pod: &Value) -> Value {
    let mut c = json!({
        "name": "app",
        "image": image,
        "command": ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"],
        "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1},
    });
    merge(&mut c, container);
    let mut spec = json!({"terminationGracePeriodSeconds": 1, "containers": [c]});
    merge(&mut spec, pod);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec},
        },
    })
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The world's busybox in its open registry, so pods pull it as on a node.
fn busybox_in_registry(world: &std::collections::BTreeMap<String, String>) -> String {
    static PUSHED: OnceLock<String> = OnceLock::new();
    PUSHED
        .get_or_init(|| {
            let registry = world
                .get("DEVLOOP_WORLD_REGISTRY")
                .cloned()
                .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
            let local = world
                .get("DEVLOOP_WORLD_BUSYBOX")
                .cloned()
                .unwrap_or_else(|| "busybox:1.37".to_owned());
            let target = format!("{registry}/devloop-rollout/busybox:1.37");
            docker(&["tag", &local, &target]);
            docker(&["push", &target]);
            target
        })
        .clone()
}

/// An image whose USER is a name, which `runAsNonRoot` cannot verify.
fn named_user_image(busybox: &str) -> String {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(
                dir.path().join("Dockerfile"),
                format!("FROM {busybox}\nUSER app\n"),
            )
            .expect("write");
            let registry = busybox.split('/').next().expect("registry");
            let target = format!("{registry}/devloop-rollout/named-user:1");
            docker(&["build", "-q", "-t", &target, &dir.path().to_string_lossy()]);
            docker(&["push", &target]);
            target
        })
        .clone()
}

/// Whether the simulator serves pod logs yet (sim part 4).
async fn serves_logs(cluster: &Cluster, pod: &str) -> bool {
    let pods: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(cluster.client.clone(), "default");
    !matches!(
        pods.logs(pod, &kube::api::LogParams::default()).await,
        Err(kube::Error::Api(s)) if s.code == 404
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_rollout_succeeds_reports_progress_and_survives_dropped_watches() {
    let Some(env) = Env::start().await else {
        return;
    };
    let t = Instant::now();
    env.apply(&web(&env.busybox, &json!({}), &json!({}))).await;
    let (result, updates) = env.wait(&options()).await;
    result.expect("rolls out");
    eprintln!("v1 in {:?}", t.elapsed());
    let last = updates.last().expect("progress was reported");
    assert_eq!(
        (last.object.as_str(), last.what.as_str(), last.done),
        ("Deployment/web", "available", true)
    );
    assert!(
        updates.iter().any(|u| !u.done),
        "waiting was reported: {updates:?}"
    );
    // A new version rolls out too, through dropped connections and a
    // compacted watch history (the watchers re-list); the wait ends when
    // the old pods are gone.
    env.apply(&web(
        &env.busybox,
        &json!({"env": [{"name": "V", "value": "2"}]}),
        &json!({}),
    ))
    .await;
    let disrupt = async {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            env.sim.compact_history();
            env.sim.drop_connections();
        }
    };
    let options = options();
    let ((result, _), ()) = tokio::join!(env.wait(&options), disrupt);
    result.expect("v2 rolls out");
    let api: Api<Deployment> = Api::namespaced(env.cluster.client.clone(), "default");
    let status = api.get("web").await.expect("get").status.expect("status");
    assert_eq!(
        (
            status.updated_replicas,
            status.replicas,
            status.available_replicas
        ),
        (Some(2), Some(2), Some(2))
    );
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_app_fails_with_its_exit_code_while_v1_serves() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    let crash = json!({"command": ["sh", "-c", "echo config missing: DATABASE_URL; exit 3"]});
    let f = env.fail_v2(&crash, &json!({}), &options()).await;
    assert_eq!(f.reason, Reason::CrashLoop, "{f}");
    assert_eq!(f.container.as_deref(), Some("app"));
    assert!(
        f.pod.as_deref().is_some_and(|p| p.starts_with("web-")),
        "{f}"
    );
    assert!(
        f.message
            .starts_with("the container exited with code 3 (CrashLoopBackOff, restarted "),
        "{f}"
    );
    if serves_logs(&env.cluster, f.pod.as_deref().expect("pod")).await {
        assert!(
            f.detail
                .contains(&"| config missing: DATABASE_URL".to_owned()),
            "{f}"
        );
    } else {
        assert!(f.detail.contains(&"no log lines".to_owned()), "{f}");
    }
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_names_the_image_and_the_registrys_message() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    let registry = env.busybox.split('/').next().expect("registry").to_owned();
    let image = format!("{registry}/devloop-rollout/missing:v2");
    let f = env
        .fail_v2(&json!({"image": image}), &json!({}), &options())
        .await;
    assert_eq!(f.reason, Reason::ImagePull, "{f}");
    assert!(
        f.message
            .starts_with(&format!("cannot pull image {image} (")),
        "{f}"
    );
    assert_eq!(f.detail[0], format!("image: {image}"));
    assert_eq!(f.detail[1], format!("registry: {registry}"));
    assert!(
        f.detail[2].starts_with("registry said: ") && f.detail[2].contains("manifest unknown"),
        "{f}"
    );
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_readiness_probe_says_what_the_probe_got() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    let probe = json!({"readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}});
    let options = WaitOptions {
        probe_grace: Duration::from_secs(5),
        ..options()
    };
    let f = env.fail_v2(&probe, &json!({}), &options).await;
    assert_eq!(f.reason, Reason::ReadinessProbe, "{f}");
    assert!(
        f.message
            .contains("Readiness probe failed: HTTP probe failed with statuscode: 404"),
        "{f}"
    );
    assert_eq!(f.detail[0], "probe: GET http:8080/healthz");
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_as_non_root_with_a_named_user_is_a_container_config_error() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    let image = named_user_image(&env.busybox);
    let f = env
        .fail_v2(
            &json!({"image": image}),
            &json!({"securityContext": {"runAsNonRoot": true}}),
            &options(),
        )
        .await;
    assert_eq!(f.reason, Reason::ContainerConfig, "{f}");
    assert!(
        f.message.starts_with("CreateContainerConfigError: container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root"),
        "{f}"
    );
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unschedulable_pod_says_why() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    let huge = json!({"resources": {"requests": {"cpu": "1000", "memory": "1Gi"}}});
    let f = env.fail_v2(&huge, &json!({}), &options()).await;
    assert_eq!(f.reason, Reason::Unschedulable, "{f}");
    assert!(
        f.message
            .starts_with("no node can run the pod: 0/1 nodes are available"),
        "{f}"
    );
    assert!(f.message.contains("Insufficient cpu"), "{f}");
    assert!(
        f.detail
            .contains(&"container app requests cpu=1000, memory=1Gi".to_owned()),
        "{f}"
    );
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_says_what_it_still_waited_for() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    // Ready only after 60 s: nothing fails, it is just not there in time.
    let slow = json!({"readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "initialDelaySeconds": 60}});
    let options = WaitOptions {
        deadline: Duration::from_secs(8),
        ..options()
    };
    let t = Instant::now();
    let f = env.fail_v2(&slow, &json!({}), &options).await;
    assert!(t.elapsed() >= Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(f.reason, Reason::Deadline, "{f}");
    assert_eq!(
        f.message,
        "not ready within the deadline of 8s; still waiting for 0 of 2 new pods available"
    );
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

fn job(name: &str, image: &str, script: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "migrate", "image": image, "command": ["sh", "-c", script]}],
        }}},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_jobs_and_pods_complete_or_fail_with_the_exit_code() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.apply(&job("migrate", &env.busybox, "echo migrated"))
        .await;
    env.apply(&job("broken", &env.busybox, "echo relation exists; exit 4"))
        .await;
    let mut updates = Vec::new();
    rollout::wait_job(
        &env.cluster,
        "default",
        "migrate",
        &options(),
        &mut |u: &Update| updates.push(u.clone()),
    )
    .await
    .expect("the migration completes");
    assert_eq!(
        updates.last().map(|u| (u.what.as_str(), u.done)),
        Some(("complete", true))
    );
    let err = rollout::wait_job(
        &env.cluster,
        "default",
        "broken",
        &options(),
        &mut |_: &Update| {},
    )
    .await
    .expect_err("the broken Job fails");
    let f = err.failure().expect("an app failure");
    assert_eq!(f.reason, Reason::JobFailed, "{f}");
    assert_eq!(f.object, "Job/broken");
    assert_eq!(
        f.message,
        "the Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    );
    assert_eq!(
        f.detail[0], "last attempt: the container exited with code 4",
        "{f}"
    );
    if serves_logs(&env.cluster, f.pod.as_deref().expect("pod")).await {
        assert!(f.detail.contains(&"| relation exists".to_owned()), "{f}");
    } else {
        assert!(f.detail.contains(&"no log lines".to_owned()), "{f}");
    }
    assert_eq!(Error::from(err).exit_status(), ExitStatus::User);

    // Bare hook Pods: succeeded, or failed with the exit code.
    for (name, script) in [("hook-ok", "echo done"), ("hook-bad", "echo no; exit 5")] {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "hook", "image": env.busybox, "command": ["sh", "-c", script]},
            ]},
        });
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(env.cluster.client.clone(), "default");
        api.patch(name, &PatchParams::apply("devloop"), &Patch::Apply(&pod))
            .await
            .expect("apply pod");
    }
    rollout::wait_pod(
        &env.cluster,
        "default",
        "hook-ok",
        &options(),
        &mut |_: &Update| {},
    )
    .await
    .expect("the hook Pod succeeds");
    let err = rollout::wait_pod(
        &env.cluster,
        "default",
        "hook-bad",
        &options(),
        &mut |_: &Update| {},
    )
    .await
    .expect_err("the hook Pod fails");
    let f = err.failure().expect("an app failure");
    assert_eq!(
        (f.object.as_str(), f.reason),
        ("Pod/hook-bad", Reason::JobFailed),
        "{f}"
    );
    assert_eq!(
        f.message,
        "the Pod failed: the container exited with code 5"
    );
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_refusing_api_server_is_infrastructure() {
    let Some(env) = Env::start().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, env.sim.kubeconfig_with_token("not-the-token")).expect("write");
    let refused = connect(&wrong).await.expect("config");
    let err = rollout::wait(
        &refused,
        "default",
        &["web".to_owned()],
        &options(),
        &mut |_: &Update| {},
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(
            err,
            RolloutError::Cluster(ClusterError::Unauthorized { .. })
        ),
        "{err}"
    );
    assert_eq!(Error::from(err).exit_status(), ExitStatus::Infrastructure);

    let cluster = env.cluster.clone();
    env.sim.shutdown().await;
    let err = rollout::wait(
        &cluster,
        "default",
        &["web".to_owned()],
        &options(),
        &mut |_: &Update| {},
    )
    .await
    .expect_err("unreachable");
    assert!(
        matches!(err, RolloutError::Cluster(ClusterError::Unreachable { .. })),
        "{err}"
    );
    assert_eq!(Error::from(err).exit_status(), ExitStatus::Infrastructure);
}

/// An image for the architecture the machine is not: a scratch image whose
/// entrypoint is an ELF header for that machine (the kernel refuses it with
/// `exec format error`, as it refuses a real foreign binary without
/// emulation). Returns (reference, its platform).
fn foreign_image(busybox: &str) -> (String, String) {
    static BUILT: OnceLock<(String, String)> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            // e_machine: 183 = AArch64, 62 = x86-64.
            let (arch, machine): (&str, u16) = if cfg!(target_arch = "x86_64") {
                ("arm64", 183)
            } else {
                ("amd64", 62)
            };
            let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
            elf.extend([0u8; 8]);
            elf.extend(2u16.to_le_bytes()); // ET_EXEC
            elf.extend(machine.to_le_bytes());
            elf.extend(1u32.to_le_bytes());
            elf.extend([0u8; 40]);
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(dir.path().join("app"), &elf).expect("write");
            let mut perms = std::fs::metadata(dir.path().join("app"))
                .expect("meta")
                .permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(dir.path().join("app"), perms).expect("chmod");
            std::fs::write(
                dir.path().join("Dockerfile"),
                "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
            )
            .expect("write");
            let registry = busybox.split('/').next().expect("registry");
            let target = format!("{registry}/devloop-rollout/foreign:{arch}");
            let platform = format!("linux/{arch}");
            docker(&[
                "build",
                "-q",
                "--platform",
                &platform,
                "-t",
                &target,
                &dir.path().to_string_lossy(),
            ]);
            docker(&["push", &target]);
            (target, platform)
        })
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_for_another_architecture_names_both() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.v1().await;
    let (image, platform) = foreign_image(&env.busybox);
    let node = if cfg!(target_arch = "x86_64") {
        "linux/amd64"
    } else {
        "linux/arm64"
    };
    // The build knows the image's platform; deploy passes it on.
    let mut options = options();
    options
        .image_platforms
        .insert(image.clone(), platform.clone());
    let container = json!({"image": image, "command": null, "readinessProbe": null});
    let f = env.fail_v2(&container, &json!({}), &options).await;
    assert_eq!(f.reason, Reason::Architecture, "{f}");
    assert_eq!(
        f.message,
        format!("the image is built for {platform} but the node runs {node} (exec format error)")
    );
    let said = if serves_logs(&env.cluster, f.pod.as_deref().expect("pod")).await {
        "the container said: exec /app: exec format error"
    } else {
        "the container said: exit code 1, no log lines"
    };
    assert!(f.detail.contains(&said.to_owned()), "{f}");
    env.assert_v1_serves(&f).await;
    env.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_that_goes_away_mid_rollout_is_infrastructure() {
    let Some(env) = Env::start().await else {
        return;
    };
    // Never ready within the test: the wait is still watching when the
    // server goes away.
    let slow = json!({"readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "initialDelaySeconds": 120}});
    env.apply(&web(&env.busybox, &slow, &json!({}))).await;
    let Env { sim, cluster, .. } = env;
    let t = Instant::now();
    let options = options();
    let names = ["web".to_owned()];
    let mut ignore = |_: &Update| {};
    let wait = rollout::wait(&cluster, "default", &names, &options, &mut ignore);
    let stop = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        sim.shutdown().await;
    };
    let (result, ()) = tokio::join!(wait, stop);
    let err = result.expect_err("the server went away");
    eprintln!("gave up after {:?}: {err}", t.elapsed());
    assert!(
        matches!(err, RolloutError::Cluster(ClusterError::Unreachable { .. })),
        "{err}"
    );
    assert_eq!(Error::from(err).exit_status(), ExitStatus::Infrastructure);
    // 15 s of failing watches, well before the 45 s deadline.
    assert!(t.elapsed() < Duration::from_secs(40), "{:?}", t.elapsed());
}
