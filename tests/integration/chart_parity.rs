//! Parity with real Helm: `devloop template` and the oracle (Helm SDK 4.2.3)
//! render the same documents, in the same order, or fail with the same
//! message, for the shared pack chart, `helm create`'s chart and the charts
//! under tests/data/charts (library chart, .tgz subchart with a condition,
//! aliases, tags, import-values, tpl of toYaml, floats, mutating merge,
//! .Files.Glob with a binary file, .helmignore, schema failures, lookup,
//! hooks, capabilities).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value as Json;

use crate::support::{World, devloop, repo_root, run};

type Doc = (String, Json);

fn parse_docs(text: &str) -> Vec<Doc> {
    text.split("---\n# Source: ")
        .filter(|c| !c.trim().is_empty())
        .map(|chunk| {
            let (source, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
            let obj: Json = serde_saphyr::from_str(body).unwrap_or(Json::Null);
            (source.trim().to_owned(), obj)
        })
        .collect()
}

fn is_hook(doc: &Doc) -> bool {
    doc.1
        .pointer("/metadata/annotations/helm.sh~1hook")
        .is_some()
}

/// Documents of the oracle's raw render (hooks included), by file.
fn raw_docs(manifests: &serde_json::Map<String, Json>) -> Vec<Doc> {
    let sep = regex::Regex::new(r"(?:^|\s*\n)---\s*").expect("regex");
    let mut out = Vec::new();
    for (path, text) in manifests {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || path.ends_with("NOTES.txt") {
            continue;
        }
        for doc in sep.split(text.as_str().unwrap_or("").trim()) {
            if doc.trim().is_empty() {
                continue;
            }
            let obj: Json = serde_saphyr::from_str(doc.trim()).unwrap_or(Json::Null);
            out.push((path.clone(), obj));
        }
    }
    out
}

fn sorted(mut docs: Vec<Doc>) -> Vec<String> {
    let mut out: Vec<String> = docs.drain(..).map(|(s, o)| format!("{s} {o}")).collect();
    out.sort();
    out
}

/// One comparison; returns a failure description.
fn compare(world: &World, chart: &Path, args: &[&str]) -> Result<bool, String> {
    let oracle = Command::new(world.var("DEVLOOP_WORLD_HELM"))
        .arg("template")
        .arg(chart)
        .args(["--name", "rel", "-n", "ns"])
        .args(args)
        .output()
        .expect("the oracle runs");
    let want: Json = serde_json::from_slice(&oracle.stdout).expect("oracle JSON");
    let ours = run(devloop(chart.parent().expect("parent"))
        .arg("template")
        .arg("--chart")
        .arg(chart)
        .args(["--name", "rel", "-n", "ns", "--no-color"])
        .args(args));
    let label = format!("{} {args:?}", chart.display());
    if let Some(err) = want.get("error").and_then(Json::as_str) {
        if ours.code != 1 {
            return Err(format!(
                "{label}: Helm fails with {err:?}, devloop exits {} with\n{}",
                ours.code, ours.stdout
            ));
        }
        // go-yaml's parse messages are not reproduced word for word: the
        // failing file must be the same.
        if let Some((prefix, _)) = err.split_once(": error converting YAML to JSON")
            && prefix.starts_with("YAML parse error on ")
        {
            if !ours.stderr.contains(prefix) {
                return Err(format!(
                    "{label}: Helm's {prefix:?} missing from\n{}",
                    ours.stderr
                ));
            }
            return Ok(true);
        }
        // Helm lists schema errors in Go map order: compare line by line.
        for line in err.lines() {
            if !ours.stderr.contains(line) {
                return Err(format!(
                    "{label}: Helm's error line {line:?} missing from\n{}",
                    ours.stderr
                ));
            }
        }
        return Ok(true);
    }
    if ours.code != 0 {
        return Err(format!(
            "{label}: Helm renders, devloop fails:\n{}",
            ours.stderr
        ));
    }
    let docs = parse_docs(&ours.stdout);
    let (hooks, manifests): (Vec<Doc>, Vec<Doc>) = docs.into_iter().partition(is_hook);
    let raw = raw_docs(want["manifests"].as_object().expect("manifests"));
    let (want_hooks, want_raw): (Vec<Doc>, Vec<Doc>) = raw.into_iter().partition(is_hook);
    if sorted(hooks) != sorted(want_hooks) {
        return Err(format!("{label}: hooks differ"));
    }
    let caps_flags = args.iter().any(|a| *a == "--kube-version" || *a == "-a");
    if caps_flags {
        // The client-only install ignores these flags; compare the raw render.
        if sorted(manifests) != sorted(want_raw) {
            return Err(format!("{label}: manifests differ from the raw render"));
        }
    } else {
        let notes = library_notes(chart, args);
        if notes != want["notes"].as_str().unwrap_or("") {
            return Err(format!(
                "{label}: NOTES differ: {notes:?} vs {:?}",
                want["notes"]
            ));
        }
        let want_ordered = parse_docs(want["manifest"].as_str().unwrap_or(""));
        if manifests != want_ordered {
            return Err(format!(
                "{label}: manifests differ\n--- devloop\n{}\n--- helm\n{}",
                serde_json::to_string_pretty(&manifests).unwrap_or_default(),
                serde_json::to_string_pretty(&want_ordered).unwrap_or_default()
            ));
        }
    }
    Ok(false)
}

/// The rendered NOTES.txt through the library API (`devloop template`, like
/// `helm template`, does not print them).
fn library_notes(chart: &Path, args: &[&str]) -> String {
    use devloop::helm::chart::{self, Chart, ReleaseInfo, ValueInputs};
    let mut inputs = ValueInputs::default();
    for pair in args.chunks(2) {
        let value = pair[1].to_owned();
        match pair[0] {
            "--set" => inputs.set.push(value),
            "--set-string" => inputs.set_string.push(value),
            "--set-json" => inputs.set_json.push(value),
            "--set-file" => inputs.set_file.push(value),
            "-f" => inputs.files.push(PathBuf::from(value)),
            flag => panic!("unexpected flag {flag}"),
        }
    }
    let c = Chart::load(chart).expect("loads");
    let values = chart::values::coalesce(&c, &inputs).expect("values");
    let release = ReleaseInfo {
        name: "rel".to_owned(),
        namespace: "ns".to_owned(),
        revision: 1,
        is_install: true,
    };
    let caps = devloop::helm::rendered::Capabilities::helm_default();
    let rendered = chart::render(&c, &values.merged, &release, &caps, None).expect("renders");
    rendered.notes.unwrap_or_default()
}

fn data(name: &str) -> PathBuf {
    repo_root().join("tests/data/charts").join(name)
}

fn suite(world: &World, chart: &Path, sets: &[&[&str]]) -> (usize, usize, Vec<String>) {
    assert!(
        sets.len() >= 10,
        "{}: at least 10 value sets",
        chart.display()
    );
    let (mut ok, mut errors, mut failures) = (0, 0, Vec::new());
    for set in sets {
        match compare(world, chart, set) {
            Ok(true) => errors += 1,
            Ok(false) => ok += 1,
            Err(e) => failures.push(e),
        }
    }
    (ok, errors, failures)
}

fn report(name: &str, result: (usize, usize, Vec<String>)) {
    let (ok, errors, failures) = result;
    eprintln!(
        "parity {name}: {ok} renders and {errors} errors identical, {} differ",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Value sets for the chart every pack scaffolds.
const PACK_SETS: &[&[&str]] = &[
    &[],
    &[
        "--set",
        "image.repository=127.0.0.1:5000/web",
        "--set",
        "image.tag=abc",
    ],
    &[
        "--set",
        "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ],
    &["--set", "replicaCount=3"],
    &["--set", "service.port=9090"],
    &["--set-string", "podAnnotations.a=1"],
    &["--set-json", "resources={\"limits\":{\"cpu\":\"1\"}}"],
    &["--set", "nameOverride=x", "--set", "fullnameOverride=y"],
    &["--set", "image=null"],
    &["--set", "service.port=abc,service.type=NodePort"],
    &["--set", "a"],
];

#[test]
fn parity_pack_chart() {
    let Some(world) = World::get() else { return };
    let chart = repo_root().join("templates/chart");
    report("pack chart", suite(&world, &chart, PACK_SETS));
}

/// Each pack's chart as `devloop init` scaffolds it (name, port, probe).
fn parity_scaffolded(fixtures: &[&str]) {
    let Some(world) = World::get() else { return };
    for name in fixtures {
        let (_tmp, dir) = crate::init::fixture_copy(name);
        let out = crate::init::init(&dir, &["--yes"]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        report(name, suite(&world, &dir.join("chart"), PACK_SETS));
    }
}

// Four tests of about six charts each: one comparison costs ~0.25 s of the
// oracle (a Go runtime per call), and a test must stay well under 60 s.
#[test]
fn parity_scaffolded_pack_charts_1() {
    parity_scaffolded(&crate::init::FIXTURES[..6]);
}

#[test]
fn parity_scaffolded_pack_charts_2() {
    parity_scaffolded(&crate::init::FIXTURES[6..12]);
}

#[test]
fn parity_scaffolded_pack_charts_3() {
    parity_scaffolded(&crate::init::FIXTURES[12..18]);
}

#[test]
fn parity_scaffolded_pack_charts_4() {
    parity_scaffolded(&crate::init::FIXTURES[18..]);
}

#[test]
fn parity_helm_create_chart() {
    let Some(world) = World::get() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(world.var("DEVLOOP_WORLD_HELM"))
        .args(["create", "mychart"])
        .arg(dir.path())
        .output()
        .expect("oracle");
    assert!(out.status.success());
    let chart = dir.path().join("mychart");
    report(
        "helm create",
        suite(
            &world,
            &chart,
            &[
                &[],
                &["--set", "ingress.enabled=true"],
                &[
                    "--set",
                    "ingress.enabled=true",
                    "--set",
                    "ingress.className=nginx",
                    "--set",
                    "ingress.tls[0].secretName=t",
                    "--set",
                    "ingress.tls[0].hosts[0]=a.local",
                ],
                &["--set", "autoscaling.enabled=true"],
                &["--set", "serviceAccount.create=false"],
                &["--set", "replicaCount=4", "--set", "image.tag=1.27"],
                &[
                    "--set-json",
                    "resources={\"requests\":{\"cpu\":\"100m\",\"memory\":\"1.5Gi\"}}",
                ],
                &["--set", "httpRoute.enabled=true"],
                &[
                    "--set",
                    "volumes[0].name=v",
                    "--set",
                    "volumes[0].emptyDir.medium=Memory",
                    "--set",
                    "volumeMounts[0].name=v",
                    "--set",
                    "volumeMounts[0].mountPath=/v",
                ],
                &[
                    "--set",
                    "service.type=NodePort",
                    "--set-string",
                    "podLabels.x=007",
                ],
                &["--set", "image=x"],
                &["--set", "ingress.enabled=true", "--kube-version", "1.18.0"],
            ],
        ),
    );
}

#[test]
fn parity_library_chart_tpl_and_floats() {
    let Some(world) = World::get() else { return };
    report(
        "libapp",
        suite(
            &world,
            &data("libapp"),
            &[
                &[],
                &[
                    "--set",
                    "fullnameOverride=custom-name-that-is-rather-long-and-goes-on-for-more-than-63-characters",
                ],
                &["--set", "numbers.ratio=0.75"],
                &[
                    "--set-json",
                    "numbers={\"ratio\":0.1,\"big\":123456789012,\"cpu\":3}",
                ],
                &["--set", "replicaCount=5"],
                &["--set-string", "replicaCount=5"],
                &["--set", "extraLabels.x={{ .Chart.Name }}"],
                &["--set", "extraLabels=null"],
                &["--set", "config.greeting={{ .Release.Namespace }}"],
                &["--set", "numbers.neg=-1e-7"],
                &["--set", "extraLabels.bad={{ .Nope.Missing }}"],
                &["--set", "config.x={{ fail \"from tpl\" }}"],
                &["--set", "config.x={{ if }}"],
                &["--set", "config.x={{ include \"common.nope\" . }}"],
                &[
                    "--set",
                    "config.x={{ include \"common.fullname\" . | upper }}",
                ],
                &["--set-file", "config.x=/nonexistent/file"],
            ],
        ),
    );
}

#[test]
fn parity_tgz_subchart_condition_alias_import_values() {
    let Some(world) = World::get() else { return };
    report(
        "umbrella",
        suite(
            &world,
            &data("umbrella"),
            &[
                &[],
                &["--set", "db.enabled=false"],
                &["--set", "replica.enabled=true"],
                &["--set", "tags.backend=false"],
                &["--set", "tags.backend=false", "--set", "db.enabled=true"],
                &["--set", "global.env=staging"],
                &[
                    "--set",
                    "db.auth.user=root",
                    "--set",
                    "replica.enabled=true",
                    "--set",
                    "replica.port=1",
                ],
                &["--set", "dbSettings.maxConnections=7"],
                &["--set", "dbHost=override"],
                &["--set", "db.enabled=notabool"],
                &["--set-json", "db=5"],
                &["--set", "tags.extra=true"],
                &[
                    "--set",
                    "global.dbEnabled=false",
                    "--set",
                    "db.enabled=null",
                ],
            ],
        ),
    );
}

#[test]
fn parity_files_binary_and_helmignore() {
    let Some(world) = World::get() else { return };
    report(
        "filesapp",
        suite(
            &world,
            &data("filesapp"),
            &[
                &[],
                &["--set", "binary=false"],
                &["--set", "glob=config/*.conf"],
                &["--set", "glob=bin/*"],
                &["--set", "glob=docs/*"],
                &["--set", "glob=**.conf"],
                &["--set", "glob={config,docs}/*"],
                &["--set", "binary=true"],
                &["--set", "glob=nothing"],
                &["--set", "linesFile=config/extra.conf"],
                &["--set", "linesFile=missing"],
                &["--set", "glob=config/?pp.*"],
            ],
        ),
    );
}

#[test]
fn parity_schema() {
    let Some(world) = World::get() else { return };
    report(
        "schemaapp",
        suite(
            &world,
            &data("schemaapp"),
            &[
                &[],
                &["--set", "replicas=3", "--set", "mode=safe"],
                &["--set", "replicas=0"],
                &["--set", "replicas=11"],
                &["--set-string", "replicas=3"],
                &["--set", "mode=slow"],
                &["--set", "name=Bad_Name"],
                &["--set", "name=abcdefghijklmnopqrstuvwxyz"],
                &["--set", "ports={a,80}"],
                &["--set", "resources.gpu=1"],
                &["--set", "name=null"],
                &["--set", "debug=yes"],
                &["--set-json", "ports=[]"],
                &["--set-json", "replicas=2.0"],
                &["--set", "probe.port=80"],
                &["--set", "choice=1"],
                &["--set", "choice=7", "--set", "variant=abcd"],
                &["--set", "variant=ab"],
                &["--set", "variant=xyzw"],
                &["--set", "notstr=s"],
                &["--set", "step=7"],
                &["--set", "labels.a=1,labels.b=2,labels.c=3"],
                &["--set-json", "labels={}"],
                &["--set", "level=1"],
                &["--set", "level=x"],
                &["--set", "nick=ab"],
                &["--set", "nick=true"],
                &["--set", "ports={80,80}"],
                &["--set", "probe.path=/healthz", "--set", "probe.port=true"],
                &["--set", "probe.path="],
                &["--set", "tags={a,b,c}"],
                &["--set-json", "weight=1"],
                &[
                    "--set-json",
                    "weight=0.5",
                    "--set",
                    "probe.path=/x",
                    "--set",
                    "probe.port=http",
                ],
            ],
        ),
    );
}

#[test]
fn parity_mutating_merge() {
    let Some(world) = World::get() else { return };
    report(
        "mergeapp",
        suite(
            &world,
            &data("mergeapp"),
            &[
                &[],
                &["--set", "config.level=debug"],
                &["--set", "config.added=user"],
                &["--set", "config.nested.b=9"],
                &["--set", "config.nested=null"],
                &["--set", "list={a,b}"],
                &["--set-json", "list=[]"],
                &["--set", "config.extra.deep=1"],
                &["--set", "config.level=warn"],
                &["--set", "config=null"],
                &["--set", "list=notalist"],
            ],
        ),
    );
}

#[test]
fn parity_hooks_lookup_notes() {
    let Some(world) = World::get() else { return };
    report(
        "hooksapp",
        suite(
            &world,
            &data("hooksapp"),
            &[
                &[],
                &["--set", "migrate=false"],
                &["--set", "weight=-3"],
                &["--set", "password=s3cret"],
                &["--set", "failNotes=true"],
                &["--set", "passwordRequired=true"],
                &["--set", "passwordRequired=true", "--set", "password=x"],
                &["--set", "weight=notanumber"],
                &["--set-string", "migrate=false"],
                &["--set", "migrate=0"],
            ],
        ),
    );
}

#[test]
fn parity_capabilities_and_install_order() {
    let Some(world) = World::get() else { return };
    report(
        "capsapp",
        suite(
            &world,
            &data("capsapp"),
            &[
                &[],
                &["--set", "ingress.enabled=false"],
                &["--set", "pdb=false", "--set", "rbac=false"],
                &["--kube-version", "1.18.0"],
                &["--kube-version", "v1.29.3-gke.1"],
                &["-a", "networking.k8s.io/v1/Ingress"],
                &["-a", "monitoring.coreos.com/v1"],
                &["--kube-version", "1.25.0", "-a", "monitoring.coreos.com/v1"],
                &["--set", "ingress.host=other.example"],
                &["--set", "rbac=false"],
            ],
        ),
    );
}

#[test]
fn parity_nulls_globals_subchart_scoping() {
    let Some(world) = World::get() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("v.yaml");
    std::fs::write(
        &file,
        "resources:\n  limits:\n    cpu: null\nchild:\n  extra:\n    drop: null\n",
    )
    .expect("write");
    let text = dir.path().join("t.txt");
    std::fs::write(&text, "from a file\n").expect("write");
    let file = file.to_string_lossy().into_owned();
    let set_file = format!("image.tag={}", text.display());
    report(
        "nullsapp",
        suite(
            &world,
            &data("nullsapp"),
            &[
                &[],
                &["--set", "resources=null"],
                &["--set", "resources.limits.cpu=null"],
                &["--set", "newkey=null"],
                &["--set", "nodeSelector.a=null"],
                &[
                    "--set-json",
                    "child.port=9",
                    "--set-json",
                    "global.labels={\"tier\":null,\"x\":1}",
                ],
                &["--set", "child.extra.drop=null"],
                &["--set", "global.env=null"],
                &["--set", "nested.gone=1", "--set", "child.extra.nulled=2"],
                &["--set", "unset.a=1", "--set", "nested=null"],
                &["--set", "unset=null", "--set", "nested.gone=null"],
                &["-f", &file],
                &["-f", &file, "--set", "resources.limits.cpu=2"],
                &["--set-file", &set_file],
                &["--set-json", "child.port=9"],
                &["--set", "image.tag=1.0", "--set", "child=null"],
                &["-f", "/nonexistent/values.yaml"],
            ],
        ),
    );
}

#[test]
fn template_render_of_the_helm_create_chart_timing() {
    let Some(world) = World::get() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(world.var("DEVLOOP_WORLD_HELM"))
        .args(["create", "mychart"])
        .arg(dir.path())
        .output()
        .expect("oracle");
    assert!(out.status.success());
    let chart = devloop::helm::chart::Chart::load(dir.path().join("mychart")).expect("loads");
    let inputs = devloop::helm::chart::ValueInputs::default();
    let release = devloop::helm::chart::ReleaseInfo {
        name: "rel".to_owned(),
        namespace: "ns".to_owned(),
        revision: 1,
        is_install: true,
    };
    let caps = devloop::helm::rendered::Capabilities::helm_default();
    let render = || {
        let values = devloop::helm::chart::values::coalesce(&chart, &inputs).expect("values");
        devloop::helm::chart::render(&chart, &values.merged, &release, &caps, None)
            .expect("renders")
    };
    let cold = Instant::now();
    let rendered = render();
    eprintln!(
        "timing: first values + render (templates parsed): {:.2} ms",
        cold.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(rendered.manifests.len(), 3);
    assert_eq!(rendered.hooks.len(), 1);
    assert!(rendered.notes.as_deref().unwrap_or("").contains("rel"));
    let n = 50;
    let started = Instant::now();
    for _ in 0..n {
        render();
    }
    let per = started.elapsed() / n;
    let values = devloop::helm::chart::values::coalesce(&chart, &inputs).expect("values");
    let started = Instant::now();
    for _ in 0..n {
        devloop::helm::chart::render(&chart, &values.merged, &release, &caps, None)
            .expect("renders");
    }
    let render_only = started.elapsed() / n;
    eprintln!(
        "timing: render only: {:.2} ms ({})",
        render_only.as_secs_f64() * 1000.0,
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        }
    );
    eprintln!(
        "timing: values + render of the helm create chart: {:.2} ms per render (mean of {n})",
        per.as_secs_f64() * 1000.0
    );
}

/// Without `--chart`, `devloop template` renders the app's chart with the
/// image `devloop build` would produce: the registry's repository and the
/// content tag of the build context (which follows the app's files).
#[test]
fn template_defaults_to_the_apps_chart_and_content_tagged_image() {
    let mut files: Vec<(String, String)> = vec![
        (
            "devloop.toml".to_owned(),
            "name = \"web\"\nregistry = \"127.0.0.1:5000\"\nvalues = [\"dev.yaml\"]\n".to_owned(),
        ),
        (
            "Dockerfile".to_owned(),
            "FROM busybox:1.37\nCOPY app.sh /app.sh\n".to_owned(),
        ),
        ("app.sh".to_owned(), "echo one\n".to_owned()),
        ("dev.yaml".to_owned(), "replicaCount: 2\n".to_owned()),
    ];
    let chart_root = repo_root().join("templates/chart");
    for entry in [
        "Chart.yaml",
        "values.yaml",
        "templates/_helpers.tpl",
        "templates/deployment.yaml",
        "templates/service.yaml",
        "templates/serviceaccount.yaml",
    ] {
        let text = std::fs::read_to_string(chart_root.join(entry)).expect("the pack chart");
        files.push((format!("chart/{entry}"), text));
    }
    files.push((
        "chart/templates/release.yaml".to_owned(),
        "kind: ConfigMap\ndata:\n  release: {{ .Release.Name }}/{{ .Release.Namespace }}\n"
            .to_owned(),
    ));
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = crate::support::temp_repo("tpl", &borrowed);
    let image = |dir: &Path| {
        let out = run(devloop(dir).args([
            "template",
            "--show-only",
            "chart/templates/deployment.yaml",
            "--show-only",
            "app/templates/deployment.yaml",
        ]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let docs = parse_docs(&out.stdout);
        let deploy = docs
            .iter()
            .find(|d| d.1["kind"] == "Deployment")
            .expect("a Deployment");
        assert_eq!(
            deploy.1["spec"]["replicas"], 2,
            "the app's values files apply"
        );
        assert_eq!(deploy.1["metadata"]["namespace"], Json::Null);
        deploy.1["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .expect("image")
            .to_owned()
    };
    let release = |args: &[&str]| {
        let out = run(devloop(dir.path())
            .arg("template")
            .args(args)
            .args(["--show-only", "app/templates/release.yaml"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        parse_docs(&out.stdout)[0].1["data"]["release"].clone()
    };
    assert_eq!(
        release(&[]),
        "web/web-dev",
        "the app's release name and namespace"
    );
    assert_eq!(release(&["-n", "other", "--name", "x"]), "x/other");
    let first = image(dir.path());
    let (repo, tag) = first
        .split_once("127.0.0.1:5000/web:")
        .expect("registry/name:tag");
    assert!(
        repo.is_empty() && !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{first}"
    );
    assert_eq!(image(dir.path()), first, "the same files give the same tag");
    std::fs::write(dir.path().join("app.sh"), "echo two\n").expect("write");
    assert_ne!(image(dir.path()), first, "a changed file changes the tag");
}

/// Numbers as f64: the oracle hands values over as JSON, so Helm's int64s
/// come back as plain numbers.
fn as_floats(v: &Json) -> Json {
    match v {
        Json::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or_default())
            .map_or(Json::Null, Json::Number),
        Json::Array(a) => Json::Array(a.iter().map(as_floats).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), as_floats(v))).collect()),
        v => v.clone(),
    }
}

/// devloop's `--set` family parser against Helm's own (the oracle's
/// `parse-set`): the same values, or an error where Helm has one.
#[test]
fn set_parser_matches_helms() {
    let Some(world) = World::get() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "line1\nline2\n").expect("write");
    let set_file = format!("cert={}", file.display());
    let cases: &[&[&str]] = &[
        &[
            "--set",
            "a=b,c=1,d=true,e=null,f=007,g=-5,h=+3,i=1.5,j=TRUE",
        ],
        &["--set", "a.b.c=1", "--set", "a.b.d=2"],
        &["--set", "list[0]=a,list[2]=c"],
        &["--set", "list={a,b,c}", "--set", "list[1]=x"],
        &["--set", "a\\.b=1,c=x\\,y"],
        &[
            "--set",
            "nested[0].name=a,nested[0].value=b,nested[1].name=c",
        ],
        &["--set", "m[0][1]=x"],
        &["--set", "empty=", "--set", "e2={}"],
        &["--set", "a=1,a.b=2"],
        &["--set", "a"],
        &["--set", "a=1,"],
        &["--set", "list[-1]=x"],
        &["--set", "list[x]=1"],
        &["--set", "l={a,b"],
        &["--set-string", "a=1,b=true,c=null"],
        &[
            "--set-json",
            "a={\"b\":[1,2,{\"c\":null}]}",
            "--set-json",
            "d=\"s\"",
        ],
        &["--set-json", "a=[1,"],
        &["--set-file", &set_file],
        &[
            "--set",
            "a.b=1",
            "--set-string",
            "a.c=2",
            "--set-json",
            "a.d=3",
        ],
    ];
    let mut failures = Vec::new();
    for args in cases {
        let out = Command::new(world.var("DEVLOOP_WORLD_HELM"))
            .arg("parse-set")
            .args(*args)
            .output()
            .expect("oracle");
        let want: Json = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut inputs = devloop::helm::chart::ValueInputs::default();
        for pair in args.chunks(2) {
            let v = pair[1].to_owned();
            match pair[0] {
                "--set" => inputs.set.push(v),
                "--set-string" => inputs.set_string.push(v),
                "--set-json" => inputs.set_json.push(v),
                _ => inputs.set_file.push(v),
            }
        }
        let ours = inputs.user_values();
        match (want.get("error").and_then(Json::as_str), ours) {
            (Some(_), Err(_)) => {}
            (None, Ok(v)) if as_floats(&v) == as_floats(&want) => {}
            (w, o) => failures.push(format!(
                "{args:?}: Helm {} / devloop {o:?}",
                w.map_or_else(|| want.to_string(), str::to_owned)
            )),
        }
    }
    eprintln!(
        "parity --set parser: {} of {} expressions agree",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
