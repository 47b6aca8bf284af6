//! `devloop up --debug` end to end: a python app in the simulator under
//! debugpy (injected from devloop's support image), debugged through the
//! forwarded port by a real DAP client, as VS Code would with the
//! configuration `devloop init` wrote to `.vscode/launch.json`.

mod cdp;
mod dap;
mod delve;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, standins};
use crate::support::{World, devloop, temp_repo};
use dap::Dap;

/// The handler line only a request for `/hit` runs (the probes GET `/`).
const HIT_LINE: i64 = 8;

fn python_app(answer: &str) -> String {
    format!(
        "import os\nfrom http.server import ThreadingHTTPServer, BaseHTTPRequestHandler\n\nclass Hello(BaseHTTPRequestHandler):\n    def do_GET(self):\n        answer = '{answer}'\n        if self.path == '/hit':\n            answer = answer + ' hit'\n        self.send_response(200)\n        self.end_headers()\n        self.wfile.write(answer.encode())\n\nif __name__ == '__main__':\n    ThreadingHTTPServer(('0.0.0.0', int(os.environ.get('PORT', '8000'))), Hello).serve_forever()\n"
    )
}

/// A scaffolded python app whose debugger is pinned to a free local port.
fn scaffold(name: &str, answer: &str) -> (tempfile::TempDir, u16) {
    scaffold_files(
        name,
        &[("server.py", &python_app(answer)), ("requirements.txt", "")],
        5678,
    )
}

/// A scaffolded app of `files`; its debugger (`default` port in the
/// container) is pinned to a free local port in devloop.toml and launch.json.
fn scaffold_files(name: &str, files: &[(&str, &str)], default: u16) -> (tempfile::TempDir, u16) {
    let dir = temp_repo(&format!("{name}-"), files);
    let out = crate::support::run(devloop(dir.path()).args(["init", "--yes", "--name", name]));
    assert_eq!(out.code, 0, "init: {}", out.stderr);
    let toml = std::fs::read_to_string(dir.path().join("devloop.toml")).expect("devloop.toml");
    let pinned = format!("[debug]\nport = {default}");
    assert!(toml.contains(&pinned), "{toml}");
    // Tests run in parallel: pin a free port instead of the usual one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let toml = toml.replace(&pinned, &format!("[debug]\nport = {port}"));
    std::fs::write(dir.path().join("devloop.toml"), toml).expect("write devloop.toml");
    // ... and in launch.json, as a user moving the port would.
    let launch = dir.path().join(".vscode/launch.json");
    let text = std::fs::read_to_string(&launch).expect("launch.json");
    let entry = format!("\"port\": {default}");
    assert!(text.contains(&entry), "{text}");
    std::fs::write(&launch, text.replace(&entry, &format!("\"port\": {port}")))
        .expect("write launch.json");
    (dir, port)
}

/// The launch.json entry init wrote: where it connects and its path
/// mapping, with `${workspaceFolder}` as VS Code fills it.
fn launch_entry(dir: &Path) -> (String, Json) {
    let text =
        std::fs::read_to_string(dir.join(".vscode/launch.json")).expect(".vscode/launch.json");
    // launch.json is JSON with comments, as VS Code reads it.
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let launch: Json = serde_json::from_str(&json).expect("launch.json is JSON with comments");
    let entry = launch["configurations"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "debugpy"))
        .cloned()
        .unwrap_or_else(|| panic!("a debugpy entry in {text}"));
    assert_eq!(entry["request"], "attach", "{entry}");
    let folder = dir.to_str().expect("utf-8 path");
    let mapping = entry["pathMappings"][0].clone();
    let connect = format!(
        "{}:{}",
        entry["connect"]["host"].as_str().expect("host"),
        entry["connect"]["port"]
    );
    (
        connect,
        json!({
            "localRoot": mapping["localRoot"].as_str().expect("localRoot").replace("${workspaceFolder}", folder),
            "remoteRoot": mapping["remoteRoot"],
        }),
    )
}

/// A running `devloop up -o json` and its events.
struct Up {
    child: Child,
    events: mpsc::Receiver<Json>,
    seen: Vec<Json>,
}

impl Up {
    fn start(dir: &Path, world: &World, cluster: &Cluster, extra: &[&str]) -> Up {
        let mut child = devloop(dir)
            .args(["up", "-o", "json"])
            .args(extra)
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("DOCKER_HOST", world.var("DOCKER_HOST"))
            .env("DEVLOOP_REGISTRY", world.var("DEVLOOP_WORLD_REGISTRY"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("devloop up starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event: Json = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON event: {line}: {e}"));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Up {
            child,
            events,
            seen: Vec::new(),
        }
    }

    fn next(&mut self, names: &[&str], within: Duration) -> Json {
        self.try_next(names, within)
            .unwrap_or_else(|| panic!("no {names:?} event within {within:?}; saw {:#?}", self.seen))
    }

    fn try_next(&mut self, names: &[&str], within: Duration) -> Option<Json> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.events.recv_timeout(left).ok()?;
            self.seen.push(event.clone());
            if names.iter().any(|n| event["event"] == *n) {
                return Some(event);
            }
        }
    }

    fn finished(&mut self, within: Duration) {
        let done = self.next(&["iteration_finished", "iteration_failed"], within);
        assert_eq!(done["event"], "iteration_finished", "{done}");
    }

    /// Every event seen so far fits docs/events.schema.json.
    fn validate(&self) {
        let schema = crate::events_schema::schema();
        for event in &self.seen {
            let problems = crate::events_schema::problems(&schema, event);
            assert!(problems.is_empty(), "{event}: {problems:?}");
        }
    }

    fn address(&self, event: &str) -> String {
        self.seen
            .iter()
            .find(|e| e["event"] == event)
            .and_then(|e| e["local_address"].as_str())
            .unwrap_or_else(|| panic!("a {event} event in {:#?}", self.seen))
            .to_owned()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` through devloop's forward: the body, or `None`.
fn get(address: &str, path: &str, timeout: Duration) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

fn answers(address: &str, want: &str, within: Duration) -> Result<Duration, Option<String>> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < within {
        last = get(address, "/", Duration::from_secs(5));
        if last.as_deref().is_some_and(|b| b.contains(want)) {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

/// VS Code's attach sequence with the launch.json mapping; `breakpoint`
/// sets one on the handler line of `server.py`.
fn attach(address: &str, mapping: &Json, breakpoint: bool) -> Dap {
    let mut dap = Dap::connect(address, Duration::from_secs(30));
    let attach = dap.send(
        "attach",
        &json!({ "pathMappings": [mapping], "justMyCode": false }),
    );
    dap.event("initialized", Duration::from_secs(20));
    if breakpoint {
        let file = format!("{}/server.py", mapping["localRoot"].as_str().expect("root"));
        let set = dap.request(
            "setBreakpoints",
            &json!({ "source": { "path": file }, "breakpoints": [{ "line": HIT_LINE }] }),
        );
        assert_eq!(set["body"]["breakpoints"][0]["verified"], true, "{set}");
    }
    dap.request("configurationDone", &json!({}));
    dap.wait(
        |m| m["type"] == "response" && m["request_seq"] == attach,
        "attach response",
        Duration::from_secs(20),
    );
    dap
}

/// A request for `/hit` stops at the breakpoint, at `server.py`'s handler
/// line as the editor names it; continuing completes it with `answer`.
fn hit_breakpoint(dap: &mut Dap, app: &str, mapping: &Json, answer: &str) {
    let app = app.to_owned();
    let request = std::thread::spawn(move || get(&app, "/hit", Duration::from_secs(40)));
    let stopped = dap.event("stopped", Duration::from_secs(30));
    assert_eq!(stopped["body"]["reason"], "breakpoint", "{stopped}");
    let thread = stopped["body"]["threadId"].clone();
    let trace = dap.request("stackTrace", &json!({ "threadId": thread, "levels": 1 }));
    let frame = &trace["body"]["stackFrames"][0];
    let file = format!("{}/server.py", mapping["localRoot"].as_str().expect("root"));
    assert_eq!(frame["source"]["path"], json!(file), "{frame}");
    assert_eq!(frame["line"], HIT_LINE, "{frame}");
    assert!(
        !request.is_finished(),
        "the request waits at the breakpoint"
    );
    dap.request("continue", &json!({ "threadId": thread }));
    let body = request.join().expect("join");
    assert_eq!(body.as_deref(), Some(format!("{answer} hit").as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_python_breakpoints_hit_through_the_forward_before_and_after_a_rebuild() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let (dir, port) = scaffold("dbg-py", "v1");
    let (connect, mapping) = launch_entry(dir.path());
    assert_eq!(mapping["remoteRoot"], "/app");
    let mut up =
        tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &["--debug"]));
    let debugger = tokio::task::block_in_place(|| up.next(&["debugger"], Duration::from_secs(30)));
    assert_eq!(debugger["local_address"], format!("127.0.0.1:{port}"));
    assert_eq!(
        (
            &debugger["runtime"],
            &debugger["debugger"],
            &debugger["container_port"]
        ),
        (&json!("python"), &json!("debugpy"), &json!(5678))
    );
    let started = Instant::now();
    tokio::task::block_in_place(|| up.finished(Duration::from_secs(150)));
    eprintln!(
        "first debug deploy: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let app = up.address("forward");
    let debug = up.address("debugger");
    assert_eq!(
        debug, connect,
        "launch.json attaches where devloop forwards"
    );
    tokio::task::block_in_place(|| {
        answers(&app, "v1", Duration::from_secs(30)).expect("v1 answers");
        let mut dap = attach(&debug, &mapping, true);
        hit_breakpoint(&mut dap, &app, &mapping, "v1");
        drop(dap);

        // A rebuild: the same local port attaches to the new pod, and the
        // breakpoint hits in the new code.
        std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
        up.finished(Duration::from_secs(90));
        answers(&app, "v2", Duration::from_secs(30)).expect("v2 answers");
        let started = Instant::now();
        let mut dap = attach(&debug, &mapping, true);
        eprintln!(
            "re-attach after the rebuild: {:.2}s",
            started.elapsed().as_secs_f64()
        );
        hit_breakpoint(&mut dap, &app, &mapping, "v2");
    });
    up.validate();
    // The pod runs the debug shape: one replica, Skaffold's annotation.
    let pods = cluster.ready_pods("dbg-py-dev", "dbg-py").await;
    assert_eq!(pods.len(), 1);
    let annotation = pods[0]
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("debug.cloud.google.com/config"))
        .expect("the debug annotation");
    let annotation: Json = serde_json::from_str(annotation).expect("JSON");
    assert_eq!(annotation["dbg-py"]["ports"]["dap"], 5678, "{annotation}");
    assert_eq!(annotation["dbg-py"]["runtime"], "python", "{annotation}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_wait_for_debugger_holds_start_up_and_rebuilds_wait_while_attached() {
    let Some(world) = World::get() else { return };
    standins(&world, &[PYTHON_STANDIN]);
    let cluster = Cluster::start(&world).await;
    let (dir, _port) = scaffold("dbw-py", "v1");
    let (_, mapping) = launch_entry(dir.path());
    let flags = ["--debug", "--wait-for-debugger", "--hold-while-attached"];
    let mut up = tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &flags));
    tokio::task::block_in_place(|| {
        let debugger = up.next(&["debugger"], Duration::from_secs(30));
        assert_eq!(debugger["waiting"], true, "{debugger}");
        // The rollout succeeds while the app waits for its debugger.
        up.finished(Duration::from_secs(150));
        let app = up.address("forward");
        let debug = up.address("debugger");
        assert_eq!(
            get(&app, "/", Duration::from_secs(3)),
            None,
            "the app must not serve before a debugger attaches"
        );
        let dap = attach(&debug, &mapping, false);
        let took = answers(&app, "v1", Duration::from_secs(30)).expect("v1 after attach");
        eprintln!("attach to first answer: {:.2}s", took.as_secs_f64());

        // A change while attached waits for the debugger to detach.
        std::fs::write(dir.path().join("server.py"), python_app("v2")).expect("edit");
        up.next(&["iteration_started"], Duration::from_secs(20));
        let early = up.try_next(
            &["stage_finished", "iteration_finished"],
            Duration::from_secs(4),
        );
        assert!(early.is_none(), "held while attached, yet: {early:?}");
        assert!(get(&app, "/", Duration::from_secs(5)).is_some_and(|b| b.contains("v1")));
        drop(dap);
        up.finished(Duration::from_secs(90));
        // The new pod waits for the debugger again, on the same local port.
        let _dap = attach(&debug, &mapping, false);
        answers(&app, "v2", Duration::from_secs(30)).expect("v2 after re-attach");
    });
    up.validate();
}

fn node_app(answer: &str) -> String {
    format!(
        "const http = require('http');\nconst port = process.env.PORT || 3000;\nhttp.createServer((req, res) => {{\n  let answer = '{answer}';\n  if (req.url === '/hit') {{\n    answer = answer + ' hit';\n  }}\n  res.end(answer);\n}}).listen(port);\n"
    )
}

/// The line (0-based, as the inspector counts) only `/hit` runs.
const NODE_HIT_LINE: i64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_node_inspector_pauses_at_a_breakpoint_through_the_forward() {
    let Some(world) = World::get() else { return };
    standins(&world, &["node:22-slim"]);
    let cluster = Cluster::start(&world).await;
    let (dir, port) = scaffold_files(
        "dbg-js",
        &[
            (
                "package.json",
                "{\n  \"name\": \"hello\",\n  \"version\": \"1.0.0\",\n  \"main\": \"server.js\"\n}\n",
            ),
            ("server.js", &node_app("node one")),
        ],
        9229,
    );
    let mut up =
        tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &["--debug"]));
    tokio::task::block_in_place(|| {
        let debugger = up.next(&["debugger"], Duration::from_secs(30));
        assert_eq!(debugger["local_address"], format!("127.0.0.1:{port}"));
        assert_eq!(
            (&debugger["runtime"], &debugger["debugger"]),
            (&json!("nodejs"), &json!("node"))
        );
        up.finished(Duration::from_secs(150));
        let app = up.address("forward");
        let debug = up.address("debugger");
        answers(&app, "node one", Duration::from_secs(30)).expect("the app answers");
        let started = Instant::now();
        let targets = loop {
            if let Some(list) = cdp::http_get(&debug, "/json/list") {
                break list;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no /json/list; the pod said {:#?}",
                up.seen
                    .iter()
                    .filter(|e| e["event"] == "log")
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        let targets: Json = serde_json::from_str(&targets).expect("/json/list is JSON");
        let ws = targets[0]["webSocketDebuggerUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("a target in {targets}"));
        let path = ws
            .strip_prefix("ws://")
            .and_then(|r| r.find('/').map(|i| &r[i..]))
            .expect("a ws:// URL");
        let mut cdp = cdp::Cdp::open(&debug, path);
        cdp.call("Debugger.enable", &json!({}));
        let set = cdp.call(
            "Debugger.setBreakpointByUrl",
            &json!({ "url": "file:///app/server.js", "lineNumber": NODE_HIT_LINE }),
        );
        assert!(
            set["locations"].as_array().is_some_and(|l| !l.is_empty()),
            "the breakpoint resolves in the running script: {set}"
        );
        let request = {
            let app = app.clone();
            std::thread::spawn(move || get(&app, "/hit", Duration::from_secs(40)))
        };
        let paused = cdp.wait(
            |m| m["method"] == "Debugger.paused",
            "Debugger.paused",
            Duration::from_secs(30),
        );
        let frame = &paused["params"]["callFrames"][0];
        assert_eq!(frame["location"]["lineNumber"], NODE_HIT_LINE, "{frame}");
        // The breakpoint set by server.js's URL is the one hit, in that script.
        assert_eq!(
            paused["params"]["hitBreakpoints"][0], set["breakpointId"],
            "{paused}"
        );
        assert_eq!(
            frame["location"]["scriptId"],
            set["locations"][0]["scriptId"]
        );
        assert!(
            !request.is_finished(),
            "the request waits at the breakpoint"
        );
        cdp.call("Debugger.resume", &json!({}));
        let body = request.join().expect("join");
        assert_eq!(body.as_deref(), Some("node one hit"));
    });
    up.validate();
}

/// A server on the `net` package alone: `net/http` (and TLS with it)
/// would be compiled from scratch, unoptimised, on every debug build.
fn go_app(answer: &str) -> String {
    r#"package main

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		panic(err)
	}
	for {
		conn, err := ln.Accept()
		if err == nil {
			go serve(conn)
		}
	}
}

func serve(conn net.Conn) {
	defer conn.Close()
	request, _ := bufio.NewReader(conn).ReadString('\n')
	answer := "ANSWER"
	if strings.Contains(request, " /hit ") {
		answer = answer + " hit"
	}
	conn.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: " + strconv.Itoa(len(answer)) + "\r\n\r\n" + answer))
}
"#
    .replace("ANSWER", answer)
}

/// The handler line of `main.go` only `/hit` runs.
const GO_HIT_LINE: i64 = 33;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_go_delve_stops_at_a_breakpoint_through_the_forward() {
    let Some(world) = World::get() else { return };
    standins(&world, &["golang:1.24", "debian:bookworm-slim"]);
    let cluster = Cluster::start(&world).await;
    let (dir, port) = scaffold_files(
        "dbg-go",
        &[
            ("go.mod", "module example.com/hello\n\ngo 1.19\n"),
            ("main.go", &go_app("go one")),
        ],
        2345,
    );
    let mut up =
        tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &["--debug"]));
    tokio::task::block_in_place(|| {
        let debugger = up.next(&["debugger"], Duration::from_secs(30));
        assert_eq!(debugger["local_address"], format!("127.0.0.1:{port}"));
        assert_eq!(
            (&debugger["runtime"], &debugger["debugger"]),
            (&json!("go"), &json!("delve"))
        );
        up.finished(Duration::from_mins(4));
        let app = up.address("forward");
        let debug = up.address("debugger");
        answers(&app, "go one", Duration::from_secs(30)).expect("the app answers");
        let mut dlv = delve::Delve::connect(&debug, Duration::from_secs(30));
        dlv.call("RPCServer.Command", &json!({ "name": "halt" }));
        let set = dlv.call(
            "RPCServer.CreateBreakpoint",
            &json!({ "Breakpoint": { "file": "/src/main.go", "line": GO_HIT_LINE } }),
        );
        assert_eq!(set["Breakpoint"]["line"], GO_HIT_LINE, "{set}");
        let resumed = dlv.send("RPCServer.Command", &json!({ "name": "continue" }));
        let request = {
            let app = app.clone();
            std::thread::spawn(move || get(&app, "/hit", Duration::from_secs(40)))
        };
        let state = dlv.answer(resumed).expect("stopped");
        let thread = &state["State"]["currentThread"];
        assert_eq!(
            (&thread["file"], &thread["line"]),
            (&json!("/src/main.go"), &json!(GO_HIT_LINE)),
            "{state}"
        );
        assert!(
            !request.is_finished(),
            "the request waits at the breakpoint"
        );
        dlv.send("RPCServer.Command", &json!({ "name": "continue" }));
        let body = request.join().expect("join");
        assert_eq!(body.as_deref(), Some("go one hit"));
    });
    up.validate();
}

const JAVA_APP: &str = r#"import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;

public class Main {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/", exchange -> {
            String answer = "java one";
            if (exchange.getRequestURI().getPath().equals("/hit")) {
                answer = answer + " hit";
            }
            byte[] body = answer.getBytes();
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }
}
"#;

/// The user's own Dockerfile: Debian's JDK compiles, no Maven.
const JAVA_DOCKERFILE: &str = r#"FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY Main.java .
RUN javac -g -d /out Main.java
FROM eclipse-temurin:21-jre
COPY --from=build /out /app
WORKDIR /app
USER 10001
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["tini", "--"]
CMD ["java", "-cp", "/app", "Main"]
"#;

/// `Main.java`'s line only `/hit` runs.
const JAVA_HIT_LINE: u32 = 12;

/// jdb's output so far, read as it comes (its prompt ends no line).
struct Jdb {
    child: Child,
    input: std::process::ChildStdin,
    output: mpsc::Receiver<String>,
    text: String,
}

impl Jdb {
    fn attach(address: &str) -> Jdb {
        let mut child = std::process::Command::new("jdb")
            .args(["-attach", address])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jdb runs");
        let input = child.stdin.take().expect("stdin");
        let (tx, output) = mpsc::channel();
        for mut stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0
                        || tx
                            .send(String::from_utf8_lossy(&chunk[..n]).into_owned())
                            .is_err()
                    {
                        break;
                    }
                }
            });
        }
        Jdb {
            child,
            input,
            output,
            text: String::new(),
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.input, "{line}").expect("jdb input");
    }

    /// Waits until jdb has printed `want` (after what was already matched).
    fn expect(&mut self, want: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(i) = self.text.find(want) {
                let seen = self.text[..i + want.len()].to_owned();
                self.text.drain(..i + want.len());
                return seen;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&chunk),
                Err(e) => panic!(
                    "jdb did not print {want:?} within {within:?} ({e}): {}",
                    self.text
                ),
            }
        }
    }
}

impl Drop for Jdb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_debug_jvm_jdb_stops_at_a_breakpoint_through_the_forward_with_the_users_dockerfile() {
    let Some(world) = World::get() else { return };
    standins(
        &world,
        &["maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre"],
    );
    let cluster = Cluster::start(&world).await;
    let pom = "<project><modelVersion>4.0.0</modelVersion><groupId>dev.example</groupId><artifactId>hello</artifactId><version>1</version></project>\n";
    let (dir, port) = scaffold_files(
        "dbg-jvm",
        &[
            ("pom.xml", pom),
            ("Main.java", JAVA_APP),
            ("Dockerfile", JAVA_DOCKERFILE),
        ],
        5005,
    );
    let kept = std::fs::read_to_string(dir.path().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(kept, JAVA_DOCKERFILE, "init keeps the user's Dockerfile");
    let mut up =
        tokio::task::block_in_place(|| Up::start(dir.path(), &world, &cluster, &["--debug"]));
    tokio::task::block_in_place(|| {
        let debugger = up.next(&["debugger"], Duration::from_secs(30));
        assert_eq!(debugger["local_address"], format!("127.0.0.1:{port}"));
        assert_eq!(
            (&debugger["runtime"], &debugger["debugger"]),
            (&json!("jvm"), &json!("jdwp"))
        );
        up.finished(Duration::from_mins(3));
        let app = up.address("forward");
        let debug = up.address("debugger");
        answers(&app, "java one", Duration::from_secs(30)).expect("the app answers");
        let mut jdb = Jdb::attach(&debug);
        jdb.expect("Initializing jdb", Duration::from_secs(30));
        jdb.command(&format!("stop at Main:{JAVA_HIT_LINE}"));
        jdb.expect(
            &format!("Set breakpoint Main:{JAVA_HIT_LINE}"),
            Duration::from_secs(20),
        );
        let request = {
            let app = app.clone();
            std::thread::spawn(move || get(&app, "/hit", Duration::from_secs(40)))
        };
        let hit = jdb.expect(&format!("line={JAVA_HIT_LINE}"), Duration::from_secs(30));
        assert!(
            hit.contains("Breakpoint hit:") && hit.contains("Main.lambda$main$0"),
            "{hit}"
        );
        assert!(
            !request.is_finished(),
            "the request waits at the breakpoint"
        );
        jdb.command("cont");
        let body = request.join().expect("join");
        assert_eq!(body.as_deref(), Some("java one hit"));
    });
    up.validate();
}
