//! The real binary on temp repos: help, version, exit codes, configuration
//! errors and `devloop config` provenance.

use crate::support::{devloop, run, temp_repo};

/// Replaces the temp repo's path so snapshots hold across machines.
fn scrub(text: &str, dir: &std::path::Path) -> String {
    text.replace(&dir.display().to_string(), "[REPO]")
}

/// `scrub`, and column padding squeezed to two spaces: the padding depends on
/// the temp path's length, the columns' order and contents do not.
fn scrub_table(text: &str, dir: &std::path::Path) -> String {
    scrub(text, dir)
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let cells: Vec<&str> = line
                .trim_start()
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            format!("{}{}", &line[..indent], cells.join("  "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn help_lists_working_commands_and_shared_flags() {
    let dir = temp_repo("help", &[]);
    let out = run(devloop(dir.path()).arg("--help"));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!("help", out.stdout);
    let out = run(devloop(dir.path()).args(["config", "--help"]));
    assert_eq!(out.code, 0);
    insta::assert_snapshot!("config_help", out.stdout);
}

#[test]
fn version_is_the_crate_version() {
    let dir = temp_repo("version", &[]);
    let out = run(devloop(dir.path()).arg("--version"));
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        format!("devloop {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_1() {
    let dir = temp_repo("usage", &[]);
    for args in [
        &["--bogus"][..],
        &["nosuchcommand"],
        &[],
        &["config", "--output", "yaml"],
        &["completions", "tcsh"],
        &["config", "-v", "-q"],
    ] {
        let out = run(devloop(dir.path()).args(args));
        assert_eq!(out.code, 1, "devloop {args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("error:") || out.stderr.contains("Usage: devloop"),
            "devloop {args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "devloop {args:?}: {}", out.stdout);
    }
}

#[test]
fn config_errors_point_at_line_and_column() {
    let cases = [
        (
            "one_app_unknown_key",
            "name = \"web\"\nports = [8080]\nregistyr = \"127.0.0.1:5000\"\n",
            vec![],
        ),
        (
            "many_apps_unknown_key",
            "registry = \"127.0.0.1:5000\"\n\n[[app]]\npath = \"api\"\n\n[[app]]\npath = \"web\"\n  chrat = \"deploy/chart\"\n",
            vec!["api", "web"],
        ),
        (
            "many_apps_app_key_at_top",
            "ports = [8080]\n\n[[app]]\npath = \"api\"\n",
            vec!["api"],
        ),
        ("bad_name", "name = \"My_App\"\n", vec![]),
        ("syntax", "name = \"web\nports = [1]\n", vec![]),
    ];
    for (case, toml, dirs) in cases {
        let dir = temp_repo(case, &[("devloop.toml", toml)]);
        for d in dirs {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        let out = run(devloop(dir.path()).arg("config"));
        assert_eq!(out.code, 1, "{case}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{case}: {}", out.stdout);
        insta::assert_snapshot!(
            format!("config_error_{case}"),
            scrub(&out.stderr, dir.path())
        );
    }
}

#[test]
fn config_errors_as_json_events() {
    let dir = temp_repo("jsonerr", &[("devloop.toml", "prots = [1]\n")]);
    let out = run(devloop(dir.path()).args(["config", "--output", "json"]));
    assert_eq!(out.code, 1);
    let event: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    assert_eq!(event["event"], "error");
    assert_eq!(event["code"], "config_parse");
    assert_eq!(event["exit_code"], 1);
    assert!(
        event["message"]
            .as_str()
            .expect("message")
            .contains(":1:1: unknown field `prots`")
    );
}

#[test]
fn config_shows_where_each_value_came_from() {
    let dir = temp_repo(
        "shop",
        &[
            (
                "devloop.toml",
                "registry = \"127.0.0.1:5000\"\nallowed_contexts = [\"team-dev\"]\n\n[[app]]\npath = \"services/api\"\nports = [8080, \"19090:9090\"]\n[app.debug]\nport = 5678\n\n[[app]]\nname = \"front\"\npath = \"services/web\"\nvalues = [\"values-dev.yaml\"]\n",
            ),
            ("services/api/main.py", ""),
            ("services/web/index.js", ""),
        ],
    );
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: kind-dev\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .expect("write");
    let out = run(devloop(&dir.path().join("services/web"))
        .args(["config", "-n", "shared-ns"])
        .env("KUBECONFIG", &kubeconfig)
        .env("DEVLOOP_REGISTRY", "registry.example:5000"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("config_provenance", scrub_table(&out.stdout, dir.path()));

    let out = run(devloop(dir.path()).args(["config", "--app", "api", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let apps = report["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 1);
    let api = &apps[0];
    assert_eq!(api["name"]["value"], "api");
    assert_eq!(api["name"]["source"], "default (the app directory's name)");
    assert_eq!(api["registry"]["value"], "127.0.0.1:5000");
    assert_eq!(api["registry"]["source"], "devloop.toml:1:12");
    assert_eq!(api["namespace"]["value"], "api-dev");
    assert_eq!(
        api["ports"]["value"][1],
        serde_json::json!({"local": 19090, "remote": 9090})
    );
    assert_eq!(api["debug_port"]["value"], 5678);
    assert_eq!(report["kube"]["context"]["value"], serde_json::Value::Null);

    let out = run(devloop(dir.path()).args(["config", "--app", "nope"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no app named `nope`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("hint: apps here: api, front"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_without_a_file_uses_defaults() {
    let dir = temp_repo("My Service", &[]);
    let out = run(devloop(dir.path()).args(["config", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["config_file"], serde_json::Value::Null);
    let name = report["apps"][0]["name"]["value"].as_str().expect("name");
    assert!(name.starts_with("my-service"), "{name}");
    assert_eq!(
        report["apps"][0]["namespace"]["value"],
        format!("{name}-dev")
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    let dir = temp_repo("gen", &[]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(devloop(dir.path()).args(["completions", shell]));
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("devloop"), "{shell}");
        assert!(
            out.stdout.contains("kubeconfig"),
            "{shell}: completes the shared flags"
        );
    }
    let out = run(devloop(dir.path()).arg("man"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(".ie"), "roff: {}", &out.stdout[..40]);
    assert!(
        out.stdout.contains(".TH devloop 1"),
        "{}",
        &out.stdout[..200]
    );

    let pages = dir.path().join("man1");
    let out = run(devloop(dir.path()).args(["man", "--dir"]).arg(&pages));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "devloop.1",
        "devloop-config.1",
        "devloop-completions.1",
        "devloop-man.1",
    ] {
        assert!(pages.join(page).is_file(), "{page} written");
    }
}

#[test]
fn stdout_closed_early_is_not_an_error() {
    let dir = temp_repo("pipe", &[]);
    let mut child = devloop(dir.path())
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
