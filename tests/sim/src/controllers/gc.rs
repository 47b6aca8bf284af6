//! Foreground and orphan deletion, as the garbage collector does them: the
//! owner gets the `foregroundDeletion` (or `orphan`) finalizer; dependents
//! are deleted (or released from their ownerReferences) first, then the
//! finalizer goes and the owner with it. Background deletion is the API
//! server's `collect_garbage`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Shared;
use crate::objects::meta_str;
use crate::store::{Change, Key};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

/// Adds the finalizer `propagationPolicy` asks for before a delete.
pub fn mark(shared: &Shared, key: &Key, policy: Option<&str>) {
    let finalizer = match policy {
        Some("Foreground") => FOREGROUND,
        Some("Orphan") => ORPHAN,
        _ => return,
    };
    let _ = shared.store.mutate(key, false, |old| {
        let Some(old) = old else {
            return Ok::<_, std::convert::Infallible>(Change::Keep(Value::Null));
        };
        if old["metadata"].get("deletionTimestamp").is_some() {
            return Ok(Change::Keep(old.clone()));
        }
        let mut new = old.clone();
        let md = crate::objects::meta_mut(&mut new);
        let list = md.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(a) = list.as_array_mut()
            && !a.iter().any(|f| f == finalizer)
        {
            a.push(json!(finalizer));
        }
        Ok(Change::Put(new))
    });
}

/// One pass over the objects being deleted with one of the finalizers.
pub fn sync_all(shared: &Arc<Shared>) {
    let all = shared.store.all();
    for (key, obj) in &all {
        if obj["metadata"].get("deletionTimestamp").is_none() {
            continue;
        }
        let finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let foreground = finalizers.iter().any(|f| f == FOREGROUND);
        let orphan = finalizers.iter().any(|f| f == ORPHAN);
        if !foreground && !orphan {
            continue;
        }
        let Some(uid) = meta_str(obj, "uid").map(str::to_owned) else {
            continue;
        };
        let dependents: Vec<&(Key, Arc<Value>)> = all
            .iter()
            .filter(|(_, o)| {
                o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["uid"] == uid.as_str()))
            })
            .collect();
        let types = shared.registry.all();
        let mut waiting = false;
        for (dkey, dep) in &dependents {
            if orphan {
                let dep_uid = meta_str(dep, "uid").unwrap_or("").to_owned();
                super::modify(shared, dkey, &dep_uid, |d| {
                    if let Some(refs) = d["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    if d["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(Vec::is_empty)
                        && let Some(m) = d["metadata"].as_object_mut()
                    {
                        m.remove("ownerReferences");
                    }
                });
            } else {
                waiting = true;
                if dep["metadata"].get("deletionTimestamp").is_none()
                    && let Some(t) = types.iter().find(|t| t.storage_key() == dkey.0)
                {
                    // Dependents go in the foreground too (their own dependents first).
                    mark(shared, dkey, Some("Foreground"));
                    let _ = crate::api::delete_key(shared, t, dkey, false, None, &Value::Null);
                }
            }
        }
        if waiting {
            continue;
        }
        let _ = shared.store.mutate(key, false, |old| {
            let Some(old) = old else {
                return Ok::<_, std::convert::Infallible>(Change::Keep(Value::Null));
            };
            let mut new = old.clone();
            if let Some(f) = new["metadata"]["finalizers"].as_array_mut() {
                f.retain(|f| f != FOREGROUND && f != ORPHAN);
            }
            let empty = new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
            if empty {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove("finalizers");
                }
                Ok(Change::Remove(new))
            } else {
                Ok(Change::Put(new))
            }
        });
    }
}
