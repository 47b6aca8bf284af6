//! Loading into a kind-style node without the kind binary: a node container
//! built from Debian's `containerd` package, labelled as kind labels its
//! nodes, running `containerd`. devloop must find it by label (and leave a
//! node of another cluster alone), stream `docker save` into
//! `ctr -n k8s.io images import` through an exec, and the image must then be
//! listed by containerd under its name, with the image's config digest.
//!
//! Containers cannot be privileged here, so unpacking a layer (a mount) fails
//! after the image is stored; devloop keeps kind's unpacking import for real
//! nodes, and this test accepts exactly that mount error and nothing else.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::{World, devloop, run, temp_repo};

const NODE_IMAGE: &str = "devloop-test/kind-node:bookworm-1";
const NODE_DOCKERFILE: &str = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends containerd && rm -rf /var/lib/apt/lists/*\nCMD [\"containerd\"]\n";

fn docker(world: &World, args: &[&str]) -> Output {
    Command::new("docker")
        .env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DOCKER_BUILDKIT", "0")
        .args(args)
        .output()
        .expect("docker CLI runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The node image, built once per machine (about 25 s) and reused by tag.
fn node_image(world: &World) {
    if docker(world, &["image", "inspect", NODE_IMAGE])
        .status
        .success()
    {
        return;
    }
    let dir = temp_repo("kind-node", &[("Dockerfile", NODE_DOCKERFILE)]);
    let path = dir.path().to_string_lossy().into_owned();
    let built = docker(world, &["build", "-q", "-t", NODE_IMAGE, &path]);
    assert!(built.status.success(), "node image: {}", text(&built));
}

/// Starts a node container of `cluster`; removed on drop.
struct Node<'w> {
    world: &'w World,
    name: String,
}

impl<'w> Node<'w> {
    fn start(world: &'w World, name: &str, cluster: &str) -> Node<'w> {
        let label = format!("io.x-k8s.kind.cluster={cluster}");
        let _ = docker(world, &["rm", "-f", name]);
        let out = docker(
            world,
            &["run", "-d", "--name", name, "--label", &label, NODE_IMAGE],
        );
        assert!(out.status.success(), "{}", text(&out));
        let node = Node {
            world,
            name: name.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !node.ctr(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "containerd did not start in {name}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        node
    }

    fn ctr(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", self.name.as_str(), "ctr", "--namespace=k8s.io"];
        all.extend_from_slice(args);
        docker(self.world, &all)
    }

    fn images(&self) -> String {
        let out = self.ctr(&["images", "ls"]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Node<'_> {
    fn drop(&mut self) {
        let _ = docker(self.world, &["rm", "-f", &self.name]);
    }
}

#[test]
fn loads_into_a_kind_node_found_by_label_through_exec() {
    let Some(world) = World::get() else { return };
    node_image(&world);
    let id = std::process::id();
    let cluster = format!("dl{id}");
    let node = Node::start(
        &world,
        &format!("devloop-test-{cluster}-control-plane"),
        &cluster,
    );
    let other = Node::start(
        &world,
        &format!("devloop-test-other{id}-control-plane"),
        &format!("other{id}"),
    );

    let nonce = format!("{id} {:?}", std::time::SystemTime::now());
    let app = temp_repo(
        "load",
        &[
            (
                "Dockerfile",
                "FROM busybox:1.37\nCOPY nonce.txt /nonce.txt\n",
            ),
            (
                "devloop.toml",
                "name = \"devloop-test-load\"\nimage = \"devloop-test-load\"\n",
            ),
            ("nonce.txt", &nonce),
        ],
    );
    let context = format!("kind-{cluster}");
    let out = run(devloop(app.path())
        .args(["build", "--context", &context])
        .env("DOCKER_HOST", world.var("DOCKER_HOST")));
    let local = out
        .stderr
        .split("Loading ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("devloop loads: {}", out.stderr))
        .to_owned();
    assert!(
        out.stderr.contains(&format!("into node {}", node.name)),
        "{}",
        out.stderr
    );
    if out.code == 0 {
        // A node that may mount (a real kind node): the reference is repo:tag.
        assert_eq!(out.stdout.trim(), local);
    } else {
        // Only this sandbox's refusal to mount is acceptable.
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("failed to mount")
                && out.stderr.contains("operation not permitted"),
            "only the sandbox's mount error is accepted: {}",
            out.stderr
        );
    }

    let listed = node.images();
    let name = format!("docker.io/library/{local}");
    let line = listed
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))
        .unwrap_or_else(|| panic!("{name} in ctr images ls:\n{listed}"));
    let manifest = line
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .expect("manifest digest");
    // The image's config digest (docker's image ID) is what the manifest points at.
    let inspect = docker(&world, &["image", "inspect", "-f", "{{.Id}}", &local]);
    let image_id = String::from_utf8_lossy(&inspect.stdout).trim().to_owned();
    let manifest_json = node.ctr(&["content", "get", manifest]);
    assert!(
        String::from_utf8_lossy(&manifest_json.stdout).contains(&image_id),
        "manifest {manifest} references config {image_id}: {}",
        text(&manifest_json)
    );
    assert!(
        !other.images().contains(&local),
        "a node of another cluster is left alone"
    );
    eprintln!(
        "{}\n{line}",
        out.stderr.lines().take(8).collect::<Vec<_>>().join("\n")
    );

    let _ = docker(&world, &["rmi", &local]);
}

#[test]
fn a_kind_context_without_nodes_is_an_infrastructure_error() {
    let Some(world) = World::get() else { return };
    let app = temp_repo(
        "nonodes",
        &[
            ("Dockerfile", "FROM busybox:1.37\n"),
            ("devloop.toml", "image = \"devloop-test-nonodes\"\n"),
        ],
    );
    let out = run(devloop(app.path())
        .args(["build", "--context", "kind-devloop-no-such-cluster"])
        .env("DOCKER_HOST", world.var("DOCKER_HOST")));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("no node containers of cluster `devloop-no-such-cluster`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("io.x-k8s.kind.cluster=devloop-no-such-cluster")
    );
}
