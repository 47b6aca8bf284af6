//! Deploy's apply, prune and `down` against the simulator (no kubelet
//! needed: these are API semantics): ownership metadata as Helm writes it,
//! no-op applies, pruning only the release's own objects, refusing foreign
//! ones, and a namespace removed only when devloop made it and it is empty.

use devloop::cluster::KubeTarget;
use devloop::config::{Source, Sourced};
use devloop::deploy::{self, DeployError, Release, Resolver};
use devloop::helm::rendered::{Manifest, Rendered};
use devloop_sim::{Sim, SimOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, PostParams};
use serde_json::{Value as Json, json};

fn manifest(file: &str, object: Json) -> Manifest {
    Manifest {
        source: format!("web/templates/{file}"),
        text: serde_yaml_free(&object),
        object,
    }
}

/// The text is not used by apply; JSON is valid YAML.
fn serde_yaml_free(object: &Json) -> String {
    object.to_string()
}

fn deployment(image: &str) -> Json {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }
        }
    })
}

fn rendered(with_service: bool, image: &str) -> Rendered {
    let mut manifests = vec![
        manifest(
            "configmap.yaml",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"}, "data": {"k": "v"}}),
        ),
        manifest("deployment.yaml", deployment(image)),
    ];
    if with_service {
        manifests.insert(
            1,
            manifest(
                "service.yaml",
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            ),
        );
    }
    Rendered {
        manifests,
        ..Rendered::default()
    }
}

async fn connect(sim: &Sim, dir: &std::path::Path) -> devloop::cluster::Cluster {
    let kubeconfig = dir.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    KubeTarget {
        kubeconfig: Sourced {
            value: vec![kubeconfig],
            source: Source::Flag("--kubeconfig"),
        },
        context: Sourced {
            value: Some("devloop-sim".into()),
            source: Source::Flag("--context"),
        },
    }
    .connect()
    .await
    .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn apply_stamps_prunes_and_down_cleans_up_only_the_release() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = connect(&sim, dir.path()).await;
    let resolver = Resolver::new(cluster.clone());
    let release = Release {
        name: "web".into(),
        namespace: "web-dev".into(),
    };
    let client = cluster.client.clone();

    let first = deploy::apply_release(
        &cluster,
        &resolver,
        &release,
        &rendered(true, "busybox:1"),
        &[],
    )
    .await
    .expect("first apply");
    assert!(first.namespace_created);
    assert_eq!(first.deployments(), vec!["web".to_owned()]);
    let services: Api<Service> = Api::namespaced(client.clone(), "web-dev");
    let svc = services.get("web").await.expect("service exists");
    let labels = svc.metadata.labels.clone().expect("labels");
    let annotations = svc.metadata.annotations.clone().expect("annotations");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
    assert_eq!(labels["app.kubernetes.io/instance"], "web");
    assert_eq!(annotations["meta.helm.sh/release-name"], "web");
    assert_eq!(annotations["meta.helm.sh/release-namespace"], "web-dev");
    let managers: Vec<String> = svc
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["devloop".to_owned()]);

    // The same apply again changes nothing: the generation stays.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "web-dev");
    let generation = deployments
        .get("web")
        .await
        .expect("dep")
        .metadata
        .generation;
    let again = deploy::apply_release(
        &cluster,
        &resolver,
        &release,
        &rendered(true, "busybox:1"),
        &[],
    )
    .await
    .expect("second apply");
    assert!(!again.namespace_created);
    assert!(again.pruned.is_empty());
    assert_eq!(
        deployments
            .get("web")
            .await
            .expect("dep")
            .metadata
            .generation,
        generation
    );

    // Someone else's ConfigMap in the namespace, even with the instance label.
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "web-dev");
    let theirs: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "theirs", "labels": {"app.kubernetes.io/instance": "web"}}
    }))
    .expect("cm");
    maps.create(&PostParams::default(), &theirs)
        .await
        .expect("create theirs");

    // The chart drops its Service: prune deletes it, and only it.
    let third = deploy::apply_release(
        &cluster,
        &resolver,
        &release,
        &rendered(false, "busybox:2"),
        &[],
    )
    .await
    .expect("third apply");
    let pruned: Vec<String> = third.pruned.iter().map(ToString::to_string).collect();
    assert_eq!(pruned, vec!["Service/web".to_owned()]);
    assert!(services.get_opt("web").await.expect("get").is_none());
    assert!(maps.get_opt("theirs").await.expect("get").is_some());

    // A chart object whose name is taken by a foreign object is refused.
    let mut clash = rendered(false, "busybox:2");
    clash.manifests.push(manifest(
        "theirs.yaml",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}}),
    ));
    let err = deploy::apply_release(&cluster, &resolver, &release, &clash, &[])
        .await
        .expect_err("foreign object");
    assert!(matches!(err, DeployError::Foreign { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "ConfigMap theirs already exists in namespace web-dev and it was not created by devloop or Helm"
    );

    // A document naming another namespace is refused before anything is sent.
    let mut elsewhere = rendered(false, "busybox:2");
    elsewhere.manifests[0].object["metadata"]["namespace"] = json!("prod");
    let err = deploy::apply_release(&cluster, &resolver, &release, &elsewhere, &[])
        .await
        .expect_err("wrong namespace");
    assert!(matches!(err, DeployError::WrongNamespace { .. }), "{err:?}");

    // down: the release's objects go, the foreign one keeps the namespace.
    let down = deploy::down(
        &cluster,
        &resolver,
        &release,
        &[],
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("down");
    let mut deleted: Vec<String> = down.deleted.iter().map(ToString::to_string).collect();
    deleted.sort();
    assert_eq!(deleted, vec!["ConfigMap/web-config", "Deployment/web"]);
    assert!(!down.namespace_deleted);
    assert_eq!(down.kept_namespace_for, vec!["ConfigMap/theirs".to_owned()]);
    assert!(deployments.get_opt("web").await.expect("get").is_none());

    // With the foreign object gone, down removes the namespace it created.
    maps.delete("theirs", &kube::api::DeleteParams::default())
        .await
        .expect("delete theirs");
    let down = deploy::down(
        &cluster,
        &resolver,
        &release,
        &[],
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("down again");
    assert!(down.namespace_deleted, "{down:?}");
    let namespaces: Api<Namespace> = Api::all(client);
    let gone = namespaces.get_opt("web-dev").await.expect("get ns");
    assert!(
        gone.is_none_or(|ns| ns.metadata.deletion_timestamp.is_some()),
        "namespace deleted"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_and_lookup_come_from_the_live_cluster() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = connect(&sim, dir.path()).await;
    let caps = deploy::live::capabilities(&cluster).await.expect("caps");
    assert_eq!(caps.kube_version, "v1.33.0");
    for has in [
        "v1",
        "apps/v1",
        "apps/v1/Deployment",
        "v1/Service",
        "batch/v1",
    ] {
        assert!(
            caps.api_versions.iter().any(|v| v == has),
            "{has}: {caps:?}"
        );
    }
    let maps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "settings"}, "data": {"mode": "dev"}}))
            .expect("cm");
    maps.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let resolver = std::sync::Arc::new(Resolver::new(cluster.clone()));
    let lookup = deploy::live::LiveLookup::new(cluster.clone(), resolver);
    let (found, missing, listed) = tokio::task::spawn_blocking(move || {
        use devloop::helm::rendered::Lookup as _;
        (
            lookup.lookup("v1", "ConfigMap", "default", "settings"),
            lookup.lookup("v1", "ConfigMap", "default", "nope"),
            lookup.lookup("v1", "ConfigMap", "default", ""),
        )
    })
    .await
    .expect("join");
    assert_eq!(found.expect("found")["data"]["mode"], "dev");
    assert_eq!(missing.expect("missing"), json!({}));
    let listed = listed.expect("listed");
    assert_eq!(listed["kind"], "ConfigMapList");
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["metadata"]["name"] == "settings")
    );
    sim.shutdown().await;
}
