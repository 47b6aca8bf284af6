use super::*;

type Case<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<bool>,
    Option<Delivery>,
);

#[test]
#[allow(clippy::too_many_lines, reason = "one table")]
fn delivery_by_cluster_kind_registry_and_flag() {
    use Delivery::{Load, Local, SharedDaemon};
    let push = |r: &str| Some(Delivery::push(r));
    let load = |runtime, c: &str| {
        Some(Load {
            runtime,
            cluster: c.to_owned(),
        })
    };
    // (context, registry, hosting ConfigMap, --push/--no-push) -> delivery (None: error)
    let cases: &[Case] = &[
        (
            Some("kind-dev"),
            None,
            None,
            None,
            load(NodeRuntime::Kind, "dev"),
        ),
        (
            Some("kind-dev"),
            Some("r:5000"),
            None,
            None,
            load(NodeRuntime::Kind, "dev"),
        ),
        (
            Some("kind-dev"),
            None,
            Some("localhost:5001"),
            None,
            push("localhost:5001"),
        ),
        (
            Some("kind-dev"),
            Some("r:5000"),
            Some("localhost:5001"),
            None,
            push("localhost:5001"),
        ),
        (
            Some("kind-dev"),
            None,
            Some("localhost:5001"),
            Some(false),
            load(NodeRuntime::Kind, "dev"),
        ),
        (
            Some("kind-dev"),
            Some("r:5000"),
            None,
            Some(true),
            push("r:5000"),
        ),
        (Some("kind-dev"), None, None, Some(true), None),
        (Some("k3d-x"), None, None, None, load(NodeRuntime::K3d, "x")),
        (
            Some("k3d-x"),
            None,
            Some("k3d-reg:5000"),
            None,
            push("k3d-reg:5000"),
        ),
        (
            Some("minikube"),
            Some("r:5000"),
            None,
            None,
            Some(SharedDaemon),
        ),
        (Some("docker-desktop"), None, None, None, Some(SharedDaemon)),
        (
            Some("rancher-desktop"),
            None,
            None,
            Some(false),
            Some(SharedDaemon),
        ),
        (
            Some("docker-desktop"),
            Some("r:5000"),
            None,
            Some(true),
            push("r:5000"),
        ),
        (
            Some("gke_p_z_c"),
            Some("r:5000"),
            None,
            None,
            push("r:5000"),
        ),
        (Some("gke_p_z_c"), None, None, None, None),
        (
            Some("gke_p_z_c"),
            Some("r:5000"),
            None,
            Some(false),
            Some(Local),
        ),
        (None, None, None, None, Some(Local)),
        (None, Some("r:5000"), None, None, push("r:5000")),
        (None, Some("r:5000"), None, Some(false), Some(Local)),
        (None, None, None, Some(true), None),
        (
            Some("gke_p_z_c"),
            None,
            Some("reg:5000"),
            None,
            push("reg:5000"),
        ),
        (None, None, Some("reg:5000"), None, push("reg:5000")),
        // "kind" alone is not kind's naming (kind-<cluster>).
        (Some("kind"), Some("r:5000"), None, None, push("r:5000")),
    ];
    for (context, registry, hosting, push_flag, want) in cases {
        let hosting = hosting.map(|host| HostingRegistry {
            host: host.to_owned(),
            from_container_runtime: None,
        });
        let got = delivery(DeliveryInputs {
            kube_context: *context,
            registry: *registry,
            hosting_registry: hosting.as_ref(),
            push: *push_flag,
        });
        assert_eq!(
            got.as_ref().ok(),
            want.as_ref(),
            "{context:?} {registry:?} {hosting:?} {push_flag:?}: {got:?}"
        );
        if let Err(err) = got {
            assert!(matches!(err, BuildError::NoRegistry { .. }), "{err}");
        }
    }
}

#[test]
fn loopback_registries_and_hosts() {
    for (r, host, loopback) in [
        ("127.0.0.1:5000", "127.0.0.1:5000", true),
        ("localhost:5000/team", "localhost:5000", true),
        ("localhost", "localhost", true),
        ("ghcr.io/me", "ghcr.io", false),
        (
            "registry.example.com:443",
            "registry.example.com:443",
            false,
        ),
    ] {
        assert_eq!(registry_host(r), host);
        assert_eq!(is_loopback(r), loopback, "{r}");
    }
    assert_eq!(server_key("docker.io/me"), "https://index.docker.io/v1/");
}

fn write_config(dir: &Path, json: &serde_json::Value) {
    std::fs::write(dir.join("config.json"), json.to_string()).expect("write");
}

#[test]
fn credentials_from_auths_with_docker_key_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    // "dXNlcjpzM2NyM3Q=" is user:s3cr3t
    for key in [
        "127.0.0.1:5001",
        "https://127.0.0.1:5001",
        "http://127.0.0.1:5001/v2/",
    ] {
        write_config(
            dir.path(),
            &serde_json::json!({"auths": {key: {"auth": "dXNlcjpzM2NyM3Q="}}}),
        );
        let creds = credentials(dir.path(), "127.0.0.1:5001/team")
            .expect("readable")
            .unwrap_or_else(|| panic!("found under {key}"));
        assert_eq!(creds.username.as_deref(), Some("user"));
        assert_eq!(creds.password.as_deref(), Some("s3cr3t"));
        let shown = format!("{creds:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
    assert_eq!(credentials(dir.path(), "other:5000").expect("ok"), None);
    assert_eq!(
        credentials(&dir.path().join("missing"), "x").expect("ok"),
        None
    );
    std::fs::write(dir.path().join("config.json"), "{not json").expect("write");
    assert!(matches!(
        credentials(dir.path(), "x"),
        Err(BuildError::DockerConfig { .. })
    ));
}

#[test]
fn a_failing_credential_helper_is_named_without_secrets() {
    // Helpers on PATH are exercised end to end in tests/integration/build_push.rs.
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        &serde_json::json!({"credHelpers": {"bad:1": "devloop-missing-helper"}}),
    );
    let err = credentials(dir.path(), "bad:1").expect_err("missing helper");
    assert!(err.to_string().contains("bad:1"), "{err}");
}

#[test]
fn local_registry_hosting_is_parsed_and_pulled_by_the_runtime_name() {
    // The value kind's local-registry guide puts in the ConfigMap.
    let value = "host: \"localhost:5001\"\nhostFromContainerRuntime: \"kind-registry:5000\"\nhostFromClusterNetwork: 'kind-registry:5000'\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n";
    let hosting = HostingRegistry::parse(value).expect("a host");
    assert_eq!(hosting.host, "localhost:5001");
    assert_eq!(
        hosting.from_container_runtime.as_deref(),
        Some("kind-registry:5000")
    );
    let got = delivery(DeliveryInputs {
        kube_context: Some("kind-dev"),
        hosting_registry: Some(&hosting),
        ..DeliveryInputs::default()
    })
    .expect("push");
    assert_eq!(
        got,
        Delivery::Push {
            registry: "localhost:5001".to_owned(),
            pull_from: Some("kind-registry:5000".to_owned()),
        }
    );
    assert_eq!(HostingRegistry::parse("help: x\n"), None);
    assert_eq!(
        HostingRegistry::parse("host: localhost:5000\n").map(|h| h.host),
        Some("localhost:5000".to_owned())
    );
    // A nested `host:` is not the top-level key.
    assert_eq!(HostingRegistry::parse("other:\n  host: x\n"), None);
}
