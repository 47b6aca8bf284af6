//! `devloop init` writing files: the real binary on copies of the fixture
//! repos of `tests/fixtures/detect/`. Snapshots of the written tree and key
//! files; a second run changes nothing; a user's files stay byte-identical
//! without `--force`; launch.json keeps the user's bytes outside devloop's
//! entries.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::support::{devloop, repo_root, run, temp_repo};

/// Fixture repos: one or more per pack.
pub const FIXTURES: &[&str] = &[
    "python-flask-pip",
    "python-fastapi-uv",
    "python-django-poetry",
    "python-pipenv-gunicorn",
    "node-plain-http",
    "node-hono-yarn",
    "node-nest-pnpm",
    "go-chi-rest",
    "go-plain-no-module",
    "static-html-site",
    "rust-axum",
    "java-spring-boot-maven",
    "kotlin-ktor-gradle",
    "groovy-spring-boot-maven",
    "ruby-sinatra",
    "ruby-rails",
    "php-laravel",
    "dotnet-webapi",
    // Packs without a Dockerfile yet: init writes the rest and warns.
    "scala-sbt-akka-http",
    "clojure-lein-ring",
    "elixir-phoenix",
    "erlang-cowboy-rebar3",
    "swift-vapor",
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else if entry.file_name() != "expected.json" {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// A temp copy of a fixture repo (without its expected.json), named like it.
pub fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(name);
    copy_dir(&repo_root().join("tests/fixtures/detect").join(name), &dir);
    (tmp, dir)
}

/// Every file under `dir` with its bytes, by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.insert(
                    rel.to_string_lossy().replace('\\', "/"),
                    std::fs::read(&p).expect("read"),
                );
            }
        }
    }
    out
}

pub fn init(dir: &Path, args: &[&str]) -> crate::support::Run {
    run(devloop(dir).arg("init").args(args))
}

fn text(tree: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    tree.get(path).map_or_else(
        || "(none)".to_owned(),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}

/// The lines of values.yaml and Chart.yaml init sets.
fn chart_lines(tree: &BTreeMap<String, Vec<u8>>, chart: &str) -> String {
    let values = text(tree, &format!("{chart}/values.yaml"));
    let chart_yaml = text(tree, &format!("{chart}/Chart.yaml"));
    let mut out: Vec<&str> = chart_yaml
        .lines()
        .filter(|l| l.starts_with("name:"))
        .collect();
    let mut section = "";
    for line in values.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') {
            section = line;
        }
        let wanted = line.starts_with("containerPort:")
            || (section == "service:" && line.starts_with("  port:"))
            || (section == "probes:"
                && (line.starts_with("  type:") || line.starts_with("  path:")));
        if wanted {
            out.push(line);
        }
    }
    out.join("\n")
}

#[test]
fn init_scaffolds_each_pack_fixture_and_a_second_run_changes_nothing() {
    for name in FIXTURES {
        let (_tmp, dir) = fixture_copy(name);
        let before = tree(&dir);
        let out = init(&dir, &["--yes"]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        let after = tree(&dir);
        for (path, bytes) in &before {
            assert_eq!(after.get(path), Some(bytes), "{name}: {path} untouched");
        }
        let written: Vec<&String> = after.keys().filter(|p| !before.contains_key(*p)).collect();
        let mut snap = format!(
            "written:\n{}\n",
            written
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        for file in [
            "Dockerfile",
            ".dockerignore",
            "devloop.toml",
            ".vscode/launch.json",
        ] {
            let _ = write!(snap, "\n--- {file}\n{}", text(&after, file));
        }
        let _ = writeln!(
            snap,
            "
--- chart (set by init)
{}",
            chart_lines(&after, "chart")
        );
        insta::assert_snapshot!(format!("init_{name}"), snap);

        let again = init(&dir, &["--yes"]);
        assert_eq!(again.code, 0, "{name}: {}", again.stderr);
        assert_eq!(tree(&dir), after, "{name}: a second init changes nothing");
        assert!(
            again.stderr.contains("0 file(s) written"),
            "{name}: {}",
            again.stderr
        );
    }
}

#[test]
fn init_dry_run_lists_the_files_init_writes_and_writes_none() {
    let (_tmp, dir) = fixture_copy("go-chi-rest");
    let before = tree(&dir);
    let dry = init(&dir, &["--dry-run", "--yes"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(tree(&dir), before);
    let out = init(&dir, &["--yes"]);
    let created: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("Created "))
        .collect();
    let would: Vec<&str> = dry
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("would create"))
        .map(str::trim)
        .collect();
    assert_eq!(created, would);
    assert!(!created.is_empty());
}

#[test]
fn init_never_overwrites_user_files_without_force() {
    let (_tmp, dir) = fixture_copy("node-plain-http");
    let mine = "# my own\nFROM node:22-slim\nWORKDIR /srv/mine\nCMD [\"node\", \"server.js\"]\n";
    let values = "# my values\nreplicaCount: 3\n";
    std::fs::write(dir.join("devloop.toml"), "name = \"mine\"\n").expect("write");
    std::fs::create_dir_all(dir.join("chart")).expect("mkdir");
    std::fs::write(dir.join("chart/values.yaml"), values).expect("write");
    let before = tree(&dir);
    let out = init(&dir, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = tree(&dir);
    for (path, bytes) in &before {
        assert_eq!(after.get(path), Some(bytes), "{path} byte-identical");
    }
    for skipped in ["devloop.toml", "chart/values.yaml"] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains("Skipped") && l.contains(skipped) && l.contains("--force")),
            "{skipped} listed as skipped with why: {}",
            out.stderr
        );
    }

    // A Dockerfile of the user's: kept, and its WORKDIR maps the debugger's sources.
    let (_tmp2, dir2) = fixture_copy("node-plain-http");
    std::fs::write(dir2.join("Dockerfile"), mine).expect("write");
    let out = init(&dir2, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir2.join("Dockerfile")).expect("read"),
        mine
    );
    assert!(out.stderr.contains("Skipped Dockerfile"), "{}", out.stderr);
    let launch = std::fs::read_to_string(dir2.join(".vscode/launch.json")).expect("read");
    assert!(launch.contains("\"/srv/mine\""), "{launch}");

    // --force rewrites them.
    let out = init(&dir2, &["--yes", "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Overwrote Dockerfile"),
        "{}",
        out.stderr
    );
    let dockerfile = std::fs::read_to_string(dir2.join("Dockerfile")).expect("read");
    assert!(dockerfile.contains("USER 10001"), "{dockerfile}");
    let launch = std::fs::read_to_string(dir2.join(".vscode/launch.json")).expect("read");
    assert!(launch.contains("\"/app\""), "{launch}");
    let again = init(&dir2, &["--yes", "--force"]);
    assert!(
        again.stderr.contains("0 file(s) written"),
        "{}",
        again.stderr
    );
}

#[test]
fn init_keeps_launch_json_bytes_outside_its_own_entries() {
    let (_tmp, dir) = fixture_copy("python-flask-pip");
    let user = r#"{
    // My launch configurations. Hands off!
    "version": "0.2.0",
    "configurations": [
        /* a block comment */
        {
            "name": "Python: current file",
            "type": "debugpy",
            "request": "launch",
            "program": "${file}", // trailing comment
        },
    ],
}
"#;
    std::fs::create_dir_all(dir.join(".vscode")).expect("mkdir");
    std::fs::write(dir.join(".vscode/launch.json"), user).expect("write");
    let out = init(&dir, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Updated .vscode/launch.json"),
        "{}",
        out.stderr
    );
    let got = std::fs::read_to_string(dir.join(".vscode/launch.json")).expect("read");
    let ours = "\"name\": \"devloop: python-flask-pip (debugpy)\"";
    assert!(got.contains(ours), "{got}");
    // Remove devloop's entry: what is left is the user's text, byte for byte.
    let start = got[..got.find(ours).expect("ours")]
        .rfind('{')
        .expect("entry start");
    let end = start + got[start..].find("\n        }").expect("entry end") + "\n        }".len();
    let without = format!("{}{}", &got[..start], &got[end..]);
    let normalised = without
        .replace(",\n        ,", ",")
        .replace("},\n        \n", "},\n");
    for line in user.lines() {
        assert!(normalised.contains(line), "user line kept: {line}\n{got}");
    }
    assert!(got.starts_with(&user[..user.find("/* a block comment */").expect("c")]));
    let again = init(&dir, &["--yes"]);
    assert_eq!(
        std::fs::read_to_string(dir.join(".vscode/launch.json")).expect("read"),
        got
    );
    assert!(
        again.stderr.contains("0 file(s) written"),
        "{}",
        again.stderr
    );
}

#[test]
fn init_scaffolds_several_apps_and_picks_with_app() {
    let (_tmp, dir) = fixture_copy("monorepo-compose-services");
    let out = init(&dir, &["--yes", "--port", "9000"]);
    assert_eq!(out.code, 1, "--port with several apps: {}", out.stderr);
    assert!(out.stderr.contains("--app"), "{}", out.stderr);

    let out = init(&dir, &["--yes", "--app", "api"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.join("services/api/Dockerfile").is_file());
    assert!(!dir.join("services/web/Dockerfile").exists());
    std::fs::remove_file(dir.join("devloop.toml")).expect("rm");

    let out = init(&dir, &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let toml = std::fs::read_to_string(dir.join("devloop.toml")).expect("read");
    insta::assert_snapshot!("init_several_apps_devloop_toml", toml);
    // devloop's own config resolution takes what init wrote.
    let config = run(devloop(&dir).arg("config"));
    assert_eq!(config.code, 0, "{}", config.stderr);
    assert!(
        config
            .stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["debug.port", "2345"])),
        "{}",
        config.stdout
    );
    assert!(dir.join("services/web/chart/values.yaml").is_file());
    let launch = std::fs::read_to_string(dir.join(".vscode/launch.json")).expect("read");
    assert!(launch.contains("devloop: api (delve)") && launch.contains("devloop: web (node)"));
    assert!(
        launch.contains("${workspaceFolder}/services/api"),
        "{launch}"
    );

    let out = init(&dir, &["--yes", "--app", "nope"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("services/web"), "{}", out.stderr);
}

#[test]
fn init_flags_and_best_guesses() {
    let dir = temp_repo("guess", &[("server.py", "print('hi')\n")]);
    let out = init(dir.path(), &["--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: "),
        "a best guess warns: {}",
        out.stderr
    );
    let dockerfile = std::fs::read_to_string(dir.path().join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("EXPOSE 8000"), "{dockerfile}");

    let dir = temp_repo("flags", &[("index.html", "<h1>hi</h1>\n")]);
    let out = init(
        dir.path(),
        &[
            "--yes", "--port", "9090", "--name", "My Site", "--pack", "html",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let toml = std::fs::read_to_string(dir.path().join("devloop.toml")).expect("toml");
    assert!(
        toml.contains("name = \"my-site\"\nports = [9090]\n"),
        "{toml}"
    );
    let values = std::fs::read_to_string(dir.path().join("chart/values.yaml")).expect("values");
    assert!(values.contains("\ncontainerPort: 9090\n"));
    let chart = std::fs::read_to_string(dir.path().join("chart/Chart.yaml")).expect("chart");
    assert!(chart.contains("\nname: my-site\n"));
    assert!(!dir.path().join(".vscode").exists(), "html has no debugger");

    let out = init(dir.path(), &["--yes", "--pack", "cobol"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("devloop packs list"), "{}", out.stderr);
}

#[test]
fn init_packs_list_show_and_user_packs_override_by_name() {
    let out = run(devloop(&repo_root()).args(["packs", "list"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in ["python", "node", "go", "html", "rust", "java"] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(name)),
            "{}",
            out.stdout
        );
    }
    let out = run(devloop(&repo_root()).args(["packs", "show", "go"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("# file: Dockerfile") && out.stdout.contains("name = \"go\""));
    let out = run(devloop(&repo_root()).args(["packs", "show", "cobol"]));
    assert_eq!(out.code, 1);

    // A user pack named html replaces the embedded one, for `packs` and `init`.
    let dir = temp_repo("userpack", &[("index.html", "<h1>hi</h1>\n")]);
    let config = tempfile::tempdir().expect("tempdir");
    let pack = config.path().join("devloop/packs/html");
    std::fs::create_dir_all(&pack).expect("mkdir");
    std::fs::write(
        pack.join("pack.toml"),
        "name = \"html\"\nport = 8181\n[[detect.language]]\nname = \"html\"\nextensions = [\"html\"]\n[[detect.manifest]]\nfile = \"index.html\"\nweight = 1\nmarker = \"weak\"\n[[dockerfile]]\nfile = \"Dockerfile\"\n[[run]]\ncommand = [\"my-server\"]\n",
    )
    .expect("write");
    std::fs::write(
        pack.join("Dockerfile"),
        "FROM busybox:1.37\nUSER 10001\nEXPOSE 1\n",
    )
    .expect("write");
    let with_config = |args: &[&str]| {
        run(devloop(dir.path())
            .env("XDG_CONFIG_HOME", config.path())
            .args(args))
    };
    let out = with_config(&["packs", "list"]);
    let html = out
        .stdout
        .lines()
        .find(|l| l.starts_with("html"))
        .expect("html");
    assert!(html.contains(&pack.display().to_string()), "{html}");
    let out = with_config(&["init", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dockerfile = std::fs::read_to_string(dir.path().join("Dockerfile")).expect("Dockerfile");
    assert_eq!(
        dockerfile,
        "FROM busybox:1.37\nUSER 10001\nEXPOSE 8181\nCMD [\"my-server\"]\n"
    );
}
