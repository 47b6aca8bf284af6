//! `devloop up --debug` end to end: a python app in the simulator under
//! debugpy (injected from devloop's support image), debugged through the
//! forwarded port by a real DAP client, as VS Code would with the
//! configuration `devloop init` wrote to `.vscode/launch.json`.
mod cdp;
mod dap;
mod delve;
mod go;
mod jvm;
mod node;
mod python;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::support::{devloop, temp_repo};

/// A scaffolded app of `files`; its debugger (`default` port in the
/// container) is pinned to a free local port in devloop.toml and launch.json.
pub fn scaffold_files(
    name: &str,
    files: &[(&str, &str)],
    default: u16,
) -> (tempfile::TempDir, u16) {
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
pub fn launch_entry(dir: &Path) -> (String, Json) {
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

pub use crate::up_e2e::{Up, get};

/// `devloop up --debug` in `dir` until the first deploy answers `answer`:
/// the session, the app's and the debugger's local addresses. The debugger
/// is `(runtime, debugger)` on the pinned local `port`. Call inside
/// `block_in_place`.
pub fn debug_session(
    dir: &Path,
    world: &crate::support::World,
    cluster: &crate::cluster::Cluster,
    port: u16,
    (runtime, debugger): (&str, &str),
    deploy_within: Duration,
    answer: &str,
) -> (Up, String, String) {
    let mut up = Up::start(dir, world, cluster, &["--debug"]);
    let event = up.next(&["debugger"], Duration::from_secs(30));
    assert_eq!(event["local_address"], format!("127.0.0.1:{port}"));
    assert_eq!(
        (&event["runtime"], &event["debugger"]),
        (&json!(runtime), &json!(debugger))
    );
    up.finished(deploy_within);
    let app = up.address("forward");
    let debug = up.address("debugger");
    answers(&app, answer, Duration::from_secs(30)).expect("the app answers");
    (up, app, debug)
}

pub fn answers(address: &str, want: &str, within: Duration) -> Result<Duration, Option<String>> {
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
