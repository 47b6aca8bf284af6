//! `devloop init --dry-run`: the real binary on the fixture repos of
//! `tests/fixtures/detect/` (each with its `expected.json`), on repos with
//! dependency and build directories made at run time, and its refusals.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{devloop, repo_root, run, temp_repo};

/// The keys of each expected app that are compared (others are reported only).
const KEYS: &[&str] = &[
    "path",
    "language",
    "build_tool",
    "framework",
    "port",
    "port_source",
    "entry",
];

fn fixtures() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures/detect");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/detect exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    out.sort();
    out
}

fn dry_run_json(dir: &Path) -> Value {
    let out = run(devloop(dir).args(["init", "--dry-run", "--output", "json"]));
    assert_eq!(out.code, 0, "{}: {}", dir.display(), out.stderr);
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "one JSON document: {}",
        out.stdout
    );
    serde_json::from_str(&out.stdout).expect("stdout is JSON")
}

/// Every file under `dir` with its contents, to prove nothing was written.
fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[derive(Default)]
struct Tally {
    right: usize,
    total: usize,
}

#[test]
fn detect_fixture_repos() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 40, "{} fixtures", fixtures.len());
    let mut tallies: Vec<(&str, Tally)> = KEYS.iter().map(|k| (*k, Tally::default())).collect();
    let mut failures = Vec::new();
    let mut apps_seen = 0;
    for dir in &fixtures {
        let name = dir.file_name().expect("name").to_string_lossy();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json is JSON");
        let before = snapshot_tree(dir);
        let got = dry_run_json(dir);
        assert_eq!(
            before,
            snapshot_tree(dir),
            "{name}: --dry-run wrote nothing"
        );
        let want_apps = expected["apps"].as_array().expect("apps");
        let got_apps = got["apps"].as_array().expect("apps");
        let paths = |apps: &[Value]| -> Vec<String> {
            apps.iter().map(|a| a["path"].to_string()).collect()
        };
        if paths(want_apps) != paths(got_apps) {
            failures.push(format!(
                "{name}: apps {:?}, want {:?}",
                paths(got_apps),
                paths(want_apps)
            ));
        }
        for want in want_apps {
            apps_seen += 1;
            let got = got_apps.iter().find(|a| a["path"] == want["path"]);
            for (key, tally) in &mut tallies {
                let Some(w) = want.get(*key) else { continue };
                tally.total += 1;
                let g = got.map_or(&Value::Null, |a| &a[*key]);
                if g == w {
                    tally.right += 1;
                } else {
                    failures.push(format!("{name} {}: {key} = {g}, want {w}", want["path"]));
                }
            }
            if let Some(kept) = want.get("kept") {
                let got_kept: Vec<&Value> = got
                    .and_then(|a| a["kept"].as_array())
                    .map(|k| k.iter().map(|k| &k["path"]).collect())
                    .unwrap_or_default();
                let want_kept: Vec<&Value> = kept.as_array().expect("kept").iter().collect();
                if got_kept != want_kept {
                    failures.push(format!("{name}: kept {got_kept:?}, want {want_kept:?}"));
                }
            }
        }
    }
    // The accuracy figures README and the issue report quote.
    let summary: Vec<String> = tallies
        .iter()
        .map(|(k, t)| format!("{k} {}/{}", t.right, t.total))
        .collect();
    eprintln!(
        "detect accuracy on {} fixtures ({apps_seen} apps): {}",
        fixtures.len(),
        summary.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn detect_fixtures_cover_the_vocabulary() {
    let mut languages = std::collections::BTreeSet::new();
    let mut tools = std::collections::BTreeSet::new();
    for dir in fixtures() {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
        )
        .expect("JSON");
        for app in expected["apps"].as_array().expect("apps") {
            if let Some(l) = app["language"].as_str() {
                languages.insert(l.to_owned());
            }
            if let Some(t) = app["build_tool"].as_str() {
                tools.insert(t.to_owned());
            }
        }
    }
    for l in devloop::detect::vocabulary::LANGUAGES {
        assert!(languages.contains(*l), "no fixture is a {l} app");
    }
    for t in devloop::detect::vocabulary::BUILD_TOOLS {
        assert!(tools.contains(*t), "no fixture builds with {t}");
    }
}

#[test]
fn detect_skips_dependency_and_build_dirs() {
    let dir = temp_repo(
        "skips",
        &[
            ("go.mod", "module x\n"),
            (
                "main.go",
                "package main\nfunc main() { http.ListenAndServe(\":8080\", nil) }\n",
            ),
            (".gitignore", "generated/\n"),
            ("generated/package.json", "{}"),
            ("generated/server.js", "require('express')"),
            ("node_modules/express/package.json", "{}"),
            ("node_modules/express/index.js", "require('http')"),
            ("vendor/github.com/gin-gonic/gin/go.mod", "module gin\n"),
            ("target/classes/pom.xml", "<project/>"),
            (".venv/lib/site.py", "from flask import Flask"),
            ("venv/requirements.txt", "flask"),
            ("build/index.html", "<html>"),
            ("dist/server.js", "require('express')"),
        ],
    );
    let got = dry_run_json(dir.path());
    let apps = got["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 1, "{got}");
    assert_eq!(apps[0]["path"], ".");
    assert_eq!(apps[0]["language"], "go");
    assert_eq!(apps[0]["framework"], "net/http");
}

#[test]
fn detect_json_shape_is_documented_keys_and_kept() {
    let dir = temp_repo(
        "shape",
        &[
            ("requirements.txt", "flask\n"),
            ("app.py", "from flask import Flask\n"),
        ],
    );
    let got = dry_run_json(dir.path());
    let app = &got["apps"][0];
    let keys: Vec<&str> = app
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "path",
        "name",
        "language",
        "build_tool",
        "framework",
        "entry",
        "port",
        "port_source",
        "evidence",
        "files",
        "kept",
    ];
    want.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, want);
    assert_eq!(app["path"], ".");
    assert!(app["evidence"].as_array().is_some_and(|e| !e.is_empty()));
}

#[test]
fn detect_unknown_is_null() {
    let dir = temp_repo("unknown", &[("pom.xml", "<project/>")]);
    let got = dry_run_json(dir.path());
    let app = &got["apps"][0];
    assert_eq!(app["build_tool"], "maven");
    assert_eq!(app["language"], Value::Null);
    assert_eq!(app["framework"], Value::Null);
    assert_eq!(app["port"], Value::Null);
    assert_eq!(app["port_source"], "none");
}

#[test]
fn detect_text_report() {
    let fixture = repo_root().join("tests/fixtures/detect/go-gorilla-deployments");
    let out = run(devloop(&fixture).args(["init", "--dry-run"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("detect_text_report", out.stdout);
    assert!(out.stderr.contains("Detected"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
}

#[test]
fn detect_init_path_flag() {
    let dir = temp_repo(
        "pathflag",
        &[
            ("svc/Cargo.toml", "[package]\n"),
            ("svc/src/main.rs", "fn main() {}\n"),
        ],
    );
    let out = run(devloop(dir.path()).args(["init", "--dry-run", "-o", "json", "--path", "svc"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(got["apps"][0]["path"], ".");
    assert_eq!(got["apps"][0]["name"], "svc");
    assert_eq!(got["apps"][0]["language"], "rust");
}

#[test]
fn detect_init_dry_run_writes_nothing_and_checks_path() {
    let dir = temp_repo(
        "nodry",
        &[("go.mod", "module x\n"), ("main.go", "package main\n")],
    );
    let before = snapshot_tree(dir.path());
    let out = run(devloop(dir.path()).args(["init", "--dry-run"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("would create     Dockerfile"),
        "{}",
        out.stdout
    );
    assert_eq!(before, snapshot_tree(dir.path()));
    let out = run(devloop(dir.path()).args(["init", "--dry-run", "--path", "nope"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not a directory"), "{}", out.stderr);
}

#[test]
fn detect_empty_repo_reports_no_app() {
    let dir = temp_repo("empty", &[("README.md", "# nothing here\n")]);
    let got = dry_run_json(dir.path());
    assert_eq!(got, serde_json::json!({"apps": []}));
    let out = run(devloop(dir.path()).args(["init", "--dry-run"]));
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("no app found"), "{}", out.stderr);
}
