//! Live sync end to end: `devloop up` on python and node apps in the
//! simulator with the world's engine. An edit reaches the running container
//! without a build (no build stage, no new image in the engine); a deletion
//! is synced; a dependency manifest rebuilds; a killed container gets the
//! synced files again; an image without `tar` says so and rebuilds.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use serde_json::Value as Json;

use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, devloop_in, python_app, scaffold_python, standins};
use crate::init::init;
use crate::support::{World, temp_repo};
use crate::up_e2e::{Up, finished, get_local, p50_p90};

const NODE_STANDIN: &str = "node:22-slim";

/// Turns live sync off in a scaffolded app (top-level key, before any table).
pub fn no_sync(dir: &Path) {
    let path = dir.join("devloop.toml");
    let text = std::fs::read_to_string(&path).expect("devloop.toml");
    std::fs::write(&path, format!("sync = []\n{text}")).expect("devloop.toml");
}

/// The tests' `HOME` is `.test-home` in the app directory, where `up`
/// keeps its state file (rewritten after each sync): out of the build
/// context, as a real home directory is.
fn keep_home_out(dir: &Path) {
    let path = dir.join(".dockerignore");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, format!("{text}.test-home\n")).expect(".dockerignore");
}

/// Images of the engine in repository `app` (any registry prefix).
fn engine_images(world: &World, app: &str) -> Vec<String> {
    let out = Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .args([
            "images",
            "--no-trunc",
            "--format",
            "{{.Repository}} {{.Tag}} {{.ID}}",
        ])
        .output()
        .expect("docker images");
    let mut list: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            let repository = l.split(' ').next().unwrap_or_default();
            repository.rsplit('/').next() == Some(app)
        })
        .map(str::to_owned)
        .collect();
    list.sort();
    list
}

/// Whether `path` exists in the app container of the release's ready pod.
async fn in_container(cluster: &Cluster, ns: &str, release: &str, path: &str) -> bool {
    let pods = cluster.ready_pods(ns, release).await;
    let pod = pods.first().expect("a ready pod");
    let name = pod.metadata.name.clone().expect("name");
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let mut process = api
        .exec(
            &name,
            ["sh", "-c", &format!("test -e {path}")],
            &AttachParams::default().stderr(true),
        )
        .await
        .expect("exec");
    let status = process
        .take_status()
        .expect("status")
        .await
        .expect("a status");
    status.status.as_deref() == Some("Success")
}

/// Waits for the end of the next iteration; returns (started, finished).
fn iteration(up: &mut Up, within: Duration) -> (Json, Json) {
    let started = up.next(&["iteration_started"], within);
    let done = up.next(&["iteration_finished", "iteration_failed"], within);
    assert!(finished(&done), "{done}");
    assert_eq!(started["iteration"], done["iteration"]);
    (started, done)
}

/// The stages an iteration reported.
fn stages(up: &Up, done: &Json) -> Vec<String> {
    up.seen
        .iter()
        .filter(|e| e["event"] == "stage_finished" && e["iteration"] == done["iteration"])
        .map(|e| e["stage"].as_str().expect("stage").to_owned())
        .collect()
}

fn assert_synced_without_build(up: &Up, started: &Json, done: &Json) {
    assert_eq!(started["kind"], "sync", "{started}");
    let stages = stages(up, done);
    assert_eq!(stages, vec!["sync"], "{done}");
    assert!(done["image"].is_null(), "no image for a sync: {done}");
}

fn assert_schema(up: &Up) {
    let schema = crate::events_schema::schema();
    for event in &up.seen {
        let problems = crate::events_schema::problems(&schema, event);
        assert!(problems.is_empty(), "{event}: {problems:#?}");
    }
}

fn start_up(dir: &Path, world: &World, cluster: &Cluster) -> Up {
    keep_home_out(dir);
    let mut up = Up::start(dir, world, cluster, &["--no-logs"]);
    let first = up.next(
        &["iteration_finished", "iteration_failed"],
        Duration::from_mins(2),
    );
    assert!(finished(&first), "{first}");
    up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one editing session, step by step")]
async fn e2e_sync_python_edit_delete_restart_and_requirements_rebuild() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("sync-py", "v1");
    std::fs::write(dir.path().join("helper.py"), "X = 1\n").expect("helper");
    let (ns, app) = ("sync-py-dev", "sync-py");
    let within = Duration::from_secs(30);
    let mut up = tokio::task::block_in_place(|| start_up(dir.path(), &world, &cluster));
    cluster
        .answers(ns, app, 8000, "v1", within)
        .await
        .expect("v1");
    let images = engine_images(&world, app);
    assert!(!images.is_empty(), "the first build made an image");

    // An edit: synced, the supervisor restarts the app, no build.
    let saved = Instant::now();
    std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
    let (started, done) = tokio::task::block_in_place(|| iteration(&mut up, within));
    assert_synced_without_build(&up, &started, &done);
    cluster
        .answers(ns, app, 8000, "v2", within)
        .await
        .expect("v2");
    eprintln!(
        "sync: save -> v2 answers {:.2}s",
        saved.elapsed().as_secs_f64()
    );
    assert_eq!(engine_images(&world, app), images, "no new image");

    // A deletion is synced.
    assert!(in_container(&cluster, ns, app, "/app/helper.py").await);
    std::fs::remove_file(dir.path().join("helper.py")).expect("delete");
    let (started, done) = tokio::task::block_in_place(|| iteration(&mut up, within));
    assert_synced_without_build(&up, &started, &done);
    assert!(!in_container(&cluster, ns, app, "/app/helper.py").await);

    // `devloop status` shows what is synced on top of the image.
    let status = devloop_in(dir.path(), &world, &cluster, &["status", "-o", "json"]).await;
    assert_eq!(status.code, 0, "{}", status.stderr);
    let line: Json =
        serde_json::from_str(status.stdout.lines().next().expect("a line")).expect("status JSON");
    assert_eq!(line["sync"]["files"], 2, "server.py and helper.py: {line}");
    assert_eq!(line["sync"]["pods"], 1, "{line}");

    // A killed container restarts from the image; devloop syncs it again.
    let pod = cluster.ready_pods(ns, app).await[0]
        .metadata
        .name
        .clone()
        .expect("name");
    let killed = Instant::now();
    cluster
        .sim
        .kill_container(ns, &pod, None, 137)
        .await
        .expect("kill");
    // Meanwhile devloop's forward never hands a connection to the restarted
    // container before it holds the synced files again: no v1 answer.
    let local = up.forward(8000);
    let answers = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(8) {
            if let Some(body) = get_local(&local) {
                seen.push(body);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seen
    });
    let resynced = tokio::task::block_in_place(|| up.next(&["resynced"], within));
    let resynced_after = killed.elapsed();
    assert_eq!(resynced["files"], 2, "{resynced}");
    cluster
        .answers(ns, app, 8000, "v2", within)
        .await
        .expect("v2 after the restart, not the image's v1");
    let seen = tokio::task::block_in_place(|| answers.join().expect("join"));
    assert!(
        seen.iter().all(|b| b.starts_with("v2")),
        "an answer from the unsynced container: {seen:?}"
    );
    assert!(seen.len() > 10, "the forward kept answering: {seen:?}");
    assert!(!in_container(&cluster, ns, app, "/app/helper.py").await);
    eprintln!(
        "sync: container killed -> re-synced {:.2}s (the forward was polled for 8 s)",
        resynced_after.as_secs_f64()
    );

    // A dependency manifest rebuilds.
    std::fs::write(dir.path().join("requirements.txt"), "# no deps\n").expect("edit");
    let (started, done) =
        tokio::task::block_in_place(|| iteration(&mut up, Duration::from_mins(2)));
    assert_eq!(started["kind"], "rebuild", "{started}");
    assert!(stages(&up, &done).contains(&"build".to_owned()), "{done}");
    cluster
        .answers(ns, app, 8000, "v2", within)
        .await
        .expect("v2 rebuilt");
    let first_image = up
        .seen
        .iter()
        .find(|e| finished(e))
        .map(|e| e["image"].clone())
        .expect("the first iteration");
    assert!(done["image"].is_string(), "{done}");
    assert_ne!(done["image"], first_image, "another image: {done}");

    tokio::task::block_in_place(|| up.interrupt());
    assert_schema(&up);
    cluster.sim.shutdown().await;
}

/// Save-to-new-answer latency of the sync path over 20 edits; printed (run
/// with `--no-capture`), bounded only generously.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_sync_python_twenty_edits_report_their_latency() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("synclat-py", "edit-0");
    let (ns, app) = ("synclat-py-dev", "synclat-py");
    let mut up = tokio::task::block_in_place(|| start_up(dir.path(), &world, &cluster));
    let images = engine_images(&world, app);
    let mut totals = Vec::new();
    let mut syncs = Vec::new();
    for n in 1..=20 {
        let want = format!("edit-{n}");
        let saved = Instant::now();
        std::fs::write(dir.path().join("server.py"), python_app(&want)).expect("edit");
        cluster
            .answers(ns, app, 8000, &want, Duration::from_secs(30))
            .await
            .unwrap_or_else(|last| panic!("{want} never answered; last {last:?}"));
        totals.push(saved.elapsed().as_secs_f64());
        let (started, done) =
            tokio::task::block_in_place(|| iteration(&mut up, Duration::from_secs(30)));
        assert_synced_without_build(&up, &started, &done);
        let sync = up
            .seen
            .iter()
            .find(|e| {
                e["event"] == "stage_finished"
                    && e["iteration"] == done["iteration"]
                    && e["stage"] == "sync"
            })
            .expect("a sync stage");
        syncs.push(sync["duration_ms"].as_f64().expect("ms") / 1000.0);
    }
    assert_eq!(
        engine_images(&world, app),
        images,
        "no new image in 20 edits"
    );
    let (p50, p90) = p50_p90(&mut totals);
    let (s50, s90) = p50_p90(&mut syncs);
    eprintln!("sync path, save -> new answer over 20 edits: p50 {p50:.2}s p90 {p90:.2}s");
    eprintln!("  sync stage (exec tar + restart) p50 {s50:.2}s p90 {s90:.2}s");
    assert!(p90 < 15.0, "generous bound: p90 {p90:.2}s");
    tokio::task::block_in_place(|| up.interrupt());
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_sync_node_edit_delete_and_package_json_rebuild() {
    let Some(world) = World::get() else { return };
    standins(&world, &[NODE_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let server = |answer: &str| {
        format!(
            "const http = require('http');\nconst port = process.env.PORT || 3000;\nhttp.createServer((req, res) => res.end('{answer}')).listen(port);\n"
        )
    };
    let package =
        "{\n  \"name\": \"hello\",\n  \"version\": \"1.0.0\",\n  \"main\": \"server.js\"\n}\n";
    let dir = temp_repo(
        "sync-js-",
        &[
            ("package.json", package),
            ("server.js", &server("node one")),
            ("util.js", "module.exports = 1;\n"),
        ],
    );
    let out = init(dir.path(), &["--yes", "--name", "sync-js"]);
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    let (ns, app) = ("sync-js-dev", "sync-js");
    let within = Duration::from_secs(30);
    let mut up = tokio::task::block_in_place(|| start_up(dir.path(), &world, &cluster));
    cluster
        .answers(ns, app, 3000, "node one", within)
        .await
        .expect("node one");
    let images = engine_images(&world, app);

    let saved = Instant::now();
    std::fs::write(dir.path().join("server.js"), server("node two")).expect("edit");
    let (started, done) = tokio::task::block_in_place(|| iteration(&mut up, within));
    assert_synced_without_build(&up, &started, &done);
    cluster
        .answers(ns, app, 3000, "node two", within)
        .await
        .expect("node two");
    eprintln!(
        "sync: save -> node two answers {:.2}s",
        saved.elapsed().as_secs_f64()
    );
    assert_eq!(engine_images(&world, app), images, "no new image");

    assert!(in_container(&cluster, ns, app, "/app/util.js").await);
    std::fs::remove_file(dir.path().join("util.js")).expect("delete");
    let (started, done) = tokio::task::block_in_place(|| iteration(&mut up, within));
    assert_synced_without_build(&up, &started, &done);
    assert!(!in_container(&cluster, ns, app, "/app/util.js").await);

    std::fs::write(
        dir.path().join("package.json"),
        package.replace("1.0.0", "1.0.1"),
    )
    .expect("edit");
    let (started, done) =
        tokio::task::block_in_place(|| iteration(&mut up, Duration::from_mins(2)));
    assert_eq!(started["kind"], "rebuild", "{started}");
    assert!(stages(&up, &done).contains(&"build".to_owned()), "{done}");
    cluster
        .answers(ns, app, 3000, "node two", within)
        .await
        .expect("node two rebuilt");

    tokio::task::block_in_place(|| up.interrupt());
    assert_schema(&up);
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_sync_an_image_without_tar_says_so_and_rebuilds() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("notar-py", "v1");
    let dockerfile = dir.path().join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(
        &dockerfile,
        text.replace("USER 10001", "RUN rm -f /bin/tar /usr/bin/tar\nUSER 10001"),
    )
    .expect("Dockerfile");
    let (ns, app) = ("notar-py-dev", "notar-py");
    let within = Duration::from_mins(2);
    let mut up = tokio::task::block_in_place(|| start_up(dir.path(), &world, &cluster));

    for answer in ["v2", "v3"] {
        std::fs::write(dir.path().join("server.py"), python_app(answer)).expect("edit");
        let fallback = tokio::task::block_in_place(|| up.next(&["sync_fallback"], within));
        assert!(
            fallback["reason"]
                .as_str()
                .is_some_and(|r| r.contains("image has no tar: sync disabled")),
            "{fallback}"
        );
        let done = tokio::task::block_in_place(|| {
            up.next(&["iteration_finished", "iteration_failed"], within)
        });
        assert!(finished(&done), "{done}");
        assert!(stages(&up, &done).contains(&"build".to_owned()), "{done}");
        cluster
            .answers(ns, app, 8000, answer, Duration::from_secs(30))
            .await
            .expect("the rebuild answers");
    }
    tokio::task::block_in_place(|| up.interrupt());
    assert_schema(&up);
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_sync_a_destination_the_container_cannot_write_says_so_and_rebuilds() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("rosync-py", "v1");
    // /usr belongs to root; the app runs as UID 10001.
    let toml = dir.path().join("devloop.toml");
    let text = std::fs::read_to_string(&toml).expect("devloop.toml");
    std::fs::write(
        &toml,
        format!("sync = [{{ src = \"**/*.py\", dest = \"/usr/devloop\" }}]\n{text}"),
    )
    .expect("devloop.toml");
    let (ns, app) = ("rosync-py-dev", "rosync-py");
    let within = Duration::from_mins(2);
    let mut up = tokio::task::block_in_place(|| start_up(dir.path(), &world, &cluster));
    std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
    let fallback = tokio::task::block_in_place(|| up.next(&["sync_fallback"], within));
    let reason = fallback["reason"].as_str().expect("reason");
    assert!(
        reason.contains("cannot write the synced files") && reason.contains("Permission denied"),
        "{fallback}"
    );
    let done = tokio::task::block_in_place(|| {
        up.next(&["iteration_finished", "iteration_failed"], within)
    });
    assert!(finished(&done), "{done}");
    assert!(stages(&up, &done).contains(&"build".to_owned()), "{done}");
    cluster
        .answers(ns, app, 8000, "v2", Duration::from_secs(30))
        .await
        .expect("the rebuild answers");
    tokio::task::block_in_place(|| up.interrupt());
    cluster.sim.shutdown().await;
}
