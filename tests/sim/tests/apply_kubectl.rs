//! kubectl's apply family (a client nobody here wrote) against the
//! simulator's server-side apply and strategic merge patch: client-side
//! `apply` (three-way strategic merge patch), its migration to
//! `apply --server-side`, conflicts between field managers and
//! `--force-conflicts`, field removal, `diff`.

mod common;

use common::Cluster;
use serde_json::Value;

/// The web Deployment with `replicas`, `image`, env vars and an extra label.
fn deploy(replicas: u32, image: &str, env: &[(&str, &str)], tier: Option<&str>) -> String {
    let env: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{{name: {k}, value: \"{v}\"}}"))
        .collect();
    let tier = tier.map_or_else(String::new, |t| format!(", tier: {t}"));
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: web{tier}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: "{image}"
        ports: [{{containerPort: 8080}}]
        env: [{}]
"#,
        env.join(", ")
    )
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().expect("manager").to_owned(),
                e["operation"].as_str().expect("operation").to_owned(),
            )
        })
        .collect()
}

fn env_names(obj: &Value) -> Vec<String> {
    obj["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| e["name"].as_str().expect("name").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_then_server_side_migrates_ownership() {
    let c = Cluster::without_world().await;
    c.ok_with(
        &["apply", "-f", "-"],
        Some(&deploy(
            1,
            "busybox:1.37",
            &[("A", "1"), ("B", "2")],
            Some("front"),
        )),
    );
    let obj = c.json(&["get", "deploy", "web", "--show-managed-fields"]);
    assert!(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string(),
        "{obj}"
    );
    assert_eq!(
        managers(&obj),
        [("kubectl-client-side-apply".to_owned(), "Update".to_owned())]
    );
    assert_eq!(obj["metadata"]["generation"], 1);

    // Three-way strategic merge patch: B and the tier label leave the
    // manifest, so they leave the object; C merges into the env list by name.
    c.ok_with(
        &["apply", "-f", "-"],
        Some(&deploy(1, "busybox:1.37", &[("A", "1"), ("C", "3")], None)),
    );
    let obj = c.json(&["get", "deploy", "web", "--show-managed-fields"]);
    assert_eq!(env_names(&obj), ["A", "C"], "{obj}");
    assert!(obj["metadata"]["labels"].get("tier").is_none(), "{obj}");
    assert_eq!(obj["metadata"]["generation"], 2);
    // A label-only change leaves the generation alone.
    c.ok(&["label", "deploy", "web", "extra=1"]);
    assert_eq!(
        c.json(&["get", "deploy", "web"])["metadata"]["generation"],
        2
    );

    // Server-side apply of a changed manifest: kubectl migrates the
    // client-side-apply ownership to its `kubectl` Apply manager first, so
    // changing replicas (owned by client-side apply) is no conflict.
    let out = c.ok_with(
        &["apply", "--server-side", "-f", "-"],
        Some(&deploy(2, "busybox:1.37", &[("A", "1"), ("C", "3")], None)),
    );
    assert!(out.contains("serverside-applied"), "{out}");
    let obj = c.json(&["get", "deploy", "web", "--show-managed-fields"]);
    assert_eq!(obj["spec"]["replicas"], 2);
    let ms = managers(&obj);
    assert!(
        ms.contains(&("kubectl".to_owned(), "Apply".to_owned())),
        "{ms:?}"
    );
    assert!(
        !ms.iter().any(|(m, _)| m == "kubectl-client-side-apply"),
        "{ms:?}"
    );
    let apply = obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|e| e["manager"] == "kubectl")
        .expect("kubectl's entry");
    let containers = &apply["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert!(
        containers["k:{\"name\":\"web\"}"]["f:env"]["k:{\"name\":\"C\"}"].is_object(),
        "{apply}"
    );

    // Dropping a field from the server-side applied manifest removes it.
    c.ok_with(
        &["apply", "--server-side", "-f", "-"],
        Some(&deploy(2, "busybox:1.37", &[("A", "1")], None)),
    );
    let obj = c.json(&["get", "deploy", "web", "--show-managed-fields"]);
    assert_eq!(env_names(&obj), ["A"], "{obj}");
    assert_eq!(
        obj["metadata"]["labels"]["extra"], "1",
        "kubectl label's field stays"
    );
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_field_manager_conflicts_until_forced() {
    let c = Cluster::without_world().await;
    c.ok_with(
        &["apply", "--server-side", "-f", "-"],
        Some(&deploy(1, "busybox:1.37", &[("A", "1")], None)),
    );
    let bumped = deploy(3, "busybox:1.37", &[("A", "1")], None);
    let out = c.run_with(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "ops",
            "-f",
            "-",
        ],
        Some(&bumped),
    );
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("conflict with \"kubectl\"") && out.stderr.contains(".spec.replicas"),
        "{}",
        out.stderr
    );
    assert_eq!(c.json(&["get", "deploy", "web"])["spec"]["replicas"], 1);

    c.ok_with(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "ops",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(&bumped),
    );
    let obj = c.json(&["get", "deploy", "web", "--show-managed-fields"]);
    assert_eq!(obj["spec"]["replicas"], 3);
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields");
    let owner = |m: &str| {
        entries
            .iter()
            .find(|e| e["manager"] == m)
            .map(|e| e["fieldsV1"]["f:spec"].get("f:replicas").is_some())
    };
    assert_eq!(owner("ops"), Some(true));
    assert_eq!(owner("kubectl"), Some(false), "{entries:?}");
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_what_apply_would_change() {
    let c = Cluster::without_world().await;
    let first = deploy(1, "busybox:1.37", &[("A", "1")], None);
    c.ok_with(&["apply", "--server-side", "-f", "-"], Some(&first));
    // The Deployment controller annotates the revision and writes status
    // right after the apply: diff against the settled object, as a user would.
    let mut last = serde_json::Value::Null;
    for _ in 0..50 {
        let now = c.json(&["get", "deploy", "web"]);
        let annotated =
            now["metadata"]["annotations"]["deployment.kubernetes.io/revision"].is_string();
        if annotated && now["metadata"]["resourceVersion"] == last["metadata"]["resourceVersion"] {
            break;
        }
        last = now;
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    for mode in [&["diff"][..], &["diff", "--server-side"][..]] {
        let same = c.run_with(&[mode, &["-f", "-"]].concat(), Some(&first));
        assert_eq!(same.code, 0, "{mode:?}: {}\n{}", same.stdout, same.stderr);
        let changed = c.run_with(
            &[mode, &["-f", "-"]].concat(),
            Some(&deploy(1, "busybox:1.36", &[("A", "1")], None)),
        );
        assert_eq!(
            changed.code, 1,
            "{mode:?}: {}\n{}",
            changed.stdout, changed.stderr
        );
        assert!(
            changed.stdout.contains("-        image: busybox:1.37")
                && changed.stdout.contains("+        image: busybox:1.36"),
            "{mode:?}: {}",
            changed.stdout
        );
    }
    // diff is a dry run: nothing changed.
    let obj = c.json(&["get", "deploy", "web", "--show-managed-fields"]);
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:1.37"
    );
    c.sim.shutdown().await;
}

const DIRECTIVES_V1: &str = r"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, finalizers: [example.com/a, example.com/b]}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: web:1}
      - {name: side, image: side:1}
";

const DIRECTIVES_V2: &str = r"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, finalizers: [example.com/b]}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: side, image: side:1}
      - {name: web, image: web:2}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_and_patch_send_strategic_directives() {
    let c = Cluster::without_world().await;
    c.ok_with(&["apply", "-f", "-"], Some(DIRECTIVES_V1));
    // kubectl's three-way patch: `$retainKeys` drops rollingUpdate,
    // `$deleteFromPrimitiveList/finalizers` drops a, `$setElementOrder/containers`
    // reorders, the web container merges by name.
    c.ok_with(&["apply", "-f", "-"], Some(DIRECTIVES_V2));
    let obj = c.json(&["get", "deploy", "web"]);
    assert_eq!(
        obj["spec"]["strategy"],
        serde_json::json!({"type": "Recreate"})
    );
    assert_eq!(
        obj["metadata"]["finalizers"],
        serde_json::json!(["example.com/b"])
    );
    let containers = &obj["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["name"], "side", "{containers}");
    assert_eq!(containers[1]["image"], "web:2", "{containers}");
    // `kubectl patch` (strategic by default) deleting a list item by key.
    c.ok(&[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}"#,
    ]);
    let obj = c.json(&["get", "deploy", "web"]);
    let names: Vec<&str> = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["web"]);
    // The finalizer goes with a JSON patch so the test cluster can delete it.
    c.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_refuse_strategic_merge_patch() {
    let c = Cluster::without_world().await;
    let smon = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: web}\nspec: {selector: {matchLabels: {app: web}}, endpoints: [{port: http}]}\n";
    c.ok_with(&["apply", "-f", "-"], Some(smon));
    // kubectl apply (client-side) sends custom resources a merge patch.
    let changed = smon.replace("port: http", "port: web");
    let out = c.ok_with(&["apply", "-f", "-"], Some(&changed));
    assert!(out.contains("configured"), "{out}");
    // `kubectl patch` defaults to strategic: 415 as on a real cluster.
    let out = c.run_with(
        &[
            "patch",
            "servicemonitor",
            "web",
            "-p",
            r#"{"spec":{"jobLabel":"x"}}"#,
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("accepted media types include: application/apply-patch+yaml"),
        "{}",
        out.stderr
    );
    c.ok(&[
        "patch",
        "servicemonitor",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"jobLabel":"x"}}"#,
    ]);
    let obj = c.json(&["get", "servicemonitor", "web"]);
    assert_eq!(obj["spec"]["jobLabel"], "x");
    assert_eq!(obj["spec"]["endpoints"][0]["port"], "web");
    c.sim.shutdown().await;
}
