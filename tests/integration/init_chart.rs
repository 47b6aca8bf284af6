//! Every pack's chart, as `devloop init` scaffolds it (name, port and probe
//! set as data), passes real Helm's lint with no errors or warnings and
//! renders under default values and with overrides (image, port, resources,
//! replicas) into objects that deserialise as their k8s-openapi types.

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};

use crate::init::{FIXTURES, fixture_copy, init};
use crate::support::World;

type Manifests = serde_json::Map<String, serde_json::Value>;

fn render(world: &World, chart: &Path, sets: &[&str]) -> Manifests {
    let mut cmd = Command::new(world.var("DEVLOOP_WORLD_HELM"));
    cmd.arg("render")
        .arg(chart)
        .args(["--name", "rel", "--namespace", "rel-dev"]);
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

fn object<T: serde::de::DeserializeOwned>(m: &Manifests, chart: &str, template: &str) -> Option<T> {
    let text = m[&format!("{chart}/templates/{template}")]
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
            .unwrap_or_else(|e| panic!("{chart}: {template} is a valid object: {e}\n{text}")),
    )
}

/// The value of a top-level `key: value` line of values.yaml.
fn value(values: &str, key: &str) -> String {
    values
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .expect("key")
        .to_owned()
}

#[test]
fn scaffolded_charts_lint_clean_and_render_with_overrides() {
    let Some(world) = World::get() else { return };
    for name in FIXTURES {
        let (_tmp, dir) = fixture_copy(name);
        let out = init(&dir, &["--yes"]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let chart = dir.join("chart");
        let lint = Command::new(world.var("DEVLOOP_WORLD_HELM"))
            .arg("lint")
            .arg(&chart)
            .output()
            .expect("the oracle runs");
        let lint: serde_json::Value = serde_json::from_slice(&lint.stdout).expect("JSON");
        assert_eq!(lint["ok"], true, "{name}: {lint}");
        assert_eq!(lint["errors"], serde_json::json!([]), "{name}: {lint}");
        assert_eq!(lint["warnings"], serde_json::json!([]), "{name}: {lint}");

        let values = std::fs::read_to_string(chart.join("values.yaml")).expect("values");
        let port: i32 = value(&values, "containerPort").parse().expect("a port");
        let m = render(&world, &chart, &[]);
        let deployment: Deployment = object(&m, name, "deployment.yaml").expect("deployment");
        let labels = deployment.metadata.labels.clone().expect("labels");
        assert_eq!(
            labels["app.kubernetes.io/name"], *name,
            "{name}: the chart's name"
        );
        let pod = deployment.spec.expect("spec").template.spec.expect("pod");
        let c = &pod.containers[0];
        assert_eq!(
            c.ports.as_ref().expect("ports")[0].container_port,
            port,
            "{name}"
        );
        assert!(
            c.readiness_probe
                .as_ref()
                .expect("probe")
                .http_get
                .is_some(),
            "{name}"
        );
        let service: Service = object(&m, name, "service.yaml").expect("service");
        assert_eq!(
            service.spec.expect("spec").ports.expect("ports")[0].port,
            port,
            "{name}"
        );
        let _: ServiceAccount = object(&m, name, "serviceaccount.yaml").expect("sa");

        let m = render(
            &world,
            &chart,
            &[
                "image.repository=127.0.0.1:5000/x",
                "image.tag=abc",
                "containerPort=9999",
                "replicaCount=2",
                "resources.limits.cpu=1",
            ],
        );
        let deployment: Deployment = object(&m, name, "deployment.yaml").expect("deployment");
        let spec = deployment.spec.expect("spec");
        assert_eq!(spec.replicas, Some(2), "{name}");
        let c = &spec.template.spec.expect("pod").containers[0];
        assert_eq!(c.image.as_deref(), Some("127.0.0.1:5000/x:abc"), "{name}");
        assert_eq!(
            c.ports.as_ref().expect("ports")[0].container_port,
            9999,
            "{name}"
        );
        let limits = c
            .resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .expect("limits");
        assert_eq!(limits["cpu"].0, "1", "{name}");
    }
}
