//! A scheduler for the one node: binds pods whose nodeSelector, tolerations
//! and resource requests fit; the others stay Pending with
//! `PodScheduled=False` (reason `Unschedulable`) and a `FailedScheduling` event
//! saying why, in the real scheduler's words.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{key_of, list, modify, set_condition};
use crate::Shared;
use crate::objects::meta_str;

use super::replicaset::PODS;
const COMPONENT: &str = "default-scheduler";

pub fn sync_all(shared: &Arc<Shared>) {
    let Some(node) = list(shared, "/nodes").into_iter().next() else {
        return;
    };
    let pods = list(shared, PODS);
    let mut used = (0.0_f64, 0.0_f64);
    for p in &pods {
        if p["spec"]["nodeName"].is_string()
            && p["metadata"].get("deletionTimestamp").is_none()
            && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        {
            let (c, m) = requests(p);
            used.0 += c;
            used.1 += m;
        }
    }
    for p in &pods {
        if p["spec"]["nodeName"].is_string()
            || p["metadata"].get("deletionTimestamp").is_some()
            || p["spec"]["schedulerName"]
                .as_str()
                .is_some_and(|s| s != COMPONENT)
        {
            continue;
        }
        let uid = meta_str(p, "uid").unwrap_or("").to_owned();
        let key = key_of(PODS, p);
        match fits(&node, p, used) {
            Ok(()) => {
                let node_name = meta_str(&node, "name").unwrap_or("").to_owned();
                let bound = modify(shared, &key, &uid, |p| {
                    p["spec"]["nodeName"] = json!(node_name);
                    if !p["status"].is_object() {
                        p["status"] = json!({});
                    }
                    p["status"]["phase"] = json!("Pending");
                    set_condition(
                        p,
                        json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null}),
                    );
                });
                if let Some(bound) = bound {
                    let (c, m) = requests(&bound);
                    used.0 += c;
                    used.1 += m;
                    super::events::record(
                        shared,
                        &bound,
                        COMPONENT,
                        "Normal",
                        "Scheduled",
                        &format!(
                            "Successfully assigned {}/{} to {node_name}",
                            meta_str(&bound, "namespace").unwrap_or(""),
                            meta_str(&bound, "name").unwrap_or("")
                        ),
                    );
                }
            }
            Err(why) => {
                let message = format!(
                    "0/1 nodes are available: {why}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
                );
                let already = super::condition(p, "PodScheduled")
                    .is_some_and(|c| c["message"] == message.as_str());
                if already {
                    continue;
                }
                if let Some(pod) = modify(shared, &key, &uid, |p| {
                    if !p["status"].is_object() {
                        p["status"] = json!({});
                    }
                    p["status"]["phase"] = json!("Pending");
                    set_condition(
                        p,
                        json!({"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                            "reason": "Unschedulable", "message": message}),
                    );
                }) {
                    super::events::record(
                        shared,
                        &pod,
                        COMPONENT,
                        "Warning",
                        "FailedScheduling",
                        &message,
                    );
                }
            }
        }
    }
}

/// Why the pod does not fit on the node (the scheduler's wording).
fn fits(node: &Value, pod: &Value, used: (f64, f64)) -> Result<(), String> {
    let labels = &node["metadata"]["labels"];
    if let Some(sel) = pod["spec"]["nodeSelector"].as_object()
        && sel.iter().any(|(k, v)| labels[k] != *v)
    {
        return Err("1 node(s) didn't match Pod's node affinity/selector".to_owned());
    }
    let tolerations = pod["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for taint in node["spec"]["taints"].as_array().into_iter().flatten() {
        if !matches!(taint["effect"].as_str(), Some("NoSchedule" | "NoExecute")) {
            continue;
        }
        let tolerated = tolerations.iter().any(|t| {
            let key_ok =
                t["key"].is_null() && t["operator"] == "Exists" || t["key"] == taint["key"];
            let value_ok = t["operator"] == "Exists"
                || t["value"] == taint["value"]
                || (t["value"].is_null() && taint["value"].is_null());
            let effect_ok = t["effect"].is_null() || t["effect"] == taint["effect"];
            key_ok && value_ok && effect_ok
        });
        if !tolerated {
            let key = taint["key"].as_str().unwrap_or("");
            let value = taint["value"]
                .as_str()
                .map(|v| format!(": {v}"))
                .unwrap_or_default();
            return Err(format!("1 node(s) had untolerated taint {{{key}{value}}}"));
        }
    }
    let (cpu, mem) = requests(pod);
    let alloc = &node["status"]["allocatable"];
    let cpu_cap = quantity(&alloc["cpu"]);
    let mem_cap = quantity(&alloc["memory"]);
    let mut why = Vec::new();
    if cpu > 0.0 && used.0 + cpu > cpu_cap {
        why.push("1 Insufficient cpu");
    }
    if mem > 0.0 && used.1 + mem > mem_cap {
        why.push("1 Insufficient memory");
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why.join(", "))
    }
}

/// The pod's cpu (cores) and memory (bytes) requests: the sum of its
/// containers', or the largest init container's when that is more.
fn requests(pod: &Value) -> (f64, f64) {
    let sum = |list: &Value| {
        list.as_array()
            .into_iter()
            .flatten()
            .fold((0.0, 0.0), |acc, c| {
                let r = &c["resources"]["requests"];
                let l = &c["resources"]["limits"];
                let cpu = if r["cpu"].is_null() {
                    quantity(&l["cpu"])
                } else {
                    quantity(&r["cpu"])
                };
                let mem = if r["memory"].is_null() {
                    quantity(&l["memory"])
                } else {
                    quantity(&r["memory"])
                };
                (acc.0 + cpu, acc.1 + mem)
            })
    };
    let (c, m) = sum(&pod["spec"]["containers"]);
    let (ic, im) = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| sum(&json!([c])))
        .fold((0.0_f64, 0.0_f64), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    (c.max(ic), m.max(im))
}

/// A resource quantity (`100m`, `1.5`, `128Mi`, `1G`) in base units.
pub fn quantity(v: &Value) -> f64 {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return 0.0,
    };
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0_f64.powi(4)),
        ("Pi", 1024.0_f64.powi(5)),
        ("Ei", 1024.0_f64.powi(6)),
        ("m", 0.001),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in suffixes {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().unwrap_or(0.0) * factor;
        }
    }
    s.parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_fits() {
        assert!((quantity(&json!("100m")) - 0.1).abs() < 1e-9);
        assert!((quantity(&json!("128Mi")) - 134_217_728.0).abs() < 1.0);
        assert!((quantity(&json!("1G")) - 1e9).abs() < 1.0);
        assert!((quantity(&json!(2)) - 2.0).abs() < 1e-9);
        let node = json!({
            "metadata": {"labels": {"kubernetes.io/os": "linux"}},
            "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}},
        });
        let tolerating = json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}], "containers": [{"resources": {"requests": {"cpu": "500m"}}}]}});
        assert_eq!(fits(&node, &tolerating, (0.0, 0.0)), Ok(()));
        assert_eq!(
            fits(&node, &tolerating, (1.8, 0.0)),
            Err("1 Insufficient cpu".to_owned())
        );
        let intolerant = json!({"spec": {"containers": [{}]}});
        assert_eq!(
            fits(&node, &intolerant, (0.0, 0.0)),
            Err("1 node(s) had untolerated taint {dedicated: gpu}".to_owned())
        );
        let elsewhere =
            json!({"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": [{}]}});
        assert!(
            fits(&node, &elsewhere, (0.0, 0.0))
                .is_err_and(|e| e.contains("node affinity/selector"))
        );
    }
}
