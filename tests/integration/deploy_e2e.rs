//! `devloop deploy` and `devloop down` end to end: a python app scaffolded
//! by `devloop init`, built on the world's engine, pushed to its registry,
//! deployed into the simulator (whose pods are real containers), reached
//! through a kube-rs port-forward.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

use crate::cluster::Cluster;
use crate::init::init;
use crate::support::{Run, World, devloop, repo_root, run, temp_repo};

pub const PYTHON_STANDIN: &str = "python:3.13-slim";

/// A python app answering `answer` (and `$GREETING` when set).
pub fn python_app(answer: &str) -> String {
    format!(
        "import os\nfrom http.server import HTTPServer, BaseHTTPRequestHandler\n\nclass Hello(BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200)\n        self.end_headers()\n        self.wfile.write(('{answer} ' + os.environ.get('GREETING', '')).encode())\n\nif __name__ == '__main__':\n    HTTPServer(('0.0.0.0', int(os.environ.get('PORT', '8000'))), Hello).serve_forever()\n"
    )
}

pub fn standins(world: &World, images: &[&str]) {
    let out = Command::new(repo_root().join("tests/world/standin"))
        .args(images)
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .output()
        .expect("standin runs");
    assert!(
        out.status.success(),
        "stand-ins: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scaffolded python app named `name`.
pub fn scaffold_python(name: &str, answer: &str) -> tempfile::TempDir {
    let dir = temp_repo(
        &format!("{name}-"),
        &[("server.py", &python_app(answer)), ("requirements.txt", "")],
    );
    let out = init(dir.path(), &["--yes", "--name", name]);
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    dir
}

/// `devloop ARGS` against the cluster, the world's engine and registry.
pub async fn devloop_in(dir: &Path, world: &World, cluster: &Cluster, args: &[&str]) -> Run {
    let mut cmd = devloop(dir);
    cmd.args(args)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DEVLOOP_REGISTRY", world.var("DEVLOOP_WORLD_REGISTRY"));
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .expect("join")
}

/// Containers the simulator's kubelet runs.
pub fn sim_containers(world: &World, cluster: &Cluster) -> Vec<String> {
    let out = Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!(
                "label=devloop-sim.instance={}",
                cluster.sim.kubelet_instance().expect("a kubelet runs")
            ),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_deploy_answers_skips_an_unchanged_deploy_updates_and_down_removes_all() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("deploy-py", "v1");
    let (ns, app) = ("deploy-py-dev", "deploy-py");

    let first = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    eprintln!("first deploy:\n{}", first.stderr);
    assert!(first.stderr.contains("Deployed"), "{}", first.stderr);
    let took = cluster
        .answers(ns, app, 8000, "v1", Duration::from_secs(20))
        .await
        .expect("v1 answers through a port-forward");
    eprintln!(
        "v1 answered {:.2}s after deploy returned",
        took.as_secs_f64()
    );

    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let generation = deployments
        .get(app)
        .await
        .expect("deployment")
        .metadata
        .generation;
    let second = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("Unchanged"), "{}", second.stderr);
    for absent in ["Building", "Pushing", "Deployed"] {
        assert!(
            !second.stderr.contains(absent),
            "{absent}: {}",
            second.stderr
        );
    }
    assert_eq!(
        deployments
            .get(app)
            .await
            .expect("deployment")
            .metadata
            .generation,
        generation,
        "an unchanged deploy leaves the Deployment alone"
    );

    std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
    let third = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    cluster
        .answers(ns, app, 8000, "v2", Duration::from_secs(20))
        .await
        .expect("v2 answers after the next deploy");

    let down = devloop_in(dir.path(), &world, &cluster, &["down"]).await;
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(down.stderr.contains("Removed"), "{}", down.stderr);
    assert!(deployments.get_opt(app).await.expect("get").is_none());
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    assert!(
        namespaces
            .get_opt(ns)
            .await
            .expect("get ns")
            .is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
        "the namespace devloop created is gone"
    );
    assert_eq!(sim_containers(&world, &cluster), Vec::<String>::new());
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_deploy_a_node_app_answers_and_updates() {
    let Some(world) = World::get() else { return };
    standins(&world, &["node:22-slim"]);
    let cluster = Cluster::start(&world).await;
    let server = |answer: &str| {
        format!(
            "const http = require('http');\nconst port = process.env.PORT || 3000;\nhttp.createServer((req, res) => res.end('{answer}')).listen(port);\n"
        )
    };
    let dir = temp_repo(
        "deploy-js-",
        &[
            (
                "package.json",
                "{\n  \"name\": \"hello\",\n  \"version\": \"1.0.0\",\n  \"main\": \"server.js\"\n}\n",
            ),
            ("server.js", &server("node one")),
        ],
    );
    let out = init(dir.path(), &["--yes", "--name", "deploy-js"]);
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    let (ns, app) = ("deploy-js-dev", "deploy-js");
    let first = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    cluster
        .answers(ns, app, 3000, "node one", Duration::from_secs(20))
        .await
        .expect("the node app answers");
    std::fs::write(dir.path().join("server.js"), server("node two")).expect("edit");
    let second = devloop_in(dir.path(), &world, &cluster, &["deploy"]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    cluster
        .answers(ns, app, 3000, "node two", Duration::from_secs(20))
        .await
        .expect("the new version answers");
    let down = devloop_in(dir.path(), &world, &cluster, &["down"]).await;
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert_eq!(sim_containers(&world, &cluster), Vec::<String>::new());
    cluster.sim.shutdown().await;
}
