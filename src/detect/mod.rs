//! `devloop init`'s first half: what the apps of a repo are. Walks the repo
//! ([`tree`]), finds the app directories ([`apps`]), judges each with the
//! packs' `[detect]` signals ([`analyze`]) and plans the files `init` would
//! write or keep. Pure and fast: nothing is written, files are read once and
//! only in part. Writing the files is [`crate::cli`]'s `init`, next issue.

mod analyze;
mod apps;
mod compose;
#[cfg(test)]
mod tests;
pub mod tree;
pub mod vocabulary;

use std::path::Path;

use serde::Serialize;

pub use analyze::Evidence;
use tree::Tree;

use crate::config::names::release_name;
use crate::error::{Error, Result};
use crate::pack::{self, Pack, PortSource};

/// What `devloop init --dry-run` reports: every app found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub apps: Vec<App>,
}

/// One app: what it is, why devloop thinks so, and what init would do.
#[derive(Debug, Serialize)]
pub struct App {
    /// The app directory relative to the repo root (`.` for the root).
    pub path: String,
    /// The directory's name as a release name.
    pub name: String,
    pub language: Option<String>,
    pub build_tool: Option<String>,
    pub framework: Option<String>,
    /// The entry point, relative to the repo root.
    pub entry: Option<String>,
    pub port: Option<u16>,
    pub port_source: PortSource,
    pub evidence: Vec<Evidence>,
    /// Files init would write, relative to the repo root.
    pub files: Vec<String>,
    /// Files that exist and that init keeps as they are.
    pub kept: Vec<Kept>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub path: String,
    pub reason: String,
}

/// Detects the apps of the repo at `root`.
pub fn detect(root: &Path) -> Result<Report> {
    let packs = pack::embedded().map_err(|e| Error::Internal(e.to_string()))?;
    Ok(detect_with(root, packs))
}

/// Detects the apps of the repo at `root` with `packs` (user packs included).
pub fn detect_with(root: &Path, packs: &[Pack]) -> Report {
    let skip: Vec<&str> = packs
        .iter()
        .flat_map(|p| p.detect.skip_dirs.iter().map(String::as_str))
        .collect();
    let tree = Tree::walk(root, &skip);
    let root_name = root
        .file_name()
        .map_or_else(|| "app".to_owned(), |n| n.to_string_lossy().into_owned());
    detect_tree(&tree, packs, &root_name)
}

/// Detects the apps of `tree`; `root_name` names an app at the root.
pub fn detect_tree(tree: &Tree, packs: &[Pack], root_name: &str) -> Report {
    let services = compose::services(tree);
    let apps = apps::find(tree, packs, &services)
        .into_iter()
        .map(|found| {
            let a = found.analysis;
            let dir = found.dir;
            let name = if dir.is_empty() {
                root_name
            } else {
                tree::file_name(&dir)
            };
            let (files, kept) = plan(tree, &dir, &found.files);
            App {
                path: if dir.is_empty() {
                    ".".to_owned()
                } else {
                    dir.clone()
                },
                name: release_name(name),
                language: a.language,
                build_tool: a.build_tool,
                framework: a.framework,
                entry: a.entry,
                port: a.port,
                port_source: a.port_source.unwrap_or(PortSource::None),
                evidence: a.evidence,
                files,
                kept,
            }
        })
        .collect();
    Report { apps }
}

/// A Dockerfile by its usual names: `Dockerfile`, `Dockerfile.dev`,
/// `api.Dockerfile`, `Containerfile`.
pub fn is_dockerfile(name: &str) -> bool {
    name == "Dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
}

/// The files init would write for the app in `dir`, and those it keeps.
/// `files` are the app's files (nested apps excluded), repo-relative.
fn plan(tree: &Tree, dir: &str, files: &[String]) -> (Vec<String>, Vec<Kept>) {
    let mut write = Vec::new();
    let mut kept = Vec::new();
    let shallowest = |pred: &dyn Fn(&str) -> bool| {
        files
            .iter()
            .filter(|f| pred(tree::file_name(f)))
            .min_by_key(|f| (f.matches('/').count(), f.as_str()))
            .cloned()
    };
    match shallowest(&is_dockerfile) {
        Some(path) => kept.push(Kept {
            path,
            reason: "an existing Dockerfile is kept".to_owned(),
        }),
        None => write.push(tree::join(dir, "Dockerfile")),
    }
    let ignore = tree::join(dir, ".dockerignore");
    if tree.contains(&ignore) {
        kept.push(Kept {
            path: ignore,
            reason: "exists".to_owned(),
        });
    } else {
        write.push(ignore);
    }
    match shallowest(&|n: &str| n == "Chart.yaml") {
        Some(chart) => kept.push(Kept {
            path: tree::parent(&chart).to_owned(),
            reason: "an existing Helm chart is kept".to_owned(),
        }),
        None => write.extend(
            crate::scaffold::chart::FILES
                .iter()
                .map(|(f, _)| tree::join(dir, &format!("chart/{f}"))),
        ),
    }
    if tree.contains("devloop.toml") {
        kept.push(Kept {
            path: "devloop.toml".to_owned(),
            reason: "exists".to_owned(),
        });
    } else {
        write.push("devloop.toml".to_owned());
    }
    // Existing launch configurations are merged into, never replaced.
    write.push(".vscode/launch.json".to_owned());
    (write, kept)
}
