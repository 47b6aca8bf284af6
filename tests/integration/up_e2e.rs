//! `devloop up` end to end: a python app in the simulator, edited while the
//! session runs. Each step waits for the session's JSON events (the schema
//! editors read) and checks the answer through a kube-rs port-forward.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, python_app, scaffold_python, sim_containers, standins};
use crate::support::{World, devloop};

/// A running `devloop up -o json` and its event lines.
pub struct Up {
    pub child: Child,
    events: mpsc::Receiver<Json>,
    pub seen: Vec<Json>,
}

impl Up {
    pub fn start(dir: &std::path::Path, world: &World, cluster: &Cluster, extra: &[&str]) -> Up {
        let mut child = devloop(dir)
            .args(["up", "-o", "json"])
            .args(extra)
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("DOCKER_HOST", world.var("DOCKER_HOST"))
            .env("DEVLOOP_REGISTRY", world.var("DEVLOOP_WORLD_REGISTRY"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("devloop up starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event: Json = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON event: {line}: {e}"));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Up {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// The next event named one of `names`.
    pub fn next(&mut self, names: &[&str], within: Duration) -> Json {
        self.try_next(names, within)
            .unwrap_or_else(|| panic!("no {names:?} event within {within:?}; saw {:#?}", self.seen))
    }

    /// The next event named one of `names`, if one comes within `within`.
    pub fn try_next(&mut self, names: &[&str], within: Duration) -> Option<Json> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.events.recv_timeout(left).ok()?;
            self.seen.push(event.clone());
            if names.iter().any(|n| event["event"] == *n) {
                return Some(event);
            }
        }
    }

    /// Waits for the next iteration's end, which must be a success.
    pub fn finished(&mut self, within: Duration) {
        let done = self.next(&["iteration_finished", "iteration_failed"], within);
        assert_eq!(done["event"], "iteration_finished", "{done}");
    }

    /// Every event seen so far fits docs/events.schema.json.
    pub fn validate(&self) {
        let schema = crate::events_schema::schema();
        for event in &self.seen {
            let problems = crate::events_schema::problems(&schema, event);
            assert!(problems.is_empty(), "{event}: {problems:?}");
        }
    }

    /// The local address of the first `event` (`forward`, `debugger`) seen.
    pub fn address(&self, event: &str) -> String {
        self.seen
            .iter()
            .find(|e| e["event"] == event)
            .and_then(|e| e["local_address"].as_str())
            .unwrap_or_else(|| panic!("a {event} event in {:#?}", self.seen))
            .to_owned()
    }

    /// Events other than log lines (the app's probes log every second) and
    /// pod news (old pods go away after their rollout) that arrive within
    /// `window`.
    pub fn drain(&mut self, window: Duration) -> Vec<Json> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(event) = self.events.recv_timeout(left) else {
                return out;
            };
            self.seen.push(event.clone());
            if event["event"] != "log" && event["event"] != "pod" {
                out.push(event);
            }
        }
    }

    /// Every event that arrives within `window`, log lines included.
    pub fn collect(&mut self, window: Duration) -> Vec<Json> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        while let Ok(event) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(event.clone());
            out.push(event);
        }
        out
    }

    /// The local address of the forward of `container_port`.
    pub fn forward(&self, container_port: u16) -> String {
        self.seen
            .iter()
            .find(|e| e["event"] == "forward" && e["container_port"] == container_port)
            .and_then(|e| e["local_address"].as_str())
            .unwrap_or_else(|| panic!("no forward of {container_port}"))
            .to_owned()
    }

    pub fn interrupt(&mut self) -> i32 {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "devloop up did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /` through devloop's own forward on 127.0.0.1: the body.
pub fn get_local(address: &str) -> Option<String> {
    get(address, "/", Duration::from_secs(10))
}

/// `GET path` through devloop's forward at `address`, reading for at most
/// `timeout`: the body, or `None`.
pub fn get(address: &str, path: &str, timeout: Duration) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect_timeout(
        &address.parse().expect("a socket address"),
        Duration::from_secs(2),
    )
    .ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// Polls devloop's forward until the body contains `want`.
pub fn local_answers(
    address: &str,
    want: &str,
    within: Duration,
) -> Result<Duration, Option<String>> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < within {
        last = get_local(address);
        if last.as_deref().is_some_and(|b| b.contains(want)) {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

pub fn finished(event: &Json) -> bool {
    event["event"] == "iteration_finished"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one editing session, step by step")]
async fn e2e_up_follows_edits_survives_a_broken_save_and_stops_cleanly() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("up-py", "v1");
    // This session proves the rebuild loop; live sync has its own tests.
    crate::sync_e2e::no_sync(dir.path());
    std::fs::create_dir_all(dir.path().join(".venv")).expect(".venv");
    let (ns, app) = ("up-py-dev", "up-py");
    let within = Duration::from_secs(20);
    let mut up = tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &[]));

    let first = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(90),
        )
    });
    assert!(finished(&first), "{first}");
    assert_eq!(first["v"], 1);
    cluster
        .answers(ns, app, 8000, "v1", within)
        .await
        .expect("v1");
    // devloop's own forward on 127.0.0.1, printed once for the session.
    let forward = up
        .seen
        .iter()
        .find(|e| e["event"] == "forward")
        .cloned()
        .expect("a forward event");
    assert_eq!(forward["container_port"], 8000);
    let local = forward["local_address"]
        .as_str()
        .expect("address")
        .to_owned();
    assert!(local.starts_with("127.0.0.1:"), "{local}");
    tokio::task::block_in_place(|| local_answers(&local, "v1", within))
        .expect("v1 via devloop's forward");
    // The app's request log arrives as log events of its pod.
    let log = tokio::task::block_in_place(|| up.next(&["log"], within));
    assert_eq!(log["app"], app, "{log}");
    assert!(
        log["pod"].as_str().is_some_and(|p| p.starts_with("up-py-")),
        "{log}"
    );

    // An edit: the new answer arrives.
    let saved = Instant::now();
    std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
    let done = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(90),
        )
    });
    assert!(finished(&done), "{done}");
    cluster
        .answers(ns, app, 8000, "v2", within)
        .await
        .expect("v2");
    eprintln!("save -> v2 answers: {:.2}s", saved.elapsed().as_secs_f64());
    // The same local port reaches the new pods after the rollout.
    tokio::task::block_in_place(|| local_answers(&local, "v2", within))
        .expect("v2 via the same forward");

    // A broken save: reported with its reason, v2 keeps answering.
    std::fs::write(dir.path().join("server.py"), "import sys\nsys.exit(3)\n").expect("break");
    let failed = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(150),
        )
    });
    assert_eq!(failed["event"], "iteration_failed", "{failed}");
    assert!(
        failed["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("rollout_")),
        "{failed}"
    );
    cluster
        .answers(ns, app, 8000, "v2", within)
        .await
        .expect("v2 still answers");

    // Fixed: the loop kept watching.
    std::fs::write(dir.path().join("server.py"), python_app("v3")).expect("fix");
    let done = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(90),
        )
    });
    assert!(finished(&done), "{done}");
    cluster
        .answers(ns, app, 8000, "v3", within)
        .await
        .expect("v3");

    // values.yaml: a redeploy without a build.
    let values = dir.path().join("chart/values.yaml");
    let text = std::fs::read_to_string(&values).expect("values");
    std::fs::write(&values, text.replace("env: {}", "env:\n  GREETING: hello")).expect("values");
    let started = tokio::task::block_in_place(|| up.next(&["iteration_started"], within));
    assert_eq!(started["kind"], "redeploy", "{started}");
    let done = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(90),
        )
    });
    assert!(finished(&done), "{done}");
    let iteration = &done["iteration"];
    assert!(
        !up.seen.iter().any(|e| e["event"] == "stage_finished"
            && e["iteration"] == *iteration
            && e["stage"] == "build"),
        "no build for a values change"
    );
    cluster
        .answers(ns, app, 8000, "v3 hello", within)
        .await
        .expect("env");

    // Ignored files and editor litter: nothing happens.
    std::fs::write(dir.path().join(".venv/lib.py"), "x = 1\n").expect("ignored");
    std::fs::write(dir.path().join(".server.py.swp"), "swap").expect("swap");
    std::fs::write(dir.path().join("server.py~"), "backup").expect("backup");
    let quiet = tokio::task::block_in_place(|| up.drain(Duration::from_secs(3)));
    assert!(quiet.is_empty(), "{quiet:#?}");

    // Ctrl-C: exits 0, the app keeps running, no container of devloop's.
    let code = tokio::task::block_in_place(|| up.interrupt());
    assert_eq!(code, 0);
    tokio::task::block_in_place(|| up.drain(Duration::from_millis(500)));
    assert!(
        std::net::TcpStream::connect(&local).is_err(),
        "the forwarded port is released"
    );

    // Every event the session printed is in the documented schema.
    let schema = crate::events_schema::schema();
    for event in &up.seen {
        let problems = crate::events_schema::problems(&schema, event);
        assert!(problems.is_empty(), "{event}: {problems:#?}");
    }
    for name in [
        "session_started",
        "iteration_started",
        "stage_finished",
        "iteration_finished",
        "iteration_failed",
        "session_stopped",
    ] {
        assert!(
            up.seen.iter().any(|e| e["event"] == name),
            "no {name} event"
        );
    }
    cluster
        .answers(ns, app, 8000, "v3", within)
        .await
        .expect("still up after Ctrl-C");
    assert!(!sim_containers(&world, &cluster).is_empty());
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_up_cleanup_removes_the_release_on_exit() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("upc-py", "v1");
    let mut up =
        tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &["--cleanup"]));
    let first = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(90),
        )
    });
    assert!(finished(&first), "{first}");
    let code = tokio::task::block_in_place(|| up.interrupt());
    assert_eq!(code, 0);
    let stopped =
        tokio::task::block_in_place(|| up.next(&["session_stopped"], Duration::from_secs(5)));
    assert_eq!(stopped["cleanup"], true);
    assert!(cluster.ready_pods("upc-py-dev", "upc-py").await.is_empty());
    assert_eq!(sim_containers(&world, &cluster), Vec::<String>::new());
    cluster.sim.shutdown().await;
}

/// Median and 90th percentile of `values`, in seconds.
pub fn p50_p90(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a short list"
        )]
        let i = ((values.len() - 1) as f64 * q).round() as usize;
        values[i]
    };
    (at(0.5), at(0.9))
}

/// Save-to-new-answer latency over 10 edits of a python app, with the
/// stages `devloop up` reports; printed, not asserted (the benchmarks track
/// it against the goal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_up_ten_edits_report_their_latency() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let dir = scaffold_python("lat-py", "edit-0");
    // The rebuild path's latency; sync_e2e measures the sync path's.
    crate::sync_e2e::no_sync(dir.path());
    let (ns, app) = ("lat-py-dev", "lat-py");
    let mut up = tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &[]));
    let first = tokio::task::block_in_place(|| {
        up.next(
            &["iteration_finished", "iteration_failed"],
            Duration::from_secs(90),
        )
    });
    assert!(finished(&first), "{first}");
    let mut totals = Vec::new();
    let mut stages: std::collections::BTreeMap<String, Vec<f64>> =
        std::collections::BTreeMap::new();
    for n in 1..=10 {
        let want = format!("edit-{n}");
        let saved = Instant::now();
        std::fs::write(dir.path().join("server.py"), python_app(&want)).expect("edit");
        cluster
            .answers(ns, app, 8000, &want, Duration::from_mins(1))
            .await
            .unwrap_or_else(|last| panic!("{want} never answered; last {last:?}"));
        totals.push(saved.elapsed().as_secs_f64());
        let done = tokio::task::block_in_place(|| {
            up.next(
                &["iteration_finished", "iteration_failed"],
                Duration::from_secs(30),
            )
        });
        assert!(finished(&done), "{done}");
        for event in up
            .seen
            .iter()
            .filter(|e| e["event"] == "stage_finished" && e["iteration"] == done["iteration"])
        {
            let ms = event["duration_ms"].as_f64().expect("ms");
            stages
                .entry(event["stage"].as_str().expect("stage").to_owned())
                .or_default()
                .push(ms / 1000.0);
        }
    }
    let (p50, p90) = p50_p90(&mut totals);
    eprintln!("save -> new answer over 10 edits: p50 {p50:.2}s p90 {p90:.2}s");
    for (stage, values) in &mut stages {
        let (p50, p90) = p50_p90(values);
        eprintln!("  {stage:<8} p50 {p50:.2}s p90 {p90:.2}s");
    }
    tokio::task::block_in_place(|| up.interrupt());
    cluster.sim.shutdown().await;
}
