//! `devloop build` against the real engine and registries: push to the plain
//! and the authenticated registry (credentials from config.json `auths` and
//! from a `docker-credential-*` helper on PATH), wrong credentials, a second
//! build that does nothing, a failing step, no engine at all.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;

use crate::support::{Run, World, devloop, run, temp_repo};

/// An app whose content is unique to this test run, so no earlier run's
/// image or registry tag makes the first build a no-op.
fn app(name: &str, dockerfile: &str) -> tempfile::TempDir {
    let nonce = format!("{} {:?}", std::process::id(), std::time::SystemTime::now());
    temp_repo(
        name,
        &[
            ("Dockerfile", dockerfile),
            // A fixed app name: devloop's own GC (keep 5) bounds the images
            // these tests leave behind across runs.
            (
                "devloop.toml",
                &format!("name = \"devloop-test-{name}\"\nimage = \"devloop-test-{name}\"\n"),
            ),
            ("nonce.txt", &nonce),
        ],
    )
}

const OK_DOCKERFILE: &str = "FROM busybox:1.37\nCOPY nonce.txt /nonce.txt\nRUN cat /nonce.txt\n";

fn build(dir: &Path, world: &World, docker_config: &Path, args: &[&str]) -> Run {
    run(devloop(dir)
        .arg("build")
        .args(args)
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DOCKER_CONFIG", docker_config))
}

fn auth_b64(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

fn assert_pushed(out: &Run, registry: &str, image: &str) {
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reference = out.stdout.trim();
    assert!(
        reference.starts_with(&format!("{registry}/{image}@sha256:")),
        "{reference}"
    );
    assert_eq!(reference.len(), registry.len() + image.len() + 2 + 7 + 64);
}

#[test]
fn builds_pushes_to_the_plain_registry_and_then_does_nothing() {
    let Some(world) = World::get() else { return };
    let registry = world.var("DEVLOOP_WORLD_REGISTRY");
    let dir = app("plain", OK_DOCKERFILE);
    let config = tempfile::tempdir().expect("tempdir");
    let first = build(dir.path(), &world, config.path(), &["--registry", registry]);
    assert_pushed(&first, registry, "devloop-test-plain");
    for expected in ["Building", "Step 3/", "Built", "Pushing", "Pushed"] {
        assert!(
            first.stderr.contains(expected),
            "{expected}: {}",
            first.stderr
        );
    }
    eprintln!("first build:\n{}", first.stderr);

    let second = build(dir.path(), &world, config.path(), &["--registry", registry]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, first.stdout, "same reference");
    assert!(second.stderr.contains("Fresh"), "{}", second.stderr);
    for absent in ["Building", "Pushing", "Step"] {
        assert!(
            !second.stderr.contains(absent),
            "{absent}: {}",
            second.stderr
        );
    }
    // The registry serves the digest devloop printed.
    let digest = first.stdout.trim().rsplit('@').next().expect("digest");
    let manifest = Command::new("curl")
        .args(["-fsS", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
        .arg("Accept: application/vnd.docker.distribution.manifest.v2+json")
        .arg(format!(
            "http://{registry}/v2/devloop-test-plain/manifests/{digest}"
        ))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&manifest.stdout), "200");

    // A change: only the new layers go; the base layer is already there.
    let changed = format!("changed {:?}", std::time::SystemTime::now());
    std::fs::write(dir.path().join("nonce.txt"), changed).expect("write");
    let third = build(dir.path(), &world, config.path(), &["--registry", registry]);
    assert_pushed(&third, registry, "devloop-test-plain");
    assert_ne!(third.stdout, first.stdout);
    let counts = third
        .stderr
        .split("Pushed ")
        .nth(1)
        .and_then(|s| s.split_once('(').map(|(_, rest)| rest.to_owned()))
        .expect("a Pushed line");
    let numbers: Vec<usize> = counts
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        numbers.len() >= 2 && numbers[0] >= 1 && numbers[1] >= 1,
        "some layers sent, the base layer skipped: {counts}"
    );

    // Without --registry and without a cluster: a local image, repo:tag.
    let local = build(dir.path(), &world, config.path(), &["--no-push"]);
    assert_eq!(local.code, 0, "{}", local.stderr);
    assert!(
        local.stdout.trim().starts_with("devloop-test-plain:"),
        "{}",
        local.stdout
    );
}

#[test]
fn pushes_to_the_auth_registry_with_auths_a_helper_and_a_store() {
    let Some(world) = World::get() else { return };
    let registry = world.var("DEVLOOP_WORLD_AUTH_REGISTRY");
    let user = world.var("DEVLOOP_WORLD_AUTH_USER");
    let pass = world.var("DEVLOOP_WORLD_AUTH_PASSWORD");

    // config.json `auths`, under the URL form `docker login` sometimes writes.
    let dir = app("auths", OK_DOCKERFILE);
    let config = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({"auths": {format!("http://{registry}"): {"auth": auth_b64(user, pass)}}})
            .to_string(),
    )
    .expect("config");
    let out = build(
        dir.path(),
        &world,
        config.path(),
        &["--registry", registry, "--push"],
    );
    assert_pushed(&out, registry, "devloop-test-auths");
    assert!(!out.stderr.contains(pass), "the secret is never printed");

    // A credential helper on PATH, named by `credHelpers`.
    let dir = app("helper", OK_DOCKERFILE);
    let config = tempfile::tempdir().expect("tempdir");
    let bin = config.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let helper = bin.join("docker-credential-devloop-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> \"$0.log\"\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{pass}\"}}' \"$server\"\n"
        ),
    )
    .expect("helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({"credHelpers": {registry: "devloop-test"}}).to_string(),
    )
    .expect("config");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(devloop(dir.path())
        .args(["build", "--registry", registry])
        .env("PATH", &path)
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DOCKER_CONFIG", config.path()));
    assert_pushed(&out, registry, "devloop-test-helper");
    let asked = std::fs::read_to_string(bin.join("docker-credential-devloop-test.log"))
        .expect("the helper was asked");
    assert_eq!(asked.trim().lines().next(), Some(registry));
    assert!(!out.stderr.contains(pass));

    // The same helper as the default store (`credsStore`), as Docker Desktop
    // and `docker-credential-pass` setups write it.
    let dir = app("store", OK_DOCKERFILE);
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({"credsStore": "devloop-test"}).to_string(),
    )
    .expect("config");
    let out = run(devloop(dir.path())
        .args(["build", "--registry", registry])
        .env("PATH", &path)
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DOCKER_CONFIG", config.path()));
    assert_pushed(&out, registry, "devloop-test-store");
    assert!(!out.stderr.contains(pass));
}

#[test]
fn wrong_credentials_name_the_registry_and_hide_the_secret() {
    let Some(world) = World::get() else { return };
    let registry = world.var("DEVLOOP_WORLD_AUTH_REGISTRY");
    let wrong = "not-the-Passw0rd-xyz";
    let dir = app("wrong", OK_DOCKERFILE);
    let config = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({"auths": {registry: {"auth": auth_b64("devloop", wrong)}}}).to_string(),
    )
    .expect("config");
    let out = build(dir.path(), &world, config.path(), &["--registry", registry]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains(registry), "{}", out.stderr);
    assert!(
        out.stderr.contains("refused authentication"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("docker login"), "hint: {}", out.stderr);
    assert!(!out.stderr.contains(wrong), "{}", out.stderr);
    assert!(!out.stderr.contains(&auth_b64("devloop", wrong)));

    // No credentials at all: the push is refused, with the same kind of error.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = build(dir.path(), &world, empty.path(), &["--registry", registry]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("registry {registry} refused authentication")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("no credentials for it in"),
        "{}",
        out.stderr
    );

    // The push failed, so devloop's GC did not run: remove what was built.
    let images = Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .args([
            "images",
            "-q",
            "--filter",
            "label=dev.devloop.app=devloop-test-wrong",
        ])
        .output()
        .expect("docker images");
    for id in String::from_utf8_lossy(&images.stdout).split_whitespace() {
        let _ = Command::new("docker")
            .env("DOCKER_HOST", world.var("DOCKER_HOST"))
            .args(["rmi", "-f", id])
            .output();
    }
}

#[test]
fn a_failing_step_reports_the_step_and_its_last_lines() {
    let Some(world) = World::get() else { return };
    let dir = app(
        "badstep",
        "FROM busybox:1.37\nCOPY nonce.txt /n\nRUN for i in $(seq 1 40); do echo noise-$i; done; echo 'compiler says: missing semicolon' >&2; exit 3\n",
    );
    let config = tempfile::tempdir().expect("tempdir");
    let out = build(dir.path(), &world, config.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let err = out.stderr.split("error:").nth(1).expect("an error line");
    // Step 4/4 is the LABEL the engine appends for devloop's image label.
    assert!(err.contains("Step 3/4 RUN for i in"), "{err}");
    assert!(err.contains("non-zero code: 3"), "{err}");
    assert!(err.contains("compiler says: missing semicolon"), "{err}");
    assert!(err.contains("noise-40"), "{err}");
    assert!(!err.contains("noise-1\n"), "only the last lines: {err}");
    assert!(err.lines().count() < 20, "not a wall of text: {err}");
}

#[test]
fn no_engine_says_where_it_looked() {
    let dir = app("noengine", OK_DOCKERFILE);
    let out = run(devloop(dir.path())
        .arg("build")
        .env("DOCKER_HOST", "unix:///nonexistent/devloop/docker.sock"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("unix:///nonexistent/devloop/docker.sock"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("from DOCKER_HOST"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);

    // tcp, plain and with TLS material that is not there.
    let out = run(devloop(dir.path())
        .arg("build")
        .env("DOCKER_HOST", "tcp://127.0.0.1:1"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("tcp://127.0.0.1:1 (from DOCKER_HOST)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.to_lowercase().contains("refused"),
        "the cause: {}",
        out.stderr
    );
    let out = run(devloop(dir.path())
        .arg("build")
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", "/nonexistent/devloop-certs"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/devloop-certs/"),
        "{}",
        out.stderr
    );

    // The current Docker context of config.json, as the docker CLI picks it.
    let config = tempfile::tempdir().expect("tempdir");
    let id = {
        use std::fmt::Write as _;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(b"ghost");
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let meta = config.path().join("contexts/meta").join(id);
    std::fs::create_dir_all(&meta).expect("mkdir");
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"ghost","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///nonexistent/ghost.sock","SkipTLSVerify":false}}}"#,
    )
    .expect("meta");
    std::fs::write(
        config.path().join("config.json"),
        r#"{"currentContext":"ghost"}"#,
    )
    .expect("config");
    let out = run(devloop(dir.path())
        .arg("build")
        .env("DOCKER_CONFIG", config.path()));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unix:///nonexistent/ghost.sock"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Docker context \"ghost\""),
        "{}",
        out.stderr
    );

    // Nothing set: the default socket, said so.
    let home = tempfile::tempdir().expect("tempdir");
    let out = run(devloop(dir.path())
        .args(["build", "--show-context"])
        .env("HOME", home.path()));
    assert_eq!(
        out.code, 0,
        "--show-context needs no engine: {}",
        out.stderr
    );
}

#[test]
fn old_images_of_the_app_are_removed_beyond_keep_images() {
    let Some(world) = World::get() else { return };
    let name = format!("gc{}", std::process::id());
    let dir = temp_repo(
        "gc",
        &[
            ("Dockerfile", "FROM busybox:1.37\nCOPY n.txt /n.txt\n"),
            (
                "devloop.toml",
                &format!("name = \"{name}\"\nimage = \"devloop-test-gc\"\nkeep_images = 2\n"),
            ),
        ],
    );
    let config = tempfile::tempdir().expect("tempdir");
    // Another project whose app has the same name: its image is not this
    // project's to remove, however old.
    let other = temp_repo(
        "gc-other",
        &[
            ("Dockerfile", "FROM busybox:1.37\nCOPY n.txt /n.txt\n"),
            (
                "devloop.toml",
                &format!("name = \"{name}\"\nimage = \"devloop-test-gc\"\nkeep_images = 2\n"),
            ),
            ("n.txt", &format!("{name} other project")),
        ],
    );
    let out = build(other.path(), &world, config.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let other_image = out.stdout.trim().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut references = Vec::new();
    for round in 0..4 {
        std::fs::write(dir.path().join("n.txt"), format!("{name} {round}")).expect("write");
        let out = build(dir.path(), &world, config.path(), &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        references.push(out.stdout.trim().to_owned());
        // Image creation times have one-second resolution.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let listed = Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .args([
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            "reference=devloop-test-gc",
        ])
        .output()
        .expect("docker images");
    // The label is `<project>/<app>`: this app's images from both projects.
    let mut kept: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|image| {
            let owner = Command::new("docker")
                .env("DOCKER_HOST", world.var("DOCKER_HOST"))
                .args(["image", "inspect", "--format"])
                .arg("{{index .Config.Labels \"dev.devloop.owner\"}}")
                .arg(image)
                .output()
                .expect("docker image inspect");
            String::from_utf8_lossy(&owner.stdout)
                .trim()
                .ends_with(&format!("/{name}"))
        })
        .map(str::to_owned)
        .collect();
    kept.sort();
    let mut newest = references[2..].to_vec();
    newest.push(other_image);
    newest.sort();
    assert_eq!(kept, newest, "the newest two of {references:?}");
    for image in kept {
        let _ = Command::new("docker")
            .env("DOCKER_HOST", world.var("DOCKER_HOST"))
            .args(["rmi", &image])
            .output();
    }
}
