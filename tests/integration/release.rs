//! Releases stored as Helm stores them, proven with Helm's own client (the
//! world's Helm 4 oracle) against the cluster simulator.
//!
//! Deploy is not in this branch, so the tests stand in for it: they render
//! a chart with Helm, apply the objects as devloop's deploy does
//! (server-side apply, manager `devloop`, force, Helm's ownership metadata)
//! and write the revision through `release::Store`. Helm must then read,
//! upgrade and roll back those releases without field-manager conflicts,
//! and devloop must read what Helm wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use devloop::cluster::{Cluster, KubeTarget};
use devloop::helm::rendered::{Hook, HookDeletePolicy, HookEvent, Manifest, Rendered};
use devloop::release::{
    APPLY_METHOD, ChartParts, DeployPlan, NewRelease, Release, Status, Store, deploy_plan,
};
use devloop_sim::{Sim, SimOptions};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Map, Value as Json, json};

use crate::support::{World, devloop, run, temp_repo};

const CHART_YAML: &str = "apiVersion: v2\nname: answer\nversion: 0.1.0\nappVersion: \"1.0\"\n";
const VALUES_YAML: &str = "answer: \"41\"\nimage: busybox:1.37\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-answer\ndata:\n  answer: {{ .Values.answer | quote }}\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}-web\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}-web\n    spec:\n      containers:\n        - name: web\n          image: {{ .Values.image }}\n          env:\n            - name: ANSWER\n              value: {{ .Values.answer | quote }}\n";
// A hook Helm runs on upgrade and rollback; kept apart in the record.
const HOOK: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations:\n    \"helm.sh/hook\": pre-upgrade,pre-rollback\n    \"helm.sh/hook-delete-policy\": before-hook-creation\ndata:\n  answer: {{ .Values.answer | quote }}\n";
const NOTES: &str = "The answer is {{ .Values.answer }}.\n";

struct Harness {
    sim: Sim,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    cluster: Cluster,
    oracle: String,
    chart: PathBuf,
}

impl Harness {
    async fn start(world: &World) -> Harness {
        let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
        let dir = temp_repo(
            "devloop-release",
            &[
                ("chart/Chart.yaml", CHART_YAML),
                ("chart/values.yaml", VALUES_YAML),
                ("chart/templates/configmap.yaml", CONFIGMAP),
                ("chart/templates/deployment.yaml", DEPLOYMENT),
                ("chart/templates/hook.yaml", HOOK),
                ("chart/templates/NOTES.txt", NOTES),
            ],
        );
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let cluster = KubeTarget::resolve(Some(&kubeconfig), None, &|_| None)
            .connect()
            .await
            .expect("connects to the sim");
        Harness {
            chart: dir.path().join("chart"),
            oracle: world.var("DEVLOOP_WORLD_HELM").to_owned(),
            sim,
            dir,
            kubeconfig,
            cluster,
        }
    }

    /// The oracle's JSON; `Err` holds its error document.
    fn helm(&self, args: &[&str]) -> Result<Json, Json> {
        let mut cmd = Command::new(&self.oracle);
        cmd.args(args);
        if !matches!(args.first(), Some(&"render")) {
            cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        }
        let out = cmd.output().expect("the helm oracle runs");
        let json: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "helm-oracle {args:?}: {e}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        if out.status.success() {
            Ok(json)
        } else {
            Err(json)
        }
    }

    fn helm_ok(&self, args: &[&str]) -> Json {
        self.helm(args)
            .unwrap_or_else(|e| panic!("helm-oracle {args:?} failed: {e}"))
    }

    fn chart_str(&self) -> &str {
        self.chart.to_str().expect("UTF-8 path")
    }

    /// What devloop's renderer produces for this chart, here by Helm.
    fn render(&self, release: &str, set: &[&str]) -> Rendered {
        let mut args = vec!["render", self.chart_str(), "--name", release];
        for s in set {
            args.extend(["--set", s]);
        }
        let out = self.helm_ok(&args);
        rendered_from(out["manifests"].as_object().expect("manifests by file"))
    }

    /// Stands in for devloop's deploy: records the pending revision,
    /// applies the objects as devloop does, records it `deployed`.
    async fn deploy(&self, release: &str, set: &[&str], history_max: usize) -> Release {
        let (store, plan, mut record) = self.begin(release, set, history_max).await;
        store
            .finish(&mut record, Status::Deployed, plan.complete_description())
            .await
            .expect("outcome recorded");
        record
    }

    /// A deploy up to its rollout: the revision written pending (Helm's
    /// way), then the objects applied.
    async fn begin(
        &self,
        release: &str,
        set: &[&str],
        history_max: usize,
    ) -> (Store, DeployPlan, Release) {
        let rendered = self.render(release, set);
        let store = Store::new(&self.cluster, "default", release);
        let history = store.history().await.expect("history");
        let plan = deploy_plan(release, &history).expect("no operation in progress");
        let mut record = Release::new(&NewRelease {
            name: release,
            namespace: "default",
            version: plan.version,
            chart: &chart_parts(&self.chart),
            config: config_of(set),
            rendered: &rendered,
            status: plan.pending(),
            description: plan.pending_description().to_owned(),
            first_deployed: plan.first_deployed.clone(),
            now: Timestamp::now(),
        });
        store
            .begin(
                &mut record,
                plan.pending(),
                plan.pending_description(),
                history_max,
            )
            .await
            .expect("pending revision written");
        for manifest in &rendered.manifests {
            apply_as_devloop(&self.cluster, release, manifest).await;
        }
        (store, plan, record)
    }

    async fn get(&self, api_version: &str, kind: &str, name: &str) -> Json {
        let api = dynamic(&self.cluster, api_version, kind);
        serde_json::to_value(api.get(name).await.expect("object exists")).expect("JSON")
    }

    /// `devloop history --app NAME ARGS` in a repo whose app is `app`.
    fn devloop_history_run(&self, app: &str, args: &[&str]) -> crate::support::Run {
        let repo = self.dir.path().join(format!("repo-{app}"));
        std::fs::create_dir_all(&repo).expect("mkdir");
        std::fs::write(
            repo.join("devloop.toml"),
            format!("name = \"{app}\"\nnamespace = \"default\"\n"),
        )
        .expect("devloop.toml");
        run(devloop(&repo)
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["history", "--app", app])
            .args(args))
    }

    /// `devloop history --app NAME -o json`, its one app line parsed.
    fn devloop_history(&self, app: &str) -> Json {
        let out = self.devloop_history_run(app, &["-o", "json"]);
        assert_eq!(out.code, 0, "devloop history: {}", out.stderr);
        serde_json::from_str(out.stdout.trim()).expect("one JSON line")
    }
}

/// Helm's ownership metadata, then server-side apply as manager `devloop`
/// with force: what devloop's deploy does.
async fn apply_as_devloop(cluster: &Cluster, release: &str, manifest: &Manifest) {
    let mut object = manifest.object.clone();
    let meta = object["metadata"].as_object_mut().expect("metadata");
    meta.entry("labels").or_insert_with(|| json!({}))["app.kubernetes.io/managed-by"] =
        json!("Helm");
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    annotations["meta.helm.sh/release-name"] = json!(release);
    annotations["meta.helm.sh/release-namespace"] = json!("default");
    let api = dynamic(cluster, manifest.api_version(), manifest.kind());
    api.patch(
        manifest.name(),
        &PatchParams::apply("devloop").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {} {}: {e}", manifest.kind(), manifest.name()));
}

fn dynamic(cluster: &Cluster, api_version: &str, kind: &str) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(cluster.client.clone(), "default", &resource)
}

/// A `Rendered` from Helm's per-template output: documents split, hooks
/// kept apart, NOTES.txt as notes, manifests in Helm's kind order.
fn rendered_from(files: &Map<String, Json>) -> Rendered {
    let mut rendered = Rendered::default();
    for (source, text) in files {
        let text = text.as_str().expect("template text");
        if source.ends_with("NOTES.txt") {
            rendered.notes = Some(text.to_owned());
            continue;
        }
        for doc in text
            .split("\n---")
            .map(|d| d.trim_start_matches("---").trim())
        {
            if doc.is_empty() {
                continue;
            }
            let object: Json = serde_saphyr::from_str(doc).expect("rendered YAML");
            let manifest = Manifest {
                source: source.clone(),
                text: format!("{doc}\n"),
                object,
            };
            let hook = manifest
                .object
                .pointer("/metadata/annotations/helm.sh~1hook")
                .and_then(Json::as_str)
                .map(str::to_owned);
            match hook {
                Some(events) => rendered.hooks.push(Hook {
                    events: events
                        .split(',')
                        .filter_map(|e| HookEvent::parse(e.trim()))
                        .collect(),
                    weight: 0,
                    delete_policies: vec![HookDeletePolicy::BeforeHookCreation],
                    manifest,
                }),
                None => rendered.manifests.push(manifest),
            }
        }
    }
    let order = ["ConfigMap", "Service", "Deployment"];
    rendered.manifests.sort_by_key(|m| {
        order
            .iter()
            .position(|k| *k == m.kind())
            .unwrap_or(order.len())
    });
    rendered
}

fn chart_parts(chart: &Path) -> ChartParts {
    let read = |p: &str| std::fs::read_to_string(chart.join(p)).expect("chart file");
    let mut templates: Vec<(String, Vec<u8>)> = std::fs::read_dir(chart.join("templates"))
        .expect("templates")
        .map(|e| {
            let e = e.expect("entry");
            (
                format!("templates/{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    templates.sort();
    ChartParts {
        metadata: serde_saphyr::from_str(&read("Chart.yaml")).expect("Chart.yaml"),
        lock: None,
        templates,
        values: serde_saphyr::from_str(&read("values.yaml")).expect("values.yaml"),
        schema: None,
        files: Vec::new(),
    }
}

/// `--set k=v` flags as the user values Helm records (`config`).
fn config_of(set: &[&str]) -> Map<String, Json> {
    set.iter()
        .map(|s| {
            let (k, v) = s.split_once('=').expect("k=v");
            (k.to_owned(), json!(v))
        })
        .collect()
}

fn column<'a>(history: &'a Json, key: &str) -> Vec<&'a Json> {
    history
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| &r[key])
        .collect()
}

/// After two devloop deploys, Helm's rollback, a devloop deploy and Helm's
/// upgrade: what `devloop history` and the last record show.
async fn assert_devloop_sees_five_revisions(h: &Harness, store: &Store) {
    let listed = h.devloop_history("rel");
    let revisions = &listed["revisions"];
    assert_eq!(listed["release"], "rel");
    assert_eq!(
        column(revisions, "revision"),
        [&json!(1), &json!(2), &json!(3), &json!(4), &json!(5)]
    );
    assert_eq!(
        column(revisions, "description"),
        [
            &json!("Install complete"),
            &json!("Upgrade complete"),
            &json!("Rollback to 1"),
            &json!("Upgrade complete"),
            &json!("Upgrade complete"),
        ]
    );
    assert_eq!(
        column(revisions, "status"),
        [
            &json!("superseded"),
            &json!("superseded"),
            &json!("superseded"),
            &json!("superseded"),
            &json!("deployed"),
        ]
    );
    assert_eq!(revisions[1]["images"], json!(["127.0.0.1:5000/answer:2"]));
    assert_eq!(revisions[4]["chart"], "answer-0.1.0");

    // The Secrets carry the same labels whoever wrote them (1: devloop, 5: Helm).
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(h.cluster.client.clone(), "default");
    for (version, status) in [(1, "superseded"), (5, "deployed")] {
        let secret = secrets
            .get(&format!("sh.helm.release.v1.rel.v{version}"))
            .await
            .expect("release Secret");
        assert_eq!(secret.type_.as_deref(), Some("helm.sh/release.v1"));
        let labels = secret.metadata.labels.unwrap_or_default();
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(keys, ["modifiedAt", "name", "owner", "status", "version"]);
        assert_eq!(labels["status"], status);
        assert_eq!(labels["version"], version.to_string());
    }

    // What an uninstall deletes, read from Helm's last revision.
    let last = store.last().await.expect("history").expect("a revision");
    let objects: Vec<(String, String)> = last
        .resources()
        .into_iter()
        .map(|r| (r.kind, r.name))
        .collect();
    assert_eq!(
        objects,
        [
            ("ConfigMap".to_owned(), "rel-answer".to_owned()),
            ("Deployment".to_owned(), "rel-web".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_upgrades_and_rolls_back_what_devloop_recorded_without_conflicts() {
    let Some(world) = World::get() else { return };
    let h = Harness::start(&world).await;
    let first = h.deploy("rel", &["answer=41"], 10).await;
    assert_eq!(first.apply_method, APPLY_METHOD);
    h.deploy("rel", &["answer=42", "image=127.0.0.1:5000/answer:2"], 10)
        .await;

    // Helm reads devloop's records: list, history, status with the
    // manifest, values.
    let helm_list = h.helm_ok(&["list"]);
    assert_eq!(helm_list[0]["name"], "rel", "{helm_list}");
    assert_eq!(helm_list[0]["status"], "deployed", "{helm_list}");
    assert_eq!(helm_list[0]["revision"], 2, "{helm_list}");
    let history = h.helm_ok(&["history", "rel"]);
    assert_eq!(column(&history, "revision"), [&json!(1), &json!(2)]);
    assert_eq!(
        column(&history, "status"),
        [&json!("superseded"), &json!("deployed")]
    );
    let status = h.helm_ok(&["status", "rel"]);
    assert_eq!(status["chart_name"], "answer");
    assert_eq!(status["app_version"], "1.0");
    let manifest = status["manifest"].as_str().expect("manifest");
    assert!(manifest.contains("answer: \"42\""), "{manifest}");
    assert!(
        !manifest.contains("helm.sh/hook"),
        "hooks are kept apart:\n{manifest}"
    );
    assert_eq!(
        h.helm_ok(&["get-values", "rel"]),
        json!({"answer": "42", "image": "127.0.0.1:5000/answer:2"})
    );

    // Helm's rollback to 1 re-applies devloop's first manifest: no conflict
    // with the fields devloop's manager owns.
    h.helm_ok(&["rollback", "rel", "1"]);
    let cm = h.get("v1", "ConfigMap", "rel-answer").await;
    assert_eq!(cm["data"]["answer"], "41");
    let deploy = h.get("apps/v1", "Deployment", "rel-web").await;
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "busybox:1.37");
    assert_eq!(container["env"][0]["value"], "41");

    // devloop reads Helm's revision 3, and deploys on top of it.
    let store = Store::new(&h.cluster, "default", "rel");
    let deployed = store
        .deployed()
        .await
        .expect("history")
        .expect("a deployed revision");
    assert_eq!(
        (deployed.version, deployed.description()),
        (3, "Rollback to 1")
    );
    h.deploy("rel", &["answer=44"], 10).await;
    assert_eq!(
        h.get("v1", "ConfigMap", "rel-answer").await["data"]["answer"],
        "44"
    );

    // Helm's upgrade on devloop's revision 4: again no conflict.
    let chart = h.chart_str().to_owned();
    h.helm_ok(&["upgrade", "rel", &chart, "--set", "answer=45"]);
    assert_eq!(
        h.get("v1", "ConfigMap", "rel-answer").await["data"]["answer"],
        "45"
    );
    assert_eq!(
        h.get("v1", "ConfigMap", "rel-hook").await["data"]["answer"],
        "45"
    );

    assert_devloop_sees_five_revisions(&h, &store).await;
    h.sim.shutdown().await;
}

/// The control: the same release recorded as `ssa` makes Helm's upgrade
/// apply server-side without force, and it conflicts with devloop's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_recorded_as_server_side_makes_helms_upgrade_conflict() {
    let Some(world) = World::get() else { return };
    let h = Harness::start(&world).await;
    let record = h.deploy("ssa", &["answer=41"], 10).await;
    let store = Store::new(&h.cluster, "default", "ssa");
    let mut as_ssa = record.clone();
    as_ssa.apply_method = "ssa".to_owned();
    store.update(&as_ssa).await.expect("rewritten");
    let chart = h.chart_str().to_owned();
    let err = h
        .helm(&["upgrade", "ssa", &chart, "--set", "answer=42"])
        .expect_err("Helm's server-side upgrade conflicts with devloop's manager");
    eprintln!("Helm's error, as expected: {}", err["error"]);
    let message = err["error"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        message.contains("conflict") && message.contains("\"devloop\""),
        "a conflict with devloop's manager: {err}"
    );
    assert_eq!(
        h.get("v1", "ConfigMap", "ssa-answer").await["data"]["answer"],
        "41"
    );
    h.sim.shutdown().await;
}

/// `devloop history` as people read it, and a release that does not exist.
fn assert_history_text_and_missing_release(h: &Harness) {
    let text = h.devloop_history_run("helmrel", &[]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout);
    assert!(lines[0].starts_with("REVISION  UPDATED "), "{}", lines[0]);
    for (n, (line, status)) in lines[1..]
        .iter()
        .zip(["superseded", "deployed"])
        .enumerate()
    {
        // REVISION, UPDATED (5 words), STATUS, CHART, APP VERSION, IMAGE, DESCRIPTION (2 words).
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.len(), 12, "{line}");
        assert_eq!(words[0], (n + 1).to_string(), "{line}");
        assert_eq!(
            words[6..10],
            [status, "answer-0.1.0", "1.0", "busybox:1.37"],
            "{line}"
        );
    }
    let missing = h.devloop_history_run("nothere", &[]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("release nothere not found in namespace default"),
        "{}",
        missing.stderr
    );

    // Several apps: each deployed one under a heading, a warning for the rest.
    let repo = h.dir.path().join("repo-many");
    for dir in ["a", "b"] {
        std::fs::create_dir_all(repo.join(dir)).expect("mkdir");
    }
    std::fs::write(
        repo.join("devloop.toml"),
        "namespace = \"default\"\n\n[[app]]\nname = \"helmrel\"\npath = \"a\"\n\n[[app]]\nname = \"ghost\"\npath = \"b\"\n",
    )
    .expect("devloop.toml");
    let many = run(devloop(&repo)
        .env("KUBECONFIG", &h.kubeconfig)
        .arg("history"));
    assert_eq!(many.code, 0, "{}", many.stderr);
    assert!(
        many.stdout
            .starts_with("app helmrel (release helmrel in default)\nREVISION "),
        "{}",
        many.stdout
    );
    assert_eq!(many.stdout.lines().count(), 4, "{}", many.stdout);
    assert!(
        many.stderr
            .contains("app ghost: release ghost not found in namespace default"),
        "{}",
        many.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devloop_reads_helms_releases_and_both_keep_history_max() {
    let Some(world) = World::get() else { return };
    let h = Harness::start(&world).await;
    let chart = h.chart_str().to_owned();
    h.helm_ok(&["install", "helmrel", &chart, "--set", "answer=1"]);
    h.helm_ok(&["upgrade", "helmrel", &chart, "--set", "answer=2"]);

    let listed = h.devloop_history("helmrel");
    let revisions = &listed["revisions"];
    assert_eq!(column(revisions, "revision"), [&json!(1), &json!(2)]);
    assert_eq!(
        column(revisions, "status"),
        [&json!("superseded"), &json!("deployed")]
    );
    assert_eq!(
        column(revisions, "description"),
        [&json!("Install complete"), &json!("Upgrade complete")]
    );
    assert_eq!(revisions[1]["images"], json!(["busybox:1.37"]));
    assert_eq!(revisions[1]["app_version"], "1.0");
    assert_history_text_and_missing_release(&h);

    // Ten devloop deploys on Helm's release: 12 writes, 10 kept.
    for n in 3..=12 {
        h.deploy("helmrel", &[&format!("answer={n}")], 10).await;
    }
    let store = Store::new(&h.cluster, "default", "helmrel");
    let versions = |history: &[Release]| history.iter().map(|r| r.version).collect::<Vec<_>>();
    assert_eq!(
        versions(&store.history().await.expect("history")),
        (3..=12).collect::<Vec<_>>()
    );
    let helm_history = h.helm_ok(&["history", "helmrel"]);
    assert_eq!(
        helm_history.as_array().map(Vec::len),
        Some(10),
        "{helm_history}"
    );
    assert_eq!(
        h.devloop_history("helmrel")["revisions"]
            .as_array()
            .map(Vec::len),
        Some(10)
    );

    // Helm rolls the pruned release back (to 11) and upgrades it with its
    // own --history-max; devloop's next write prunes to 10 again.
    h.helm_ok(&["rollback", "helmrel"]);
    assert_eq!(
        h.get("v1", "ConfigMap", "helmrel-answer").await["data"]["answer"],
        "11"
    );
    h.helm_ok(&[
        "upgrade",
        "helmrel",
        &chart,
        "--set",
        "answer=14",
        "--history-max",
        "10",
    ]);
    h.deploy("helmrel", &["answer=15"], 10).await;
    let history = store.history().await.expect("history");
    assert_eq!(versions(&history), (6..=15).collect::<Vec<_>>());
    let statuses: BTreeMap<u32, Status> = history.iter().map(|r| (r.version, r.status())).collect();
    assert_eq!(
        statuses[&13],
        Status::Superseded,
        "Helm's rollback revision"
    );
    assert_eq!(statuses[&15], Status::Deployed);
    assert_eq!(
        h.helm_ok(&["history", "helmrel"]).as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(
        h.helm_ok(&["get-values", "helmrel"]),
        json!({"answer": "15"})
    );

    // What devloop's rollback would re-apply: the revision before the newest.
    let plan =
        devloop::release::rollback_plan("helmrel", "default", &history, None, Timestamp::now())
            .expect("plan");
    assert_eq!((plan.target, plan.record.version), (14, 16));
    assert!(
        plan.record.manifest.contains("answer: \"14\""),
        "{}",
        plan.record.manifest
    );
    h.sim.shutdown().await;
}

/// A failed rollout: while devloop applies, Helm sees its lock; after, a
/// `failed` revision, the deployed one kept, and Helm rolls back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deploy_is_recorded_failed_and_the_deployed_revision_stays() {
    let Some(world) = World::get() else { return };
    let h = Harness::start(&world).await;
    h.deploy("flaky", &["answer=1"], 10).await;
    let (store, plan, mut record) = h.begin("flaky", &["answer=2"], 10).await;
    assert_eq!(record.status(), Status::PendingUpgrade);

    let chart = h.chart_str().to_owned();
    let err = h
        .helm(&["upgrade", "flaky", &chart, "--set", "answer=3"])
        .expect_err("Helm waits for devloop's pending revision");
    assert!(
        err["error"]
            .as_str()
            .unwrap_or_default()
            .contains("another operation (install/upgrade/rollback) is in progress"),
        "{err}"
    );
    let history = store.history().await.expect("history");
    let err = deploy_plan("flaky", &history).expect_err("devloop waits too");
    assert!(
        err.to_string().contains("revision 2 is pending-upgrade"),
        "{err}"
    );

    let why = plan.failed_description(
        "flaky",
        "deployment \"flaky-web\" exceeded its progress deadline",
    );
    store
        .finish(&mut record, Status::Failed, &why)
        .await
        .expect("recorded");
    let helm_history = h.helm_ok(&["history", "flaky"]);
    assert_eq!(
        column(&helm_history, "status"),
        [&json!("deployed"), &json!("failed")]
    );
    assert_eq!(store.get(2).await.expect("revision 2").description(), why);
    // The record holds the chart's values: Helm merges them with the user's.
    assert_eq!(
        h.helm_ok(&["get-values", "flaky", "--all", "--revision", "2"]),
        json!({"answer": "2", "image": "busybox:1.37"})
    );
    let deployed = store.deployed().await.expect("history").expect("deployed");
    assert_eq!(deployed.version, 1);

    // Helm's rollback (to the revision before the failed one) restores it.
    h.helm_ok(&["rollback", "flaky"]);
    assert_eq!(
        h.get("v1", "ConfigMap", "flaky-answer").await["data"]["answer"],
        "1"
    );
    let listed = h.devloop_history("flaky");
    assert_eq!(
        column(&listed["revisions"], "status"),
        [&json!("superseded"), &json!("failed"), &json!("deployed")]
    );
    h.sim.shutdown().await;
}

/// Helm 4 installs server-side (`ssa`) and its rollback applies the way the
/// target revision says: after devloop deployed on top, that would conflict
/// with devloop's fields, so devloop's deploy hands Helm's revisions over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_rolls_back_to_its_own_server_side_revision_after_devloop_deployed() {
    let Some(world) = World::get() else { return };
    let h = Harness::start(&world).await;
    let chart = h.chart_str().to_owned();
    h.helm_ok(&["install", "mix", &chart, "--set", "answer=1"]);
    let store = Store::new(&h.cluster, "default", "mix");
    assert_eq!(
        store.get(1).await.expect("Helm's revision").apply_method,
        "ssa"
    );
    h.deploy("mix", &["answer=2"], 10).await;
    assert_eq!(
        store.get(1).await.expect("Helm's revision").apply_method,
        APPLY_METHOD
    );
    h.helm_ok(&["rollback", "mix", "1"]);
    assert_eq!(
        h.get("v1", "ConfigMap", "mix-answer").await["data"]["answer"],
        "1"
    );
    h.deploy("mix", &["answer=4"], 10).await;
    assert_eq!(
        h.get("v1", "ConfigMap", "mix-answer").await["data"]["answer"],
        "4"
    );

    // Helm's uninstall finds devloop's objects by release and leaves none.
    h.helm_ok(&["uninstall", "mix"]);
    assert!(store.history().await.expect("history").is_empty());
    for (api_version, kind, name) in [
        ("v1", "ConfigMap", "mix-answer"),
        ("apps/v1", "Deployment", "mix-web"),
    ] {
        let left = dynamic(&h.cluster, api_version, kind).get_opt(name).await;
        assert!(matches!(left, Ok(None)), "{kind} {name} left: {left:?}");
    }
    h.sim.shutdown().await;
}
