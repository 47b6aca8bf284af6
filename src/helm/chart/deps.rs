//! Helm's dependency processing (`ProcessDependenciesWithMerge`): which
//! subcharts are enabled (`condition`, `tags`), `alias` copies, and
//! `import-values` (a child's values copied into the parent's defaults, under
//! the parent's own). Works on a copy: the loaded chart stays as on disk.

use serde_json::{Map, Value as Json};

use super::values::{coalesce_tables, coalesce_values, merge_values};
use super::{Chart, ChartError};
use crate::helm::funcs::semver::constraint_matches;

/// The chart as it renders with these user values.
pub fn process(chart: &Chart, user: &Json) -> Result<Chart, ChartError> {
    let mut c = chart.clone();
    enabled(&mut c, user, "")?;
    import_values(&mut c)?;
    Ok(c)
}

fn dep_list(c: &Chart) -> Option<Vec<Map<String, Json>>> {
    let deps = c.metadata.get("dependencies")?.as_array()?;
    Some(deps.iter().filter_map(|d| d.as_object().cloned()).collect())
}

fn s<'a>(d: &'a Map<String, Json>, k: &str) -> &'a str {
    d.get(k).and_then(Json::as_str).unwrap_or("")
}

fn enabled(c: &mut Chart, v: &Json, path: &str) -> Result<(), ChartError> {
    let Some(mut reqs) = dep_list(c) else {
        return Ok(());
    };
    let existing = std::mem::take(&mut c.dependencies);
    let mut charts: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !reqs.iter().any(|r| {
                s(r, "name") == e.name() && constraint_matches(s(r, "version"), e.version())
            })
        })
        .cloned()
        .collect();
    for req in &mut reqs {
        if let Some(found) = existing.iter().find(|e| {
            e.name() == s(req, "name") && constraint_matches(s(req, "version"), e.version())
        }) {
            let mut copy = found.clone();
            let alias = s(req, "alias").to_owned();
            if !alias.is_empty() {
                copy.metadata["name"] = Json::String(alias);
            }
            charts.push(copy);
        }
        let alias = s(req, "alias").to_owned();
        if !alias.is_empty() {
            req.insert("name".to_owned(), Json::String(alias));
        }
        req.insert("enabled".to_owned(), Json::Bool(true));
    }
    c.dependencies = charts;
    let cvals = coalesce_values(c, v)?;
    tags(&mut reqs, &cvals);
    conditions(&mut reqs, &cvals, path);
    let disabled: Vec<String> = reqs
        .iter()
        .filter(|r| r.get("enabled") == Some(&Json::Bool(false)))
        .map(|r| s(r, "name").to_owned())
        .collect();
    c.dependencies
        .retain(|d| !disabled.iter().any(|n| n == d.name()));
    reqs.retain(|r| !disabled.iter().any(|n| n == s(r, "name")));
    for sub in &mut c.dependencies {
        let subpath = format!("{path}{}.", sub.name());
        enabled(sub, &cvals, &subpath)?;
    }
    if let Json::Object(meta) = &mut c.metadata {
        if reqs.is_empty() {
            meta.remove("dependencies");
        } else {
            meta.insert(
                "dependencies".to_owned(),
                Json::Array(reqs.into_iter().map(Json::Object).collect()),
            );
        }
    }
    Ok(())
}

fn tags(reqs: &mut [Map<String, Json>], cvals: &Json) {
    let Some(Json::Object(vt)) = cvals.get("tags") else {
        return;
    };
    for r in reqs {
        let (mut has_true, mut has_false) = (false, false);
        for tag in r.get("tags").and_then(Json::as_array).into_iter().flatten() {
            match tag.as_str().and_then(|t| vt.get(t)) {
                Some(Json::Bool(true)) => has_true = true,
                Some(Json::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        if !has_true && has_false {
            r.insert("enabled".to_owned(), Json::Bool(false));
        } else {
            r.insert("enabled".to_owned(), Json::Bool(true));
        }
    }
}

fn conditions(reqs: &mut [Map<String, Json>], cvals: &Json, path: &str) {
    for r in reqs {
        let cond = s(r, "condition").trim().to_owned();
        for c in cond.split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(Json::Bool(b)) = path_value(cvals, &format!("{path}{c}")) {
                r.insert("enabled".to_owned(), Json::Bool(b));
                break;
            }
        }
    }
}

/// Helm's `Values.PathValue`: a non-table value at a dotted path.
fn path_value(v: &Json, path: &str) -> Option<Json> {
    let parts: Vec<&str> = path.split('.').collect();
    let (key, table_path) = parts.split_last()?;
    let table = if table_path.is_empty() {
        v.as_object()?
    } else {
        table(v, &table_path.join("."))?
    };
    match table.get(*key) {
        Some(Json::Object(_)) | None => None,
        Some(x) => Some(x.clone()),
    }
}

/// Helm's `Values.Table`: the map at a dotted path.
fn table<'a>(v: &'a Json, path: &str) -> Option<&'a Map<String, Json>> {
    let mut cur = v;
    for p in path.split('.') {
        cur = cur.as_object()?.get(p)?;
    }
    cur.as_object()
}

fn import_values(c: &mut Chart) -> Result<(), ChartError> {
    for d in &mut c.dependencies {
        import_values(d)?;
    }
    let Some(mut reqs) = dep_list(c) else {
        return Ok(());
    };
    let cvals = merge_values(c, &Json::Null)?;
    let mut b = Map::new();
    for r in &mut reqs {
        let name = s(r, "name").to_owned();
        let mut out = Vec::new();
        for riv in r
            .get("import-values")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
        {
            match riv {
                Json::Object(iv) => {
                    let child = s(&iv, "child").to_owned();
                    let parent = s(&iv, "parent").to_owned();
                    out.push(serde_json::json!({"child": child, "parent": parent}));
                    let Some(vv) = table(&cvals, &format!("{name}.{child}")) else {
                        continue;
                    };
                    coalesce_tables(&mut b, path_to_map(&parent, vv.clone()), true);
                }
                Json::String(iv) => {
                    let child = format!("exports.{iv}");
                    out.push(serde_json::json!({"child": child, "parent": "."}));
                    let Some(vm) = table(&cvals, &format!("{name}.{child}")) else {
                        continue;
                    };
                    coalesce_tables(&mut b, vm.clone(), true);
                }
                _ => {}
            }
        }
        if r.contains_key("import-values") {
            r.insert("import-values".to_owned(), Json::Array(out));
        }
    }
    let Json::Object(mut cv) = cvals else {
        return Ok(());
    };
    coalesce_tables(&mut cv, b, true);
    c.values = Json::Object(cv);
    if let Json::Object(meta) = &mut c.metadata {
        meta.insert(
            "dependencies".to_owned(),
            Json::Array(reqs.into_iter().map(Json::Object).collect()),
        );
    }
    Ok(())
}

fn path_to_map(path: &str, data: Map<String, Json>) -> Map<String, Json> {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for p in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(p.to_owned(), Json::Object(cur));
        cur = m;
    }
    cur
}
