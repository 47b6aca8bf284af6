//! Helm's own client (the world's oracle) with `wait: watcher` (kstatus)
//! against pods the kubelet runs: install, upgrade to a new image,
//! rollback and uninstall each wait and succeed; an upgrade to a missing
//! image fails with Helm's timeout while the pod shows `ImagePullBackOff`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::Cluster;
use serde_json::Value;

fn helm(oracle: &str, args: &[&str]) -> (bool, Value) {
    let out = Command::new(oracle)
        .args(args)
        .output()
        .expect("the helm oracle runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "helm-oracle {args:?} printed no JSON:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), value)
}

fn chart(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).expect("chart dir");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1\"\n",
    )
    .expect("Chart.yaml");
    std::fs::write(dir.join("values.yaml"), "image: busybox\nreplicas: 2\n").expect("values");
    std::fs::write(
        dir.join("templates/deployment.yaml"),
        r"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}-web}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}-web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: {{ .Values.image | quote }}
        command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /index.html, port: http}
          periodSeconds: 1
",
    )
    .expect("deployment");
    std::fs::write(
        dir.join("templates/service.yaml"),
        r"apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: {{ .Release.Name }}-web}
  ports: [{port: 80, targetPort: http}]
",
    )
    .expect("service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one release's story, step by step
async fn helm_waits_with_kstatus_for_install_upgrade_rollback_and_uninstall() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let oracle = c
        .world
        .get("DEVLOOP_WORLD_HELM")
        .cloned()
        .expect("world.env names the helm oracle");
    let v1 = common::busybox_in_registry(&c.world);
    let registry = c
        .world
        .get("DEVLOOP_WORLD_REGISTRY")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:5000".into());
    let v2 = format!("{registry}/devloop-sim/busybox:v2");
    for args in [
        vec!["tag", v1.as_str(), v2.as_str()],
        vec!["push", v2.as_str()],
    ] {
        let out = Command::new("docker")
            .args(&args)
            .output()
            .expect("docker runs");
        assert!(out.status.success(), "docker {args:?}");
    }
    let dir = c.dir.path().join("chart");
    chart(&dir);
    let chart = dir.to_str().expect("utf-8 path");
    let kc = c.kubeconfig.to_str().expect("utf-8 path");
    let wait = ["--kubeconfig", kc, "--wait", "watcher", "--timeout", "90"];

    let t = Instant::now();
    let (ok, rel) = helm(
        &oracle,
        &[
            &["install", "rel", chart, "--set", &format!("image={v1}")][..],
            &wait,
        ]
        .concat(),
    );
    assert!(ok, "{rel}");
    assert_eq!(rel["status"], "deployed", "{rel}");
    eprintln!("install waited {:?}", t.elapsed());
    let ready = c.ok(&[
        "get",
        "deploy",
        "rel-web",
        "-o",
        "jsonpath={.status.readyReplicas}",
    ]);
    assert_eq!(ready, "2");

    let t = Instant::now();
    let (ok, rel) = helm(
        &oracle,
        &[
            &["upgrade", "rel", chart, "--set", &format!("image={v2}")][..],
            &wait,
        ]
        .concat(),
    );
    assert!(ok, "{rel}");
    eprintln!("upgrade waited {:?}", t.elapsed());
    // Old pods may still be terminating (as on a real cluster): the
    // Deployment is what kstatus judged.
    let image = c.ok(&["get", "deploy", "rel-web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.status.updatedReplicas} {.status.availableReplicas}"]);
    assert_eq!(image, format!("{v2} 2 2"));

    let t = Instant::now();
    let (ok, rel) = helm(
        &oracle,
        &[
            "rollback",
            "rel",
            "1",
            "--kubeconfig",
            kc,
            "--wait",
            "watcher",
            "--timeout",
            "90",
        ],
    );
    assert!(ok, "{rel}");
    eprintln!("rollback waited {:?}", t.elapsed());
    let image = c.ok(&["get", "deploy", "rel-web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.status.updatedReplicas} {.status.availableReplicas}"]);
    assert_eq!(image, format!("{v1} 2 2"));

    // A missing image: Helm's wait times out, the pod says why.
    let missing = format!("{registry}/devloop-sim/missing:{}", std::process::id());
    let t = Instant::now();
    let (ok, rel) = helm(
        &oracle,
        &[
            "upgrade",
            "rel",
            chart,
            "--set",
            &format!("image={missing}"),
            "--kubeconfig",
            kc,
            "--wait",
            "watcher",
            "--timeout",
            "15",
        ],
    );
    assert!(!ok, "{rel}");
    let error = rel["error"].as_str().unwrap_or("").to_owned();
    assert!(
        error.contains("context deadline exceeded")
            || error.contains("timed out")
            || error.contains("not ready"),
        "{rel}"
    );
    eprintln!("failed upgrade returned after {:?}: {error}", t.elapsed());
    let reasons = c.ok(&["get", "pods", "-l", "app=rel-web", "-o", "jsonpath={range .items[*]}{.status.containerStatuses[0].state.waiting.reason}{\"\\n\"}{end}"]);
    assert!(
        reasons
            .lines()
            .any(|r| r == "ImagePullBackOff" || r == "ErrImagePull"),
        "{reasons}"
    );

    let t = Instant::now();
    let (ok, rel) = helm(
        &oracle,
        &[
            "uninstall",
            "rel",
            "--kubeconfig",
            kc,
            "--wait",
            "watcher",
            "--timeout",
            "90",
        ],
    );
    assert!(ok, "{rel}");
    eprintln!("uninstall waited {:?}", t.elapsed());
    // The Deployment is gone when Helm returns; its pods terminate after
    // (background propagation, as on a real cluster), then so do the containers.
    c.until(&["get", "deploy,rs,pods", "-o", "name"], 30, |o| {
        o.trim().is_empty()
    });
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while !c.containers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(c.containers().is_empty(), "left: {:?}", c.containers());
    c.sim.shutdown().await;
}
