//! The parts of `pack.toml` that `devloop init` scaffolds from: which
//! Dockerfile to write (by build tool), how the app runs, how it runs under
//! the debugger, and how Kubernetes probes it. Rules are tried in order; the
//! first whose filters all match wins (an empty filter matches anything).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[[dockerfile]]`: a Dockerfile of the pack directory for some build tools.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DockerfileRule {
    #[serde(default)]
    pub build_tools: Vec<String>,
    /// The file in the pack's directory (`Dockerfile`, `Dockerfile.poetry`).
    pub file: String,
    /// `ARG` defaults to set, with placeholders (see [`RunRule`]).
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

/// `[[run]]`: the command the image runs (its `CMD`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunRule {
    #[serde(default)]
    pub frameworks: Vec<String>,
    #[serde(default)]
    pub build_tools: Vec<String>,
    /// The command; `{entry}` (the entry file, relative to the app),
    /// `{module}` (the entry as a Python module), `{package}` (the entry's
    /// directory as a Go package, `./cmd/api` or `.`) and `{port}` are
    /// replaced by what was detected.
    pub command: Vec<String>,
}

/// `[debug]`: the debugger runtime of the pack, and how `devloop up --debug`
/// starts the app under it (see `packs/README.md`). Only data: the generic
/// mechanism lives in `crate::debug`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Debug {
    /// The VS Code template in `templates/vscode/` (`debugpy`, `node`, `delve`, `jdwp`).
    pub runtime: String,
    /// The debugger's port in the container, and the default pinned local port.
    pub port: u16,
    /// Skaffold's runtime word in the `debug.cloud.google.com/config`
    /// annotation (`python`, `nodejs`, `go`, `jvm`).
    #[serde(default)]
    pub annotation: String,
    /// The name of the debug container port (`dap`, `devtools`, `dlv`, `jdwp`).
    #[serde(default)]
    pub port_name: String,
    /// Globs on the base name of the program the image runs that the
    /// `command` template applies to; empty: the command is kept.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Programs replaced before matching (a console script by its module:
    /// `flask = ["python", "-m", "flask"]`).
    #[serde(default)]
    pub rewrite: BTreeMap<String, Vec<String>>,
    /// The debug command: `{program}`, `{args}` (the program's arguments,
    /// spliced), `{port}`.
    #[serde(default)]
    pub command: Vec<String>,
    /// The command with `--wait-for-debugger` (default: `command`).
    #[serde(default)]
    pub wait_command: Vec<String>,
    /// Environment for the debug run; `${NAME}` is the variable's value
    /// in the container or image (for lists such as `PYTHONPATH`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment with `--wait-for-debugger` (default: `env`).
    #[serde(default)]
    pub wait_env: BTreeMap<String, String>,
    /// Build args of a debug build (Go: `GCFLAGS = "all=-N -l"`).
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// A Dockerfile of the pack whose image holds the debugger under
    /// `/dbg`; an init container copies it into the pod at `/devloop-debug`.
    #[serde(default)]
    pub support: Option<String>,
}

/// `[probe]`: how the chart's probes check the app.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// `http`, `tcp` or `none`.
    #[serde(rename = "type", default = "http")]
    pub kind: String,
    #[serde(default = "root")]
    pub path: String,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            kind: http(),
            path: root(),
        }
    }
}

fn http() -> String {
    "http".to_owned()
}

fn root() -> String {
    "/".to_owned()
}

/// Everything init needs from one pack.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scaffold {
    pub port: Option<u16>,
    pub dockerfile: Vec<DockerfileRule>,
    pub run: Vec<RunRule>,
    pub debug: Option<Debug>,
    pub probe: Probe,
    /// The pack directory's other files (`Dockerfile*`, `.dockerignore`): name, text.
    #[serde(skip)]
    pub files: Vec<(String, String)>,
}

fn fits(filter: &[String], value: Option<&str>) -> bool {
    filter.is_empty() || value.is_some_and(|v| filter.iter().any(|f| f == v))
}

impl Scaffold {
    /// The Dockerfile rule for `build_tool`, if the pack has one.
    pub fn dockerfile_for(&self, build_tool: Option<&str>) -> Option<&DockerfileRule> {
        self.dockerfile
            .iter()
            .find(|r| fits(&r.build_tools, build_tool))
    }

    /// The run rule for the app.
    pub fn run_for(&self, framework: Option<&str>, build_tool: Option<&str>) -> Option<&RunRule> {
        self.run
            .iter()
            .find(|r| fits(&r.frameworks, framework) && fits(&r.build_tools, build_tool))
    }

    /// The text of a file of the pack's directory.
    pub fn file(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }
}
