//! `devloop init`'s Dockerfiles on the real engine: for every pack whose
//! toolchain is reachable here (python, node, go, html, rust), init scaffolds
//! a sample app, the docker CLI builds the scaffolded Dockerfile (classic
//! builder) against the test world's stand-ins, and the container runs as
//! UID 10001, answers HTTP on the detected port (published on 127.0.0.1) and
//! exits within 2 s of SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::init::init;
use crate::support::{World, repo_root, temp_repo};

/// Longest wait for a fresh container to answer (python/node start in < 1 s here).
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// The bar: a pod stops at once, not after a grace period.
const STOP_WITHIN: Duration = Duration::from_secs(2);

fn docker(world: &World) -> Command {
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_HOST", world.var("DOCKER_HOST"))
        .env("DOCKER_BUILDKIT", "0");
    cmd
}

fn ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().expect("docker CLI runs");
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn http_get(port: u16) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.starts_with("HTTP/").then_some(answer)
}

/// Removes the container and image at the end, also when an assertion fails.
struct Cleanup<'a> {
    world: &'a World,
    container: Option<String>,
    image: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(c) = &self.container {
            let _ = docker(self.world).args(["rm", "-f", c]).output();
        }
        let _ = docker(self.world).args(["rmi", "-f", &self.image]).output();
    }
}

fn build_and_run(pack: &str, files: &[(&str, &str)], port: u16, standins: &[&str]) {
    let Some(world) = World::get() else { return };
    let standin = repo_root().join("tests/world/standin");
    ok(
        Command::new(&standin)
            .args(standins)
            .env("DOCKER_HOST", world.var("DOCKER_HOST")),
        "stand-ins",
    );
    let dir = temp_repo(&format!("e2e-{pack}-"), files);
    let out = init(dir.path(), &["--yes"]);
    assert_eq!(out.code, 0, "{pack}: {}", out.stderr);
    let dockerfile = std::fs::read_to_string(dir.path().join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains(&format!("EXPOSE {port}")),
        "{pack}: {dockerfile}"
    );
    let toml = std::fs::read_to_string(dir.path().join("devloop.toml")).expect("devloop.toml");
    assert!(
        toml.contains(&format!("ports = [{port}]")),
        "{pack}: {toml}"
    );

    let image = format!("devloop-e2e-init-{pack}:{}", std::process::id());
    let mut cleanup = Cleanup {
        world: &world,
        container: None,
        image: image.clone(),
    };
    let started = Instant::now();
    ok(
        docker(&world)
            .args(["build", "-q", "-t", &image])
            .arg(dir.path()),
        &format!("{pack}: build"),
    );
    let built = started.elapsed();
    let started = Instant::now();
    let container = ok(
        docker(&world).args(["run", "-d", "-p", &format!("127.0.0.1::{port}"), &image]),
        &format!("{pack}: run"),
    );
    cleanup.container = Some(container.clone());
    let published = ok(
        docker(&world).args(["port", &container, &format!("{port}/tcp")]),
        "port",
    );
    let host_port: u16 = published
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("a published port");
    let answer = loop {
        if let Some(answer) = http_get(host_port) {
            break answer;
        }
        if started.elapsed() > ANSWER_WITHIN {
            let logs = docker(&world).args(["logs", &container]).output();
            panic!("{pack}: no HTTP answer on {port}: {logs:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let answered = started.elapsed();
    assert!(answer.starts_with("HTTP/1."), "{pack}: {answer}");
    let uid = ok(
        docker(&world).args(["exec", &container, "id", "-u"]),
        "id -u",
    );
    assert_eq!(uid, "10001", "{pack}: runs as the numeric non-root UID");
    let started = Instant::now();
    ok(
        docker(&world).args(["stop", "-t", "10", &container]),
        "stop",
    );
    let stopped = started.elapsed();
    eprintln!(
        "{pack}: built in {:.1}s, answered in {:.2}s, stopped in {:.2}s",
        built.as_secs_f64(),
        answered.as_secs_f64(),
        stopped.as_secs_f64()
    );
    assert!(stopped < STOP_WITHIN, "{pack}: stop took {stopped:?}");
}

#[test]
fn e2e_init_python_builds_runs_and_stops() {
    build_and_run(
        "python",
        &[
            (
                "server.py",
                "import os\nfrom http.server import HTTPServer, BaseHTTPRequestHandler\n\nclass Hello(BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200)\n        self.end_headers()\n        self.wfile.write(b'hello')\n\nif __name__ == '__main__':\n    port = int(os.environ.get('PORT', '8000'))\n    HTTPServer(('0.0.0.0', port), Hello).serve_forever()\n",
            ),
            ("requirements.txt", ""),
        ],
        8000,
        &["python:3.13-slim"],
    );
}

#[test]
fn e2e_init_node_builds_runs_and_stops() {
    build_and_run(
        "node",
        &[
            (
                "package.json",
                "{\n  \"name\": \"hello\",\n  \"version\": \"1.0.0\",\n  \"main\": \"server.js\"\n}\n",
            ),
            (
                "server.js",
                "const http = require('http');\nconst port = process.env.PORT || 3000;\nhttp.createServer((req, res) => res.end('hello')).listen(port);\n",
            ),
        ],
        3000,
        &["node:22-slim"],
    );
}

#[test]
fn e2e_init_go_builds_runs_and_stops() {
    build_and_run(
        "go",
        &[
            ("go.mod", "module example.com/hello\n\ngo 1.19\n"),
            (
                "main.go",
                "package main\n\nimport \"net/http\"\n\nfunc main() {\n\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(\"hello\")) })\n\thttp.ListenAndServe(\":8080\", nil)\n}\n",
            ),
        ],
        8080,
        &["golang:1.24", "debian:bookworm-slim"],
    );
}

#[test]
fn e2e_init_html_builds_runs_and_stops() {
    build_and_run(
        "html",
        &[("index.html", "<!doctype html>\n<h1>hello</h1>\n")],
        8080,
        &["busybox:1.37"],
    );
}

#[test]
fn e2e_init_rust_builds_runs_and_stops() {
    build_and_run(
        "rust",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            (
                "src/main.rs",
                "use std::io::{Read, Write};\nuse std::net::TcpListener;\n\nfn main() {\n    let listener = TcpListener::bind(\"0.0.0.0:8080\").expect(\"bind\");\n    for stream in listener.incoming().flatten() {\n        let mut stream = stream;\n        let mut buf = [0u8; 1024];\n        let _ = stream.read(&mut buf);\n        let _ = stream.write_all(b\"HTTP/1.0 200 OK\\r\\n\\r\\nhello\");\n    }\n}\n",
            ),
        ],
        8080,
        &["rust:1-slim-bookworm", "debian:bookworm-slim"],
    );
}
