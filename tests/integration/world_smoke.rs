//! The test world works: a `FROM scratch` busybox image builds through the
//! Docker Engine API, pushes to the plain and the authenticated registry
//! (credentials from a temp `DOCKER_CONFIG`), runs with a port published on
//! 127.0.0.1 and answers HTTP; the Helm oracle renders and lints a chart.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, InspectContainerOptions, PushImageOptionsBuilder,
    RemoveContainerOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

use crate::support::World;

async fn docker(world: &World) -> Docker {
    let host = world.var("DOCKER_HOST");
    Docker::connect_with_unix(host, 300, bollard::API_DEFAULT_VERSION)
        .expect("docker socket")
        .negotiate_version()
        .await
        .expect("the Docker engine answers")
}

/// A build context: a static busybox serving one page with its httpd.
fn context() -> Vec<u8> {
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static is installed by tests/world/up");
    let files: [(&str, &[u8], u32); 3] = [
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nCOPY index.html /www/index.html\nUSER 10001\nEXPOSE 8080\nENTRYPOINT [\"/bin/busybox\"]\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
            0o644,
        ),
        ("busybox", &busybox, 0o755),
        ("index.html", b"hello from the devloop test world\n", 0o644),
    ];
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, name, data).expect("tar entry");
    }
    tar.into_inner().expect("tar")
}

/// Credentials for `registry` from `$DOCKER_CONFIG/config.json` `auths`, as
/// the Docker CLI stores them after `docker login`.
fn credentials_from(docker_config: &Path, registry: &str) -> Option<DockerCredentials> {
    let text = std::fs::read_to_string(docker_config.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let auth = config["auths"][registry]["auth"].as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let (user, pass) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(DockerCredentials {
        username: Some(user.to_owned()),
        password: Some(pass.to_owned()),
        serveraddress: Some(registry.to_owned()),
        ..Default::default()
    })
}

async fn push(
    docker: &Docker,
    repo: &str,
    tag: &str,
    creds: Option<DockerCredentials>,
) -> Result<(), String> {
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = docker.push_image(repo, Some(options), creds);
    while let Some(item) = stream.next().await {
        item.map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    Ok(body)
}

async fn build_busybox(docker: &Docker, tag: &str) {
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .build();
    let mut build = docker.build_image(options, None, Some(bollard::body_full(context().into())));
    while let Some(item) = build.next().await {
        let info = item.expect("the build succeeds");
        assert!(info.error_detail.is_none(), "build error: {info:?}");
    }
}

/// Pushes `local` to the plain and the authenticated registry; the latter
/// refuses an anonymous push and takes the credentials of a temp `DOCKER_CONFIG`.
async fn push_to_both_registries(docker: &Docker, world: &World, local: &str, tag: &str) {
    let plain = world.var("DEVLOOP_WORLD_REGISTRY");
    let authed = world.var("DEVLOOP_WORLD_AUTH_REGISTRY");
    let docker_config = tempfile::tempdir().expect("tempdir");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        world.var("DEVLOOP_WORLD_AUTH_USER"),
        world.var("DEVLOOP_WORLD_AUTH_PASSWORD")
    ));
    std::fs::write(
        docker_config.path().join("config.json"),
        serde_json::json!({"auths": {authed: {"auth": auth}}}).to_string(),
    )
    .expect("config.json");

    for registry in [plain, authed] {
        let repo = format!("{registry}/devloop-smoke");
        let options = TagImageOptionsBuilder::default()
            .repo(&repo)
            .tag(tag)
            .build();
        docker.tag_image(local, Some(options)).await.expect("tag");
        if registry == authed {
            let refused = push(docker, &repo, tag, None).await;
            assert!(
                refused.is_err(),
                "the auth registry refuses an anonymous push"
            );
        }
        let creds = credentials_from(docker_config.path(), registry);
        assert_eq!(creds.is_some(), registry == authed);
        push(docker, &repo, tag, creds)
            .await
            .unwrap_or_else(|e| panic!("push to {registry}: {e}"));
        let catalog = registry_catalog(registry, world);
        assert!(
            catalog.contains("devloop-smoke"),
            "{registry} catalog: {catalog}"
        );
    }
}

/// Runs `image` with 8080 published on 127.0.0.1 and returns the host port.
async fn run_published(docker: &Docker, name: &str, image: &str) -> u16 {
    let host_config = HostConfig {
        port_bindings: Some(HashMap::from([(
            "8080/tcp".to_owned(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_owned()),
                host_port: Some(String::new()),
            }]),
        )])),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        exposed_ports: Some(vec!["8080/tcp".to_owned()]),
        host_config: Some(host_config),
        ..Default::default()
    };
    let options = bollard::query_parameters::CreateContainerOptionsBuilder::default()
        .name(name)
        .build();
    docker
        .create_container(Some(options), body)
        .await
        .expect("create");
    docker.start_container(name, None).await.expect("start");
    let inspect = docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
        .expect("inspect");
    let binding = inspect
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get("8080/tcp").cloned().flatten())
        .and_then(|b| b.into_iter().next())
        .expect("8080 is published");
    assert_eq!(
        binding.host_ip.as_deref(),
        Some("127.0.0.1"),
        "published on loopback only"
    );
    binding.host_port.expect("port").parse().expect("numeric")
}

#[tokio::test]
async fn busybox_builds_pushes_to_both_registries_and_answers() {
    let Some(world) = World::get() else { return };
    let docker = docker(&world).await;
    let tag = format!("smoke-{}", std::process::id());
    let local = format!("devloop-smoke:{tag}");
    build_busybox(&docker, &local).await;
    push_to_both_registries(&docker, &world, &local, &tag).await;

    let name = format!("devloop-smoke-{}", std::process::id());
    let port = run_published(&docker, &name, &local).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        match http_get(port) {
            Ok(body) if body.contains("200 OK") => break body,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "no HTTP answer on 127.0.0.1:{port}: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    docker
        .remove_container(&name, Some(remove))
        .await
        .expect("remove");
    assert!(
        answer.contains("hello from the devloop test world"),
        "{answer}"
    );
}

/// The registry's catalog, asked with the world's credentials where needed.
fn registry_catalog(registry: &str, world: &World) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-fsS", "--max-time", "5"]);
    if registry == world.var("DEVLOOP_WORLD_AUTH_REGISTRY") {
        cmd.arg("-u").arg(format!(
            "{}:{}",
            world.var("DEVLOOP_WORLD_AUTH_USER"),
            world.var("DEVLOOP_WORLD_AUTH_PASSWORD")
        ));
    }
    let out = cmd
        .arg(format!("http://{registry}/v2/_catalog"))
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn helm_oracle_renders_and_lints_a_chart() {
    let Some(world) = World::get() else { return };
    let chart = crate::support::temp_repo(
        "chart",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: smoke\nversion: 0.1.0\nappVersion: \"1.0\"\n",
            ),
            ("values.yaml", "replicaCount: 2\nport: 8080\n"),
            (
                "templates/configmap.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\ndata:\n  replicas: {{ .Values.replicaCount | quote }}\n  port: {{ .Values.port | toString | quote }}\n",
            ),
        ],
    );
    let oracle = world.var("DEVLOOP_WORLD_HELM");
    let out = Command::new(oracle)
        .arg("render")
        .arg(chart.path())
        .args(["--name", "demo", "--set", "replicaCount=3"])
        .output()
        .expect("the oracle runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let manifests = rendered["manifests"].as_object().expect("manifests");
    let (_, text) = manifests
        .iter()
        .find(|(path, _)| path.ends_with("templates/configmap.yaml"))
        .expect("configmap rendered");
    let text = text.as_str().expect("text");
    assert!(text.contains("name: demo-smoke"), "{text}");
    assert!(
        text.contains("replicas: \"3\""),
        "--set wins over values.yaml: {text}"
    );

    let lint = oracle_lint(oracle, chart.path());
    assert_eq!(lint["ok"], true, "{lint}");
    assert_eq!(lint["errors"].as_array().map(Vec::len), Some(0), "{lint}");

    std::fs::write(
        chart.path().join("templates/broken.yaml"),
        "{{ .Values.port | nosuchfunc }}\n",
    )
    .expect("write");
    let lint = oracle_lint(oracle, chart.path());
    assert_eq!(lint["ok"], false, "a broken template fails lint: {lint}");
}

/// Real Helm's lint of a chart directory, as the oracle reports it.
fn oracle_lint(oracle: &str, chart: &Path) -> serde_json::Value {
    let out = Command::new(oracle)
        .arg("lint")
        .arg(chart)
        .output()
        .expect("the oracle runs");
    serde_json::from_slice(&out.stdout).expect("JSON")
}
