//! What `devloop init` writes for the chosen apps, decided before anything is
//! touched: every file with its new text, or the reason it is left alone.
//! [`super::writer`] compares with the disk and writes; `--dry-run` prints
//! the same plan.

use std::collections::BTreeSet;
use std::path::Path;

use crate::detect::{self, App};
use crate::pack::{DockerfileRule, Pack};

use super::devloop_toml::{self, Entry};
use super::{chart, dockerfile, launch, vscode};

/// One app as init scaffolds it: what detection found plus what the user
/// chose or init guessed.
pub struct Choice<'a> {
    pub app: &'a App,
    pub pack: &'a Pack,
    pub name: String,
    pub port: u16,
}

/// What happens to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this text (unless the file differs and `--force` was not given).
    Write(String),
    /// Merge devloop's entries into `.vscode/launch.json`.
    Launch(Vec<serde_json::Value>),
    /// Leave it: the reason.
    Keep(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Relative to the repo root, `/`-separated.
    pub path: String,
    pub action: Action,
}

/// Warnings found while planning (no Dockerfile for the pack, no entry point).
pub type Warnings = Vec<String>;

fn join(dir: &str, name: &str) -> String {
    if dir == "." || dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The entry relative to the app directory.
fn app_relative<'a>(app: &App, entry: &'a str) -> &'a str {
    if app.path == "." {
        entry
    } else {
        entry
            .strip_prefix(&app.path)
            .and_then(|e| e.strip_prefix('/'))
            .unwrap_or(entry)
    }
}

/// The files for `choices` in the repo at `root`.
pub fn plan(root: &Path, choices: &[Choice<'_>], force: bool) -> (Vec<Planned>, Warnings) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut entries = Vec::new();
    let mut launch_entries = Vec::new();
    let mut local_ports = BTreeSet::new();
    let mut debug_ports = BTreeSet::new();
    for choice in choices {
        let remote_root = app_files(root, choice, force, &mut out, &mut warnings);
        let mut local = choice.port;
        while !local_ports.insert(local) {
            local = local.saturating_add(1);
        }
        let debug = choice.pack.scaffold.debug.as_ref();
        let debug_port = debug.map(|d| {
            let mut p = d.port;
            while !debug_ports.insert(p) {
                p = p.saturating_add(1);
            }
            p
        });
        if let (Some(debug), Some(port)) = (debug, debug_port) {
            let local_root = if choice.app.path == "." {
                "${workspaceFolder}".to_owned()
            } else {
                format!("${{workspaceFolder}}/{}", choice.app.path)
            };
            match vscode::attach_entry(&vscode::Attach {
                app: &choice.name,
                debugger: &debug.runtime,
                port,
                local_root: &local_root,
                remote_root: &remote_root,
            }) {
                Ok(entry) => launch_entries.push(entry),
                Err(e) => warnings.push(format!("{}: {e}", choice.name)),
            }
        }
        entries.push(Entry {
            name: choice.name.clone(),
            path: choice.app.path.clone(),
            port: (local, choice.port),
            debug_port,
        });
    }
    if !entries.is_empty() {
        out.push(Planned {
            path: "devloop.toml".to_owned(),
            action: Action::Write(devloop_toml::render(&entries)),
        });
    }
    if !launch_entries.is_empty() {
        out.push(Planned {
            path: ".vscode/launch.json".to_owned(),
            action: Action::Launch(launch_entries),
        });
    }
    (out, warnings)
}

/// Plans the app's Dockerfile, .dockerignore and chart; returns the source
/// directory in the container (the WORKDIR of the Dockerfile it will have).
fn app_files(
    root: &Path,
    choice: &Choice<'_>,
    force: bool,
    out: &mut Vec<Planned>,
    warnings: &mut Warnings,
) -> String {
    let app = choice.app;
    let remote_root = dockerfile_files(root, choice, force, out, warnings);
    let chart_dir = join(&app.path, "chart");
    let kept_chart = app
        .kept
        .iter()
        .find(|k| k.path != chart_dir && k.reason.contains("chart"));
    if let Some(kept) = kept_chart {
        out.push(Planned {
            path: kept.path.clone(),
            action: Action::Keep(kept.reason.clone()),
        });
    } else {
        let scaffold = &choice.pack.scaffold;
        let fill = chart::Fill {
            name: &choice.name,
            port: choice.port,
            probe_type: &scaffold.probe.kind,
            probe_path: &scaffold.probe.path,
        };
        for (path, text) in chart::files(&fill) {
            out.push(Planned {
                path: format!("{chart_dir}/{path}"),
                action: Action::Write(text),
            });
        }
    }
    remote_root.unwrap_or_else(|| "/app".to_owned())
}

/// Plans the Dockerfile and .dockerignore; returns the WORKDIR of the
/// Dockerfile the app will have: a kept one, a differing one that is not
/// overwritten, or ours.
fn dockerfile_files(
    root: &Path,
    choice: &Choice<'_>,
    force: bool,
    out: &mut Vec<Planned>,
    warnings: &mut Warnings,
) -> Option<String> {
    let app = choice.app;
    let scaffold = &choice.pack.scaffold;
    let ours = join(&app.path, "Dockerfile");
    let existing = |path: &str| std::fs::read_to_string(root.join(path)).ok();
    let kept = app
        .kept
        .iter()
        .find(|k| k.path != ours && detect::is_dockerfile(k.path.rsplit('/').next().unwrap_or("")));
    if let Some(kept) = kept {
        out.push(Planned {
            path: kept.path.clone(),
            action: Action::Keep(kept.reason.clone()),
        });
        return existing(&kept.path).and_then(|t| dockerfile::workdir(&t));
    }
    let Some(rule) = scaffold.dockerfile_for(app.build_tool.as_deref()) else {
        warnings.push(format!(
            "{}: the {} pack has no Dockerfile yet; write {ours} yourself",
            choice.name, choice.pack.name
        ));
        return existing(&ours).and_then(|t| dockerfile::workdir(&t));
    };
    let filled = fill_dockerfile(choice, rule, warnings, &ours);
    let on_disk = existing(&ours);
    let remote_root = match on_disk {
        Some(text) if !force && text != filled => dockerfile::workdir(&text),
        _ => dockerfile::workdir(&filled),
    };
    out.push(Planned {
        path: ours,
        action: Action::Write(filled),
    });
    if let Some(ignore) = scaffold.file(".dockerignore") {
        out.push(Planned {
            path: join(&app.path, ".dockerignore"),
            action: Action::Write(ignore.to_owned()),
        });
    }
    remote_root
}

/// The pack's Dockerfile for the app: port, CMD and ARG defaults set.
fn fill_dockerfile(
    choice: &Choice<'_>,
    rule: &DockerfileRule,
    warnings: &mut Warnings,
    ours: &str,
) -> String {
    let app = choice.app;
    let scaffold = &choice.pack.scaffold;
    let text = scaffold.file(&rule.file).unwrap_or_default();
    let entry = app.entry.as_deref().map(|e| app_relative(app, e));
    let run = scaffold.run_for(app.framework.as_deref(), app.build_tool.as_deref());
    let needs_entry = run.is_some_and(|r| {
        r.command
            .iter()
            .any(|c| c.contains("{entry}") || c.contains("{module}"))
    });
    if entry.is_none() && needs_entry {
        warnings.push(format!(
            "{}: no entry point found; edit the CMD of {ours}",
            choice.name
        ));
    }
    let entry = entry.unwrap_or("main");
    let module = entry.trim_end_matches(".py").replace('/', ".");
    let package = match entry.rsplit_once('/') {
        Some((dir, _)) => format!("./{dir}"),
        None => ".".to_owned(),
    };
    let port = choice.port.to_string();
    let vars = [
        ("entry", entry),
        ("module", module.as_str()),
        ("package", package.as_str()),
        ("port", port.as_str()),
        ("name", choice.name.as_str()),
    ];
    let command: Vec<String> = run
        .map(|r| {
            r.command
                .iter()
                .map(|c| dockerfile::expand(c, &vars))
                .collect()
        })
        .unwrap_or_default();
    let args = rule
        .args
        .iter()
        .map(|(k, v)| (k.clone(), dockerfile::expand(v, &vars)))
        .collect();
    dockerfile::fill(
        text,
        &dockerfile::Fill {
            port: choice.port,
            command: &command,
            args: &args,
        },
    )
}

/// `.vscode/launch.json`'s new text, given its current text.
pub fn launch_text(
    current: Option<&str>,
    entries: &[serde_json::Value],
) -> Result<String, super::jsonc::SyntaxError> {
    launch::upsert(current.unwrap_or(""), entries)
}
