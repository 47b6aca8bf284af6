//! Helm's engine over a chart tree (`engine.Render` + `recAllTpls`): every
//! template of the chart and its enabled subcharts parsed into one set (in
//! Helm's order, so the top chart's `define`s win), each rendered with its
//! own chart's `.Values`, `.Chart`, `.Files`, then NOTES.txt taken out and
//! the rest sorted into manifests and hooks.

use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value as Json;

use super::objects::{CapsObject, Files};
use super::{Chart, ChartError, ReleaseInfo, deps, sort, values};
use crate::helm::funcs::helm_funcs;
use crate::helm::rendered::{Capabilities, Lookup, Manifest, Rendered};
use crate::helm::template::{FuncError, Funcs, Param, Signature, TemplateSet, Value};

/// One template to render and the dot it renders with.
struct Renderable {
    text: String,
    vals: Value,
    base_path: String,
}

/// Renders `chart` with coalesced `values` (as [`values::coalesce`] gives).
pub fn render(
    chart: &Chart,
    values: &Json,
    release: &ReleaseInfo,
    caps: &Capabilities,
    lookup: Option<Arc<dyn Lookup>>,
) -> Result<Rendered, ChartError> {
    // The values are already coalesced: coalescing again would bring back
    // the defaults a user's null deleted. Only the chart tree is redone.
    let processed = deps::process(chart, values)?;
    let mut files = render_files(&processed, values, release, caps, lookup)?;
    let top_notes = format!("{}/templates/NOTES.txt", processed.name());
    let notes = files.remove(&top_notes);
    files.retain(|k, _| !k.ends_with("NOTES.txt"));
    let (manifests, hooks) = sort::sort_manifests(&files)?;
    Ok(Rendered {
        manifests,
        hooks,
        notes,
        crds: crds(&processed)?,
    })
}

/// The `crds/` files of the chart and its subcharts (not templated).
fn crds(chart: &Chart) -> Result<Vec<Manifest>, ChartError> {
    let mut out = Vec::new();
    collect_crds(chart, chart.name(), &mut out)?;
    Ok(out)
}

fn collect_crds(chart: &Chart, full: &str, out: &mut Vec<Manifest>) -> Result<(), ChartError> {
    // Helm's `CRDObjects`: YAML or JSON files under `crds/`.
    let is_crd = |name: &str| {
        name.starts_with("crds/")
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|ext| name.ends_with(ext))
    };
    for f in chart.files.iter().filter(|f| is_crd(&f.name)) {
        let source = format!("{full}/{}", f.name);
        let text = String::from_utf8_lossy(&f.data);
        for doc in sort::split_documents(&text) {
            let object = values::parse_manifest(&doc)
                .map_err(|e| ChartError::Manifest(format!("YAML parse error on {source}: {e}")))?;
            out.push(Manifest {
                source: source.clone(),
                text: doc,
                object,
            });
        }
    }
    for d in &chart.dependencies {
        collect_crds(d, &format!("{full}/charts/{}", d.name()), out)?;
    }
    Ok(())
}

fn default_funcs() -> Arc<Funcs> {
    static FUNCS: OnceLock<Arc<Funcs>> = OnceLock::new();
    FUNCS.get_or_init(|| Arc::new(helm_funcs())).clone()
}

fn funcs_with(lookup: Option<Arc<dyn Lookup>>) -> Arc<Funcs> {
    let Some(lookup) = lookup else {
        return default_funcs();
    };
    let mut funcs = helm_funcs();
    funcs.register(
        "lookup",
        Signature::fixed(&[Param::String, Param::String, Param::String, Param::String]),
        move |_, args| {
            let a = |i: usize| args.get(i).and_then(Value::as_str).unwrap_or_default();
            lookup
                .lookup(a(0), a(1), a(2), a(3))
                .map(|j| json_to_value(&j))
                .map_err(FuncError::new)
        },
    );
    Arc::new(funcs)
}

/// JSON into template values keeping Helm's number types: integers (from
/// `--set` or the API server) are int64, everything else float64.
pub fn json_to_value(json: &Json) -> Value {
    match json {
        Json::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::Int64(i),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::Array(items) => Value::list(items.iter().map(json_to_value).collect()),
        Json::Object(m) => Value::map(
            m.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

fn release_value(r: &ReleaseInfo) -> Value {
    Value::map(BTreeMap::from([
        ("Name".to_owned(), Value::from(r.name.as_str())),
        ("Namespace".to_owned(), Value::from(r.namespace.as_str())),
        ("IsInstall".to_owned(), Value::Bool(r.is_install)),
        ("IsUpgrade".to_owned(), Value::Bool(!r.is_install)),
        ("Revision".to_owned(), Value::Int(r.revision)),
        ("Service".to_owned(), Value::from("Helm")),
    ]))
}

fn render_files(
    chart: &Chart,
    values: &Json,
    release: &ReleaseInfo,
    caps: &Capabilities,
    lookup: Option<Arc<dyn Lookup>>,
) -> Result<BTreeMap<String, String>, ChartError> {
    let top = Value::map(BTreeMap::from([
        ("Release".to_owned(), release_value(release)),
        (
            "Capabilities".to_owned(),
            Value::Object(Rc::new(CapsObject::new(caps))),
        ),
        ("Values".to_owned(), json_to_value(values)),
    ]));
    let mut templates = BTreeMap::new();
    all_templates(chart, &top, true, "", &mut templates);
    let mut keys: Vec<&String> = templates.keys().collect();
    // Helm's sortTemplates: deeper paths first, then reverse lexical.
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    let sources: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k.as_str(), templates[*k].text.as_str()))
        .collect();
    let set = parsed(&sources)?.with_funcs(funcs_with(lookup));
    let mut out = BTreeMap::new();
    for name in keys {
        if name.rsplit('/').next().is_some_and(|b| b.starts_with('_')) {
            continue;
        }
        let r = &templates[name];
        if let Value::Map(m) = &r.vals {
            m.borrow_mut().insert(
                "Template".to_owned(),
                Value::map(BTreeMap::from([
                    ("Name".to_owned(), Value::from(name.as_str())),
                    ("BasePath".to_owned(), Value::from(r.base_path.as_str())),
                ])),
            );
        }
        let text = set
            .render(name, r.vals.clone())
            .map_err(|e| ChartError::Render(e.helm_message()))?;
        out.insert(name.clone(), text);
    }
    Ok(out)
}

/// Parsed templates by their names and texts, kept across renders: the dev
/// loop re-renders the same chart on every iteration, and parsing is most
/// of a render (1.9 of 2.7 ms for `helm create`'s chart in a debug build).
type ParseCache = Mutex<Vec<(u64, Vec<(String, String)>, TemplateSet)>>;

/// Charts whose parsed templates are kept (a repo has a few apps).
const PARSE_CACHE_SIZE: usize = 8;

fn parsed(sources: &[(&str, &str)]) -> Result<TemplateSet, ChartError> {
    static CACHE: OnceLock<ParseCache> = OnceLock::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    sources.hash(&mut hasher);
    let key = hasher.finish();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(entries) = cache.lock()
        && let Some((_, _, set)) = entries.iter().find(|(k, src, _)| {
            *k == key
                && src
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .eq(sources.iter().copied())
        })
    {
        return Ok(set.clone());
    }
    let mut set = TemplateSet::new(default_funcs());
    for (name, text) in sources {
        set.parse(name, text)
            .map_err(|e| ChartError::Render(e.helm_message()))?;
    }
    if let Ok(mut entries) = cache.lock() {
        if entries.len() >= PARSE_CACHE_SIZE {
            entries.remove(0);
        }
        let owned = sources
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        entries.push((key, owned, set.clone()));
    }
    Ok(set)
}

/// Helm's `recAllTpls`: the dot of `chart` (returned) and its templates.
fn all_templates(
    chart: &Chart,
    parent: &Value,
    is_root: bool,
    parent_path: &str,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let get = |k: &str| match parent {
        Value::Map(m) => m.borrow().get(k).cloned().unwrap_or_default(),
        _ => Value::Nil,
    };
    let values = if is_root {
        get("Values")
    } else {
        match &get("Values") {
            Value::Map(m) => match m.borrow().get(chart.name()) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::map(BTreeMap::new()),
            },
            _ => Value::map(BTreeMap::new()),
        }
    };
    let files = Files(
        chart
            .files
            .iter()
            .map(|f| (f.name.clone(), Rc::from(f.data.as_slice())))
            .collect(),
    );
    let subcharts = Value::map(BTreeMap::new());
    let next = Value::map(BTreeMap::from([
        ("Chart".to_owned(), chart.template_metadata(is_root)),
        ("Files".to_owned(), Value::Object(Rc::new(files))),
        ("Release".to_owned(), get("Release")),
        ("Capabilities".to_owned(), get("Capabilities")),
        ("Values".to_owned(), values),
        ("Subcharts".to_owned(), subcharts.clone()),
    ]));
    let full_path = if is_root {
        chart.name().to_owned()
    } else {
        format!("{parent_path}/charts/{}", chart.name())
    };
    for dep in &chart.dependencies {
        let child = all_templates(dep, &next, false, &full_path, out);
        if let Value::Map(m) = &subcharts {
            m.borrow_mut().insert(dep.name().to_owned(), child);
        }
    }
    for t in &chart.templates {
        if chart.is_library()
            && !t
                .name
                .rsplit('/')
                .next()
                .is_some_and(|b| b.starts_with('_'))
        {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data).into_owned(),
                vals: next.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}
