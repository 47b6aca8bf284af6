//! Helm 4 (the test world's Go SDK oracle, a client nobody here wrote)
//! installs, upgrades, lists and uninstalls a chart against the simulator:
//! its client-side validation accepts the sim's `OpenAPI`, its release
//! Secrets go in as protobuf, its resources as server-side apply.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use devloop_sim::{Sim, SimOptions};
use serde_json::Value;

/// The test world's settings, or `None` locally when it is not up (the test
/// then says it did not run). In CI a missing world fails the test.
fn world() -> Option<HashMap<String, String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/world.env");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Some(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
        );
    }
    let msg = format!(
        "the test world is not up ({} missing); run `tests/world/up` first",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("NOT RUN: {msg}");
    None
}

fn helm(oracle: &str, args: &[&str]) -> Value {
    let out = Command::new(oracle)
        .args(args)
        .output()
        .expect("the helm oracle runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helm-oracle {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("the oracle prints JSON")
}

fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_installs_upgrades_and_uninstalls_a_chart() {
    let Some(world) = world() else { return };
    let oracle = world
        .get("DEVLOOP_WORLD_HELM")
        .expect("world.env names the helm oracle")
        .clone();
    let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig: PathBuf = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml()).expect("write kubeconfig");
    let kc = kubeconfig.to_str().expect("utf-8 path");
    let charts = dir.path().to_str().expect("utf-8 path");
    helm(&oracle, &["create", "demo", charts]);
    let chart = dir.path().join("demo");
    let chart = chart.to_str().expect("utf-8 path");

    let installed = helm(&oracle, &["install", "rel", chart, "--kubeconfig", kc]);
    assert_eq!(installed["status"], "deployed", "{installed}");
    let home = dir.path().join("home");
    let names = kubectl(
        &kubeconfig,
        &home,
        &["get", "deploy,svc,sa,secret", "-o", "name"],
    );
    for want in [
        "deployment.apps/rel-demo",
        "service/rel-demo",
        "serviceaccount/rel-demo",
        "secret/sh.helm.release.v1.rel.v1",
    ] {
        assert!(names.lines().any(|l| l == want), "{want} missing:\n{names}");
    }

    helm(
        &oracle,
        &[
            "upgrade",
            "rel",
            chart,
            "--kubeconfig",
            kc,
            "--set",
            "replicaCount=2",
        ],
    );
    let replicas = kubectl(
        &kubeconfig,
        &home,
        &[
            "get",
            "deploy",
            "rel-demo",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    );
    assert_eq!(replicas, "2");
    let listed = helm(&oracle, &["list", "--kubeconfig", kc]);
    assert!(listed.to_string().contains("\"version\":\"2\""), "{listed}");

    helm(&oracle, &["uninstall", "rel", "--kubeconfig", kc]);
    let left = kubectl(
        &kubeconfig,
        &home,
        &["get", "deploy,svc,sa,secret", "-o", "name"],
    );
    assert_eq!(
        left.lines().collect::<Vec<_>>(),
        ["service/kubernetes", "serviceaccount/default"],
        "left behind:\n{left}"
    );
    sim.shutdown().await;
}
