//! The events `devloop up --output json` prints, one JSON object per line,
//! for editors and scripts. The shape is versioned (`"v"`) and documented
//! in `docs/events.md` with a JSON Schema (`docs/events.schema.json`); a
//! field is only ever added within a version.

use std::path::PathBuf;

use serde::Serialize;

use crate::output::Printer;

/// The version of the event shapes below.
pub const VERSION: u32 = 1;

/// One stage of an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Build,
    Push,
    Render,
    Apply,
    Rollout,
    Sync,
}

impl Stage {
    /// The verb a status line starts with.
    pub fn verb(self) -> &'static str {
        match self {
            Stage::Build => "Built",
            Stage::Push => "Pushed",
            Stage::Render => "Rendered",
            Stage::Apply => "Applied",
            Stage::Rollout => "Ready",
            Stage::Sync => "Synced",
        }
    }
}

/// What an iteration does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The first build and deploy of a session.
    Initial,
    Rebuild,
    Redeploy,
    Sync,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        apps: Vec<String>,
        context: String,
        namespaces: Vec<String>,
    },
    IterationStarted {
        app: String,
        iteration: u64,
        kind: Kind,
        trigger: Vec<PathBuf>,
    },
    StageFinished {
        app: String,
        iteration: u64,
        stage: Stage,
        duration_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    IterationFinished {
        app: String,
        iteration: u64,
        duration_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    },
    IterationFailed {
        app: String,
        iteration: u64,
        duration_ms: u64,
        /// A stable reason code (`build_failed`, `crash_loop`...).
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    IterationCancelled {
        app: String,
        iteration: u64,
        /// The files whose change cancelled it.
        by: Vec<PathBuf>,
    },
    /// A sync could not run or failed; the iteration rebuilds instead.
    SyncFallback {
        app: String,
        iteration: u64,
        /// Why: `image has no tar: sync disabled`, `no image is deployed yet`...
        reason: String,
    },
    /// Restarted containers or new pods got the synced files again.
    Resynced {
        app: String,
        pods: usize,
        files: usize,
        duration_ms: u64,
    },
    Forward {
        app: String,
        name: String,
        container_port: u16,
        local_address: String,
    },
    /// `up --debug`: the app's debugger listens on `local_address`.
    Debugger {
        app: String,
        /// The pack's language runtime (`python`, `nodejs`, `go`, `jvm`).
        runtime: String,
        /// The debugger (`debugpy`, `node`, `delve`, `jdwp`), as launch.json's entry names it.
        debugger: String,
        container_port: u16,
        local_address: String,
        /// `--wait-for-debugger`: the app starts once a debugger attaches.
        waiting: bool,
    },
    /// `up --debug`: a debugger `attached` to the app or `detached`.
    DebuggerConnection {
        app: String,
        state: String,
    },
    Pod {
        app: String,
        pod: String,
        state: String,
    },
    /// A line a container wrote (stdout and stderr).
    Log {
        app: String,
        pod: String,
        container: String,
        line: String,
        /// The pod is from an older rollout or on its way out: these are
        /// its last lines.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        old: bool,
    },
    SessionStopped {
        cleanup: bool,
    },
}

#[derive(Serialize)]
struct Envelope<'a> {
    v: u32,
    ts: String,
    #[serde(flatten)]
    event: &'a Event,
}

/// Prints `event` in JSON mode (with the version and a timestamp).
pub fn emit(printer: &Printer, event: &Event) {
    printer.event(&Envelope {
        v: VERSION,
        ts: k8s_openapi::jiff::Timestamp::now().to_string(),
        event,
    });
}

/// Milliseconds for the events, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
