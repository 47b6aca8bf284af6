//! The tiny supervisor behind `reload = "restart"`: a POSIX `sh` script
//! that `devloop up` makes the app container's command (through the chart's
//! `command`/`args` values), with the image's own ENTRYPOINT and CMD as its
//! arguments. It runs the app as a child, restarts it on SIGHUP (devloop
//! sends one after a sync), and stops it on SIGTERM. The container, and so
//! the synced files, stay; a restart costs the app's start time only.
//!
//! When the app exits by itself, the supervisor exits with its status if
//! no sync restarted it yet (so a broken image still shows as a crashing
//! container to the rollout check), and otherwise waits for the next sync,
//! as nodemon does: a broken save does not cost the container and its files.
//!
//! Why not restart the container: Kubernetes starts a new container from
//! the image, which lacks the synced files, and backs off repeated restarts.
//! Why a script and not a binary in the image: `sh` is in every image that
//! can sync (the transport needs it too), and nothing is added to the build.

use serde_json::{Value as Json, json};

/// Marks a running supervisor, so a restart is refused (not a container
/// kill) when the chart did not take the supervisor as the command.
const MARKER: &str = "/tmp/devloop-supervise";

/// The supervisor. Kubernetes expands `$(VAR)` and turns `$$` into `$` in
/// a pod's command, so the script uses neither.
const SCRIPT: &str = r#"echo 1 > /tmp/devloop-supervise 2>/dev/null
again=0
synced=0
trap 'again=1; synced=1; kill -TERM "$child" 2>/dev/null' HUP
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM INT
while :; do
  "$@" &
  child=$!
  while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
  done
  if [ "$again" = 0 ] && [ "$synced" = 0 ]; then exit "$status"; fi
  if [ "$again" = 0 ]; then
    echo "devloop-supervise: the app exited ($status); waiting for the next sync" >&2
    while [ "$again" = 0 ]; do sleep 1 & child=$!; wait "$child"; done
  fi
  again=0
done"#;

/// The chart values that run `image_command` (the image's ENTRYPOINT and
/// CMD) under the supervisor. A leading `tini --` is dropped: the
/// supervisor is PID 1 and already forwards signals and reaps children.
pub fn values(image_command: &[String]) -> Json {
    let mut args = image_command;
    if let [first, rest @ ..] = args
        && first.rsplit('/').next() == Some("tini")
    {
        args = rest.strip_prefix(&["--".to_owned()][..]).unwrap_or(rest);
    }
    json!({
        "command": ["/bin/sh", "-c", SCRIPT, "devloop-supervise"],
        "args": args,
    })
}

/// The command that restarts the app: refused (exit 126) without the
/// supervisor, which would otherwise make SIGHUP stop the container.
pub fn restart_command() -> Vec<String> {
    vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("[ -f {MARKER} ] || exit 126; kill -HUP 1"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_supervisor_wraps_the_image_command_without_tini() {
        let v = values(&strings(&["tini", "--", "python", "server.py"]));
        assert_eq!(v["args"], json!(["python", "server.py"]));
        assert_eq!(v["command"][0], "/bin/sh");
        let v = values(&strings(&["/usr/bin/tini", "node", "index.js"]));
        assert_eq!(v["args"], json!(["node", "index.js"]));
        let v = values(&strings(&["uvicorn", "main:app"]));
        assert_eq!(v["args"], json!(["uvicorn", "main:app"]));
        let script = v["command"][2].as_str().expect("script");
        assert!(!script.contains("$$") && !script.contains("$("), "{script}");
    }

    /// The script itself, run by the machine's `sh`: SIGHUP restarts the
    /// child, SIGTERM stops both.
    #[test]
    fn sighup_restarts_the_child_and_sigterm_stops_it() {
        use std::process::Command;
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().expect("tempdir");
        let count = dir.path().join("starts");
        let child = format!("echo x >> {}; exec sleep 30", count.display());
        let mut sup = Command::new("sh")
            .args(["-c", SCRIPT, "devloop-supervise", "sh", "-c", &child])
            .spawn()
            .expect("sh runs");
        let starts = || std::fs::read_to_string(&count).map_or(0, |s| s.lines().count());
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while starts() < n {
                assert!(Instant::now() < deadline, "{} starts, want {n}", starts());
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for(1);
        let pid = sup.id().to_string();
        for n in 2..=3 {
            Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .expect("kill");
            wait_for(n);
        }
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = sup.wait().expect("wait");
        assert_eq!(status.code(), Some(143));
        assert_eq!(starts(), 3);
    }

    /// An app that exits by itself ends the container before any sync, and
    /// waits for the next sync after one.
    #[test]
    fn an_app_that_exits_waits_for_the_next_sync_only_after_one() {
        use std::process::Command;
        use std::time::Duration;
        let first = Command::new("sh")
            .args(["-c", SCRIPT, "devloop-supervise", "sh", "-c", "exit 3"])
            .status()
            .expect("sh runs");
        assert_eq!(first.code(), Some(3), "before a sync: the app's status");

        let dir = tempfile::tempdir().expect("tempdir");
        let count = dir.path().join("starts");
        let child = format!("echo x >> {}; sleep 0.3; exit 3", count.display());
        let mut sup = Command::new("sh")
            .args(["-c", SCRIPT, "devloop-supervise", "sh", "-c", &child])
            .spawn()
            .expect("sh runs");
        let pid = sup.id().to_string();
        std::thread::sleep(Duration::from_millis(100));
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(sup.try_wait().expect("try_wait").is_none(), "it waits");
        let starts = std::fs::read_to_string(&count)
            .expect("starts")
            .lines()
            .count();
        assert_eq!(starts, 2, "started, restarted by the sync, then waits");
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill");
        std::thread::sleep(Duration::from_millis(150));
        let starts = std::fs::read_to_string(&count)
            .expect("starts")
            .lines()
            .count();
        assert_eq!(starts, 3, "the next sync starts it again");
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert_eq!(sup.wait().expect("wait").code(), Some(143));
    }
}
