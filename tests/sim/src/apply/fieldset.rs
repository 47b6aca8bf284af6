//! Field sets as structured-merge-diff keeps them: paths of `f:<field>`,
//! `k:<key JSON>` (list-map items), `v:<value JSON>` (set members) and
//! `i:<index>` tokens, serialized as `managedFields[].fieldsV1`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::schema::{self, ListType};

/// A path of `f:`/`k:`/`v:`/`i:` tokens.
pub type Path = Vec<String>;
/// A set of paths.
pub type Set = BTreeSet<Path>;

/// The field names along `toks` (what `schema::list_type` looks at).
fn names(toks: &[String]) -> Vec<&str> {
    toks.iter().filter_map(|t| t.strip_prefix("f:")).collect()
}

/// `k:` token of a list-map item.
pub fn key_token(keys: &[&str], item: &Value) -> String {
    format!("k:{}", Value::Object(schema::item_key(keys, item)))
}

fn walk(v: &Value, toks: &mut Path, out: &mut BTreeMap<Path, Value>) {
    match v {
        Value::Object(m) => {
            if (m.is_empty() || schema::atomic_object(&names(toks))) && !toks.is_empty() {
                out.insert(toks.clone(), v.clone());
            }
            if schema::atomic_object(&names(toks)) {
                return;
            }
            for (k, c) in m {
                toks.push(format!("f:{k}"));
                walk(c, toks, out);
                toks.pop();
            }
        }
        Value::Array(items) => match schema::list_type(&names(toks)) {
            ListType::Atomic => {
                out.insert(toks.clone(), v.clone());
            }
            ListType::Set => {
                for x in items {
                    toks.push(format!("v:{x}"));
                    out.insert(toks.clone(), x.clone());
                    toks.pop();
                }
            }
            ListType::Map { keys, .. } => {
                for item in items {
                    toks.push(key_token(keys, item));
                    out.insert(toks.clone(), Value::Null);
                    if let Value::Object(m) = item {
                        for (k, c) in m {
                            toks.push(format!("f:{k}"));
                            walk(c, toks, out);
                            toks.pop();
                        }
                    }
                    toks.pop();
                }
            }
        },
        _ => {
            if !toks.is_empty() {
                out.insert(toks.clone(), v.clone());
            }
        }
    }
}

/// The part of an object a write through `subresource` may own: `status`
/// for `/status`, else everything but status and the metadata the server
/// owns.
pub fn scoped(obj: &Value, subresource: Option<&str>) -> Value {
    let mut out = Map::new();
    let Some(m) = obj.as_object() else {
        return Value::Object(out);
    };
    for (k, v) in m {
        match (k.as_str(), subresource) {
            ("status", Some("status")) => {
                out.insert(k.clone(), v.clone());
            }
            (_, Some("status")) | ("apiVersion" | "kind" | "status", _) => {}
            ("metadata", _) => {
                let md: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(f, _)| {
                        matches!(
                            f.as_str(),
                            "labels" | "annotations" | "finalizers" | "ownerReferences"
                        )
                    })
                    .map(|(f, x)| (f.clone(), x.clone()))
                    .collect();
                if !md.is_empty() {
                    out.insert(k.clone(), Value::Object(md));
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Every member path of the (scoped) object with its value; list-map items
/// are members too (value `null`).
pub fn values(obj: &Value, subresource: Option<&str>) -> BTreeMap<Path, Value> {
    let mut out = BTreeMap::new();
    walk(&scoped(obj, subresource), &mut Vec::new(), &mut out);
    out
}

/// Is the path's last token a list item (whose presence is its value)?
pub fn is_item(path: &[String]) -> bool {
    path.last().is_some_and(|t| t.starts_with("k:"))
}

/// Serializes a set as `fieldsV1`.
pub fn to_fields_v1(set: &Set) -> Value {
    // "." only where the member also has children.
    fn tidy(v: &mut Value) {
        if let Value::Object(m) = v {
            for (k, c) in m.iter_mut() {
                if k != "." {
                    tidy(c);
                }
            }
            if m.len() == 1 && m.contains_key(".") {
                m.clear();
            }
        }
    }
    let mut root = json!({});
    for path in set {
        let mut cur = &mut root;
        for t in path {
            cur = cur
                .as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .entry(t.clone())
                .or_insert_with(|| json!({}));
        }
        cur.as_object_mut()
            .expect("fieldsV1 nodes are objects")
            .insert(".".into(), json!({}));
    }
    tidy(&mut root);
    root
}

/// Parses `fieldsV1`: a node with `.` or without children is a member.
pub fn from_fields_v1(v: &Value) -> Set {
    fn go(v: &Value, path: &mut Path, out: &mut Set) {
        let Some(m) = v.as_object() else { return };
        if (m.is_empty() || m.contains_key(".")) && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, c) in m {
            if k != "." {
                path.push(k.clone());
                go(c, path, out);
                path.pop();
            }
        }
    }
    let mut out = Set::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

fn matches_token(tok: &str, item: &Value) -> bool {
    if let Some(k) = tok.strip_prefix("k:") {
        let Ok(Value::Object(want)) = serde_json::from_str::<Value>(k) else {
            return false;
        };
        want.iter().all(|(f, w)| {
            item.get(f)
                .cloned()
                .or_else(|| schema::key_default(f))
                .as_ref()
                == Some(w)
        })
    } else if let Some(x) = tok.strip_prefix("v:") {
        serde_json::from_str::<Value>(x).is_ok_and(|x| &x == item)
    } else {
        false
    }
}

fn step<'a>(cur: &'a Value, tok: &str) -> Option<&'a Value> {
    if let Some(f) = tok.strip_prefix("f:") {
        return cur.get(f);
    }
    if let Some(i) = tok.strip_prefix("i:") {
        return cur.get(i.parse::<usize>().ok()?);
    }
    cur.as_array()?.iter().find(|x| matches_token(tok, x))
}

/// The value at `path` in `obj`.
pub fn get<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |cur, t| step(cur, t))
}

fn step_mut<'a>(cur: &'a mut Value, tok: &str) -> Option<&'a mut Value> {
    if let Some(f) = tok.strip_prefix("f:") {
        return cur.get_mut(f);
    }
    if let Some(i) = tok.strip_prefix("i:") {
        return cur.get_mut(i.parse::<usize>().ok()?);
    }
    cur.as_array_mut()?
        .iter_mut()
        .find(|x| matches_token(tok, x))
}

/// Removes the field or list item at `path` from `obj`.
pub fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, init)) = path.split_last() else {
        return;
    };
    let Some(parent) = init.iter().try_fold(obj, |cur, t| step_mut(cur, t)) else {
        return;
    };
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = parent.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(items) = parent.as_array_mut() {
        items.retain(|x| !matches_token(last, x));
    }
}

/// A path as the real server prints it in conflicts:
/// `.spec.template.spec.containers[name="web"].image`.
pub fn display(path: &[String]) -> String {
    let mut out = String::new();
    for t in path {
        if let Some(f) = t.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = t.strip_prefix("k:") {
            let parts: Vec<String> = match serde_json::from_str::<Value>(k) {
                Ok(Value::Object(m)) => m.iter().map(|(f, v)| format!("{f}={v}")).collect(),
                _ => vec![k.to_owned()],
            };
            let _ = write!(out, "[{}]", parts.join(","));
        } else if let Some(v) = t.strip_prefix("v:") {
            let _ = write!(out, "[={v}]");
        } else if let Some(i) = t.strip_prefix("i:") {
            let _ = write!(out, "[{i}]");
        }
    }
    out
}

/// One `managedFields` entry, parsed.
#[derive(Debug, Clone)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub subresource: Option<String>,
    pub time: Value,
    pub set: Set,
}

impl Entry {
    pub fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

/// The object's `managedFields`, parsed.
pub fn entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or("").to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or("").to_owned(),
            subresource: e["subresource"].as_str().map(str::to_owned),
            time: e.get("time").cloned().unwrap_or(Value::Null),
            set: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

/// Writes `entries` (those with a non-empty set, with only the paths `obj`
/// still has) as the object's `managedFields`.
pub fn store(obj: &mut Value, mut list: Vec<Entry>) {
    let snapshot = obj.clone();
    for e in &mut list {
        e.set.retain(|p| get(&snapshot, p).is_some());
    }
    let out: Vec<Value> = list
        .into_iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.set),
            });
            if let Some(s) = e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    crate::objects::meta_mut(obj).insert("managedFields".into(), Value::Array(out));
}

/// Records an update (create, PUT, PATCH) by `manager`: it gains the fields
/// it set or changed, which leave every other manager's set; fields that
/// are gone leave every set.
pub fn record_update(
    obj: &mut Value,
    (manager, operation): (&str, &str),
    api_version: &str,
    subresource: Option<&str>,
    old: Option<&Value>,
) {
    let new_values = values(obj, subresource);
    let old_values = old.map(|o| values(o, subresource)).unwrap_or_default();
    let mut changed: Set = new_values
        .iter()
        .filter(|(p, v)| old_values.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    // Maps and optional structs the update added are owned as nodes too.
    let scoped_old = old.map(|o| scoped(o, subresource));
    let added_nodes: Vec<Path> = changed
        .iter()
        .flat_map(|p| (1..p.len()).map(move |n| p[..n].to_vec()))
        .filter(|prefix| {
            prefix.last().is_some_and(|t| t.starts_with("f:"))
                && schema::owns_added_node(&names(prefix))
                && scoped_old.as_ref().is_none_or(|o| get(o, prefix).is_none())
        })
        .collect();
    changed.extend(added_nodes);
    let mut list = entries(obj);
    for e in &mut list {
        if !e.is(manager, operation, subresource) {
            e.set.retain(|p| !changed.contains(p));
        }
    }
    match list
        .iter_mut()
        .find(|e| e.is(manager, operation, subresource))
    {
        Some(e) => {
            if !changed.is_empty() {
                e.time = json!(crate::objects::now());
                api_version.clone_into(&mut e.api_version);
            }
            e.set.extend(changed);
        }
        None => list.push(Entry {
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            api_version: api_version.to_owned(),
            subresource: subresource.map(str::to_owned),
            time: json!(crate::objects::now()),
            set: changed,
        }),
    }
    store(obj, list);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_through_fields_v1() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"app": "a"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "x", "ports": [{"containerPort": 80}]}]}}}});
        let set: Set = values(&obj, None).into_keys().collect();
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1,
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}}}}}}}}})
        );
        assert_eq!(from_fields_v1(&v1), set);
        let image: Path = vec![
            "f:spec".into(),
            "f:template".into(),
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"web\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(get(&obj, &image), Some(&json!("x")));
        assert_eq!(
            display(&image),
            ".spec.template.spec.containers[name=\"web\"].image"
        );
    }
}
