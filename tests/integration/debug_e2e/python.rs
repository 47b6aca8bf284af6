//! Python under debugpy: VS Code's DAP attach with launch.json's mapping,
//! breakpoints before and after a rebuild, `--wait-for-debugger` and
//! `--hold-while-attached`.

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::dap::Dap;
use super::{Up, answers, get, launch_entry, scaffold_files};
use crate::cluster::Cluster;
use crate::deploy_e2e::{PYTHON_STANDIN, standins};
use crate::support::World;

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
        // Each attach and the detach between them were told.
        let states = |seen: &[Json]| -> Vec<String> {
            seen.iter()
                .filter(|e| e["event"] == "debugger_connection")
                .map(|e| e["state"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        while states(&up.seen).len() < 3 {
            up.next(&["debugger_connection"], Duration::from_secs(10));
        }
        assert_eq!(states(&up.seen), ["attached", "detached", "attached"]);
    });
    up.validate();
}
