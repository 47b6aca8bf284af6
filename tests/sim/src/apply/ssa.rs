//! Server-side apply as structured-merge-diff does it: the applier owns
//! exactly what its configuration sets, list-maps merge by key, fields it
//! stops applying are removed unless another manager owns them, and
//! changing another manager's field is a conflict unless forced.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::fieldset::{self, Entry, Path, Set};
use super::schema::{self, ListType};

/// A field another manager owns with a different value.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub subresource: Option<String>,
    pub time: Value,
    pub path: Path,
}

impl Conflict {
    /// The manager as the real server prints it.
    fn who(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            let _ = write!(s, " with subresource {sub:?}");
        }
        if self.operation == "Update" {
            let _ = write!(s, " using {}", self.api_version);
            if let Some(t) = self.time.as_str() {
                let _ = write!(s, " at {t}");
            }
        }
        s
    }
}

/// The real server's 409 message and `details.causes`.
pub fn conflict_status(conflicts: &[Conflict]) -> (String, Value) {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({"reason": "FieldManagerConflict",
                "message": format!("conflict with {}", c.who()),
                "field": fieldset::display(&c.path)})
        })
        .collect();
    let message = if let [c] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            c.who(),
            fieldset::display(&c.path)
        )
    } else {
        let mut who: Vec<String> = conflicts.iter().map(Conflict::who).collect();
        who.sort();
        who.dedup();
        let mut lines = Vec::new();
        for w in &who {
            lines.push(format!("conflicts with {w}:"));
            for c in conflicts.iter().filter(|c| &c.who() == w) {
                lines.push(format!("- {}", fieldset::display(&c.path)));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    (message, json!({"causes": causes}))
}

/// Drops `null`s (an applied `null` sets nothing) and server-owned metadata.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(clean).collect()),
        other => other.clone(),
    }
}

/// Merges the applied configuration into the live object.
fn merge(live: &mut Value, cfg: &Value, names: &mut Vec<String>) {
    let atomic = {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        schema::atomic_object(&refs)
    };
    match (live, cfg) {
        (Value::Object(l), Value::Object(c)) if !atomic => {
            for (k, cv) in c {
                names.push(k.clone());
                match l.get_mut(k) {
                    Some(lv) => merge(lv, cv, names),
                    None => {
                        l.insert(k.clone(), cv.clone());
                    }
                }
                names.pop();
            }
        }
        (Value::Array(l), Value::Array(c)) => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            match schema::list_type(&refs) {
                ListType::Atomic => l.clone_from(c),
                ListType::Set => {
                    for x in c {
                        if !l.contains(x) {
                            l.push(x.clone());
                        }
                    }
                }
                ListType::Map { keys, .. } => {
                    for item in c {
                        let key = schema::item_key(keys, item);
                        match l.iter_mut().find(|x| schema::item_key(keys, x) == key) {
                            Some(x) => merge(x, item, names),
                            None => l.push(item.clone()),
                        }
                    }
                }
            }
        }
        (live, cfg) => *live = cfg.clone(),
    }
}

/// Is `path` a key field of a list-map item (which stays while the item
/// does: the item itself is removed through its own path)?
fn is_key_field(path: &[String]) -> bool {
    let [.., item, field] = path else {
        return false;
    };
    let (Some(key), Some(field)) = (item.strip_prefix("k:"), field.strip_prefix("f:")) else {
        return false;
    };
    serde_json::from_str::<Value>(key).is_ok_and(|k| k.get(field).is_some())
}

/// Applies `config` as `manager` to `live` (`None`: create-on-apply);
/// returns the new object with its `managedFields`, or the conflicts.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    subresource: Option<&str>,
) -> Result<Value, Vec<Conflict>> {
    let mut cfg = clean(config);
    if let Some(md) = cfg.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("managedFields");
    }
    let cfg_values = fieldset::values(&cfg, subresource);
    let mut obj = live.cloned().unwrap_or_else(|| json!({}));
    let mut list = fieldset::entries(&obj);
    let me = |e: &Entry| e.is(manager, "Apply", subresource);

    let mut conflicts = Vec::new();
    for (path, want) in &cfg_values {
        if fieldset::is_item(path) {
            continue;
        }
        let Some(have) = fieldset::get(&obj, path) else {
            continue;
        };
        if have == want {
            continue;
        }
        for e in list.iter().filter(|e| !me(e)) {
            if e.set.contains(path) {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    operation: e.operation.clone(),
                    api_version: e.api_version.clone(),
                    subresource: e.subresource.clone(),
                    time: e.time.clone(),
                    path: path.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflicts);
        }
        for e in list
            .iter_mut()
            .filter(|e| !e.is(manager, "Apply", subresource))
        {
            e.set.retain(|p| !conflicts.iter().any(|c| &c.path == p));
        }
    }

    let previous: Set = list
        .iter()
        .find(|e| me(e))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let others: Set = list
        .iter()
        .filter(|e| !me(e))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    for path in previous.iter().filter(|p| !cfg_values.contains_key(*p)) {
        let prefix_of = |q: &Path| q.len() >= path.len() && q[..path.len()] == path[..];
        if others.iter().any(prefix_of) || cfg_values.keys().any(prefix_of) || is_key_field(path) {
            continue;
        }
        fieldset::remove(&mut obj, path);
    }

    merge(&mut obj, &cfg, &mut Vec::new());

    let set: Set = cfg_values.into_keys().collect();
    match list.iter_mut().find(|e| me(e)) {
        Some(e) => {
            if e.set != set {
                e.time = json!(crate::objects::now());
            }
            e.set = set;
            api_version.clone_into(&mut e.api_version);
        }
        None => list.push(Entry {
            manager: manager.to_owned(),
            operation: "Apply".to_owned(),
            api_version: api_version.to_owned(),
            subresource: subresource.map(str::to_owned),
            time: json!(crate::objects::now()),
            set,
        }),
    }
    fieldset::store(&mut obj, list);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(obj: &Value) -> Value {
        obj.get("spec").cloned().unwrap_or_else(|| json!({}))
    }

    fn deploy(image: &str, extra: &Value) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "web", "image": image}]}}}});
        crate::patch::merge_patch(&mut d, extra);
        d
    }

    #[test]
    fn apply_owns_removes_and_conflicts() {
        let first = deploy("x", &json!({"spec": {"paused": true}}));
        let obj = apply(None, &first, "a", "apps/v1", false, None).expect("created");
        assert_eq!(spec(&obj)["paused"], true);
        // Dropping `paused` removes it; a sidecar from another manager merges by name.
        let obj = apply(
            Some(&obj),
            &deploy("x", &json!({})),
            "a",
            "apps/v1",
            false,
            None,
        )
        .expect("applied");
        assert!(spec(&obj).get("paused").is_none(), "{obj}");
        let side = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
            "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "s"}]}}}});
        let obj = apply(Some(&obj), &side, "b", "apps/v1", false, None).expect("merged");
        let containers = &spec(&obj)["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(2), "{obj}");
        // b changing a's image conflicts; forced, b takes it.
        let steal = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "y"}, {"name": "side", "image": "s"}]}}}});
        let err = apply(Some(&obj), &steal, "b", "apps/v1", false, None).expect_err("conflict");
        let (msg, details) = conflict_status(&err);
        assert_eq!(
            msg,
            "Apply failed with 1 conflict: conflict with \"a\": .spec.template.spec.containers[name=\"web\"].image"
        );
        assert_eq!(details["causes"][0]["reason"], "FieldManagerConflict");
        let obj = apply(Some(&obj), &steal, "b", "apps/v1", true, None).expect("forced");
        assert_eq!(
            spec(&obj)["template"]["spec"]["containers"][0]["image"],
            "y"
        );
        // a stops applying the sidecar b also applies: it stays, with its name.
        let obj = apply(Some(&obj), &side, "a", "apps/v1", true, None).expect("a applies side");
        let obj = apply(
            Some(&obj),
            &deploy("y", &json!({})),
            "a",
            "apps/v1",
            true,
            None,
        )
        .expect("a drops side");
        let containers = &spec(&obj)["template"]["spec"]["containers"];
        assert_eq!(
            containers[1],
            json!({"name": "side", "image": "s"}),
            "{obj}"
        );
        // a stops applying the image: b still owns it, so it stays.
        let obj = apply(
            Some(&obj),
            &deploy("y", &json!({})),
            "a",
            "apps/v1",
            false,
            None,
        )
        .expect("shared");
        assert_eq!(
            spec(&obj)["template"]["spec"]["containers"][0]["image"],
            "y"
        );
    }

    #[test]
    fn selectors_are_atomic() {
        let svc = |sel: Value| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"selector": sel}})
        };
        let obj = apply(
            None,
            &svc(json!({"app": "a", "tier": "x"})),
            "a",
            "v1",
            false,
            None,
        )
        .expect("created");
        assert_eq!(
            obj["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:spec": {"f:selector": {}}})
        );
        // Another manager's different selector conflicts on the whole map.
        let err = apply(
            Some(&obj),
            &svc(json!({"app": "a"})),
            "b",
            "v1",
            false,
            None,
        )
        .expect_err("conflict");
        assert_eq!(fieldset::display(&err[0].path), ".spec.selector");
        let obj = apply(
            Some(&obj),
            &svc(json!({"app": "a"})),
            "a",
            "v1",
            false,
            None,
        )
        .expect("replaced");
        assert_eq!(obj["spec"]["selector"], json!({"app": "a"}));
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let obj = apply(
            None,
            &deploy("x", &json!({"spec": {"paused": true}})),
            "a",
            "apps/v1",
            false,
            None,
        )
        .expect("created");
        let other = deploy("z", &json!({"spec": {"paused": false}}));
        let err = apply(Some(&obj), &other, "b", "apps/v1", false, None).expect_err("conflicts");
        let (msg, details) = conflict_status(&err);
        assert_eq!(
            msg,
            "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.paused\n- .spec.template.spec.containers[name=\"web\"].image"
        );
        assert_eq!(details["causes"].as_array().map(Vec::len), Some(2));
    }
}
