//! kube-rs (a client nobody here wrote) against the simulator: typed CRUD,
//! error variants, list pagination, watchers across drops and 410s.

use std::time::Duration;

use devloop_sim::{Sim, SimOptions};
use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, ServiceAccount};
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, Config};

async fn client_for(kubeconfig: &str) -> Client {
    let kc = Kubeconfig::from_yaml(kubeconfig).expect("the sim's kubeconfig parses");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube-rs accepts the sim's kubeconfig");
    Client::try_from(config).expect("client")
}

async fn start() -> (Sim, Client) {
    let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
    let client = client_for(&sim.kubeconfig_yaml()).await;
    (sim, client)
}

fn cm(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

fn api_error(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(status) => status,
        other => panic!("expected kube::Error::Api, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_crud_fills_metadata_and_maps_errors() {
    let (sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    let created = cms
        .create(&PostParams::default(), &cm("app", &[("k", "v")]))
        .await
        .expect("create");
    let md = &created.metadata;
    assert!(md.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(md.resource_version.is_some());
    assert!(md.creation_timestamp.is_some());
    let managed = md.managed_fields.as_ref().expect("managedFields");
    assert_eq!(managed[0].operation.as_deref(), Some("Update"));

    let got = cms.get("app").await.expect("get");
    assert_eq!(got.data, created.data);

    let e = api_error(cms.get("missing").await.expect_err("404"));
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert!(e.is_not_found());

    let e = api_error(
        cms.create(&PostParams::default(), &cm("app", &[]))
            .await
            .expect_err("409"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));

    // Update with the current resourceVersion works; with a stale one, 409 Conflict.
    let mut newer = got.clone();
    newer.data = Some([("k".to_owned(), "v2".to_owned())].into());
    let replaced = cms
        .replace("app", &PostParams::default(), &newer)
        .await
        .expect("replace");
    assert_ne!(
        replaced.metadata.resource_version,
        got.metadata.resource_version
    );
    let e = api_error(
        cms.replace("app", &PostParams::default(), &got)
            .await
            .expect_err("stale"),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));

    // Merge and JSON patches.
    let patched = cms
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(
        patched.metadata.labels.as_ref().and_then(|l| l.get("a")),
        Some(&"b".to_owned())
    );

    // Invalid names are 422 Invalid.
    let e = api_error(
        cms.create(&PostParams::default(), &cm("Not_Valid", &[]))
            .await
            .expect_err("422"),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));

    // dryRun=All stores nothing.
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    cms.create(&dry, &cm("dry", &[])).await.expect("dry run");
    assert!(cms.get_opt("dry").await.expect("get_opt").is_none());

    // Delete; a second delete is 404.
    cms.delete("app", &DeleteParams::default())
        .await
        .expect("delete");
    let e = api_error(
        cms.delete("app", &DeleteParams::default())
            .await
            .expect_err("gone"),
    );
    assert_eq!(e.code, 404);

    // Creating in a namespace that does not exist is 404.
    let nowhere: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let e = api_error(
        nowhere
            .create(&PostParams::default(), &cm("x", &[]))
            .await
            .expect_err("no namespace"),
    );
    assert_eq!(e.code, 404);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_401_unauthorized() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim starts");
    let client = client_for(&sim.kubeconfig_with_token("not-the-token")).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let e = api_error(cms.list(&ListParams::default()).await.expect_err("401"));
    assert_eq!((e.code, e.reason.as_str()), (401, "Unauthorized"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_get_defaults_and_the_node_describes_the_machine() {
    let (sim, client) = start().await;
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("team".to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let created = nss
        .create(&PostParams::default(), &ns)
        .await
        .expect("create ns");
    assert_eq!(
        created.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), "team");
    sa.get("default").await.expect("default ServiceAccount");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let root = cms.get("kube-root-ca.crt").await.expect("kube-root-ca.crt");
    assert_eq!(
        root.data.and_then(|d| d.get("ca.crt").cloned()).as_deref(),
        Some(sim.ca_pem())
    );

    let nodes: Api<Node> = Api::all(client);
    let list = nodes.list(&ListParams::default()).await.expect("nodes");
    assert_eq!(list.items.len(), 1);
    let status = list.items[0].status.clone().expect("node status");
    let info = status.node_info.expect("nodeInfo");
    assert!(["amd64", "arm64"].contains(&info.architecture.as_str()));
    assert!(status.capacity.expect("capacity").contains_key("cpu"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paginate_and_expired_continue_tokens_are_410() {
    let (sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..7 {
        cms.create(
            &PostParams::default(),
            &cm(&format!("page-{i}"), &[("i", "x")]),
        )
        .await
        .expect("create");
    }
    let selected = ListParams::default()
        .labels("")
        .fields("metadata.namespace=default");
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut lp = selected.clone().limit(3);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = cms.list(&lp).await.expect("page");
        pages += 1;
        assert!(page.items.len() <= 3);
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        assert!(page.metadata.remaining_item_count.is_some_and(|n| n > 0));
    }
    // 7 + kube-root-ca.crt = 8 objects: 3 pages.
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 8, "{names:?}");

    let first = cms
        .list(&ListParams::default().limit(2))
        .await
        .expect("first page");
    let t = first.metadata.continue_.expect("a continue token");
    cms.create(&PostParams::default(), &cm("later", &[]))
        .await
        .expect("create");
    sim.compact_history();
    let e = api_error(
        cms.list(&ListParams::default().limit(2).continue_token(&t))
            .await
            .expect_err("410"),
    );
    assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));

    // Label selectors filter lists.
    cms.patch(
        "page-3",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {"pick": "me"}}})),
    )
    .await
    .expect("label");
    let picked = cms
        .list(&ListParams::default().labels("pick=me"))
        .await
        .expect("selected");
    assert_eq!(picked.items.len(), 1);
    sim.shutdown().await;
}

/// Waits (bounded) for the watcher to yield an event satisfying `pred`.
async fn wait_for<S>(stream: &mut S, what: &str, pred: impl Fn(&watcher::Event<ConfigMap>) -> bool)
where
    S: futures_util::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        match next {
            Some(Ok(ev)) if pred(&ev) => return,
            Some(_) => {}
            None => panic!("the watcher stream ended while waiting for {what}"),
        }
    }
}

fn applied(ev: &watcher::Event<ConfigMap>, name: &str) -> bool {
    matches!(ev, watcher::Event::Apply(c) | watcher::Event::InitApply(c) if c.metadata.name.as_deref() == Some(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_survive_dropped_connections_and_410() {
    let (sim, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut stream = watcher(cms.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    wait_for(&mut stream, "the initial list", |e| {
        matches!(e, watcher::Event::InitDone)
    })
    .await;

    cms.create(&PostParams::default(), &cm("one", &[]))
        .await
        .expect("create one");
    wait_for(&mut stream, "one", |e| applied(e, "one")).await;

    // The server cuts every connection: the watcher re-watches from its
    // resourceVersion and sees later changes.
    sim.drop_connections();
    cms.create(&PostParams::default(), &cm("two", &[]))
        .await
        .expect("create two");
    wait_for(&mut stream, "two after a dropped connection", |e| {
        applied(e, "two")
    })
    .await;

    // History compacted: the re-watch gets 410 Gone, the watcher re-lists.
    sim.compact_history();
    sim.drop_connections();
    cms.create(&PostParams::default(), &cm("three", &[]))
        .await
        .expect("create three");
    wait_for(&mut stream, "a re-list after 410", |e| {
        matches!(e, watcher::Event::Init)
    })
    .await;
    wait_for(&mut stream, "three after the re-list", |e| {
        applied(e, "three")
    })
    .await;

    cms.delete("three", &DeleteParams::default())
        .await
        .expect("delete");
    wait_for(
        &mut stream,
        "the deletion",
        |e| matches!(e, watcher::Event::Delete(c) if c.metadata.name.as_deref() == Some("three")),
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_watches_see_ordered_events_bookmarks_and_410() {
    use kube::api::{WatchEvent, WatchParams};
    let sim = Sim::start(SimOptions {
        bookmark_interval: Duration::from_millis(200),
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let client = client_for(&sim.kubeconfig_yaml()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let start = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    cms.create(&PostParams::default(), &cm("w", &[]))
        .await
        .expect("create");
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"a": "1"}})),
    )
    .await
    .expect("patch");
    cms.delete("w", &DeleteParams::default())
        .await
        .expect("delete");
    let mut events = cms
        .watch(&WatchParams::default(), &start)
        .await
        .expect("watch")
        .boxed();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("events arrive")
            .expect("stream open")
            .expect("event decodes");
        seen.push(match ev {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(e) => panic!("unexpected error event {e:?}"),
        });
    }
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]);

    sim.compact_history();
    let mut old = cms
        .watch(&WatchParams::default(), &start)
        .await
        .expect("watch")
        .boxed();
    match tokio::time::timeout(Duration::from_secs(10), old.next()).await {
        Ok(Some(Ok(WatchEvent::Error(e)))) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_discovery_finds_builtin_and_chart_kinds() {
    let (sim, client) = start().await;
    let discovery = kube::Discovery::new(client)
        .run()
        .await
        .expect("legacy discovery");
    for (group, kind) in [
        ("apps", "Deployment"),
        ("", "ConfigMap"),
        ("gateway.networking.k8s.io", "HTTPRoute"),
        ("monitoring.coreos.com", "ServiceMonitor"),
    ] {
        let found = discovery
            .get(group)
            .and_then(|g| g.recommended_kind(kind))
            .is_some();
        assert!(found, "{group}/{kind} not discovered");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_subresource_generation_and_owner_garbage_collection() {
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
    let (sim, client) = start().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "busybox:1.37"}]}},
        },
        "status": {"replicas": 99},
    }))
    .expect("deployment");
    let created = deploys
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    // Status is the status subresource's business: ignored on create.
    assert!(created.status.is_none_or(|s| s.replicas.is_none()));
    assert_eq!(created.metadata.generation, Some(1));

    let status = serde_json::json!({"status": {"replicas": 1, "readyReplicas": 1}});
    let with_status = deploys
        .patch_status("web", &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("patch status");
    assert_eq!(
        with_status.status.as_ref().and_then(|s| s.ready_replicas),
        Some(1)
    );
    // A status write does not bump generation; a spec change does, and
    // keeps the status.
    assert_eq!(with_status.metadata.generation, Some(1));
    let scaled = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 3}, "status": {"replicas": 0}})),
        )
        .await
        .expect("scale");
    assert_eq!(scaled.metadata.generation, Some(2));
    assert_eq!(
        scaled.status.and_then(|s: DeploymentStatus| s.replicas),
        Some(1)
    );

    // Dependents named in ownerReferences go when their owner goes.
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let owned: ReplicaSet = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web-1", "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
            "uid": created.metadata.uid, "controller": true,
        }]},
        "spec": {"selector": {"matchLabels": {"app": "web"}}},
    }))
    .expect("replicaset");
    rs.create(&PostParams::default(), &owned)
        .await
        .expect("create rs");
    deploys
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rs.get_opt("web-1").await.expect("get rs").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dependent was not collected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_discovery_is_served_when_asked_for() {
    let (sim, client) = start().await;
    for (path, kind) in [
        ("/apis", "APIGroupDiscoveryList"),
        ("/api", "APIGroupDiscoveryList"),
    ] {
        let req = http::Request::get(path)
            .header(
                "Accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
            )
            .body(Vec::new())
            .expect("request");
        let v: serde_json::Value = client.request(req).await.expect("aggregated discovery");
        assert_eq!(v["kind"], kind);
        assert_eq!(v["apiVersion"], "apidiscovery.k8s.io/v2");
    }
    let req = http::Request::get("/apis")
        .body(Vec::new())
        .expect("request");
    let v: serde_json::Value = client.request(req).await.expect("legacy discovery");
    assert_eq!(v["kind"], "APIGroupList");
    let req = http::Request::get("/openapi/v3/apis/apps/v1")
        .body(Vec::new())
        .expect("request");
    let doc: serde_json::Value = client.request(req).await.expect("openapi");
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "Deployment"
    );
    assert!(
        patch["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    sim.shutdown().await;
}
