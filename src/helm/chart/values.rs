//! Values as Helm composes them: the user's values from `-f` files and
//! `--set*` flags (`pkg/cli/values`), and Helm's coalescing of those with
//! the chart's and its subcharts' defaults (`CoalesceValues`): subchart
//! scoping, `global` copied down, and nulls (a user null deletes a default;
//! a null the defaults lack is kept).
//!
//! Numbers follow Helm's types: YAML and JSON numbers are float64, `--set`
//! integers int64; here they are `serde_json` f64 and i64 numbers.

use std::path::PathBuf;

use serde_json::{Map, Value as Json};

use super::strvals::{self, Reader};
use super::{Chart, ChartError, deps, schema};

/// Everything a user can pass as values, in Helm's precedence order.
#[derive(Debug, Clone, Default)]
pub struct ValueInputs {
    /// `-f`: YAML files, later ones win.
    pub files: Vec<PathBuf>,
    /// `--set` expressions.
    pub set: Vec<String>,
    /// `--set-string` expressions.
    pub set_string: Vec<String>,
    /// `--set-json` expressions (`k=JSON`, or a whole JSON object).
    pub set_json: Vec<String>,
    /// `--set-file` expressions (`k=PATH`).
    pub set_file: Vec<String>,
    /// Applied last, over everything (devloop's image values); an object.
    pub overrides: Json,
}

/// What a release stores: the user's values and the merged result.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    /// The user-supplied values (Helm's release `config`).
    pub config: Json,
    /// Chart defaults coalesced with `config` (what templates see).
    pub merged: Json,
}

/// Reads a YAML document as `sigs.k8s.io/yaml` does: JSON data, numbers
/// as float64; empty text is null.
pub fn parse_yaml(text: &str) -> Result<Json, String> {
    parse_manifest(text).map(strvals::to_float_numbers)
}

/// Reads a rendered manifest document for the API server: integers stay
/// integers (`replicas: 1` must not become `1.0`, which `int32` fields
/// reject), unlike values, which Helm reads as float64.
pub fn parse_manifest(text: &str) -> Result<Json, String> {
    if text.trim().is_empty() {
        return Ok(Json::Null);
    }
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    let docs: Vec<Json> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    Ok(docs.into_iter().next().unwrap_or_default())
}

impl ValueInputs {
    /// The user's values (Helm's `MergeValues`): files, then `--set-json`,
    /// `--set`, `--set-string`, `--set-file`, then the overrides.
    pub fn user_values(&self) -> Result<Json, ChartError> {
        let mut base = Map::new();
        for path in &self.files {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ChartError::Values(format!("open {}: {}", path.display(), go_io(&e)))
            })?;
            let current = parse_yaml(&text).map_err(|e| {
                ChartError::Values(format!("failed to parse {}: {e}", path.display()))
            })?;
            match current {
                Json::Object(m) => merge_maps(&mut base, m),
                Json::Null => {}
                _ => {
                    return Err(ChartError::Values(format!(
                        "failed to parse {}: error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]interface {{}}",
                        path.display()
                    )));
                }
            }
        }
        for expr in &self.set_json {
            let trimmed = expr.trim();
            if trimmed.starts_with('{') {
                match serde_json::from_str::<Map<String, Json>>(trimmed) {
                    Ok(m) => {
                        let Json::Object(m) = strvals::to_float_numbers(Json::Object(m)) else {
                            continue;
                        };
                        merge_maps(&mut base, m);
                    }
                    Err(_) => {
                        return Err(ChartError::Values(format!(
                            "failed parsing --set-json data JSON: {expr}"
                        )));
                    }
                }
            } else if strvals::parse_into(expr, &mut base, Reader::Json).is_err() {
                return Err(ChartError::Values(format!(
                    "failed parsing --set-json data {expr}"
                )));
            }
        }
        let wrap =
            |what: &str, e: String| ChartError::Values(format!("failed parsing {what} data: {e}"));
        for expr in &self.set {
            strvals::parse_into(expr, &mut base, Reader::Typed).map_err(|e| wrap("--set", e))?;
        }
        for expr in &self.set_string {
            strvals::parse_into(expr, &mut base, Reader::String)
                .map_err(|e| wrap("--set-string", e))?;
        }
        let read_file = |path: &str| {
            std::fs::read_to_string(path).map_err(|e| format!("open {path}: {}", go_io(&e)))
        };
        for expr in &self.set_file {
            strvals::parse_into(expr, &mut base, Reader::File(&read_file))
                .map_err(|e| wrap("--set-file", e))?;
        }
        if let Json::Object(m) = &self.overrides {
            merge_maps(&mut base, m.clone());
        }
        Ok(Json::Object(base))
    }
}

/// Go's wording of common I/O errors.
fn go_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// `pkg/cli/values` `mergeMaps`: `b` wins, maps merge recursively.
pub fn merge_maps(a: &mut Map<String, Json>, b: Map<String, Json>) {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Json::Object(av)), Json::Object(bv)) => merge_maps(av, bv),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}

/// The user's values and the chart's, coalesced and checked against the
/// charts' schemas, as `helm install`/`template` would render them.
pub fn coalesce(chart: &Chart, inputs: &ValueInputs) -> Result<Values, ChartError> {
    let config = inputs.user_values()?;
    let processed = deps::process(chart, &config)?;
    let merged = coalesce_values(&processed, &config)?;
    schema::validate_chart(&processed, &merged)?;
    Ok(Values { config, merged })
}

/// Helm's `CoalesceValues(chart, vals)`.
pub fn coalesce_values(chart: &Chart, vals: &Json) -> Result<Json, ChartError> {
    let mut dest = match vals {
        Json::Object(m) => m.clone(),
        _ => Map::new(),
    };
    coalesce_into(chart, &mut dest, false)?;
    Ok(Json::Object(dest))
}

/// Helm's `MergeValues`: coalescing that keeps nulls.
pub(super) fn merge_values(chart: &Chart, vals: &Json) -> Result<Json, ChartError> {
    let mut dest = match vals {
        Json::Object(m) => m.clone(),
        _ => Map::new(),
    };
    coalesce_into(chart, &mut dest, true)?;
    Ok(Json::Object(dest))
}

fn coalesce_into(
    chart: &Chart,
    dest: &mut Map<String, Json>,
    merge: bool,
) -> Result<(), ChartError> {
    coalesce_chart_values(chart, dest, merge);
    for sub in &chart.dependencies {
        let name = sub.name().to_owned();
        let mut sub_vals = match dest.remove(&name) {
            None => Map::new(),
            Some(Json::Object(m)) => m,
            Some(other) => {
                return Err(ChartError::Values(format!(
                    "type mismatch on {name}: %!t({}={})",
                    go_type(&other),
                    go_value(&other)
                )));
            }
        };
        coalesce_globals(&mut sub_vals, dest);
        coalesce_into(sub, &mut sub_vals, merge)?;
        dest.insert(name, Json::Object(sub_vals));
    }
    Ok(())
}

fn go_value(v: &Json) -> String {
    match v {
        Json::Number(n) => n.as_f64().map_or_else(
            || n.to_string(),
            |f| crate::helm::template::fmt::display(&crate::helm::template::Value::Float(f)),
        ),
        Json::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn go_type(v: &Json) -> &'static str {
    match v {
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float64",
        Json::Number(_) => "int64",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        _ => "<nil>",
    }
}

/// Copies the parent's `global` into the child's (parent wins).
fn coalesce_globals(dest: &mut Map<String, Json>, src: &Map<String, Json>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src.get("global") {
        None => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        match val {
            Json::Object(mut vv) => match dg.get(&key) {
                None => {
                    dg.insert(key, Json::Object(vv));
                }
                Some(Json::Object(destv)) => {
                    coalesce_tables(&mut vv, destv.clone(), true);
                    dg.insert(key, Json::Object(vv));
                }
                Some(_) => {}
            },
            val => {
                if !matches!(dg.get(&key), Some(Json::Object(_))) {
                    dg.insert(key, val);
                }
            }
        }
    }
    dest.insert("global".to_owned(), Json::Object(dg));
}

/// Helm's `coalesceValues`: the chart's defaults under the given values.
fn coalesce_chart_values(chart: &Chart, v: &mut Map<String, Json>, merge: bool) {
    let Json::Object(defaults) = &chart.values else {
        return;
    };
    for (key, val) in defaults {
        match v.get_mut(key) {
            // Top level: a user null deletes the key even where the default
            // is null too (unlike deeper down; checked against the oracle).
            Some(Json::Null) if !merge => {
                v.remove(key);
            }
            Some(Json::Object(dest)) => {
                if let Json::Object(src) = val {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    coalesce_tables(dest, src.clone(), merge);
                }
            }
            Some(_) => {}
            None => {
                if let Some(val) = default_value(val, merge) {
                    v.insert(key.clone(), val);
                }
            }
        }
    }
}

/// A default copied under the user's values: when coalescing (not merging)
/// Helm 4 drops the chart's own nulls at any depth (checked against the
/// oracle: `h: ~` in values.yaml is no key at all).
fn default_value(val: &Json, merge: bool) -> Option<Json> {
    if merge {
        return Some(val.clone());
    }
    match val {
        Json::Null => None,
        Json::Object(m) => Some(Json::Object(
            m.iter()
                .filter_map(|(k, v)| default_value(v, false).map(|v| (k.clone(), v)))
                .collect(),
        )),
        v => Some(v.clone()),
    }
}

/// Helm's `coalesceTablesFullKey`: `src` merged under `dst` (dst wins). A
/// null in `dst` deletes the key only where `src` has a value for it (Helm 4:
/// a null the defaults lack, or have as null too, is kept; checked against
/// the oracle).
pub(super) fn coalesce_tables(dst: &mut Map<String, Json>, src: Map<String, Json>, merge: bool) {
    for (key, val) in src {
        match dst.get_mut(&key) {
            Some(Json::Null) if !merge && !val.is_null() => {
                dst.remove(&key);
            }
            None => {
                if let Some(val) = default_value(&val, merge) {
                    dst.insert(key, val);
                }
            }
            Some(dv) => {
                if let (Json::Object(dv), Json::Object(val)) = (dv, val) {
                    coalesce_tables(dv, val, merge);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(values: Json, deps: Vec<Chart>) -> Chart {
        Chart {
            metadata: json!({"apiVersion": "v2", "name": "top", "version": "1.0.0"}),
            values,
            dependencies: deps,
            ..Chart::default()
        }
    }

    #[test]
    fn user_null_deletes_a_default_and_is_kept_otherwise() {
        let c = chart(json!({"a": 1.0, "b": {"c": 2.0, "d": 3.0}}), vec![]);
        let out = coalesce_values(&c, &json!({"a": null, "x": null, "b": {"c": null}}))
            .expect("coalesces");
        assert_eq!(out, json!({"x": null, "b": {"d": 3.0}}));
    }

    #[test]
    fn globals_and_subchart_scoping() {
        let mut sub = chart(json!({"port": 80.0, "global": {"env": "sub"}}), vec![]);
        sub.metadata["name"] = json!("sub");
        let c = chart(
            json!({"global": {"env": "top"}, "sub": {"port": 81.0}}),
            vec![sub],
        );
        let out = coalesce_values(&c, &json!({})).expect("coalesces");
        assert_eq!(out["sub"], json!({"port": 81.0, "global": {"env": "top"}}));
    }
}
