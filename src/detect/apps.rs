//! Which directories are apps. A directory with a strong manifest
//! (`go.mod`, `package.json`, `pom.xml`, ...) or a compose build context is
//! a candidate; weak markers (`app.py`, `index.html`) count only where no
//! strong candidate sits at, above or below them. Then, top down:
//! - a candidate that is a workspace (a manifest says so) or has no source
//!   files of its own holds apps and is not one;
//! - a candidate inside an app is an app of its own only if it runs a
//!   server framework or compose builds it; otherwise it is part of the app
//!   (a Django app's `frontend/package.json`);
//! - inside a workspace, members with neither a framework nor an entry point
//!   (libraries) are dropped, unless that leaves no app; where some member
//!   runs a server, members without one are dropped.

use std::collections::BTreeMap;

use super::analyze::{self, Analysis, AppFiles, Evidence};
use super::compose::Service;
use super::tree::{self, Tree};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::pack::{ManifestRule, Marker, Pack, PortSource};

/// Path components whose manifests never make an app and whose files never
/// decide what an app is: test data, examples and docs carry manifests,
/// servers, ports and Dockerfiles of things that are not the repo's apps.
const NOT_APP_DIRS: &[&str] = &[
    "test",
    "tests",
    "testdata",
    "fixtures",
    "__fixtures__",
    "__tests__",
    "spec",
    "e2e",
    "examples",
    "example",
    "docs",
    "doc",
];

#[derive(Debug, Default)]
struct Candidate {
    strong: bool,
    marker: Option<String>,
    compose: Option<Service>,
}

/// One app found: its directory (repo-relative, `""` is the root) and analysis.
pub struct Found<'p, 'a> {
    pub dir: String,
    pub analysis: Analysis<'p, 'a>,
    pub files: Vec<String>,
}

/// The manifests that can make a directory an app, of every pack, in one
/// glob set: one match per file instead of one per file and rule.
struct Markers<'p> {
    set: GlobSet,
    rules: Vec<&'p ManifestRule>,
}

impl<'p> Markers<'p> {
    fn new(packs: &'p [Pack]) -> Markers<'p> {
        let mut builder = GlobSetBuilder::new();
        let mut rules = Vec::new();
        for rule in packs.iter().flat_map(|p| &p.detect.manifests) {
            // Pack patterns compiled once already; these cannot fail.
            if rule.marker != Marker::No
                && let Ok(glob) = Glob::new(&rule.file.text)
            {
                builder.add(glob);
                rules.push(rule);
            }
        }
        let set = builder.build().unwrap_or_else(|_| GlobSet::empty());
        Markers { set, rules }
    }
}

fn candidates(tree: &Tree, packs: &[Pack], services: &[Service]) -> BTreeMap<String, Candidate> {
    let markers = Markers::new(packs);
    let mut all: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut hits = Vec::new();
    for file in tree.files() {
        let dir = tree::parent(file);
        markers.set.matches_into(tree::file_name(file), &mut hits);
        if hits.is_empty() || dir.split('/').any(|p| NOT_APP_DIRS.contains(&p)) {
            continue;
        }
        for rule in hits.iter().map(|i| markers.rules[*i]) {
            if rule.regex.is_some() && analyze::search(tree, file, rule.regex.as_ref()).is_none() {
                continue;
            }
            let c = all.entry(dir.to_owned()).or_default();
            let strong = rule.marker == Marker::Strong;
            if c.marker.is_none() || (strong && !c.strong) {
                c.marker = Some(file.clone());
            }
            c.strong |= strong;
        }
    }
    for service in services {
        let exists = service.context.is_empty()
            || tree
                .files()
                .iter()
                .any(|f| tree::is_under(f, &service.context));
        if exists {
            let c = all.entry(service.context.clone()).or_default();
            c.strong = true;
            c.compose = Some(service.clone());
        }
    }
    let strong: Vec<String> = all
        .iter()
        .filter(|(_, c)| c.strong)
        .map(|(d, _)| d.clone())
        .collect();
    let related = |a: &str, b: &str| a == b || tree::is_under(a, b) || tree::is_under(b, a);
    let weak: Vec<String> = all
        .iter()
        .filter(|(_, c)| !c.strong)
        .map(|(d, _)| d.clone())
        .collect();
    for dir in &weak {
        let shadowed = strong.iter().any(|s| related(dir, s))
            || weak.iter().any(|w| w != dir && tree::is_under(dir, w));
        if shadowed {
            all.remove(dir);
        }
    }
    all
}

/// The files of `dir` minus those under any of `cut` (descendant app dirs).
/// Test files by name: test code imports the framework and binds ports of
/// its own, and is not what the app runs.
fn is_test_file(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "_test.go",
        "_test.py",
        "_test.rb",
        "_spec.rb",
        "_test.exs",
        "Test.java",
        "Tests.java",
        "Test.kt",
        "Tests.kt",
        "Tests.cs",
        "Spec.scala",
    ];
    const INFIXES: &[&str] = &[".test.", ".spec."];
    name == "tests.rs"
        || name.starts_with("test_")
        || SUFFIXES.iter().any(|s| name.ends_with(s))
        || INFIXES.iter().any(|s| name.contains(s))
}

/// Files in the app's top-level [`NOT_APP_DIRS`] (`tests/`, `docs/`, ...)
/// and test files are left out too. Only the top level: `example` is also a
/// Java package (`src/main/java/com/example`).
fn files_of<'t>(tree: &'t Tree, dir: &str, cut: &[&str]) -> Vec<&'t str> {
    tree.under(dir)
        .iter()
        .map(String::as_str)
        .filter(|f| {
            let rel = tree::relative(f, dir);
            let top = rel.split_once('/').map(|(first, _)| first);
            !top.is_some_and(|t| NOT_APP_DIRS.contains(&t))
                && !is_test_file(tree::file_name(rel))
                && !cut.iter().any(|c| tree::is_under(f, c))
        })
        .collect()
}

/// The candidates that enclose `dir`: their manifests (a root lock file)
/// may name its build tool.
fn enclosing<'d>(dirs: &[&'d str], dir: &str) -> Vec<&'d str> {
    dirs.iter()
        .copied()
        .filter(|d| tree::is_under(dir, d))
        .collect()
}

fn compose_port(c: &Candidate) -> Vec<(u16, PortSource, Evidence)> {
    c.compose
        .iter()
        .filter_map(|s| {
            s.port.map(|p| {
                (
                    p,
                    PortSource::Compose,
                    Evidence {
                        field: "port",
                        file: Some(s.file.clone()),
                        line: Some(s.line),
                        detail: format!("compose service {}", s.name),
                    },
                )
            })
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    App,
    Workspace,
    Merged,
}

/// Finds the apps of `tree`, shallowest first.
pub fn find<'p, 't>(tree: &'t Tree, packs: &'p [Pack], services: &[Service]) -> Vec<Found<'p, 't>> {
    let cands = candidates(tree, packs, services);
    let dirs: Vec<&str> = cands.keys().map(String::as_str).collect();
    // First judgement: each candidate on its own files.
    let mut own: BTreeMap<&str, Analysis<'p, 't>> = BTreeMap::new();
    for dir in &dirs {
        let below: Vec<&str> = dirs
            .iter()
            .copied()
            .filter(|d| tree::is_under(d, dir))
            .collect();
        let mut app = AppFiles::new(dir, files_of(tree, dir, &below));
        app.inherit(tree, &enclosing(&dirs, dir));
        own.insert(dir, analyze::analyze(tree, packs, &app, None));
    }
    let roles = roles(&dirs, &own, &cands);
    // Libraries inside workspaces.
    let in_workspace = |dir: &str| {
        roles
            .iter()
            .filter(|(d, r)| **r != Role::Merged && tree::is_under(dir, d))
            .max_by_key(|(d, _)| d.len())
            .is_some_and(|(_, r)| *r == Role::Workspace)
    };
    let mut apps: Vec<&str> = dirs.clone();
    apps.sort_by_key(|d| (depth(d), *d));
    let apps: Vec<&str> = apps.into_iter().filter(|d| roles[d] == Role::App).collect();
    // A workspace member is an app if it runs a server (framework or compose
    // service); if no member does, if it has an entry point; else all are.
    // Libraries have entry points too (package.json "main"), so a server
    // decides first.
    let server = |d: &str| own[d].framework.is_some() || cands[d].compose.is_some();
    let runnable = |d: &str| server(d) || own[d].entry.is_some();
    let keep: Vec<&str> = if apps.iter().any(|d| in_workspace(d) && server(d)) {
        apps.iter()
            .copied()
            .filter(|d| !in_workspace(d) || server(d))
            .collect()
    } else if apps.iter().any(|d| runnable(d)) {
        apps.iter()
            .copied()
            .filter(|d| !in_workspace(d) || runnable(d))
            .collect()
    } else {
        apps
    };
    // Final judgement: each app with the files of the candidates merged into it.
    let separate: Vec<&str> = roles
        .iter()
        .filter(|(_, r)| **r != Role::Merged)
        .map(|(d, _)| *d)
        .collect();
    keep.into_iter()
        .map(|dir| {
            let below: Vec<&str> = separate
                .iter()
                .copied()
                .filter(|d| tree::is_under(d, dir))
                .collect();
            let files = files_of(tree, dir, &below);
            // Again with the merged candidates' files, if any; ports now.
            let merged = dirs
                .iter()
                .any(|d| tree::is_under(d, dir) && roles[d] == Role::Merged);
            let mut app = AppFiles::new(dir, files.clone());
            app.inherit(tree, &enclosing(&dirs, dir));
            let extra = compose_port(&cands[dir]);
            let mut analysis = match own.remove(dir) {
                Some(mut a) if !merged => {
                    analyze::add_ports(tree, packs, &app, &mut a, &extra);
                    a
                }
                _ => analyze::analyze(tree, packs, &app, Some(&extra)),
            };
            if let Some(service) = &cands[dir].compose {
                analysis.evidence.insert(
                    0,
                    Evidence {
                        field: "app",
                        file: Some(service.file.clone()),
                        line: Some(service.line),
                        detail: format!("compose service {} builds this directory", service.name),
                    },
                );
            } else if let Some(marker) = &cands[dir].marker {
                analysis.evidence.insert(
                    0,
                    Evidence {
                        field: "app",
                        file: Some(marker.clone()),
                        line: None,
                        detail: "this file makes its directory an app".to_owned(),
                    },
                );
            }
            Found {
                dir: dir.to_owned(),
                analysis,
                files: files.into_iter().map(str::to_owned).collect(),
            }
        })
        .collect()
}

/// Each candidate's role, decided top down (shallowest first).
fn roles<'d>(
    dirs: &[&'d str],
    own: &BTreeMap<&str, Analysis<'_, '_>>,
    cands: &BTreeMap<String, Candidate>,
) -> BTreeMap<&'d str, Role> {
    let mut by_depth = dirs.to_vec();
    by_depth.sort_by_key(|d| (depth(d), *d));
    let mut roles: BTreeMap<&str, Role> = BTreeMap::new();
    for dir in &by_depth {
        let a = &own[dir];
        let has_children = dirs.iter().any(|d| tree::is_under(d, dir));
        let parent = roles
            .iter()
            .filter(|(d, r)| **r != Role::Merged && tree::is_under(dir, d))
            .max_by_key(|(d, _)| d.len())
            .map(|(_, r)| *r);
        let server = a.framework.is_some() || cands[*dir].compose.is_some();
        let role = if parent == Some(Role::App) && !server {
            Role::Merged
        } else if has_children
            && (a.sources == 0 || (a.workspace && a.framework.is_none() && a.entry.is_none()))
        {
            Role::Workspace
        } else {
            Role::App
        };
        roles.insert(dir, role);
    }
    roles
}

fn depth(dir: &str) -> usize {
    if dir.is_empty() {
        0
    } else {
        dir.matches('/').count() + 1
    }
}
