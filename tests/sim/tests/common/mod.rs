//! What the kubectl and kubelet tests share: a Sim (with the test world's
//! Docker engine when pods must run), real `kubectl` with its own HOME and
//! discovery cache, the world's busybox in its registry.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use devloop_sim::{Sim, SimOptions};

/// The test world's settings, or `None` locally when it is not up (the test
/// then says it did not run). In CI a missing world fails the test.
pub fn world() -> Option<std::collections::BTreeMap<String, String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/world.env");
    let world = devloop_sim::read_world_env(&path);
    if world.contains_key("DOCKER_HOST") {
        return Some(world);
    }
    let msg = format!(
        "the test world is not up ({} missing); run `tests/world/up` first",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("NOT RUN: {msg}");
    None
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct Cluster {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub world: std::collections::BTreeMap<String, String>,
}

impl Cluster {
    /// A Sim whose kubelet runs pods on the world's engine (`None`: no world).
    pub async fn start() -> Option<Cluster> {
        let world = world()?;
        Some(Cluster::with_world(world).await)
    }

    /// A Sim without a kubelet: the API server and controllers only.
    pub async fn without_world() -> Cluster {
        Cluster::with_world(std::collections::BTreeMap::new()).await
    }

    async fn with_world(world: std::collections::BTreeMap<String, String>) -> Cluster {
        let options = SimOptions {
            world: world.clone(),
            ..SimOptions::default()
        };
        let sim = Sim::start(options).await.expect("sim starts");
        let dir = tempfile::Builder::new()
            .prefix("devloop-sim-kubectl")
            .tempdir()
            .expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
        Cluster {
            sim,
            dir,
            kubeconfig,
            world,
        }
    }

    /// `kubectl` with this cluster's HOME and cache, using `kubeconfig`.
    pub fn command(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LANG", "C.UTF-8")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args);
        cmd
    }

    pub fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut child = self
            .command(&self.kubeconfig, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs (it is preinstalled on every machine)");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        let out = child.wait_with_output().expect("kubectl finishes");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, None)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    pub fn ok_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run_with(args, stdin);
        assert_eq!(
            out.code, 0,
            "kubectl {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out.stdout
    }

    /// `kubectl ARGS -o json`, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl prints JSON")
    }

    pub fn apply(&self, yaml: &str) -> String {
        self.ok_with(&["apply", "-f", "-"], Some(yaml))
    }

    /// Polls `kubectl args` until `pred` holds on its stdout (or panics).
    pub fn until(&self, args: &[&str], secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let out = self.run(args);
            if pred(&out.stdout) {
                return out.stdout;
            }
            assert!(
                Instant::now() < deadline,
                "kubectl {args:?} never got there in {secs}s; last:\n{}\n{}",
                out.stdout,
                out.stderr
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The kubelet's containers (docker ids) on the world's engine.
    pub fn containers(&self) -> Vec<String> {
        containers_of(self.sim.kubelet_instance().expect("a kubelet runs"))
    }
}

/// The containers labelled with kubelet instance `instance`.
pub fn containers_of(instance: &str) -> Vec<String> {
    {
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=devloop-sim.instance={instance}"))
            .output()
            .expect("docker runs");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// The world's busybox, pushed to the world's open registry (once), so pods
/// pull it as on a real node: `127.0.0.1:5000/devloop-sim/busybox:1.37`.
pub fn busybox_in_registry(world: &std::collections::BTreeMap<String, String>) -> String {
    let registry = world
        .get("DEVLOOP_WORLD_REGISTRY")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let local = world
        .get("DEVLOOP_WORLD_BUSYBOX")
        .cloned()
        .unwrap_or_else(|| "busybox:1.37".to_owned());
    let target = format!("{registry}/devloop-sim/busybox:1.37");
    let docker = |args: &[&str]| {
        let out = Command::new("docker")
            .args(args)
            .output()
            .expect("docker runs");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    docker(&["tag", &local, &target]);
    docker(&["push", &target]);
    target
}
