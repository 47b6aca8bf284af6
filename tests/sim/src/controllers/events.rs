//! The event recorder: core v1 Events as the real components emit them,
//! aggregated (same object, reason and message bump `count` and
//! `lastTimestamp`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Shared;
use crate::objects::{self, meta_str};

/// Records an event about `obj` from `component` (`Normal` or `Warning`).
pub fn record(
    shared: &Arc<Shared>,
    obj: &Value,
    component: &str,
    kind: &str,
    reason: &str,
    message: &str,
) {
    record_field(shared, obj, None, component, kind, reason, message);
}

/// [`record`] with an `involvedObject.fieldPath` (`spec.containers{app}`).
pub fn record_field(
    shared: &Arc<Shared>,
    obj: &Value,
    field_path: Option<&str>,
    component: &str,
    kind: &str,
    reason: &str,
    message: &str,
) {
    let ns = meta_str(obj, "namespace").unwrap_or("default").to_owned();
    let uid = meta_str(obj, "uid").unwrap_or("").to_owned();
    let host = crate::kubelet::node_name(shared);
    let now = objects::now();
    let (existing, _) = shared.store.list("/events", Some(&ns));
    for e in existing {
        if e["involvedObject"]["uid"] == uid.as_str()
            && e["reason"] == reason
            && e["message"] == message
            && e["involvedObject"]["fieldPath"].as_str() == field_path
        {
            let key = super::key_of("/events", &e);
            let uid = meta_str(&e, "uid").unwrap_or("").to_owned();
            super::modify(shared, &key, &uid, |e| {
                let count = e["count"].as_i64().unwrap_or(1) + 1;
                e["count"] = json!(count);
                e["lastTimestamp"] = json!(now);
            });
            return;
        }
    }
    let mut involved = json!({
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "namespace": ns,
        "uid": uid,
        "resourceVersion": obj["metadata"]["resourceVersion"],
    });
    if let Some(f) = field_path {
        involved["fieldPath"] = json!(f);
    }
    let source = if component == "kubelet" {
        json!({"component": component, "host": host})
    } else {
        json!({"component": component})
    };
    let event = json!({
        "metadata": {
            "name": format!("{}.{:016x}", meta_str(obj, "name").unwrap_or("x"), objects::random_u64()),
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": kind,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": if component == "kubelet" { host } else { String::new() },
    });
    let rt = crate::rt(shared, "v1", "Event");
    let _ = crate::api::create_object(shared, &rt, Some(&ns), event, (component, "Update"), false);
}
