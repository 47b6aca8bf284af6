//! Checks events against `docs/events.schema.json`: the event's `$defs`
//! entry (picked by its `event` name, as the schema's `oneOf` would), with
//! the keywords that schema uses.

use serde_json::Value as Json;

use crate::support::repo_root;

pub fn schema() -> Json {
    let text = std::fs::read_to_string(repo_root().join("docs/events.schema.json"))
        .expect("docs/events.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Problems of `event` against the schema (empty: valid).
pub fn problems(schema: &Json, event: &Json) -> Vec<String> {
    let Some(name) = event["event"].as_str() else {
        return vec![format!("no `event` name: {event}")];
    };
    let Some(def) = schema["$defs"].get(name) else {
        return vec![format!("`{name}` is not a documented event")];
    };
    let mut out = Vec::new();
    check(def, event, name, &mut out);
    out
}

fn check(schema: &Json, value: &Json, at: &str, out: &mut Vec<String>) {
    if let Some(want) = schema.get("const")
        && want != value
    {
        out.push(format!("{at}: {value} is not {want}"));
    }
    if let Some(options) = schema.get("enum").and_then(Json::as_array)
        && !options.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Json::String(t) => vec![t.as_str()],
            Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
            _ => vec![],
        };
        let fits = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| fits(t)) {
            out.push(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Json::as_i64), value.as_i64())
        && n < min
    {
        out.push(format!("{at}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (schema.get("maximum").and_then(Json::as_i64), value.as_i64())
        && n > max
    {
        out.push(format!("{at}: {n} > {max}"));
    }
    if let (Some(pattern), Some(text)) =
        (schema.get("pattern").and_then(Json::as_str), value.as_str())
        && !regex::Regex::new(pattern).expect("pattern").is_match(text)
    {
        out.push(format!("{at}: {text:?} does not match {pattern}"));
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            check(items, item, &format!("{at}[{i}]"), out);
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Json::as_object);
        for key in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
        {
            if !object.contains_key(key) {
                out.push(format!("{at}: `{key}` is missing"));
            }
        }
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => check(sub, field, &format!("{at}.{key}"), out),
                None if schema.get("additionalProperties") == Some(&Json::Bool(false)) => {
                    out.push(format!("{at}: `{key}` is not documented"));
                }
                None => {}
            }
        }
    }
}

#[test]
fn the_schema_lists_every_event_and_catches_a_wrong_one() {
    let schema = schema();
    let refs: Vec<&str> = schema["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .filter_map(|r| r["$ref"].as_str())
        .collect();
    assert_eq!(refs.len(), schema["$defs"].as_object().expect("defs").len());
    let good = serde_json::json!({"v": 1, "ts": "2026-11-27T12:00:00Z", "event": "iteration_started",
        "app": "web", "iteration": 2, "kind": "rebuild", "trigger": ["a.py"]});
    assert_eq!(problems(&schema, &good), Vec::<String>::new());
    let bad = serde_json::json!({"v": 2, "ts": "yesterday", "event": "iteration_started",
        "app": "web", "iteration": -1, "kind": "guess", "extra": true});
    let found = problems(&schema, &bad);
    assert_eq!(found.len(), 6, "{found:#?}");
}
