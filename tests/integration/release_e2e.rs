//! Releases end to end through the CLI: devloop's deploys are Helm's
//! revisions (Helm lists them and rolls back to one), Helm's rollback is in
//! `devloop history`, `devloop rollback` brings an answer back, and `down`
//! leaves nothing of the release.

use std::process::Command;
use std::time::Duration;

use serde_json::Value as Json;

use crate::cluster::Cluster;
use crate::deploy_e2e::{
    PYTHON_STANDIN, devloop_in, python_app, scaffold_python, sim_containers, standins,
};
use crate::support::World;

fn helm(world: &World, cluster: &Cluster, args: &[&str]) -> Json {
    let out = Command::new(world.var("DEVLOOP_WORLD_HELM"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .output()
        .expect("the helm oracle runs");
    assert!(
        out.status.success(),
        "helm-oracle {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn revisions(history: &Json) -> Vec<(i64, String)> {
    history
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().expect("revision"),
                r["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one story, step by step")]
async fn e2e_devloop_and_helm_share_revisions_rollbacks_and_down() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("rel-py", "one");
    let (ns, app) = ("rel-py-dev", "rel-py");
    let within = Duration::from_secs(20);

    for answer in ["one", "two"] {
        std::fs::write(dir.path().join("server.py"), python_app(answer)).expect("edit");
        let out = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    cluster
        .answers(ns, app, 8000, "two", within)
        .await
        .expect("two answers");
    let history = helm(&world, &cluster, &["history", app, "-n", ns]);
    assert_eq!(
        revisions(&history),
        [(1, "superseded".into()), (2, "deployed".into())]
    );

    // Helm rolls back to devloop's first revision: the first answer is back.
    helm(&world, &cluster, &["rollback", app, "1", "-n", ns]);
    cluster
        .answers(ns, app, 8000, "one", within)
        .await
        .expect("Helm's rollback brings the first answer back");
    let out = devloop_in(dir.path(), &world, &cluster, &["history", "-o", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Rollback to 1"), "{}", out.stdout);

    // devloop deploys on top of Helm's revision, then rolls back itself.
    std::fs::write(dir.path().join("server.py"), python_app("three")).expect("edit");
    let out = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    cluster
        .answers(ns, app, 8000, "three", within)
        .await
        .expect("three answers");
    let out = devloop_in(dir.path(), &world, &cluster, &["rollback"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("to revision 3"), "{}", out.stderr);
    cluster
        .answers(ns, app, 8000, "one", within)
        .await
        .expect("devloop's rollback brings revision 3's answer back");
    let history = helm(&world, &cluster, &["history", app, "-n", ns]);
    assert_eq!(
        revisions(&history),
        [
            (1, "superseded".into()),
            (2, "superseded".into()),
            (3, "superseded".into()),
            (4, "superseded".into()),
            (5, "deployed".into())
        ]
    );

    let out = devloop_in(dir.path(), &world, &cluster, &["down"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = helm(&world, &cluster, &["list", "-n", ns]);
    assert_eq!(list, Json::Array(vec![]), "Helm sees no release");
    assert_eq!(sim_containers(&world, &cluster), Vec::<String>::new());
    cluster.sim.shutdown().await;
}

/// The other way round: a release Helm's client installed and upgraded is
/// listed by `devloop history` and rolled back by `devloop rollback`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_devloop_rolls_back_a_release_helm_installed() {
    let Some(world) = World::get() else { return };
    let cluster = Cluster::start(&world).await;
    let dir = crate::support::temp_repo(
        "helm-made-",
        &[
            ("devloop.toml", "name = \"made\"\nnamespace = \"made-ns\"\n"),
            ("Dockerfile", "FROM busybox:1.37\n"),
            (
                "chart/Chart.yaml",
                "apiVersion: v2\nname: made\nversion: 0.1.0\n",
            ),
            ("chart/values.yaml", "answer: \"1\"\n"),
            (
                "chart/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made-answer\ndata:\n  answer: {{ .Values.answer | quote }}\n",
            ),
        ],
    );
    let chart = dir.path().join("chart");
    let chart = chart.to_str().expect("UTF-8");
    helm(
        &world,
        &cluster,
        &[
            "install",
            "made",
            chart,
            "-n",
            "made-ns",
            "--create-namespace",
        ],
    );
    helm(
        &world,
        &cluster,
        &[
            "upgrade", "made", chart, "-n", "made-ns", "--set", "answer=2",
        ],
    );
    let answer = || async {
        let maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(cluster.client.clone(), "made-ns");
        let cm = maps.get("made-answer").await.expect("configmap");
        cm.data.unwrap_or_default()["answer"].clone()
    };
    assert_eq!(answer().await, "2");

    let out = devloop_in(dir.path(), &world, &cluster, &["history", "-o", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listed: Json = serde_json::from_str(out.stdout.trim()).expect("JSON");
    assert_eq!(
        listed["revisions"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    let out = devloop_in(dir.path(), &world, &cluster, &["rollback"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(answer().await, "1", "revision 1's value is back");
    let history = helm(&world, &cluster, &["history", "made", "-n", "made-ns"]);
    assert_eq!(
        revisions(&history),
        [
            (1, "superseded".into()),
            (2, "superseded".into()),
            (3, "deployed".into())
        ]
    );
    cluster.sim.shutdown().await;
}
