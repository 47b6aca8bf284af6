//! A private registry: without a pull secret the pod cannot pull and the
//! deploy says what the registry said; with `--create-pull-secret` devloop
//! copies the user's Docker credentials into the namespace and the pod pulls.

use std::time::Duration;

use base64::Engine as _;

use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, scaffold_python, standins};
use crate::support::{World, devloop, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_private_registry_needs_the_pull_secret_devloop_creates() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("priv-py", "private");
    // Unique content: a node that pulled this image before (an earlier run)
    // would not pull it again, secret or not (IfNotPresent).
    let nonce = format!("{} {:?}", std::process::id(), std::time::SystemTime::now());
    std::fs::write(dir.path().join("nonce.txt"), nonce).expect("nonce");
    let registry = world.var("DEVLOOP_WORLD_AUTH_REGISTRY").to_owned();
    let (user, password) = (
        world.var("DEVLOOP_WORLD_AUTH_USER").to_owned(),
        world.var("DEVLOOP_WORLD_AUTH_PASSWORD").to_owned(),
    );
    let docker_config = tempfile::tempdir().expect("tempdir");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        docker_config.path().join("config.json"),
        format!("{{\"auths\": {{\"{registry}\": {{\"auth\": \"{auth}\"}}}}}}"),
    )
    .expect("config.json");
    let deploy = |extra: &[&str]| {
        let mut cmd = devloop(dir.path());
        cmd.args(["deploy", "--timeout", "60s"])
            .args(extra)
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("DOCKER_HOST", world.var("DOCKER_HOST"))
            .env("DOCKER_CONFIG", docker_config.path())
            .env("DEVLOOP_REGISTRY", &registry);
        run(&mut cmd)
    };

    let without = tokio::task::block_in_place(|| deploy(&[]));
    assert_eq!(without.code, 1, "{}", without.stderr);
    assert!(
        without.stderr.contains("ErrImagePull") || without.stderr.contains("ImagePullBackOff"),
        "{}",
        without.stderr
    );
    assert!(
        without.stderr.contains("registry said"),
        "{}",
        without.stderr
    );
    assert!(
        !without.stderr.contains(&password),
        "the password never shows"
    );

    let with = tokio::task::block_in_place(|| deploy(&["--create-pull-secret"]));
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert!(!with.stderr.contains(&password), "the password never shows");
    cluster
        .answers(
            "priv-py-dev",
            "priv-py",
            8000,
            "private",
            Duration::from_secs(20),
        )
        .await
        .expect("the pod pulled with the secret");
    cluster.sim.shutdown().await;
}
