//! The `devloop-sim` binary: writes its kubeconfig once serving, says
//! `ready`, serves, and cleans up on SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_binary_serves_until_sigterm_and_cleans_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_devloop-sim"))
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .args(["--token", "t0ken", "--world-env", "/nonexistent/world.env"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("devloop-sim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read stdout");
    assert_eq!(line, "ready\n");
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written before ready");
    assert!(text.contains("current-context: devloop-sim"), "{text}");
    assert!(text.contains("token: t0ken"), "{text}");
    assert!(text.contains("server: https://127.0.0.1:"), "{text}");

    let home = dir.path().join("home");
    let out = Command::new("kubectl")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "namespace", "default", "-o", "name"])
        .output()
        .expect("kubectl runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace/default",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("devloop-sim exits");
    assert!(status.success(), "{status}");
    assert!(!kubeconfig.exists(), "the kubeconfig is removed on exit");
}

#[test]
fn the_binary_refuses_non_loopback_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_devloop-sim"))
        .arg("--kubeconfig-out")
        .arg(dir.path().join("kc"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .expect("devloop-sim runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
