//! kube-rs (a client nobody here wrote) applies server-side against the
//! simulator: `Patch::Apply` with `PatchParams::apply("devloop")` creates,
//! merges list items by key, removes fields it stops applying, conflicts
//! with another manager (409 with the field and manager) until forced.

use devloop_sim::{Sim, SimOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{Value, json};

async fn start() -> (Sim, Client) {
    let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
    let kc = Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).expect("the sim's kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube-rs accepts the sim's kubeconfig");
    (sim, Client::try_from(config).expect("client"))
}

fn deployment(replicas: i64, containers: &Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
        },
    })
}

fn entry<'a>(d: &'a Deployment, manager: &str) -> Option<&'a Value> {
    d.metadata
        .managed_fields
        .as_ref()
        .expect("managedFields")
        .iter()
        .find(|e| e.manager.as_deref() == Some(manager))
        .map(|e| &e.fields_v1.as_ref().expect("fieldsV1").0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_owns_merges_removes_and_conflicts_until_forced() {
    let (sim, client) = start().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("devloop");

    // Create-on-apply; devloop owns exactly what it applied.
    let web = json!([{"name": "web", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]);
    let d = deploys
        .patch("web", &pp, &Patch::Apply(deployment(1, &web)))
        .await
        .expect("create-on-apply");
    assert_eq!(d.metadata.generation, Some(1));
    let mine = entry(&d, "devloop").expect("devloop's entry");
    assert_eq!(
        mine["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:env"]["k:{\"name\":\"B\"}"],
        json!({".": {}, "f:name": {}, "f:value": {}}),
        "{mine}"
    );

    // A second manager adds a sidecar: the containers list merges by name.
    let side = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:1"}]}}}});
    let d = deploys
        .patch("web", &PatchParams::apply("mesh"), &Patch::Apply(side))
        .await
        .expect("sidecar");
    let names: Vec<String> = d
        .spec
        .as_ref()
        .expect("spec")
        .template
        .spec
        .as_ref()
        .expect("pod spec")
        .containers
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["web", "side"]);

    // devloop stops applying env B: it is removed; the sidecar stays.
    let web = json!([{"name": "web", "image": "app:1", "env": [{"name": "A", "value": "1"}]}]);
    let d = deploys
        .patch("web", &pp, &Patch::Apply(deployment(1, &web)))
        .await
        .expect("re-apply");
    let containers = &d
        .spec
        .as_ref()
        .expect("spec")
        .template
        .spec
        .as_ref()
        .expect("pod spec")
        .containers;
    assert_eq!(containers.len(), 2);
    let env: Vec<&str> = containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(env, ["A"]);
    assert_eq!(
        d.metadata.generation,
        Some(3),
        "create, sidecar, env removal"
    );
    // Re-applying the same configuration is a no-op: same resourceVersion.
    // The Deployment controller writes status after each change; wait until
    // it is done, so only the apply could move the resourceVersion.
    let mut settled = d.metadata.resource_version.clone();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = deploys
            .get("web")
            .await
            .expect("get")
            .metadata
            .resource_version;
        if now == settled {
            break;
        }
        settled = now;
    }
    let again = deploys
        .patch("web", &pp, &Patch::Apply(deployment(1, &web)))
        .await
        .expect("no-op apply");
    assert_eq!(again.metadata.resource_version, settled);

    conflicts_until_forced(&deploys, &deployment(1, &web)).await;
    sim.shutdown().await;
}

/// Another manager changing devloop's replicas: 409 naming field and
/// manager; the same value is shared; forced, the field moves.
async fn conflicts_until_forced(deploys: &Api<Deployment>, devloops: &Value) {
    let pp = PatchParams::apply("devloop");
    let scale = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 5}});
    let err = deploys
        .patch(
            "web",
            &PatchParams::apply("hpa"),
            &Patch::Apply(scale.clone()),
        )
        .await
        .expect_err("conflict");
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert_eq!(
        status.message,
        "Apply failed with 1 conflict: conflict with \"devloop\": .spec.replicas"
    );
    // Applying the same value is shared ownership, not a conflict.
    let same = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1}});
    deploys
        .patch("web", &PatchParams::apply("hpa"), &Patch::Apply(same))
        .await
        .expect("co-owned");
    // Forced, the field moves to the new manager.
    let d = deploys
        .patch(
            "web",
            &PatchParams::apply("hpa").force(),
            &Patch::Apply(scale),
        )
        .await
        .expect("forced");
    assert_eq!(d.spec.as_ref().expect("spec").replicas, Some(5));
    assert!(
        entry(&d, "devloop").expect("devloop")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert!(
        entry(&d, "hpa").expect("hpa")["f:spec"]
            .get("f:replicas")
            .is_some()
    );
    // devloop applying its old replicas now conflicts with hpa.
    let err = deploys
        .patch("web", &pp, &Patch::Apply(devloops.clone()))
        .await
        .expect_err("conflict with hpa");
    assert!(matches!(err, kube::Error::Api(s) if s.code == 409));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_validates_fields_and_dry_runs() {
    let (sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a": "1"}, "bogus": true});
    let strict = PatchParams::apply("devloop").validation_strict();
    let err = cms
        .patch("c", &strict, &Patch::Apply(cm.clone()))
        .await
        .expect_err("strict rejects unknown fields");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 400 && s.message.contains("unknown field \"bogus\"")),
        "{err:?}"
    );
    let dry = PatchParams::apply("devloop").validation_ignore().dry_run();
    cms.patch("c", &dry, &Patch::Apply(cm.clone()))
        .await
        .expect("dry run");
    assert!(cms.get_opt("c").await.expect("get").is_none());
    let created = cms
        .patch("c", &PatchParams::apply("devloop"), &Patch::Apply(cm))
        .await
        .expect("warn (default) applies");
    assert_eq!(created.data.expect("data")["a"], "1");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_applied_through_its_subresource() {
    let (sim, client) = start().await;
    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    let web = json!([{"name": "web", "image": "app:1"}]);
    deploys
        .patch(
            "web",
            &PatchParams::apply("devloop"),
            &Patch::Apply(deployment(1, &web)),
        )
        .await
        .expect("create-on-apply");
    let status = |conditions: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "status": {"replicas": 1, "conditions": conditions}})
    };
    let ctrl = PatchParams::apply("ctrl");
    let d = deploys
        .patch_status(
            "web",
            &ctrl,
            &Patch::Apply(status(json!([{"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True"}]))),
        )
        .await
        .expect("status apply");
    assert_eq!(
        d.metadata.generation,
        Some(1),
        "status does not bump generation"
    );
    let entry = d
        .metadata
        .managed_fields
        .as_ref()
        .expect("managedFields")
        .iter()
        .find(|e| e.manager.as_deref() == Some("ctrl"))
        .expect("ctrl's entry");
    assert_eq!(entry.subresource.as_deref(), Some("status"));
    assert_eq!(entry.operation.as_deref(), Some("Apply"));
    let conditions = &entry.fields_v1.as_ref().expect("fieldsV1").0["f:status"]["f:conditions"];
    assert!(
        conditions["k:{\"type\":\"Progressing\"}"].is_object(),
        "{conditions}"
    );
    // Conditions merge by type; one the controller stops applying goes.
    let d = deploys
        .patch_status(
            "web",
            &ctrl,
            &Patch::Apply(status(json!([{"type": "Available", "status": "False"}]))),
        )
        .await
        .expect("status re-apply");
    let types: Vec<(String, String)> = d
        .status
        .expect("status")
        .conditions
        .expect("conditions")
        .into_iter()
        .map(|c| (c.type_, c.status))
        .collect();
    assert_eq!(types, [("Available".to_owned(), "False".to_owned())]);
    assert_eq!(d.spec.expect("spec").replicas, Some(1), "spec untouched");
    sim.shutdown().await;
}
