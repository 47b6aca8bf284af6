use serde_json::{Value as Json, json};

use super::*;
use crate::helm::rendered::Manifest;

const IMAGE: &str = "127.0.0.1:5000/web@sha256:abc";

fn python() -> Debug {
    crate::pack::embedded()
        .expect("packs")
        .iter()
        .find(|p| p.name == "python")
        .and_then(|p| p.scaffold.debug.clone())
        .expect("python [debug]")
}

fn manifest(object: Json) -> Manifest {
    Manifest {
        source: "web/templates/x.yaml".to_owned(),
        text: String::new(),
        object,
    }
}

fn rendered() -> Rendered {
    let probe = json!({ "httpGet": { "path": "/", "port": "http" }, "periodSeconds": 1 });
    Rendered {
        manifests: vec![
            manifest(
                json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web" } }),
            ),
            manifest(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": { "name": "web" },
                "spec": {
                    "replicas": 3,
                    "template": {
                        "metadata": { "labels": { "app": "web" } },
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "image": IMAGE,
                                    "ports": [{ "name": "http", "containerPort": 8000 }],
                                    "env": [{ "name": "PORT", "value": "8000" }],
                                    "readinessProbe": probe,
                                    "livenessProbe": probe,
                                    "startupProbe": probe,
                                },
                                { "name": "proxy", "image": "envoy:1", "livenessProbe": probe },
                            ]
                        }
                    }
                }
            })),
        ],
        ..Rendered::default()
    }
}

fn config() -> ImageConfig {
    ImageConfig {
        entrypoint: vec!["tini".into(), "--".into()],
        cmd: vec!["python".into(), "server.py".into()],
        env: vec![],
        working_dir: "/app".into(),
    }
}

fn run(wait: bool, support: Option<&Support>) -> (Rendered, usize) {
    let mut out = rendered();
    let debug = python();
    let config = config();
    let n = apply(
        &mut out,
        &Target {
            app: "web",
            image: IMAGE,
            config: &config,
            debug: &debug,
            wait,
            support,
        },
    )
    .expect("applies");
    (out, n)
}

#[test]
fn the_built_container_runs_under_the_debugger_and_the_others_stay() {
    let (out, n) = run(false, None);
    assert_eq!(n, 1);
    let d = &out.manifests[1].object;
    assert_eq!(
        d["spec"]["replicas"], 1,
        "one replica: a debugger attaches to one process"
    );
    let web = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        web["command"],
        json!([
            "tini",
            "--",
            "python",
            "-m",
            "debugpy",
            "--listen",
            "0.0.0.0:5678",
            "server.py"
        ])
    );
    assert!(web.get("args").is_none());
    assert!(
        web.get("livenessProbe").is_none(),
        "a paused process is not killed"
    );
    assert!(
        web.get("readinessProbe").is_some(),
        "readiness stays without --wait-for-debugger"
    );
    assert!(web["ports"].as_array().expect("ports").contains(&json!({
        "name": "dap", "containerPort": 5678, "protocol": "TCP"
    })));
    assert!(web["env"].as_array().expect("env").contains(&json!({
        "name": "PYDEVD_DISABLE_FILE_VALIDATION", "value": "1"
    })));
    let proxy = &d["spec"]["template"]["spec"]["containers"][1];
    assert!(proxy.get("command").is_none() && proxy.get("livenessProbe").is_some());
    let annotation = d["spec"]["template"]["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .expect("annotation");
    let parsed: Json = serde_json::from_str(annotation).expect("JSON");
    assert_eq!(
        parsed,
        json!({ "web": { "artifact": "web", "runtime": "python", "workingDir": "/app", "ports": { "dap": 5678 } } })
    );
    // The stored manifest text says what was applied.
    let text: Json = serde_saphyr::from_str(&out.manifests[1].text).expect("YAML");
    assert_eq!(&text, d);
    assert_eq!(
        out.manifests[0],
        rendered().manifests[0],
        "the Service is untouched"
    );
}

#[test]
fn waiting_for_the_debugger_drops_readiness_so_the_rollout_counts_it_started() {
    let (out, _) = run(true, None);
    let web = &out.manifests[1].object["spec"]["template"]["spec"]["containers"][0];
    assert!(web.get("readinessProbe").is_none() && web.get("startupProbe").is_none());
    assert!(
        web["command"]
            .as_array()
            .expect("command")
            .contains(&json!("--wait-for-client"))
    );
}

#[test]
fn a_support_image_is_copied_in_by_an_init_container_into_an_empty_dir() {
    let support = Support {
        image: "devloop-debug-python:1".to_owned(),
        pull_policy: Some("IfNotPresent".to_owned()),
    };
    let (out, _) = run(false, Some(&support));
    let spec = &out.manifests[1].object["spec"]["template"]["spec"];
    assert_eq!(
        spec["volumes"],
        json!([{ "name": "devloop-debug", "emptyDir": {} }])
    );
    let init = &spec["initContainers"][0];
    assert_eq!(init["image"], "devloop-debug-python:1");
    assert_eq!(init["imagePullPolicy"], "IfNotPresent");
    assert_eq!(init["volumeMounts"][0]["mountPath"], MOUNT);
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{ "name": "devloop-debug", "mountPath": MOUNT, "readOnly": true }])
    );
    assert!(spec["containers"][1].get("volumeMounts").is_none());
}

#[test]
fn a_chart_without_the_built_image_is_an_error() {
    let mut out = rendered();
    let debug = python();
    let config = config();
    let err = apply(
        &mut out,
        &Target {
            app: "web",
            image: "other:1",
            config: &config,
            debug: &debug,
            wait: false,
            support: None,
        },
    )
    .expect_err("nothing to debug");
    assert!(err.contains("other:1"), "{err}");
}
