use serde_json::json;

use super::*;
use crate::helm::rendered::{HookDeletePolicy, HookEvent, Manifest};

fn manifest(source: &str, yaml: &str) -> Manifest {
    Manifest {
        source: source.to_owned(),
        text: yaml.to_owned(),
        object: serde_saphyr::from_str(yaml).expect("test YAML"),
    }
}

fn rendered() -> Rendered {
    Rendered {
        manifests: vec![
            manifest(
                "web/templates/service.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
            ),
            manifest(
                "web/templates/deployment.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n          image: busybox:1.37\n      containers:\n        - name: web\n          image: 127.0.0.1:5000/web@sha256:abc\n        - name: side\n          image: busybox:1.37\n",
            ),
        ],
        hooks: vec![RenderedHook {
            manifest: manifest(
                "web/templates/migrate.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: web-migrate\n",
            ),
            events: vec![HookEvent::PreInstall, HookEvent::PreUpgrade],
            weight: -5,
            delete_policies: vec![HookDeletePolicy::HookSucceeded],
        }],
        notes: Some("Thanks".to_owned()),
        crds: Vec::new(),
    }
}

fn parts() -> ChartParts {
    ChartParts {
        metadata: json!({"apiVersion": "v2", "name": "web", "version": "0.1.0", "appVersion": "1.2.3"}),
        lock: None,
        templates: vec![(
            "templates/service.yaml".to_owned(),
            b"kind: Service\n".to_vec(),
        )],
        values: json!({"replicaCount": 1})
            .as_object()
            .cloned()
            .expect("object"),
        schema: None,
        files: vec![(".helmignore".to_owned(), b".git/\n".to_vec())],
    }
}

#[test]
fn new_record_has_helms_fields_and_encodings() {
    let rendered = rendered();
    let parts = parts();
    let now: Timestamp = "2026-11-27T12:20:49.2205566Z".parse().expect("time");
    let release = Release::new(&NewRelease {
        name: "web",
        namespace: "web-dev",
        version: 2,
        chart: &parts,
        config: json!({"image": {"tag": "x"}})
            .as_object()
            .cloned()
            .expect("object"),
        rendered: &rendered,
        status: Status::Deployed,
        description: "Upgrade complete".to_owned(),
        first_deployed: Some("2026-11-27T11:00:00Z".to_owned()),
        now,
    });
    let value = serde_json::to_value(&release).expect("serialises");
    assert_eq!(
        value,
        json!({
            "name": "web",
            "info": {
                "first_deployed": "2026-11-27T11:00:00Z",
                "last_deployed": "2026-11-27T12:20:49.2205566Z",
                "description": "Upgrade complete",
                "status": "deployed",
                "notes": "Thanks",
            },
            "chart": {
                "metadata": {"apiVersion": "v2", "name": "web", "version": "0.1.0", "appVersion": "1.2.3"},
                "lock": null,
                "templates": [{"name": "templates/service.yaml", "data": "a2luZDogU2VydmljZQo=", "modtime": "2026-11-27T12:20:49.2205566Z"}],
                "values": {"replicaCount": 1},
                "schema": null,
                "schemamodtime": "0001-01-01T00:00:00Z",
                "files": [{"name": ".helmignore", "data": "LmdpdC8K", "modtime": "2026-11-27T12:20:49.2205566Z"}],
                "modtime": "2026-11-27T12:20:49.2205566Z",
            },
            "config": {"image": {"tag": "x"}},
            "manifest": rendered.manifest_text(),
            "hooks": [{
                "name": "web-migrate",
                "kind": "Job",
                "path": "web/templates/migrate.yaml",
                "manifest": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: web-migrate\n",
                "events": ["pre-install", "pre-upgrade"],
                "last_run": {"phase": ""},
                "weight": -5,
                "delete_policies": ["hook-succeeded"],
            }],
            "version": 2,
            "namespace": "web-dev",
            "apply_method": "csa",
        })
    );
    assert_eq!(release.key(), "sh.helm.release.v1.web.v2");
    assert_eq!(release.chart_label(), "web-0.1.0");
    assert_eq!(release.app_version(), "1.2.3");
    assert_eq!(
        release.images(),
        ["127.0.0.1:5000/web@sha256:abc", "busybox:1.37"],
        "containers before init containers, each image once"
    );
    assert_eq!(release.updated(), Some(now));
}

#[test]
fn install_takes_now_as_first_deployed_and_no_config_is_omitted() {
    let rendered = Rendered::default();
    let parts = parts();
    let now = Timestamp::UNIX_EPOCH;
    let release = Release::new(&NewRelease {
        name: "web",
        namespace: "web-dev",
        version: 1,
        chart: &parts,
        config: Map::new(),
        rendered: &rendered,
        status: Status::PendingInstall,
        description: "Initial install underway".to_owned(),
        first_deployed: None,
        now,
    });
    let value = serde_json::to_value(&release).expect("serialises");
    assert_eq!(value["info"]["first_deployed"], "1970-01-01T00:00:00Z");
    assert_eq!(value["info"]["status"], "pending-install");
    for absent in ["config", "hooks", "manifest"] {
        assert!(
            value.get(absent).is_none(),
            "{absent} is omitempty: {value}"
        );
    }
    assert!(value["info"].get("notes").is_none());
}

#[test]
fn statuses_read_and_write_helms_words() {
    for status in [
        Status::Unknown,
        Status::Deployed,
        Status::Uninstalled,
        Status::Superseded,
        Status::Failed,
        Status::Uninstalling,
        Status::PendingInstall,
        Status::PendingUpgrade,
        Status::PendingRollback,
    ] {
        let text = serde_json::to_string(&status).expect("serialises");
        assert_eq!(text, format!("\"{}\"", status.as_str()));
        let back: Status = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, status);
    }
    assert!(Status::PendingRollback.is_pending());
    assert!(!Status::Failed.is_pending());
}
