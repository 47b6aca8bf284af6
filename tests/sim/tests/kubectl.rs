//! kubectl (a client nobody here wrote) against the simulator: each test
//! starts its own Sim and runs the real `kubectl` with its own HOME and
//! discovery cache.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::Cluster;

const CHART: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "busybox:1.37", ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: Opaque
stringData: {password: hunter2}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules: [{host: web.local, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: t, image: "busybox:1.37"}]}}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: web}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec: {rules: [{backendRefs: [{name: web, port: 80}]}]}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web}
spec: {selector: {matchLabels: {app: web}}, endpoints: [{port: http}]}
"#;

/// The Deployment controller writes `web`'s status: its resourceVersion once
/// no write came for 300 ms.
fn settled_resource_version(c: &Cluster, mut settled: serde_json::Value) -> serde_json::Value {
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(300));
        let now = c.json(&["get", "deployment", "web"])["metadata"]["resourceVersion"].clone();
        if now == settled {
            break;
        }
        settled = now;
    }
    settled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_f_stores_a_whole_chart_and_get_round_trips() {
    let c = Cluster::without_world().await;
    let file = c.dir.path().join("chart.yaml");
    std::fs::write(&file, CHART).expect("write chart");
    let out = c.ok(&["create", "-f", file.to_str().expect("utf-8 path")]);
    for line in [
        "deployment.apps/web created",
        "service/web created",
        "ingress.networking.k8s.io/web created",
        "horizontalpodautoscaler.autoscaling/web created",
        "httproute.gateway.networking.k8s.io/web created",
        "servicemonitor.monitoring.coreos.com/web created",
        "rolebinding.rbac.authorization.k8s.io/reader created",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }

    let deploy = c.json(&["get", "deployment", "web"]);
    let md = &deploy["metadata"];
    assert_eq!(md["uid"].as_str().map(str::len), Some(36));
    assert_eq!(md["generation"], 1);
    assert!(md["resourceVersion"].is_string());
    assert!(md["creationTimestamp"].is_string());
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:1.37"
    );

    let settled = settled_resource_version(&c, md["resourceVersion"].clone());

    // get -o yaml feeds back into replace: nothing changes, generation stays.
    let yaml = c.ok(&["get", "deployment", "web", "-o", "yaml"]);
    c.ok_with(&["replace", "-f", "-"], Some(&yaml));
    let again = c.json(&["get", "deployment", "web"]);
    assert_eq!(again["metadata"]["generation"], 1);
    assert_eq!(again["metadata"]["resourceVersion"], settled);

    // A changed spec bumps generation.
    let bigger = yaml.replace("replicas: 1", "replicas: 2");
    c.ok_with(&["replace", "-f", "-"], Some(&bigger));
    assert_eq!(
        c.json(&["get", "deployment", "web"])["metadata"]["generation"],
        2
    );

    // The scale subresource, and the server's Table columns.
    c.ok(&["scale", "deployment", "web", "--replicas=3"]);
    assert_eq!(c.json(&["get", "deployment", "web"])["spec"]["replicas"], 3);
    let header = c.ok(&["get", "deployment", "web"]);
    assert!(
        header.starts_with("NAME   READY   UP-TO-DATE   AVAILABLE   AGE"),
        "{header}"
    );

    // -o json of a list, and the Table printer.
    let cms = c.json(&["get", "configmaps"]);
    let names: Vec<&str> = cms["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["cfg", "kube-root-ca.crt"]);
    let table = c.ok(&["get", "svc,hpa,smon"]);
    assert!(
        table.contains("NAME") && table.contains("service/web"),
        "{table}"
    );
    // Services get a cluster IP and port defaults, as the real allocators give.
    let svc = c.json(&["get", "service", "web"]);
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "{svc}"
    );
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(
        c.json(&["get", "service", "kubernetes"])["spec"]["clusterIP"],
        "10.96.0.1"
    );
    // Server-side apply: `kubectl scale` owns replicas now, so taking them
    // back is a conflict (as on a real cluster) unless forced.
    let out = c.run(&[
        "apply",
        "--server-side",
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.stderr
            .contains("conflict with \"kubectl\" with subresource \"scale\" using apps/v1 at ")
            && out.stderr.contains(".spec.replicas"),
        "{}",
        out.stderr
    );
    let ssa = c.ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    assert!(ssa.contains("configmap/cfg serverside-applied"), "{ssa}");

    // Client-side apply over created objects, then an unchanged re-apply.
    let apply = c.ok(&["apply", "-f", file.to_str().expect("utf-8 path")]);
    assert!(apply.contains("configmap/cfg configured"), "{apply}");
    let apply = c.ok(&["apply", "-f", file.to_str().expect("utf-8 path")]);
    assert!(apply.contains("configmap/cfg unchanged"), "{apply}");
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_annotate_patch_and_server_errors() {
    let c = Cluster::without_world().await;
    c.ok_with(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: '1'}\n"),
    );
    c.ok(&["label", "configmap", "cfg", "tier=web"]);
    c.ok(&["annotate", "configmap", "cfg", "note=hello"]);
    c.ok(&[
        "patch",
        "configmap",
        "cfg",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ]);
    c.ok(&[
        "patch",
        "configmap",
        "cfg",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/data/a"}]"#,
    ]);
    let cm = c.json(&["get", "configmap", "cfg"]);
    assert_eq!(cm["metadata"]["labels"]["tier"], "web");
    assert_eq!(cm["metadata"]["annotations"]["note"], "hello");
    assert_eq!(cm["data"], serde_json::json!({"b": "2"}));
    assert_eq!(
        c.ok(&["get", "cm", "-l", "tier=web", "-o", "name"]).trim(),
        "configmap/cfg"
    );
    assert_eq!(
        c.ok(&["get", "cm", "-l", "tier=db", "-o", "name"]).trim(),
        ""
    );
    c.ok(&["label", "configmap", "cfg", "tier-"]);
    assert!(
        c.json(&["get", "configmap", "cfg"])["metadata"]["labels"]
            .get("tier")
            .is_none()
    );

    let missing = c.run(&["get", "configmap", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains(r#"Error from server (NotFound): configmaps "nope" not found"#),
        "{}",
        missing.stderr
    );
    let twice = c.run_with(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"),
    );
    assert!(twice.stderr.contains("AlreadyExists"), "{}", twice.stderr);
    let bad_patch = c.run(&[
        "patch",
        "configmap",
        "cfg",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/nope"}]"#,
    ]);
    assert_ne!(bad_patch.code, 0);

    // Server-side field validation: kubectl sends Strict, so a typo fails as
    // on a real cluster; with --validate=warn it warns and the field is dropped.
    let typo =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, label: {a: b}}\ndataa: {x: '1'}\n";
    let strict = c.run_with(&["create", "-f", "-"], Some(typo));
    assert!(
        strict.stderr.contains(
            r#"strict decoding error: unknown field "metadata.label", unknown field "dataa""#
        ),
        "{}",
        strict.stderr
    );
    let warned = c.run_with(&["create", "--validate=warn", "-f", "-"], Some(typo));
    assert_eq!(warned.code, 0, "{}", warned.stderr);
    assert!(
        warned.stderr.contains(r#"Warning: unknown field "dataa""#),
        "{}",
        warned.stderr
    );
    let stored = c.json(&["get", "configmap", "typo"]);
    assert!(stored.get("dataa").is_none() && stored["metadata"].get("label").is_none());

    // Server-side dry run stores nothing.
    let dry = c.ok_with(
        &["create", "--dry-run=server", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\n"),
    );
    assert!(dry.contains("created (server dry run)"), "{dry}");
    assert_eq!(c.run(&["get", "configmap", "dry"]).code, 1);
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_w_shows_changes() {
    use std::io::BufRead as _;
    let c = Cluster::without_world().await;
    let mut watch = c
        .command(
            &c.kubeconfig,
            &["get", "configmaps", "--watch", "--output-watch-events"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w runs");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let next_until = |lines: &mut Vec<String>, want: &str| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no {want:?} from kubectl get -w; got {lines:?}"));
        let done = line.split_whitespace().collect::<Vec<_>>()[..2]
            == *want.split(' ').collect::<Vec<_>>();
        lines.push(line);
        if done {
            break;
        }
    };
    // The initial list arrives before anything changes.
    next_until(&mut lines, "ADDED kube-root-ca.crt");
    c.ok_with(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: live}\n"),
    );
    c.ok(&["label", "configmap", "live", "x=1"]);
    c.ok(&["delete", "configmap", "live"]);
    next_until(&mut lines, "DELETED live");
    watch.kill().expect("stop kubectl get -w");
    let _ = watch.wait();
    let events: Vec<String> = lines
        .iter()
        .skip(1)
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        events,
        [
            "ADDED kube-root-ca.crt",
            "ADDED live",
            "MODIFIED live",
            "DELETED live"
        ],
        "{lines:?}"
    );
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_honours_finalizers_and_namespaces_cascade() {
    let c = Cluster::without_world().await;
    c.ok_with(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n"),
    );
    // Namespaces get what real clusters give them.
    c.ok(&["get", "-n", "team", "serviceaccount", "default"]);
    c.ok(&["get", "-n", "team", "configmap", "kube-root-ca.crt"]);

    c.ok_with(
        &["create", "-n", "team", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n"),
    );
    c.ok(&["delete", "-n", "team", "configmap", "held", "--wait=false"]);
    let held = c.json(&["get", "-n", "team", "configmap", "held"]);
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    c.ok(&[
        "patch",
        "-n",
        "team",
        "configmap",
        "held",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    assert_eq!(c.run(&["get", "-n", "team", "configmap", "held"]).code, 1);

    c.ok_with(
        &["create", "-n", "team", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inside}\n"),
    );
    // kubectl waits until the namespace is gone.
    c.ok(&["delete", "namespace", "team", "--timeout=20s"]);
    let gone = c.run(&["get", "namespace", "team"]);
    assert!(gone.stderr.contains("NotFound"), "{}", gone.stderr);
    assert!(
        c.ok(&["get", "configmaps", "-A", "-o", "name"])
            .lines()
            .all(|l| l != "configmap/inside")
    );
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_and_custom_resource_definitions() {
    let c = Cluster::without_world().await;
    let out = c.ok(&["api-resources"]);
    let has = |name: &str, rest: &str| {
        out.lines().any(|l| {
            l.starts_with(name)
                && l.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .contains(rest)
        })
    };
    assert!(
        has("deployments", "deploy apps/v1 true Deployment"),
        "{out}"
    );
    assert!(has("nodes", "no v1 false Node"), "{out}");
    assert!(
        has("httproutes", "gateway.networking.k8s.io/v1 true HTTPRoute"),
        "{out}"
    );
    assert!(
        has(
            "servicemonitors",
            "smon monitoring.coreos.com/v1 true ServiceMonitor"
        ),
        "{out}"
    );
    assert!(c.ok(&["api-versions"]).lines().any(|l| l == "apps/v1"));
    assert_eq!(
        c.ok(&["auth", "can-i", "create", "deployments"]).trim(),
        "yes"
    );
    assert!(c.ok(&["auth", "whoami"]).contains("devloop-sim"));

    c.ok_with(
        &["create", "-f", "-"],
        Some(
            r"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
",
        ),
    );
    c.ok(&[
        "wait",
        "--for",
        "condition=established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    c.ok_with(
        &["create", "-f", "-"],
        Some("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n"),
    );
    assert_eq!(
        c.ok(&["get", "wd", "-o", "name"]).trim(),
        "widget.example.com/w1"
    );
    let w = c.json(&["get", "widget", "w1"]);
    assert_eq!(w["spec"]["size"], 3);
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_fails_clearly() {
    let c = Cluster::without_world().await;
    let bad = c.dir.path().join("bad-kubeconfig");
    std::fs::write(&bad, c.sim.kubeconfig_with_token("wrong-token")).expect("write");
    let out = c
        .command(&bad, &["get", "pods"])
        .output()
        .expect("kubectl runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: You must be logged in to the server"),
        "{stderr}"
    );
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_create_commands_send_protobuf_and_work() {
    let c = Cluster::without_world().await;
    c.ok(&["create", "namespace", "demo"]);
    c.ok(&[
        "create",
        "-n",
        "demo",
        "configmap",
        "lit",
        "--from-literal=a=1",
    ]);
    c.ok(&[
        "create",
        "-n",
        "demo",
        "secret",
        "generic",
        "creds",
        "--from-literal=password=x",
    ]);
    c.ok(&["create", "-n", "demo", "serviceaccount", "bot"]);
    assert_eq!(
        c.json(&["get", "-n", "demo", "configmap", "lit"])["data"]["a"],
        "1"
    );
    let secret = c.json(&["get", "-n", "demo", "secret", "creds"]);
    assert_eq!(secret["data"]["password"], "eA==");
    assert_eq!(secret["type"], "Opaque");
    c.ok(&["get", "-n", "demo", "serviceaccount", "default"]);
    c.ok(&[
        "create",
        "-n",
        "demo",
        "deployment",
        "d",
        "--image=busybox:1.37",
        "--replicas=2",
        "--port=80",
    ]);
    let d = c.json(&["get", "-n", "demo", "deployment", "d"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "d");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
    c.ok(&[
        "expose",
        "-n",
        "demo",
        "deployment",
        "d",
        "--port=80",
        "--target-port=8080",
    ]);
    let svc = c.json(&["get", "-n", "demo", "service", "d"]);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(svc["spec"]["selector"]["app"], "d");
    c.ok(&[
        "create",
        "-n",
        "demo",
        "job",
        "j",
        "--image=busybox:1.37",
        "--",
        "echo",
        "hi",
    ]);
    let job = c.json(&["get", "-n", "demo", "job", "j"]);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["echo", "hi"])
    );
    c.ok(&[
        "run",
        "-n",
        "demo",
        "p",
        "--image=busybox:1.37",
        "--",
        "sleep",
        "1",
    ]);
    // Kinds whose protobuf is not decoded fail clearly, not silently.
    let cron = c.run(&[
        "create",
        "-n",
        "demo",
        "cronjob",
        "c",
        "--image=busybox:1.37",
        "--schedule=* * * * *",
    ]);
    assert!(cron.stderr.contains("send JSON"), "{}", cron.stderr);
    c.sim.shutdown().await;
}
