//! Helm 4 (the test world's Go SDK oracle, a client nobody here wrote)
//! applies its resources server-side: install, upgrade with a changed and
//! a removed resource, history, rollback, uninstall. At each step the
//! stored objects match what Helm rendered (objects only: no pods, no wait).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use devloop_sim::{Sim, SimOptions};
use serde_json::Value;

/// The test world's settings, or `None` locally when it is not up (the test
/// then says it did not run). In CI a missing world fails the test.
fn world() -> Option<HashMap<String, String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/world.env");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Some(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
        );
    }
    let msg = format!(
        "the test world is not up ({} missing); run `tests/world/up` first",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("NOT RUN: {msg}");
    None
}

const CHART: &[(&str, &str)] = &[
    ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
    (
        "values.yaml",
        "replicas: 1\nimage: app:1\nenv: {A: \"1\", B: \"2\"}\nnote: first\nconfig: true\n",
    ),
    (
        "templates/deployment.yaml",
        r"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels: {app: web}
  {{- with .Values.note }}
  annotations: {note: {{ . | quote }}}
  {{- end }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: {{ .Values.image | quote }}
        ports: [{containerPort: 8080}]
        env:
        {{- range $k, $v := .Values.env }}
        - {name: {{ $k }}, value: {{ $v | quote }}}
        {{- end }}
",
    ),
    (
        "templates/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}-web}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
    ),
    (
        "templates/configmap.yaml",
        "{{- if .Values.config }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-cfg}\ndata: {greeting: hello}\n{{- end }}\n",
    ),
];

/// Upgrade values: a changed Deployment (replicas, image, env B and the
/// annotation gone) and a removed `ConfigMap`.
const UPGRADE: &str = "replicas: 2\nimage: app:2\nenv: {B: null}\nnote: null\nconfig: false\n";

struct Env {
    oracle: String,
    dir: PathBuf,
    kubeconfig: PathBuf,
}

impl Env {
    fn helm(&self, args: &[&str]) -> Value {
        let out = Command::new(&self.oracle)
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .output()
            .expect("the helm oracle runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "helm-oracle {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).expect("the oracle prints JSON")
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> (i32, String) {
        let mut child = Command::new("kubectl")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        let out = child.wait_with_output().expect("kubectl finishes");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// What Helm renders for `values` (a values file or none), as JSON objects.
    fn rendered(&self, values: Option<&Path>) -> Vec<Value> {
        let chart = self.dir.join("app");
        let mut args = vec!["render", chart.to_str().expect("utf-8"), "--name", "rel"];
        if let Some(v) = values {
            args.extend(["-f", v.to_str().expect("utf-8")]);
        }
        let out = Command::new(&self.oracle)
            .args(&args)
            .output()
            .expect("the helm oracle runs");
        let r: Value = serde_json::from_slice(&out.stdout).expect("render prints JSON");
        let yaml: Vec<String> = r["manifests"]
            .as_object()
            .expect("manifests")
            .values()
            .filter_map(Value::as_str)
            .filter(|m| m.contains("kind:"))
            .map(str::to_owned)
            .collect();
        // kubectl turns Helm's YAML into JSON (no YAML parser here).
        let (code, json) = self.kubectl(
            &["create", "--dry-run=client", "-o", "json", "-f", "-"],
            Some(&yaml.join("\n---\n")),
        );
        assert_eq!(code, 0, "{json}");
        serde_json::Deserializer::from_str(&json)
            .into_iter::<Value>()
            .map(|v| v.expect("JSON"))
            .collect()
    }

    fn stored(&self, kind: &str, name: &str) -> Option<Value> {
        let (code, out) = self.kubectl(&["get", kind, name, "-o", "json"], None);
        (code == 0).then(|| serde_json::from_str(&out).expect("JSON"))
    }

    /// The release's objects, as `kind/name`.
    fn objects(&self) -> Vec<String> {
        let (_, out) = self.kubectl(&["get", "deploy,svc,cm", "-o", "name"], None);
        out.lines()
            .filter(|l| l.contains("rel-"))
            .map(str::to_owned)
            .collect()
    }

    /// Every rendered object is stored with every rendered field (lists the
    /// same length: nothing left over from an earlier revision).
    fn assert_matches(&self, rendered: &[Value]) {
        for r in rendered {
            let kind = r["kind"].as_str().expect("kind");
            let name = r["metadata"]["name"].as_str().expect("name");
            let stored = self
                .stored(kind, name)
                .unwrap_or_else(|| panic!("{kind}/{name} is not stored"));
            let mut r = r.clone();
            if let Some(md) = r["metadata"].as_object_mut() {
                md.remove("creationTimestamp");
            }
            if let Err(why) = subset(&r, &stored, "") {
                panic!("{kind}/{name}: {why}\nrendered: {r}\nstored: {stored}");
            }
        }
    }
}

fn subset(want: &Value, have: &Value, at: &str) -> Result<(), String> {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().try_for_each(|(k, v)| {
            if v.is_null() {
                return Ok(());
            }
            let hv = h.get(k).ok_or_else(|| format!("{at}.{k} missing"))?;
            subset(v, hv, &format!("{at}.{k}"))
        }),
        (Value::Array(w), Value::Array(h)) => {
            if w.len() != h.len() {
                return Err(format!("{at}: {} items, want {}", h.len(), w.len()));
            }
            w.iter()
                .zip(h)
                .enumerate()
                .try_for_each(|(i, (w, h))| subset(w, h, &format!("{at}[{i}]")))
        }
        (w, h) if w == h => Ok(()),
        (w, h) => Err(format!("{at}: {h}, want {w}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_upgrade_rollback_uninstall_store_what_helm_rendered() {
    let Some(world) = world() else { return };
    let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml()).expect("write kubeconfig");
    for (path, text) in CHART {
        let p = dir.path().join("app").join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write chart");
    }
    let upgrade = dir.path().join("upgrade.yaml");
    std::fs::write(&upgrade, UPGRADE).expect("write values");
    let env = Env {
        oracle: world
            .get("DEVLOOP_WORLD_HELM")
            .expect("world.env names the helm oracle")
            .clone(),
        dir: dir.path().to_owned(),
        kubeconfig,
    };
    let chart = dir.path().join("app");
    let chart = chart.to_str().expect("utf-8");

    let installed = env.helm(&["install", "rel", chart]);
    assert_eq!(installed["status"], "deployed", "{installed}");
    let v1 = env.rendered(None);
    assert_eq!(v1.len(), 3);
    env.assert_matches(&v1);
    assert_eq!(
        env.objects(),
        [
            "deployment.apps/rel-web",
            "service/rel-web",
            "configmap/rel-cfg"
        ]
    );
    let svc = env.stored("svc", "rel-web").expect("service");
    let cluster_ip = svc["spec"]["clusterIP"].clone();

    env.helm(&[
        "upgrade",
        "rel",
        chart,
        "-f",
        upgrade.to_str().expect("utf-8"),
    ]);
    let v2 = env.rendered(Some(&upgrade));
    assert_eq!(v2.len(), 2);
    env.assert_matches(&v2);
    assert_eq!(
        env.objects(),
        ["deployment.apps/rel-web", "service/rel-web"]
    );
    let d = env.stored("deploy", "rel-web").expect("deployment");
    assert!(d["metadata"]["annotations"].get("note").is_none(), "{d}");
    assert_eq!(
        d["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "rel"
    );
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(
        env.stored("svc", "rel-web").expect("service")["spec"]["clusterIP"],
        cluster_ip,
        "the allocated cluster IP stays"
    );

    let history = env.helm(&["history", "rel"]);
    let revisions: Vec<i64> = history
        .as_array()
        .expect("history is a list")
        .iter()
        .filter_map(|r| r["revision"].as_i64())
        .collect();
    assert_eq!(revisions, [1, 2], "{history}");
    assert_eq!(history[0]["status"], "superseded");
    assert_eq!(history[1]["status"], "deployed");

    env.helm(&["rollback", "rel", "1"]);
    env.assert_matches(&v1);
    assert_eq!(
        env.objects(),
        [
            "deployment.apps/rel-web",
            "service/rel-web",
            "configmap/rel-cfg"
        ]
    );
    let d = env.stored("deploy", "rel-web").expect("deployment");
    assert_eq!(d["metadata"]["annotations"]["note"], "first");
    assert_eq!(d["metadata"]["generation"], 3);

    env.helm(&["uninstall", "rel"]);
    assert!(env.objects().is_empty(), "{:?}", env.objects());
    let (_, secrets) = env.kubectl(&["get", "secrets", "-o", "name"], None);
    assert!(!secrets.contains("sh.helm.release"), "{secrets}");
    sim.shutdown().await;
}
