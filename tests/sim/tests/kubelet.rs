//! The kubelet's pods as real containers, proven with kubectl: an init
//! container writing into an emptyDir the main container serves, two
//! containers talking over localhost, a secret mounted as a file and
//! configMap env, probe failures with the real messages, `runAsNonRoot`
//! against a named-USER image, unschedulable pods, and image pulls that
//! follow the node's own pull record and `imagePullSecrets`.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::Cluster;

fn docker(args: &[&str], config: Option<&std::path::Path>, stdin: Option<&str>) -> String {
    let mut cmd = Command::new("docker");
    if let Some(dir) = config {
        cmd.env("DOCKER_CONFIG", dir);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker runs");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(pipe);
    let out = child.wait_with_output().expect("docker finishes");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn init_containers_volumes_localhost_env_and_probes() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=password=s3cret",
    ]);
    c.ok(&[
        "create",
        "configmap",
        "greeting",
        "--from-literal=GREETING=hi",
    ]);
    c.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: duo}}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - {{name: shared, emptyDir: {{}}}}
  - {{name: creds, secret: {{secretName: creds}}}}
  initContainers:
  - name: init
    image: {image}
    command: [sh, -c, 'echo hello-from-init > /shared/msg']
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: web
    image: {image}
    command: [httpd, -f, -p, '8080', -h, /shared]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
    readinessProbe:
      httpGet: {{path: /msg, port: 8080}}
      periodSeconds: 1
  - name: client
    image: {image}
    workingDir: /tmp
    command: [sleep, '3600']
    envFrom: [{{configMapRef: {{name: greeting}}}}]
    volumeMounts: [{{name: creds, mountPath: /etc/creds, readOnly: true}}]
    readinessProbe:
      exec:
        command:
        - sh
        - -c
        - 'printf "GET /msg HTTP/1.0\r\n\r\n" | nc 127.0.0.1 8080 | grep -q hello-from-init && grep -qx s3cret /etc/creds/password && [ "$GREETING" = hi ] && [ "$(pwd)" = /tmp ]'
      periodSeconds: 1
"#
    ));
    c.ok(&["wait", "--for=condition=Ready", "pod/duo", "--timeout=60s"]);
    let init = c.ok(&["get", "pod", "duo", "-o", "jsonpath={.status.initContainerStatuses[0].state.terminated.reason} {.status.phase} {.status.podIP}"]);
    assert!(init.starts_with("Completed Running 10.244."), "{init}");
    let table = c.ok(&["get", "pod", "duo"]);
    assert!(
        table.contains("2/2") && table.contains("Running"),
        "{table}"
    );

    // A readiness probe that gets a 404: not Ready, and the real message.
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: unready}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: {image}
    command: [httpd, -f, -p, '8080', -h, /]
    readinessProbe:
      httpGet: {{path: /missing, port: 8080}}
      periodSeconds: 1
"
    ));
    let events = c.until(
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=unready",
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ],
        30,
        |o| o.contains("Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404"),
    );
    for want in [
        "Scheduled: Successfully assigned default/unready to ",
        "Pulled: ",
        "Created: Created container: web",
        "Started: Started container web",
    ] {
        assert!(events.contains(want), "{want} missing:\n{events}");
    }
    let ready = c.ok(&[
        "get",
        "pod",
        "unready",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert_eq!(ready, "False");
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_as_non_root_and_unschedulable_pods_fail_like_on_a_real_cluster() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let base = common::busybox_in_registry(&c.world);
    let registry = c
        .world
        .get("DEVLOOP_WORLD_REGISTRY")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:5000".into());
    let named = format!("{registry}/devloop-sim/named-user:1");
    docker(
        &["build", "-q", "-t", &named, "-"],
        None,
        Some(&format!("FROM {base}\nUSER app\n")),
    );
    docker(&["push", &named], None, None);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: nonroot}}
spec:
  securityContext: {{runAsNonRoot: true}}
  containers:
  - {{name: app, image: {named}, command: [sleep, '3600']}}
"
    ));
    let waiting = c.until(
        &["get", "pod", "nonroot", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}"],
        60,
        |o| o.starts_with("CreateContainerConfigError"),
    );
    assert!(
        waiting.contains("container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root"),
        "{waiting}"
    );
    let table = c.ok(&["get", "pod", "nonroot"]);
    assert!(table.contains("CreateContainerConfigError"), "{table}");

    c.apply(
        r"
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  nodeSelector: {disktype: ssd}
  containers:
  - {name: app, image: busybox:1.37}
",
    );
    let describe = c.until(&["describe", "pod", "nowhere"], 30, |d| {
        d.contains("FailedScheduling")
    });
    assert!(
        describe.contains(
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        ),
        "{describe}"
    );
    let cond = c.ok(&["get", "pod", "nowhere", "-o", "jsonpath={.status.phase} {.status.conditions[?(@.type==\"PodScheduled\")].status} {.status.conditions[?(@.type==\"PodScheduled\")].reason}"]);
    assert_eq!(cond, "Pending False Unschedulable");
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn pulls_follow_the_node_record_and_image_pull_secrets() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let base = common::busybox_in_registry(&c.world);
    let registry = c
        .world
        .get("DEVLOOP_WORLD_REGISTRY")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:5000".into());
    // Built (tagged) locally, never pushed: a node must not find it.
    let local_only = format!("{registry}/devloop-sim/never-pushed:{}", std::process::id());
    docker(&["tag", &base, &local_only], None, None);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: unpushed}}
spec:
  containers:
  - {{name: app, image: '{local_only}', command: [sleep, '3600']}}
"
    ));
    let waiting = c.until(
        &["get", "pod", "unpushed", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}"],
        60,
        |o| o.starts_with("ImagePullBackOff"),
    );
    assert!(
        waiting.contains("not found") || waiting.contains("manifest unknown"),
        "{waiting}"
    );
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=unpushed",
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ]);
    assert!(
        events.contains(&format!("Failed: Failed to pull image \"{local_only}\"")),
        "{events}"
    );
    assert!(events.contains("Failed: Error: ErrImagePull"), "{events}");
    let _ = Command::new("docker").args(["rmi", &local_only]).output();

    // The registry with auth: without the secret the pull is refused, with
    // it (passed to the pull) the pod runs.
    let auth = c
        .world
        .get("DEVLOOP_WORLD_AUTH_REGISTRY")
        .cloned()
        .expect("auth registry");
    let user = c
        .world
        .get("DEVLOOP_WORLD_AUTH_USER")
        .cloned()
        .expect("auth user");
    let password = c
        .world
        .get("DEVLOOP_WORLD_AUTH_PASSWORD")
        .cloned()
        .expect("auth password");
    let config = tempfile::tempdir().expect("tempdir");
    docker(
        &["login", &auth, "-u", &user, "--password-stdin"],
        Some(config.path()),
        Some(&password),
    );
    let private = format!("{auth}/devloop-sim/busybox:1.37");
    docker(&["tag", &base, &private], None, None);
    docker(&["push", &private], Some(config.path()), None);
    let _ = Command::new("docker").args(["rmi", &private]).output();
    c.ok(&[
        "create",
        "secret",
        "docker-registry",
        "pull",
        &format!("--docker-server={auth}"),
        &format!("--docker-username={user}"),
        &format!("--docker-password={password}"),
    ]);
    // Denied first: once the node has pulled an image, pods without the
    // secret use it too (IfNotPresent), as on a real node.
    let pod = |name: &str, secrets: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n{secrets}  terminationGracePeriodSeconds: 1\n  containers:\n  - {{name: app, image: '{private}', command: [sleep, '3600']}}\n"
        )
    };
    c.apply(&pod("denied", ""));
    let denied = c.until(
        &["get", "pod", "denied", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}"],
        60,
        |o| o.starts_with("ErrImagePull") || o.starts_with("ImagePullBackOff"),
    );
    assert!(
        denied.contains("no basic auth credentials") || denied.contains("unauthorized"),
        "{denied}"
    );
    c.apply(&pod("allowed", "  imagePullSecrets: [{name: pull}]\n"));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/allowed",
        "--timeout=60s",
    ]);
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn liveness_restarts_and_deletion_waits_for_the_grace_period() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    // Liveness (exec) fails once /tmp/alive is gone: Killing, then a restart.
    // A tcpSocket readiness probe on the server keeps the pod Ready meanwhile.
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: live}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    command: [sh, -c, 'touch /tmp/alive; (sleep 2; rm /tmp/alive) & exec httpd -f -p 9090 -h /']
    readinessProbe:
      tcpSocket: {{port: 9090}}
      periodSeconds: 1
    livenessProbe:
      exec: {{command: [test, -f, /tmp/alive]}}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
"
    ));
    let events = c.until(
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=live",
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ],
        40,
        |o| o.contains("Killing: Container app failed liveness probe, will be restarted"),
    );
    assert!(
        events.contains("Unhealthy: Liveness probe failed"),
        "{events}"
    );
    c.until(
        &[
            "get",
            "pod",
            "live",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ],
        40,
        |o| o.parse::<u32>().is_ok_and(|n| n >= 1),
    );

    // A process that ignores SIGTERM: deletion waits the grace period
    // (the pod is listed as Terminating meanwhile), then kills it.
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: stubborn}}
spec:
  terminationGracePeriodSeconds: 4
  containers:
  - name: app
    image: {image}
    command: [sh, -c, 'trap true TERM; while true; do sleep 1; done']
"
    ));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/stubborn",
        "--timeout=60s",
    ]);
    let before = c.containers().len();
    let t = std::time::Instant::now();
    let mut child = Command::new("kubectl")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", c.dir.path())
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args(["delete", "pod", "stubborn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl runs");
    let table = c.until(&["get", "pod", "stubborn"], 10, |o| {
        o.contains("Terminating")
    });
    assert!(table.contains("Terminating"), "{table}");
    let status = child.wait().expect("kubectl delete finishes");
    assert!(status.success());
    let waited = t.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(3),
        "deleted after {waited:?}"
    );
    assert!(
        c.containers().len() + 2 <= before,
        "containers left: {:?}",
        c.containers()
    );
    eprintln!("graceful delete took {waited:?}");
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_of_a_dead_simulator_are_removed_at_start() {
    let Some(world) = common::world() else { return };
    let busybox = world
        .get("DEVLOOP_WORLD_BUSYBOX")
        .cloned()
        .unwrap_or_else(|| "busybox:1.37".into());
    // A container labelled by a simulator process that no longer exists.
    let dead_pid = "999999999";
    let id = docker(
        &[
            "create",
            "--label",
            &format!("devloop-sim.pid={dead_pid}"),
            "--label",
            "devloop-sim.instance=dead",
            &busybox,
            "true",
        ],
        None,
        None,
    );
    let id = id.trim().to_owned();
    let Some(c) = Cluster::start().await else {
        return;
    };
    let left = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            "label=devloop-sim.instance=dead",
        ])
        .output()
        .expect("docker runs");
    assert!(
        !String::from_utf8_lossy(&left.stdout).contains(&id),
        "leftover {id} still there"
    );
    c.sim.shutdown().await;
}
