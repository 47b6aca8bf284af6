//! Probes (httpGet, tcpSocket, exec) run inside the pod's network namespace
//! (`docker exec` into the infra or app container): nothing connects to a
//! container bridge address.

use std::time::{Duration, Instant};

use std::fmt::Write as _;

use serde_json::Value;

use super::Kubelet;

/// A probe's timing state.
#[derive(Clone, Debug)]
pub struct ProbeState {
    pub next: Instant,
    pub successes: i64,
    pub failures: i64,
}

impl ProbeState {
    pub fn new(probe: &Value, started: Instant) -> ProbeState {
        let delay = probe["initialDelaySeconds"].as_u64().unwrap_or(0);
        ProbeState {
            next: started + Duration::from_secs(delay),
            successes: 0,
            failures: 0,
        }
    }
}

/// What one tick of a probe concluded.
pub enum Verdict {
    /// Not due yet.
    Wait,
    /// Reached successThreshold.
    Success,
    /// Failed, with the message; `true` when failureThreshold is reached.
    Failure(String, bool),
    /// Succeeded but below successThreshold, or failed below failureThreshold.
    Pending,
}

/// Runs `probe` when due.
pub async fn tick(
    k: &Kubelet,
    state: &mut ProbeState,
    probe: &Value,
    container: &Value,
    infra: &str,
    app: &str,
    ip: &str,
) -> Verdict {
    let now = Instant::now();
    if now < state.next {
        return Verdict::Wait;
    }
    let period = probe["periodSeconds"].as_u64().unwrap_or(10).max(1);
    state.next = now + Duration::from_secs(period);
    match run(k, probe, container, infra, app, ip).await {
        Ok(()) => {
            state.failures = 0;
            state.successes += 1;
            if state.successes >= probe["successThreshold"].as_i64().unwrap_or(1) {
                Verdict::Success
            } else {
                Verdict::Pending
            }
        }
        Err(message) => {
            state.successes = 0;
            state.failures += 1;
            let reached = state.failures >= probe["failureThreshold"].as_i64().unwrap_or(3);
            if reached {
                Verdict::Failure(message, true)
            } else {
                Verdict::Failure(message, false)
            }
        }
    }
}

fn port(v: &Value, container: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let name = v.as_str()?;
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    container["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
}

/// Runs the probe once: `Ok` or the message a real kubelet gives.
async fn run(
    k: &Kubelet,
    probe: &Value,
    container: &Value,
    infra: &str,
    app: &str,
    ip: &str,
) -> Result<(), String> {
    let timeout = probe["timeoutSeconds"].as_u64().unwrap_or(1).max(1);
    let (target, cmd, kind) = if let Some(http) = probe.get("httpGet").filter(|h| h.is_object()) {
        let port = port(&http["port"], container).ok_or("invalid port")?;
        let path = http["path"].as_str().unwrap_or("/");
        let scheme = http["scheme"].as_str().unwrap_or("HTTP").to_lowercase();
        let mut request =
            format!("GET {path} HTTP/1.0\r\nHost: {ip}:{port}\r\nUser-Agent: kube-probe/1.33\r\n");
        for h in http["httpHeaders"].as_array().into_iter().flatten() {
            let name = h["name"].as_str().unwrap_or("");
            let value = h["value"].as_str().unwrap_or("");
            let _ = write!(request, "{name}: {value}\r\n");
        }
        request.push_str("\r\n");
        // busybox nc in the pod's network namespace; the status line decides.
        let script = format!("printf %s \"$1\" | nc -w {timeout} 127.0.0.1 {port} | head -n 1");
        let cmd = vec![
            "sh".to_owned(),
            "-c".into(),
            script,
            "probe".into(),
            request,
        ];
        let _ = scheme;
        (infra, cmd, format!("http:{scheme}://{ip}:{port}{path}"))
    } else if let Some(tcp) = probe.get("tcpSocket").filter(|t| t.is_object()) {
        let port = port(&tcp["port"], container).ok_or("invalid port")?;
        let cmd = vec![
            "nc".to_owned(),
            "-w".into(),
            timeout.to_string(),
            "127.0.0.1".into(),
            port.to_string(),
            "-e".into(),
            "true".into(),
        ];
        (infra, cmd, format!("tcp:{ip}:{port}"))
    } else if let Some(exec) = probe["exec"]["command"].as_array() {
        let cmd = exec
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        (app, cmd, "exec".to_owned())
    } else {
        return Ok(());
    };
    let ran = tokio::time::timeout(
        Duration::from_secs(timeout + 1),
        super::docker::exec(&k.docker, target, cmd.clone()),
    )
    .await;
    let (code, out) = match ran {
        Err(_) => {
            return Err(if kind == "exec" {
                format!("command \"{}\" timed out", cmd.join(" "))
            } else {
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                    .to_owned()
            });
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(r)) => r,
    };
    if kind.starts_with("http:") && out.starts_with("HTTP/") {
        let status: u16 = out
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if (200..400).contains(&status) {
            return Ok(());
        }
        return Err(format!("HTTP probe failed with statuscode: {status}"));
    }
    if code == 0 && !kind.starts_with("http:") {
        return Ok(());
    }
    if let Some(url) = kind.strip_prefix("http:") {
        let hostport = url
            .split("://")
            .nth(1)
            .and_then(|u| u.split('/').next())
            .unwrap_or("");
        return Err(format!(
            "Get \"{url}\": dial tcp {hostport}: connect: connection refused"
        ));
    }
    if let Some(hostport) = kind.strip_prefix("tcp:") {
        return Err(format!("dial tcp {hostport}: connect: connection refused"));
    }
    Err(out.trim().to_owned())
}
