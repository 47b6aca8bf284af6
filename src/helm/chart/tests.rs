//! The chart model's decisions, on charts built in memory: hooks told apart
//! with their events, weights and delete policies; an unknown hook word is
//! an error naming it; `lookup` reaches the given cluster; library charts
//! render nothing of their own; CRDs are kept apart, untemplated; archives
//! load like directories.

use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::*;
use crate::helm::rendered::{Capabilities, HookDeletePolicy, HookEvent, Lookup};

fn file(name: &str, text: &str) -> ChartFile {
    ChartFile {
        name: name.to_owned(),
        data: text.as_bytes().to_vec(),
    }
}

fn chart(templates: &[(&str, &str)]) -> Chart {
    let mut files = vec![
        file("Chart.yaml", "apiVersion: v2\nname: t\nversion: 0.1.0\n"),
        file("values.yaml", "a: 1\n"),
    ];
    files.extend(templates.iter().map(|(n, t)| file(n, t)));
    Chart::from_files(files).expect("a valid chart")
}

fn release() -> ReleaseInfo {
    ReleaseInfo {
        name: "rel".to_owned(),
        namespace: "ns".to_owned(),
        revision: 2,
        is_install: false,
    }
}

fn render_with(
    c: &Chart,
    lookup: Option<Arc<dyn Lookup>>,
) -> Result<crate::helm::rendered::Rendered, ChartError> {
    let values = values::coalesce(c, &ValueInputs::default())?;
    render(
        c,
        &values.merged,
        &release(),
        &Capabilities::helm_default(),
        lookup,
    )
}

#[test]
fn hooks_are_apart_with_events_weight_and_policies() {
    let c = chart(&[
        (
            "templates/job.yaml",
            "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install, Post-Upgrade\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: hook-succeeded,before-hook-creation\n",
        ),
        (
            "templates/cm.yaml",
            "kind: ConfigMap\nmetadata:\n  name: c\n---\nkind: Namespace\nmetadata:\n  name: n\n",
        ),
    ]);
    let r = render_with(&c, None).expect("renders");
    let kinds: Vec<&str> = r
        .manifests
        .iter()
        .map(crate::helm::rendered::Manifest::kind)
        .collect();
    assert_eq!(kinds, ["Namespace", "ConfigMap"], "Helm's install order");
    assert_eq!(r.hooks.len(), 1);
    let h = &r.hooks[0];
    assert_eq!(h.events, [HookEvent::PreInstall, HookEvent::PostUpgrade]);
    assert_eq!(h.weight, -5);
    assert_eq!(
        h.delete_policies,
        [
            HookDeletePolicy::HookSucceeded,
            HookDeletePolicy::BeforeHookCreation
        ]
    );
    assert_eq!(h.manifest.source, "t/templates/job.yaml");
}

#[test]
fn an_unknown_hook_word_is_an_error_naming_it() {
    let c = chart(&[(
        "templates/job.yaml",
        "kind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-instal\n",
    )]);
    let err = render_with(&c, None).expect_err("fails").to_string();
    assert!(
        err.contains("\"pre-instal\"") && err.contains("t/templates/job.yaml"),
        "{err}"
    );
}

#[test]
fn release_objects_and_notes() {
    let c = chart(&[
        (
            "templates/cm.yaml",
            "kind: ConfigMap\ndata:\n  r: {{ .Release.Revision }} {{ .Release.IsUpgrade }} {{ .Release.Service }} {{ .Template.Name }}\n",
        ),
        ("templates/NOTES.txt", "hello {{ .Release.Name }}\n"),
    ]);
    let r = render_with(&c, None).expect("renders");
    assert_eq!(
        r.manifests[0].object["data"]["r"],
        json!("2 true Helm t/templates/cm.yaml")
    );
    assert_eq!(r.notes.as_deref(), Some("hello rel\n"));
    let failing = chart(&[("templates/NOTES.txt", "{{ fail \"no notes\" }}")]);
    let err = render_with(&failing, None).expect_err("a fail in NOTES fails the render");
    assert!(err.to_string().contains("no notes"), "{err}");
}

struct FakeCluster;

impl Lookup for FakeCluster {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String> {
        match (api_version, kind, namespace, name) {
            ("v1", "Secret", "ns", "db") => {
                Ok(json!({"data": {"password": "c2VjcmV0"}, "metadata": {"generation": 3}}))
            }
            ("v1", "Secret", "ns", "") => Ok(json!({"items": [{"metadata": {"name": "db"}}]})),
            _ => Ok(json!({})),
        }
    }
}

#[test]
fn lookup_is_empty_offline_and_reaches_the_cluster_when_given() {
    let c = chart(&[(
        "templates/s.yaml",
        "kind: Secret\ndata:\n  p: {{ dig \"data\" \"password\" \"new\" (lookup \"v1\" \"Secret\" .Release.Namespace \"db\") }}\n  n: {{ (lookup \"v1\" \"Secret\" .Release.Namespace \"\").items | default list | len }}\n  g: {{ dig \"metadata\" \"generation\" \"none\" (lookup \"v1\" \"Secret\" \"ns\" \"db\") | typeOf }}\n",
    )]);
    let offline = render_with(&c, None).expect("renders");
    assert_eq!(offline.manifests[0].object["data"]["p"], json!("new"));
    let online = render_with(&c, Some(Arc::new(FakeCluster))).expect("renders");
    let data = &online.manifests[0].object["data"];
    assert_eq!(data["p"], json!("c2VjcmV0"));
    assert_eq!(data["n"].as_f64(), Some(1.0));
    assert_eq!(offline.manifests[0].object["data"]["n"].as_f64(), Some(0.0));
    assert_eq!(
        data["g"],
        json!("int64"),
        "API integers are int64, as in Helm"
    );
}

#[test]
fn library_charts_render_only_their_partials_and_crds_stay_apart() {
    let lib = vec![
        file(
            "Chart.yaml",
            "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
        ),
        file(
            "templates/_x.tpl",
            "{{ define \"lib.x\" }}from-lib{{ end }}",
        ),
        file("templates/cm.yaml", "kind: ConfigMap\n"),
    ];
    let mut files = vec![
        file("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
        file(
            "templates/cm.yaml",
            "kind: ConfigMap\ndata:\n  x: {{ include \"lib.x\" . }}\n",
        ),
        file(
            "crds/w.yaml",
            "kind: CustomResourceDefinition\nmetadata:\n  name: \"{{ not-templated }}\"\n",
        ),
    ];
    files.extend(lib.into_iter().map(|f| ChartFile {
        name: format!("charts/lib/{}", f.name),
        data: f.data,
    }));
    let c = Chart::from_files(files).expect("loads");
    let r = render_with(&c, None).expect("renders");
    assert_eq!(r.manifests.len(), 1);
    assert_eq!(r.manifests[0].object["data"]["x"], json!("from-lib"));
    assert_eq!(r.crds.len(), 1);
    assert_eq!(r.crds[0].source, "app/crds/w.yaml");
}

#[test]
fn an_archive_loads_like_its_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/charts/umbrella");
    let archive = Chart::load(dir.join("charts/db-0.1.0.tgz")).expect("the archive loads");
    assert_eq!(archive.name(), "db");
    assert_eq!(archive.templates.len(), 1);
    let umbrella = Chart::load(&dir).expect("loads");
    assert_eq!(umbrella.dependencies, vec![archive]);
}

#[test]
fn invalid_charts_say_what_is_wrong() {
    let err = Chart::from_files(vec![file("values.yaml", "a: 1\n")]).expect_err("no Chart.yaml");
    assert_eq!(err.to_string(), "Chart.yaml file is missing");
    let err = Chart::from_files(vec![file("Chart.yaml", "apiVersion: v2\nversion: 1.0.0\n")])
        .expect_err("no name");
    assert_eq!(
        err.to_string(),
        "validation: chart.metadata.name is required"
    );
}
