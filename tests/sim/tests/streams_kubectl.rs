//! Part 4's proof with kubectl: `logs -f` that ends when the container
//! stops, `logs --previous` after a crash, `--since`, `--timestamps`,
//! `--tail`, `--limit-bytes`; `exec` with output, exit codes and stdin;
//! `cp` both ways.

mod common;

use std::time::{Duration, Instant};

use common::Cluster;

fn pod_json(c: &Cluster, name: &str) -> serde_json::Value {
    c.json(&["get", "pod", name])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one story, step by step
async fn logs_follow_previous_since_and_options() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    // Each run counts itself in an emptyDir, so runs are told apart.
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: crasher}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: d, emptyDir: {{}}}}]
  containers:
  - name: main
    image: {image}
    volumeMounts: [{{name: d, mountPath: /d}}]
    command: [sh, -c, 'n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n; echo run-$n; sleep 0.3; echo err-$n >&2; sleep 6; exit 3']
"
    ));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/crasher",
        "--timeout=30s",
    ]);
    // Follows the first run and ends by itself when the container stops.
    let started = Instant::now();
    let out = c.ok(&["logs", "-f", "crasher", "--request-timeout=30s"]);
    assert_eq!(out, "run-1\nerr-1\n", "logs -f");
    let took = started.elapsed();
    assert!(
        took > Duration::from_secs(2) && took < Duration::from_secs(20),
        "logs -f should end when the container exits (~6 s), took {took:?}"
    );
    // After the crash the kubelet restarts it (first restart at once).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = pod_json(&c, "crasher");
        let s = &p["status"]["containerStatuses"][0];
        if s["restartCount"] == 1 && s["state"].get("running").is_some() {
            assert_eq!(s["lastState"]["terminated"]["exitCode"], 3);
            break;
        }
        assert!(Instant::now() < deadline, "no restart: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    c.until(&["logs", "crasher"], 10, |o| o == "run-2\nerr-2\n");
    assert_eq!(c.ok(&["logs", "--previous", "crasher"]), "run-1\nerr-1\n");
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: ticker}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: [sh, -c, 'echo early; sleep 6; echo late; exec sleep 3600']
"
    ));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/ticker",
        "--timeout=30s",
    ]);
    let none = c.run(&["logs", "--previous", "ticker"]);
    assert_ne!(none.code, 0);
    assert!(
        none.stderr
            .contains("previous terminated container \"main\" in pod \"ticker\" not found"),
        "{}",
        none.stderr
    );

    // ticker printed `early`, then `late` 6 s later.
    c.until(&["logs", "ticker"], 20, |o| o.contains("late"));
    assert_eq!(c.ok(&["logs", "ticker", "--since=4s"]), "late\n");
    assert_eq!(c.ok(&["logs", "ticker", "--since=60s"]), "early\nlate\n");
    assert_eq!(c.ok(&["logs", "ticker", "--tail=1"]), "late\n");
    assert_eq!(c.ok(&["logs", "ticker", "--limit-bytes=3"]), "ear");
    let stamped = c.ok(&["logs", "ticker", "--timestamps"]);
    let lines: Vec<&str> = stamped.lines().collect();
    assert_eq!(lines.len(), 2, "{stamped}");
    let mut times = Vec::new();
    for (line, text) in lines.iter().zip(["early", "late"]) {
        let (ts, rest) = line.split_once(' ').expect("timestamp, space, line");
        assert_eq!(rest, text);
        // RFC 3339 with nanoseconds, UTC.
        let frac = ts.split_once('.').map_or("", |(_, f)| f);
        assert_eq!(frac.len(), 10, "nanoseconds and Z: {ts}");
        assert!(frac.ends_with('Z'));
        times.push(ts.parse::<jiff::Timestamp>().expect("RFC 3339"));
    }
    let gap = times[1].duration_since(times[0]).as_secs_f64();
    assert!(
        (5.5..9.0).contains(&gap),
        "early and late ~6 s apart: {gap}"
    );
    // --since-time is second precision: the second of `late` keeps it.
    let late_second = times[1].as_second();
    let since = jiff::Timestamp::from_second(late_second)
        .expect("time")
        .to_string();
    assert_eq!(
        c.ok(&["logs", "ticker", &format!("--since-time={since}")]),
        "late\n"
    );
    let bad = c.run(&["logs", "crasher", "-c", "nope"]);
    assert!(
        bad.stderr
            .contains("container nope is not valid for pod crasher"),
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_output_exit_codes_stdin_and_cp() {
    let Some(c) = Cluster::start().await else {
        return;
    };
    let image = common::busybox_in_registry(&c.world);
    c.apply(&format!(
        r"
apiVersion: v1
kind: Pod
metadata: {{name: box}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: [sleep, '3600']
"
    ));
    c.ok(&["wait", "--for=condition=Ready", "pod/box", "--timeout=30s"]);
    assert_eq!(
        c.ok(&["exec", "box", "--", "cat", "/etc/hostname"]),
        "box\n"
    );
    let out = c.run(&[
        "exec",
        "box",
        "--",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; exit 3",
    ]);
    assert_eq!(out.code, 3, "exit code propagates: {}", out.stderr);
    assert_eq!(out.stdout, "to-out\n");
    assert!(out.stderr.contains("to-err"), "{}", out.stderr);
    // stdin, and its end (v5 close) reaches the process.
    let echoed = c.ok_with(
        &["exec", "-i", "box", "--", "sh", "-c", "cat; echo done"],
        Some("hello\nworld\n"),
    );
    assert_eq!(echoed, "hello\nworld\ndone\n");
    let missing = c.run(&["exec", "box", "--", "no-such-command"]);
    assert_ne!(missing.code, 0);

    // cp to and from the pod (tar over exec).
    let local = c.dir.path().join("payload.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&local, &data).expect("write payload");
    c.ok(&["cp", local.to_str().expect("utf-8"), "box:/tmp/payload.bin"]);
    let size = c.ok(&["exec", "box", "--", "wc", "-c", "/tmp/payload.bin"]);
    assert!(size.starts_with("300000"), "{size}");
    let back = c.dir.path().join("back.bin");
    c.ok(&["cp", "box:/tmp/payload.bin", back.to_str().expect("utf-8")]);
    assert!(
        std::fs::read(&back).expect("copied back") == data,
        "cp round trip intact"
    );
}
