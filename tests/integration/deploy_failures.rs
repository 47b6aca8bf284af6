//! `devloop deploy` when something is wrong: each failure is reported with
//! its reason and exit code while the previous version keeps answering;
//! an unreachable or refusing API server is infrastructure (exit 2); the
//! guard refuses a cloud-named context even on 127.0.0.1.

use std::time::Duration;

use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, devloop_in, python_app, scaffold_python, standins};
use crate::support::{Run, World, devloop, run};

/// A python app answering 500 to every request (its readiness probe fails).
fn failing_app() -> String {
    python_app("x").replace("self.send_response(200)", "self.send_response(500)")
}

async fn deploy(dir: &std::path::Path, world: &World, cluster: &Cluster) -> Run {
    devloop_in(dir, world, cluster, &["deploy", "--timeout", "60s"]).await
}

fn assert_failed(out: &Run, reason: &str) {
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(reason), "{reason}: {}", out.stderr);
    assert!(
        out.stderr.contains("keeps serving") || out.stderr.contains("previous version"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_app_failures_are_reported_and_the_old_version_keeps_answering() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("fail-py", "good");
    let (ns, app) = ("fail-py-dev", "fail-py");
    let within = Duration::from_secs(20);
    let good = deploy(dir.path(), &world, &cluster).await;
    assert_eq!(good.code, 0, "{}", good.stderr);

    // A crashing app: the exit code.
    std::fs::write(
        dir.path().join("server.py"),
        "import sys\nprint('boom')\nsys.exit(3)\n",
    )
    .expect("crash");
    let out = deploy(dir.path(), &world, &cluster).await;
    assert_failed(&out, "exited with code 3");
    cluster
        .answers(ns, app, 8000, "good", within)
        .await
        .expect("good answers");

    // A failing readiness probe: what the probe got.
    std::fs::write(dir.path().join("server.py"), failing_app()).expect("500");
    let out = deploy(dir.path(), &world, &cluster).await;
    assert_failed(&out, "500");
    cluster
        .answers(ns, app, 8000, "good", within)
        .await
        .expect("good answers");

    // An unschedulable request: why.
    std::fs::write(dir.path().join("server.py"), python_app("good")).expect("restore");
    let values = dir.path().join("chart/values.yaml");
    let text = std::fs::read_to_string(&values).expect("values");
    std::fs::write(&values, text.replace("cpu: 50m", "cpu: \"500\"")).expect("huge request");
    let out = deploy(dir.path(), &world, &cluster).await;
    assert_failed(&out, "Insufficient cpu");
    cluster
        .answers(ns, app, 8000, "good", within)
        .await
        .expect("good answers");

    // A named USER under runAsNonRoot (the chart's numeric runAsUser unset).
    std::fs::write(
        &values,
        text.replace("  runAsUser: 10001\n  runAsGroup: 10001\n", ""),
    )
    .expect("values");
    let dockerfile = dir.path().join("Dockerfile");
    let original = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(
        &dockerfile,
        original.replace("USER 10001", "RUN useradd -u 10002 appuser\nUSER appuser"),
    )
    .expect("named user");
    let out = deploy(dir.path(), &world, &cluster).await;
    assert_failed(&out, "runAsNonRoot");
    cluster
        .answers(ns, app, 8000, "good", within)
        .await
        .expect("good answers");
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_api_unreachable_wrong_token_and_a_cloud_context_are_refused() {
    let Some(world) = World::get() else { return };
    let cluster = Cluster::start(&world).await;
    let dir = crate::support::temp_repo(
        "guard-",
        &[
            ("Dockerfile", "FROM busybox:1.37\n"),
            ("devloop.toml", "name = \"guard\"\n"),
        ],
    );
    let kubeconfig = |text: String| {
        let path = dir.path().join(format!("kc-{}", text.len()));
        std::fs::write(&path, text).expect("kubeconfig");
        path
    };
    let deploy_with = |path: std::path::PathBuf| {
        let mut cmd = devloop(dir.path());
        cmd.args(["deploy"]).env("KUBECONFIG", path);
        run(&mut cmd)
    };
    let yaml = cluster.sim.kubeconfig_yaml();

    let wrong_token = kubeconfig(cluster.sim.kubeconfig_with_token("not-the-token"));
    let out = tokio::task::block_in_place(|| deploy_with(wrong_token));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("refused devloop's credentials"),
        "{}",
        out.stderr
    );

    let port = cluster.sim.addr().port().to_string();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = closed.local_addr().expect("addr").port().to_string();
    drop(closed);
    let unreachable = kubeconfig(yaml.replace(&port, &dead_port));
    let out = tokio::task::block_in_place(|| deploy_with(unreachable));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot reach the Kubernetes API"),
        "{}",
        out.stderr
    );

    // A production-looking context on 127.0.0.1 (a tunnel): refused before
    // any request, with the way to allow it.
    let cloud = kubeconfig(yaml.replace("devloop-sim", "gke_shop_europe-west1_prod"));
    let requests = cluster.sim.resource_version();
    let out = tokio::task::block_in_place(|| deploy_with(cloud.clone()));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("gke_shop_europe-west1_prod"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--allow-context"), "{}", out.stderr);
    assert_eq!(
        cluster.sim.resource_version(),
        requests,
        "nothing was written"
    );
    cluster.sim.shutdown().await;
}
