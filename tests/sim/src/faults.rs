//! Injected faults, as a bad network or an overloaded API server shows
//! them to clients: failing the next N requests (500, or 429 with
//! `Retry-After`), delaying every response, and half-open connections
//! (accepted, then never answered). Killing containers, deleting pods and
//! dropping connections act on the cluster directly (`Sim` methods and the
//! admin endpoint in `admin.rs`).

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::objects::ApiError;

/// Requests to fail: how many are left, with which code and `Retry-After`.
#[derive(Clone, Copy, Debug, Default)]
struct Failing {
    left: u32,
    code: u16,
    retry_after: u64,
}

#[derive(Debug, Default)]
pub struct Faults {
    failing: Mutex<Failing>,
    delay: Mutex<Duration>,
    half_open: std::sync::atomic::AtomicBool,
}

/// What a request meets before it is served.
pub enum Verdict {
    Serve,
    /// Answer with this error (and `Retry-After` seconds for 429).
    Fail(ApiError, Option<u64>),
    /// Never answer.
    Hang,
}

impl Faults {
    /// The next `count` requests get `code` (500 or 429); a 429 carries
    /// `Retry-After: retry_after` seconds.
    pub fn fail_next(&self, count: u32, code: u16, retry_after: u64) {
        if let Ok(mut f) = self.failing.lock() {
            *f = Failing {
                left: count,
                code,
                retry_after,
            };
        }
    }

    pub fn set_delay(&self, delay: Duration) {
        if let Ok(mut d) = self.delay.lock() {
            *d = delay;
        }
    }

    pub fn set_half_open(&self, on: bool) {
        self.half_open
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn half_open(&self) -> bool {
        self.half_open.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn clear(&self) {
        self.fail_next(0, 500, 0);
        self.set_delay(Duration::ZERO);
        self.set_half_open(false);
    }

    /// The faults as JSON (the admin endpoint's `GET /faults`).
    pub fn describe(&self) -> Value {
        let f = self.failing.lock().map(|f| *f).unwrap_or_default();
        let delay = self.delay.lock().map(|d| *d).unwrap_or_default();
        json!({
            "failNext": {"count": f.left, "code": f.code, "retryAfterSeconds": f.retry_after},
            "delayMilliseconds": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "halfOpen": self.half_open(),
        })
    }

    /// Applies the delay, then decides how the request goes.
    pub async fn before_request(&self) -> Verdict {
        let delay = self.delay.lock().map(|d| *d).unwrap_or_default();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.half_open() {
            return Verdict::Hang;
        }
        let Ok(mut f) = self.failing.lock() else {
            return Verdict::Serve;
        };
        if f.left == 0 {
            return Verdict::Serve;
        }
        f.left -= 1;
        if f.code == 429 {
            let mut e = ApiError::new(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later (injected by devloop-sim)",
            );
            e.details = Some(json!({"retryAfterSeconds": f.retry_after}));
            Verdict::Fail(e, Some(f.retry_after))
        } else {
            let e = ApiError::new(
                f.code,
                "InternalError",
                "an error on the server (\"injected by devloop-sim\") has prevented the request from succeeding",
            );
            Verdict::Fail(e, None)
        }
    }
}

/// Kills a pod's running container (SIGKILL) so that the kubelet sees it
/// exit with `exit_code`; returns the Docker container id.
pub async fn kill_container(
    shared: &crate::Shared,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    exit_code: i64,
) -> Result<String, String> {
    let key = ("/pods".to_owned(), ns.to_owned(), pod.to_owned());
    let obj = shared
        .store
        .get(&key)
        .ok_or_else(|| format!("pods \"{pod}\" not found"))?;
    let docker = shared
        .docker
        .get()
        .ok_or("no kubelet: the simulator runs pods only with a Docker engine in the world")?;
    let id = crate::streams::container_name(&obj, container)
        .and_then(|c| crate::streams::running_container(&obj, &c))
        .map_err(|e| e.message)?;
    if let Ok(mut o) = shared.exit_overrides.lock() {
        o.insert(id.clone(), exit_code);
    }
    docker
        .kill_container(&id, None::<bollard::query_parameters::KillContainerOptions>)
        .await
        .map_err(|e| format!("cannot kill container {id}: {e}"))?;
    Ok(id)
}

/// Deletes a pod at once (grace period 0), as a node failure or an
/// eviction by force: the kubelet kills its containers.
pub fn delete_pod(
    shared: &std::sync::Arc<crate::Shared>,
    ns: &str,
    pod: &str,
) -> Result<(), String> {
    let rt = crate::rt(shared, "v1", "Pod");
    let key = (rt.storage_key(), ns.to_owned(), pod.to_owned());
    crate::api::delete_key(shared, &rt, &key, false, Some(0), &Value::Null)
        .map(|_| ())
        .map_err(|e| e.message)
}
