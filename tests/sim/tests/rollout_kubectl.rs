//! `kubectl rollout` (a client nobody here wrote) against Deployments whose
//! pods the simulator's kubelet runs as real containers: rollout status for
//! a healthy and a crash-looping Deployment, history and undo, scale,
//! delete; and the scheduler's reason for a pod that cannot be placed.

mod common;

use std::time::Instant;

use common::Cluster;

fn web(image: &str, replicas: u32, message: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: {image}
        command: [sh, -c, 'mkdir -p /www && echo "$MESSAGE" > /www/index.html && exec httpd -f -p 8080 -h /www']
        env: [{{name: MESSAGE, value: "{message}"}}]
        readinessProbe:
          httpGet: {{path: /index.html, port: 8080}}
          periodSeconds: 1
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_history_undo_scale_and_delete() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    let t = Instant::now();
    c.apply(&web(&image, 2, "v1"));
    let status = c.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(status.contains("successfully rolled out"), "{status}");
    eprintln!("rollout 1 in {:?}", t.elapsed());
    // Two pods, each a group of real containers (infra + app).
    assert_eq!(c.containers().len(), 4, "containers: {:?}", c.containers());
    let pods = c.ok(&["get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.status.phase} {.status.conditions[?(@.type==\"Ready\")].status} {.metadata.labels.pod-template-hash}{\"\\n\"}{end}"]);
    assert_eq!(pods.lines().count(), 2, "{pods}");
    assert!(
        pods.lines().all(|l| l.starts_with("Running True ")),
        "{pods}"
    );

    // A new template: a second ReplicaSet, rolled out with maxSurge 1.
    // (`replace`: the strategic merge patch of `apply` is part 2's.)
    let t = Instant::now();
    c.ok_with(&["replace", "-f", "-"], Some(&web(&image, 2, "v2")));
    let status = c.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(status.contains("successfully rolled out"), "{status}");
    eprintln!("rollout 2 in {:?}", t.elapsed());
    let rs = c.ok(&["get", "rs", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision}={.spec.replicas}{\"\\n\"}{end}"]);
    let mut rs: Vec<&str> = rs.lines().collect();
    rs.sort_unstable();
    assert_eq!(rs, ["1=0", "2=2"]);
    let history = c.ok(&["rollout", "history", "deployment/web"]);
    assert!(
        history.contains("1 ") && history.contains("2 "),
        "{history}"
    );
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=ScalingReplicaSet",
        "-o",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
    ]);
    assert!(events.contains("Scaled up replica set web-"), "{events}");
    assert!(events.contains("Scaled down replica set web-"), "{events}");

    let table = c.ok(&["get", "events"]);
    assert!(table.starts_with("LAST SEEN   TYPE     REASON"), "{table}");
    assert!(table.contains("deployment/web"), "{table}");
    assert!(table.contains("ScalingReplicaSet"), "{table}");

    // Undo goes back to revision 1's template (as revision 3).
    c.ok(&["rollout", "undo", "deployment/web"]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let rev = c.ok(&["get", "deploy", "web", "-o", "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision} {.spec.template.spec.containers[0].env[0].value}"]);
    assert_eq!(rev, "3 v1");

    // Scale.
    c.ok(&["scale", "deployment/web", "--replicas=1"]);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    c.until(&["get", "pods", "-l", "app=web", "-o", "name"], 30, |o| {
        o.lines().count() == 1
    });

    // wait --for=condition=Ready on the remaining pod.
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        "app=web",
        "--timeout=30s",
    ]);

    // Delete: the pods go Terminating, their containers stop, then they go.
    let t = Instant::now();
    c.ok(&["delete", "deployment", "web"]);
    c.until(
        &["get", "pods", "-l", "app=web", "-o", "name"],
        60,
        str::is_empty,
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !c.containers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(c.containers().is_empty(), "left: {:?}", c.containers());
    eprintln!("delete in {:?}", t.elapsed());
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_fails_for_a_crash_looping_deployment() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: crash}}
spec:
  replicas: 1
  progressDeadlineSeconds: 12
  selector: {{matchLabels: {{app: crash}}}}
  template:
    metadata: {{labels: {{app: crash}}}}
    spec:
      containers:
      - name: app
        image: {image}
        command: [sh, -c, 'echo dying; exit 3']
"
    ));
    let out = c.run(&["rollout", "status", "deployment/crash", "--timeout=90s"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("exceeded its progress deadline"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let pod = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=crash",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let status = c.until(
        &["get", "pod", &pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].state.waiting.reason}"],
        30,
        |o| o.ends_with(" 3 CrashLoopBackOff") && !o.starts_with("0 "),
    );
    eprintln!("status: {status}");
    let describe = c.until(&["describe", "pod", &pod], 20, |d| {
        d.contains("Back-off restarting failed container app") && d.contains("CrashLoopBackOff")
    });
    assert!(describe.contains("Exit Code:    3"), "{describe}");
    let table = c.ok(&["get", "pods", "-l", "app=crash"]);
    assert!(table.contains("CrashLoopBackOff"), "{table}");
    let instance = c.sim.kubelet_instance().expect("a kubelet runs").to_owned();
    assert!(!c.containers().is_empty());
    c.sim.shutdown().await;
    // At stop, the kubelet removes its own containers.
    assert!(common::containers_of(&instance).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_and_orphan_cascades() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&web(&image, 1, "fg"));
    c.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    // Foreground: kubectl returns once the Deployment is gone, which is
    // after its ReplicaSet and pods (and their containers) are.
    c.ok(&["delete", "deployment", "web", "--cascade=foreground"]);
    let left = c.ok(&["get", "deploy,rs,pods", "-o", "name"]);
    assert!(left.trim().is_empty(), "left behind:\n{left}");

    // Orphan: the ReplicaSet and its pod stay, released from their owner.
    c.apply(&web(&image, 1, "orphan"));
    c.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    c.ok(&["delete", "deployment", "web", "--cascade=orphan"]);
    let rs = c.ok(&["get", "rs", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.name} owners={.metadata.ownerReferences}{\"\\n\"}{end}"]);
    assert_eq!(rs.lines().count(), 1, "{rs}");
    assert!(rs.trim_end().ends_with("owners="), "{rs}");
    let pods = c.ok(&["get", "pods", "-l", "app=web", "-o", "name"]);
    assert_eq!(pods.lines().count(), 1, "{pods}");
    c.sim.shutdown().await;
}
