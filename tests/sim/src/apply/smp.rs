//! Strategic merge patch for the built-in kinds, with the directives
//! kubectl and Helm send: `$patch: replace|delete|merge`,
//! `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.

use serde_json::{Map, Value};

use super::schema::{self, ListType};

/// Applies a strategic merge patch to `target`.
pub fn patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(p) = patch else {
        return Err("a strategic merge patch must be a JSON object".to_owned());
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let mut names = Vec::new();
    if merge_map(target, p, &mut names)? == Outcome::Delete {
        *target = Value::Object(Map::new());
    }
    Ok(())
}

#[derive(PartialEq, Eq)]
enum Outcome {
    Keep,
    Delete,
}

fn directive(p: &Map<String, Value>) -> Option<&str> {
    p.get("$patch").and_then(Value::as_str)
}

fn merge_map(
    target: &mut Value,
    p: &Map<String, Value>,
    names: &mut Vec<String>,
) -> Result<Outcome, String> {
    match directive(p) {
        Some("delete") => return Ok(Outcome::Delete),
        Some("replace") => *target = Value::Object(Map::new()),
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch type: {other:?} in map")),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let mut orders = Vec::new();
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            orders.push((field.to_owned(), v.clone()));
            continue;
        }
        let t = target.as_object_mut().expect("target is an object");
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let gone = v.as_array().cloned().unwrap_or_default();
            if let Some(list) = t.get_mut(field).and_then(Value::as_array_mut) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        names.push(k.clone());
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(sub) => {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                if merge_map(slot, sub, names)? == Outcome::Delete {
                    t.remove(k);
                }
            }
            Value::Array(items) => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let lt = schema::list_type(&refs);
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                merge_list(slot, items, lt, names)?;
            }
            scalar => {
                t.insert(k.clone(), scalar.clone());
            }
        }
        names.pop();
    }
    let t = target.as_object_mut().expect("target is an object");
    for (field, order) in orders {
        if let (Some(list), Some(order)) = (
            t.get_mut(&field).and_then(Value::as_array_mut),
            order.as_array(),
        ) {
            names.push(field.clone());
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let lt = schema::list_type(&refs);
            names.pop();
            let position = |x: &Value| {
                order
                    .iter()
                    .position(|o| match lt {
                        ListType::Map { merge_key, .. } => {
                            o.get(merge_key).is_some() && o.get(merge_key) == x.get(merge_key)
                        }
                        _ => o == x,
                    })
                    .unwrap_or(usize::MAX)
            };
            list.sort_by_key(position);
        }
    }
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        t.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
    Ok(Outcome::Keep)
}

/// An element without directives, as it is stored when nothing merges into it.
fn fresh(v: &Value, names: &mut Vec<String>) -> Result<Value, String> {
    match v {
        Value::Object(m) => {
            let mut out = Value::Object(Map::new());
            merge_map(&mut out, m, names)?;
            Ok(out)
        }
        other => Ok(other.clone()),
    }
}

fn merge_list(
    slot: &mut Value,
    items: &[Value],
    lt: ListType,
    names: &mut Vec<String>,
) -> Result<(), String> {
    let replace = items
        .iter()
        .any(|x| x.get("$patch").and_then(Value::as_str) == Some("replace"));
    let items: Vec<&Value> = items
        .iter()
        .filter(|x| {
            !(x.is_object()
                && x.get("$patch").is_some()
                && x.as_object().is_some_and(|m| m.len() == 1))
        })
        .collect();
    if replace || !slot.is_array() || lt == ListType::Atomic {
        let mut out = Vec::new();
        for x in items {
            out.push(fresh(x, names)?);
        }
        *slot = Value::Array(out);
        return Ok(());
    }
    let list = slot.as_array_mut().expect("slot is an array");
    match lt {
        ListType::Atomic => unreachable!("handled above"),
        ListType::Set => {
            for x in items {
                if !list.contains(x) {
                    list.push(x.clone());
                }
            }
        }
        ListType::Map { merge_key, .. } => {
            for x in items {
                let Some(m) = x.as_object() else {
                    return Err(format!("list items must be objects with {merge_key:?}"));
                };
                let key = m.get(merge_key);
                if key.is_none() {
                    return Err(format!(
                        "map: {x} does not contain declared merge key: {merge_key}"
                    ));
                }
                let pos = list.iter().position(|y| y.get(merge_key) == key);
                if directive(m) == Some("delete") {
                    list.retain(|y| y.get(merge_key) != key);
                    continue;
                }
                match pos {
                    Some(i) => {
                        merge_map(&mut list[i], m, names)?;
                    }
                    None => list.push(fresh(x, names)?),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_lists_by_key_with_directives() {
        let mut d = json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1"}},
            "spec": {"template": {"spec": {
                "containers": [{"name": "web", "image": "1", "env": [{"name": "A", "value": "1"}]},
                               {"name": "old", "image": "o"}],
                "tolerations": [{"key": "k"}],
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}}});
        patch(
            &mut d,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"],
                    "labels": {"x": null}},
                "spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                    "containers": [{"name": "web", "image": "2", "env": [{"name": "B", "value": "2"}]},
                                   {"name": "side", "image": "s"},
                                   {"name": "old", "$patch": "delete"}],
                    "tolerations": [{"key": "t"}],
                    "strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}}}),
        )
        .expect("applies");
        assert_eq!(
            d,
            json!({"metadata": {"finalizers": ["b", "c"], "labels": {}},
                "spec": {"template": {"spec": {
                    "containers": [{"name": "side", "image": "s"},
                        {"name": "web", "image": "2", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
                    "tolerations": [{"key": "t"}],
                    "strategy": {"type": "Recreate"}}}}})
        );
        patch(
            &mut d,
            &json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "z"}]}}}}),
        )
        .expect("replaces");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "z"}])
        );
    }
}
