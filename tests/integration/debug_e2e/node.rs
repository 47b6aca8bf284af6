//! Node under its inspector: `/json/list` and the `WebSocket` through the
//! forward, a breakpoint by URL and line.

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::cdp;
use super::{debug_session, get, scaffold_files};
use crate::cluster::Cluster;
use crate::deploy_e2e::standins;
use crate::support::World;

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
    let (up, app, debug) = tokio::task::block_in_place(|| {
        debug_session(
            dir.path(),
            &world,
            &cluster,
            port,
            ("nodejs", "node"),
            Duration::from_secs(150),
            "node one",
        )
    });
    tokio::task::block_in_place(|| {
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
