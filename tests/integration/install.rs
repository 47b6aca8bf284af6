//! `install.sh`: installs a given binary into a prefix, verifies archives, and
//! refuses a wrong checksum without installing anything.

use std::path::Path;
use std::process::Command;

use crate::support::{repo_root, run};

fn install(prefix: &Path, args: &[&str]) -> crate::support::Run {
    run(Command::new("bash")
        .arg(repo_root().join("install.sh"))
        .args(args)
        .env("PREFIX", prefix)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default()))
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8(out.stdout).expect("utf8")[..64].to_owned()
}

#[test]
fn installs_a_built_binary_into_the_prefix() {
    let prefix = tempfile::tempdir().expect("tempdir");
    let out = install(prefix.path(), &["--binary", env!("CARGO_BIN_EXE_devloop")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let installed = prefix.path().join("bin/devloop");
    let version = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("devloop {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        out.stderr.contains(&format!("to {}", installed.display())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is not on your PATH"), "{}", out.stderr);
}

#[test]
fn verifies_archives_and_refuses_a_wrong_checksum() {
    let work = tempfile::tempdir().expect("tempdir");
    let staged = work.path().join("devloop-release");
    std::fs::create_dir_all(&staged).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_devloop"), staged.join("devloop")).expect("copy");
    let archive = work.path().join("devloop.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(work.path())
        .arg("devloop-release")
        .status()
        .expect("tar runs");
    assert!(status.success());
    let good = sha256_of(&archive);
    let archive_arg = archive.to_str().expect("utf8 path");

    let refused = tempfile::tempdir().expect("tempdir");
    let wrong = format!(
        "{}{}",
        &good[..63],
        if good.ends_with('0') { '1' } else { '0' }
    );
    let out = install(
        refused.path(),
        &["--archive", archive_arg, "--sha256", &wrong],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("checksum mismatch"), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was installed"),
        "{}",
        out.stderr
    );
    assert!(
        !refused.path().join("bin").exists(),
        "nothing installed on mismatch"
    );

    let out = install(refused.path(), &["--archive", archive_arg]);
    assert_eq!(
        out.code, 1,
        "an archive without --sha256 is refused: {}",
        out.stderr
    );

    let prefix = tempfile::tempdir().expect("tempdir");
    let out = install(
        prefix.path(),
        &["--archive", archive_arg, "--sha256", &good.to_uppercase()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(prefix.path().join("bin/devloop").is_file());
}

#[test]
fn without_cargo_says_so() {
    let prefix = tempfile::tempdir().expect("tempdir");
    let out = run(Command::new("/bin/bash")
        .arg(repo_root().join("install.sh"))
        .env_clear()
        .env("PREFIX", prefix.path())
        .env("HOME", prefix.path())
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cargo not found"), "{}", out.stderr);
    assert!(!prefix.path().join("bin").exists());
}
