//! The pod subresources that stream (`log`, `exec`, `attach`,
//! `portforward`): they read from and run in the kubelet's containers on
//! the Docker engine. This module routes them and finds the container a
//! request means, as the kubelet does (from the pod's container statuses).

mod exec;
mod logs;
mod portforward;
mod ws;

use std::fmt::Write as _;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::Value;

use crate::Shared;
use crate::api::{Body, error_response, percent_decode};
use crate::objects::{ApiError, meta_str};

/// The pod subresources served here.
pub fn is_stream(sub: &str) -> bool {
    matches!(sub, "log" | "exec" | "attach" | "portforward")
}

/// The query as (key, value) pairs, repeated keys kept (`command=`).
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn flag(q: &[(String, String)], key: &str) -> bool {
    matches!(first(q, key), Some("true" | "1" | "True"))
}

pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    ns: &str,
    name: &str,
    sub: &str,
) -> Response<Body> {
    let pod = match find_pod(&shared, ns, name) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let Some(docker) = shared.docker.get().cloned() else {
        return error_response(&ApiError::bad_request(format!(
            "pod {name} has no kubelet: devloop-sim runs pods only with a Docker engine in the world"
        )));
    };
    match sub {
        "log" => logs::serve(&docker, &pod, &req),
        "exec" | "attach" => exec::serve(&shared, docker, &pod, req, sub == "attach"),
        _ => portforward::serve(&shared, docker, &pod, req).await,
    }
}

fn find_pod(shared: &Shared, ns: &str, name: &str) -> Result<Value, ApiError> {
    let key = ("/pods".to_owned(), ns.to_owned(), name.to_owned());
    shared.store.get(&key).map(|p| (*p).clone()).ok_or_else(|| {
        let mut e = ApiError::new(404, "NotFound", format!("pods \"{name}\" not found"));
        e.details = Some(serde_json::json!({"name": name, "kind": "pods"}));
        e
    })
}

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod["spec"][field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect()
}

/// The container a request names, or the pod's only one (the API server's
/// rule; kubectl always names one).
pub fn container_name(pod: &Value, requested: Option<&str>) -> Result<String, ApiError> {
    let pod_name = meta_str(pod, "name").unwrap_or("");
    let containers = names(pod, "containers");
    let inits = names(pod, "initContainers");
    match requested.filter(|c| !c.is_empty()) {
        Some(c) if containers.iter().chain(&inits).any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !inits.is_empty() {
                let _ = write!(
                    message,
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                );
            }
            Err(ApiError::bad_request(message))
        }
    }
}

fn status_of<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|f| pod["status"][f].as_array())
        .flatten()
        .find(|s| s["name"] == container)
}

fn docker_id(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .map(|s| s.strip_prefix("docker://").unwrap_or(s).to_owned())
}

/// The Docker container whose logs `pods/log` reads, as the kubelet picks
/// it: `previous` is `lastState.terminated`; otherwise the running or
/// terminated container, or the last terminated one while waiting to
/// restart.
pub fn log_container(pod: &Value, container: &str, previous: bool) -> Result<String, ApiError> {
    let pod_name = meta_str(pod, "name").unwrap_or("");
    let status = status_of(pod, container).cloned().unwrap_or(Value::Null);
    let last = docker_id(&status["lastState"]["terminated"]["containerID"]);
    if previous {
        return last.ok_or_else(|| {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            ))
        });
    }
    if status["state"].get("running").is_some()
        && let Some(id) = docker_id(&status["containerID"])
    {
        return Ok(id);
    }
    if let Some(id) = docker_id(&status["state"]["terminated"]["containerID"]) {
        return Ok(id);
    }
    if let Some(id) = last {
        return Ok(id);
    }
    let reason = status["state"]["waiting"]["reason"]
        .as_str()
        .unwrap_or("ContainerCreating");
    Err(ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
    )))
}

/// The running Docker container of `container` (exec, attach).
pub fn running_container(pod: &Value, container: &str) -> Result<String, ApiError> {
    let status = status_of(pod, container).cloned().unwrap_or(Value::Null);
    if status["state"].get("running").is_some()
        && let Some(id) = docker_id(&status["containerID"])
    {
        return Ok(id);
    }
    Err(ApiError::bad_request(format!(
        "unable to upgrade connection: container not found (\"{container}\")"
    )))
}
