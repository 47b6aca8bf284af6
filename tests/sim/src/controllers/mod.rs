//! The controllers a real control plane runs, as far as the tests need them:
//! `Deployment`, `ReplicaSet` and `Job` controllers, a one-node scheduler, and the
//! event recorder they (and the kubelet) share.
//!
//! They are level-triggered: every tick re-reads the store and moves each
//! object one step towards its spec, as kube-controller-manager does on
//! every resync.

pub mod deployment;
pub mod events;
pub mod gc;
pub mod job;
pub mod replicaset;
pub mod scheduler;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::Shared;
use crate::objects::meta_str;
use crate::store::{Change, Key};

/// How often the controllers resync.
const TICK: Duration = Duration::from_millis(200);

/// Runs the controllers until `stop` turns true.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(TICK) => {}
        }
        if *stop.borrow() {
            return;
        }
        deployment::sync_all(&shared);
        replicaset::sync_all(&shared);
        scheduler::sync_all(&shared);
        job::sync_all(&shared);
        gc::sync_all(&shared);
    }
}

/// The stored objects of one storage key (all namespaces).
pub fn list(shared: &Shared, storage: &str) -> Vec<Arc<Value>> {
    shared.store.list(storage, None).0
}

/// The store key of a namespaced object.
pub fn key_of(storage: &str, obj: &Value) -> Key {
    (
        storage.to_owned(),
        meta_str(obj, "namespace").unwrap_or("").to_owned(),
        meta_str(obj, "name").unwrap_or("").to_owned(),
    )
}

/// Rewrites the stored object at `key` with `f` when it still has `uid`;
/// stores nothing when `f` changes nothing. Returns the stored object.
pub fn modify(shared: &Shared, key: &Key, uid: &str, f: impl FnOnce(&mut Value)) -> Option<Value> {
    shared
        .store
        .mutate(key, false, |old| {
            let Some(old) = old else {
                return Ok::<_, Infallible>(Change::Keep(Value::Null));
            };
            if meta_str(old, "uid") != Some(uid) {
                return Ok(Change::Keep(Value::Null));
            }
            let mut new = old.clone();
            f(&mut new);
            if new == *old {
                Ok(Change::Keep(new))
            } else {
                Ok(Change::Put(new))
            }
        })
        .ok()
        .filter(|v| !v.is_null())
}

/// Whether `obj` is owned (as controller) by the object with `uid`.
pub fn owned_by(obj: &Value, uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["uid"] == uid && r["controller"] == true)
        })
}

/// An ownerReference naming `owner` as controller.
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether a pod is Ready (its `Ready` condition is True).
pub fn pod_ready(pod: &Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| c["status"] == "True")
}

/// The status condition of `type`.
pub fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// Sets a status condition, keeping `lastTransitionTime` when the status
/// does not change (and `lastUpdateTime`, when present, when nothing does).
pub fn set_condition(obj: &mut Value, mut cond: Value) {
    let now = crate::objects::now();
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if !obj["status"]["conditions"].is_array() {
        obj["status"]["conditions"] = json!([]);
    }
    let Some(list) = obj["status"]["conditions"].as_array_mut() else {
        return;
    };
    let kind = cond["type"].clone();
    if let Some(old) = list.iter_mut().find(|c| c["type"] == kind) {
        let same_status = old["status"] == cond["status"];
        let same_all =
            same_status && old["reason"] == cond["reason"] && old["message"] == cond["message"];
        if cond.get("lastTransitionTime").is_none() {
            cond["lastTransitionTime"] = if same_status {
                old["lastTransitionTime"].clone()
            } else {
                json!(now)
            };
        }
        if cond.get("lastUpdateTime").is_some_and(Value::is_null) {
            cond["lastUpdateTime"] = if same_all {
                old["lastUpdateTime"].clone()
            } else {
                json!(now)
            };
        }
        if cond.get("lastProbeTime").is_some_and(Value::is_null)
            && old.get("lastProbeTime").is_some()
        {
            cond["lastProbeTime"] = old["lastProbeTime"].clone();
        }
        *old = cond;
    } else {
        if cond.get("lastTransitionTime").is_none() {
            cond["lastTransitionTime"] = json!(now);
        }
        if cond.get("lastUpdateTime").is_some_and(Value::is_null) {
            cond["lastUpdateTime"] = json!(now);
        }
        list.push(cond);
    }
}

/// An int-or-percent (`maxSurge: 25%`) against `total`, rounded up or down.
pub fn int_or_percent(v: &Value, total: i64, round_up: bool, default: &str) -> i64 {
    let v = if v.is_null() {
        json!(default)
    } else {
        v.clone()
    };
    if let Some(n) = v.as_i64() {
        return n;
    }
    let s = v.as_str().unwrap_or(default);
    let Some(p) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
        return s.parse().unwrap_or(0);
    };
    let scaled = p * total;
    if round_up {
        (scaled + 99) / 100
    } else {
        scaled / 100
    }
}

/// Now, in seconds since the epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Seconds since an RFC 3339 timestamp (0 when it does not parse).
pub fn age_seconds(ts: &Value) -> i64 {
    ts.as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| now_seconds() - t.as_second())
}
