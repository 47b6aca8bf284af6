//! Cancelling a build (dropping its future, as `devloop up` does when a new
//! change arrives mid-build) stops the engine's work: no build step is left
//! running in the daemon.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use devloop::build::docker::DockerBuilder;
use devloop::build::{BuildRequest, Builder as _, Delivery};
use devloop::output::{OutputFormat, Printer};

use crate::support::{World, temp_repo};

/// Containers the engine runs whose command mentions `marker`.
fn running_with(world: &World, marker: &str) -> Vec<String> {
    let out = Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .args(["ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"])
        .output()
        .expect("docker ps runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(marker))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_build_leaves_no_step_running_in_the_engine() {
    let Some(world) = World::get() else { return };
    let marker = format!("devloop-cancel-{}", std::process::id());
    let dir = temp_repo(
        "cancel",
        &[(
            "Dockerfile",
            &format!("FROM busybox:1.37\nRUN echo {marker} && sleep 300\n"),
        )],
    );
    let host = world.var("DOCKER_HOST").to_owned();
    let builder = DockerBuilder::connect(&|key: &str| (key == "DOCKER_HOST").then(|| host.clone()))
        .await
        .expect("engine");
    let request = BuildRequest {
        app: "cancel".into(),
        context: dir.path().to_path_buf(),
        dockerfile: "Dockerfile".into(),
        image: "devloop-test-cancel".into(),
        build_args: BTreeMap::new(),
        target: None,
        delivery: Delivery::Local,
        keep_images: 1,
        defer_prune: false,
    };
    let printer = Printer::new(OutputFormat::Text, -1, false);
    // Boxed so that `drop` below really drops the future (a `tokio::pin!`
    // would only drop a reference to it).
    let mut build = Box::pin(builder.build(&request, &printer));
    // Let the build reach its `sleep` step, then drop it.
    let started = Instant::now();
    loop {
        tokio::select! {
            result = &mut build => panic!("the build ended on its own: {result:?}"),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if !running_with(&world, &marker).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "the RUN step never started"
        );
    }
    drop(build);
    let dropped = Instant::now();
    while !running_with(&world, &marker).is_empty() {
        assert!(
            dropped.elapsed() < Duration::from_secs(20),
            "the step still runs after the build was cancelled: {:?}",
            running_with(&world, &marker)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "the engine stopped the step {:.2}s after the cancel",
        dropped.elapsed().as_secs_f64()
    );
}
