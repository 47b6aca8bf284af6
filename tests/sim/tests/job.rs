//! The Job controller with real clients: `kubectl wait --for=condition=complete`
//! and `--for=condition=failed` on Jobs whose pods the kubelet runs as real
//! containers (`restartPolicy: Never`, `backoffLimit`, labels, deletion of the
//! pods with the Job), and kube-rs's `await_condition(is_job_completed)` on a
//! `restartPolicy: OnFailure` Job whose first run fails.

mod common;

use std::time::{Duration, Instant};

use common::Cluster;

fn job(name: &str, image: &str, script: &str, backoff: u32) -> String {
    format!(
        r"
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  backoffLimit: {backoff}
  template:
    metadata: {{labels: {{app: migrate}}}}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: migrate
        image: {image}
        command: [sh, -c, '{script}']
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_waits_for_complete_and_failed_jobs() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    let t = Instant::now();
    c.apply(&job("ok", &image, "echo migrated", 2));
    c.apply(&job("bad", &image, "echo boom; exit 3", 1));
    let out = c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/ok",
        "--timeout=60s",
    ]);
    assert!(out.contains("job.batch/ok condition met"), "{out}");
    eprintln!("job ok complete in {:?}", t.elapsed());
    let ok = c.json(&["get", "job", "ok"]);
    assert_eq!(ok["status"]["succeeded"], 1, "{ok}");
    assert!(ok["status"].get("active").is_none(), "{ok}");
    assert!(ok["status"]["startTime"].is_string(), "{ok}");
    assert!(ok["status"]["completionTime"].is_string(), "{ok}");
    let pods = c.json(&["get", "pods", "-l", "job-name=ok"]);
    let items = pods["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{pods}");
    assert_eq!(items[0]["status"]["phase"], "Succeeded");
    assert_eq!(items[0]["metadata"]["labels"]["app"], "migrate");
    assert_eq!(
        items[0]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"],
        ok["metadata"]["uid"]
    );
    assert_eq!(items[0]["metadata"]["ownerReferences"][0]["kind"], "Job");

    // backoffLimit 1: the first failure is retried (after the 10 s
    // back-off), the second fails the Job.
    let out = c.ok(&["wait", "--for=condition=failed", "job/bad", "--timeout=60s"]);
    assert!(out.contains("job.batch/bad condition met"), "{out}");
    eprintln!("job bad failed in {:?}", t.elapsed());
    let bad = c.json(&["get", "job", "bad"]);
    assert_eq!(bad["status"]["failed"], 2, "{bad}");
    let failed = bad["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Failed")
        .expect("a Failed condition")
        .clone();
    assert_eq!(failed["status"], "True");
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    let phases = c.ok(&[
        "get",
        "pods",
        "-l",
        "job-name=bad",
        "-o",
        "jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}{\"\\n\"}{end}",
    ]);
    assert_eq!(
        phases.lines().collect::<Vec<_>>(),
        ["Failed 3", "Failed 3"],
        "{phases}"
    );
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=bad",
    ]);
    assert!(events.contains("BackoffLimitExceeded"), "{events}");

    // Deleting the Job deletes its pods (ownerReferences, background GC).
    c.ok(&["delete", "job", "ok"]);
    c.until(
        &["get", "pods", "-l", "job-name=ok", "-o", "name"],
        30,
        |o| o.trim().is_empty(),
    );
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_awaits_an_on_failure_job_that_succeeds_on_its_retry() {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::{Api, PostParams};
    use kube::runtime::wait::{await_condition, conditions};

    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&c.kubeconfig).expect("kubeconfig"),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let jobs: Api<Job> = Api::namespaced(client, "default");
    // The emptyDir outlives the container: the first run fails, the restart
    // in place (OnFailure) succeeds.
    let job: Job = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "retry"},
        "spec": {"backoffLimit": 3, "template": {"spec": {
            "restartPolicy": "OnFailure",
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [{
                "name": "once", "image": image,
                "command": ["sh", "-c", "test -f /data/ran || { touch /data/ran; exit 1; }"],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }],
        }}},
    }))
    .expect("job");
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create");
    let done = await_condition(jobs.clone(), "retry", conditions::is_job_completed());
    tokio::time::timeout(Duration::from_secs(50), done)
        .await
        .expect("the Job completes within 50 s")
        .expect("watch");
    let job = jobs.get("retry").await.expect("get");
    let status = job.status.expect("status");
    assert_eq!(status.succeeded, Some(1));
    // Restarts in place count for backoffLimit, not as failed pods.
    assert_eq!(status.failed, None);
    c.sim.shutdown().await;
}
