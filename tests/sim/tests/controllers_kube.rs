//! The controllers and scheduler seen through kube-rs (typed clients
//! nobody here wrote), without a Docker engine: a Deployment gets a
//! `ReplicaSet` and pods bound to the node, a scale goes through, the
//! deployment controller's events and conditions are there, and a pod that
//! cannot fit stays Pending with the scheduler's reason.

use std::time::{Duration, Instant};

use devloop_sim::{Sim, SimOptions};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

async fn client_for(kubeconfig: &str) -> Client {
    let kc = Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn deployments_get_replica_sets_and_scheduled_pods() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
    let client = client_for(&sim.kubeconfig_yaml()).await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}},
        },
    }))
    .expect("deployment");
    deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create");

    let rs = until("a ReplicaSet", async || {
        rss.list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .next()
    })
    .await;
    let hash = rs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .cloned()
        .expect("pod-template-hash");
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(
        rs.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deployment.kubernetes.io/revision"))
            .map(String::as_str),
        Some("1")
    );
    let owner = &rs.metadata.owner_references.as_ref().expect("owned")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Deployment", Some(true))
    );

    // Three pods, bound to the node (no kubelet here: they stay Pending).
    let listed = until("3 scheduled pods", async || {
        let l = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .ok()?;
        let scheduled = l
            .items
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some())
            .count();
        (scheduled == 3).then_some(l.items)
    })
    .await;
    for p in &listed {
        assert!(
            p.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(&format!("web-{hash}-")))
        );
        let status = p.status.as_ref().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Pending"));
        let cond = status
            .conditions
            .as_ref()
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
            .expect("PodScheduled");
        assert_eq!(cond.status, "True");
    }

    // Status: observed, 3 replicas, none available; Progressing.
    let status = until("the deployment's status", async || {
        let d = deploys.get("web").await.ok()?;
        let s = d.status?;
        (s.observed_generation == Some(1) && s.replicas == Some(3)).then_some(s)
    })
    .await;
    assert_eq!(status.updated_replicas, Some(3));
    assert_eq!(status.available_replicas, None);
    let conds = status.conditions.expect("conditions");
    let available = conds
        .iter()
        .find(|c| c.type_ == "Available")
        .expect("Available");
    assert_eq!(
        (available.status.as_str(), available.reason.as_deref()),
        ("False", Some("MinimumReplicasUnavailable"))
    );
    let progressing = conds
        .iter()
        .find(|c| c.type_ == "Progressing")
        .expect("Progressing");
    assert_eq!(progressing.status, "True");

    // Scale down through a patch: the ReplicaSet follows, pods go.
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 1}})),
        )
        .await
        .expect("scale");
    until("one pod left", async || {
        let l = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .ok()?;
        (l.items.len() == 1).then_some(())
    })
    .await;
    let messages: Vec<String> = events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter_map(|e| Some(format!("{}: {}", e.reason?, e.message?)))
        .collect();
    for want in [
        format!("ScalingReplicaSet: Scaled up replica set web-{hash} from 0 to 3"),
        format!("ScalingReplicaSet: Scaled down replica set web-{hash} from 3 to 1"),
        "Scheduled: Successfully assigned default/web-".to_owned(),
        format!("SuccessfulCreate: Created pod: web-{hash}-"),
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(&want)),
            "{want} missing: {messages:#?}"
        );
    }

    // A pod whose requests cannot fit stays Pending, and says why.
    let big: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "big"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.37", "resources": {"requests": {"cpu": "1000"}}}]},
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &big)
        .await
        .expect("create");
    let cond = until("Unschedulable", async || {
        let p = pods.get("big").await.ok()?;
        p.status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    })
    .await;
    assert_eq!(cond.reason.as_deref(), Some("Unschedulable"));
    assert_eq!(
        cond.message.as_deref(),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        )
    );
    sim.shutdown().await;
}
