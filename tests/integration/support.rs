//! Helpers shared by the integration tests: a hermetic `devloop` command and
//! the test world's settings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `devloop` command that sees none of the developer's environment: no
/// `KUBECONFIG`, `DOCKER_HOST`, `HOME` or `NO_COLOR` from outside (bat's approach).
pub fn devloop(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_devloop"));
    cmd.current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd.join(".test-home"))
        .env("LANG", "C.UTF-8");
    cmd
}

/// A command's outcome, decoded for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the devloop binary runs");
    Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// Writes `files` (path, contents) under a new temp dir named `prefix...`.
pub fn temp_repo(prefix: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    dir
}

/// The test world's settings from `target/world.env`.
pub struct World {
    vars: HashMap<String, String>,
}

impl World {
    /// The running world, or `None` outside CI when it is not up (the test then
    /// says it did not run). In CI a missing world fails the test: e2e tests
    /// never skip there.
    pub fn get() -> Option<World> {
        let path = repo_root().join("target/world.env");
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(World {
                vars: text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect(),
            }),
            Err(err) => {
                let msg = format!(
                    "the test world is not up ({}: {err}); run `tests/world/up` first",
                    path.display()
                );
                assert!(std::env::var_os("CI").is_none(), "{msg}");
                eprintln!("NOT RUN: {msg}");
                None
            }
        }
    }

    /// Every setting, for `devloop_sim::SimOptions::world`.
    pub fn settings(&self) -> std::collections::BTreeMap<String, String> {
        self.vars.clone().into_iter().collect()
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("target/world.env has no {key}; re-run tests/world/up"))
    }
}
