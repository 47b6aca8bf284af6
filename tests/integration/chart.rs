//! The chart every pack scaffolds (`templates/chart/`) passes real Helm's lint
//! and renders, under defaults and overrides, into objects that deserialise as
//! their Kubernetes types with the settings a dev loop needs.

use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};

use crate::support::{World, repo_root};

/// Renders the chart through the Helm oracle; returns template path -> text.
fn render(world: &World, sets: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let mut cmd = Command::new(world.var("DEVLOOP_WORLD_HELM"));
    cmd.arg("render")
        .arg(repo_root().join("templates/chart"))
        .args(["--name", "web", "--namespace", "web-dev"]);
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.output().expect("the oracle runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    rendered["manifests"]
        .as_object()
        .expect("manifests")
        .clone()
}

fn object<T: serde::de::DeserializeOwned>(
    manifests: &serde_json::Map<String, serde_json::Value>,
    template: &str,
) -> Option<T> {
    let text = manifests[&format!("app/templates/{template}")]
        .as_str()
        .expect("text");
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return None;
    }
    Some(
        serde_saphyr::from_str(text)
            .unwrap_or_else(|e| panic!("{template} is a valid object: {e}\n{text}")),
    )
}

#[test]
fn chart_lints_clean_with_real_helm() {
    let Some(world) = World::get() else { return };
    let out = Command::new(world.var("DEVLOOP_WORLD_HELM"))
        .arg("lint")
        .arg(repo_root().join("templates/chart"))
        .output()
        .expect("the oracle runs");
    let lint: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(lint["ok"], true, "{lint}");
    assert_eq!(lint["errors"], serde_json::json!([]), "{lint}");
    assert_eq!(lint["warnings"], serde_json::json!([]), "{lint}");
}

#[test]
fn defaults_render_a_dev_fast_non_root_deployment() {
    let Some(world) = World::get() else { return };
    let manifests = render(&world, &[]);
    let deployment: Deployment = object(&manifests, "deployment.yaml").expect("deployment");
    let spec = deployment.spec.expect("spec");
    let strategy = spec
        .strategy
        .expect("strategy")
        .rolling_update
        .expect("rolling");
    assert_eq!(
        strategy.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(0)),
        "updates never drop the serving pod"
    );
    let pod = spec.template.spec.expect("pod spec");
    assert_eq!(pod.termination_grace_period_seconds, Some(5));
    let security = pod.security_context.expect("pod security");
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(10001), "numeric UID");
    let container = &pod.containers[0];
    let readiness = container.readiness_probe.as_ref().expect("readiness");
    assert_eq!(readiness.period_seconds, Some(1), "readiness every second");
    assert!(readiness.http_get.is_some(), "http probe by default");
    assert!(container.startup_probe.is_some() && container.liveness_probe.is_some());
    let resources = container.resources.as_ref().expect("resources");
    assert!(resources.requests.is_some() && resources.limits.is_some());
    assert_eq!(container.image.as_deref(), Some("app:latest"));

    let service: Service = object(&manifests, "service.yaml").expect("service");
    let ports = service.spec.expect("spec").ports.expect("ports");
    assert_eq!(ports[0].port, 8080);
    let account: ServiceAccount = object(&manifests, "serviceaccount.yaml").expect("sa");
    assert_eq!(account.automount_service_account_token, Some(false));
}

#[test]
fn overrides_change_what_users_expect() {
    let Some(world) = World::get() else { return };
    let manifests = render(
        &world,
        &[
            "image.repository=127.0.0.1:5000/web",
            "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "image.pullPolicy=Always",
            "containerPort=3000",
            "service.port=80",
            "replicaCount=3",
            "resources.limits.cpu=2",
            "probes.type=tcp",
            "metrics.path=/metrics",
            "env.GREETING=hi",
            "serviceAccount.create=false",
        ],
    );
    let deployment: Deployment = object(&manifests, "deployment.yaml").expect("deployment");
    let spec = deployment.spec.expect("spec");
    assert_eq!(spec.replicas, Some(3));
    let template = spec.template;
    let annotations = template
        .metadata
        .expect("meta")
        .annotations
        .expect("annotations");
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], "3000");
    let pod = template.spec.expect("pod");
    assert_eq!(pod.service_account_name.as_deref(), Some("default"));
    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some(
            "127.0.0.1:5000/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        )
    );
    assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
    assert_eq!(c.ports.as_ref().expect("ports")[0].container_port, 3000);
    let env = c.env.as_ref().expect("env");
    assert!(
        env.iter()
            .any(|e| e.name == "PORT" && e.value.as_deref() == Some("3000"))
    );
    assert!(
        env.iter()
            .any(|e| e.name == "GREETING" && e.value.as_deref() == Some("hi"))
    );
    assert!(
        c.readiness_probe
            .as_ref()
            .expect("probe")
            .tcp_socket
            .is_some()
    );
    let limits = c
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .expect("limits");
    assert_eq!(limits["cpu"].0, "2");
    let service: Service = object(&manifests, "service.yaml").expect("service");
    assert_eq!(
        service.spec.expect("spec").ports.expect("ports")[0].port,
        80
    );
    assert!(object::<ServiceAccount>(&manifests, "serviceaccount.yaml").is_none());
}
