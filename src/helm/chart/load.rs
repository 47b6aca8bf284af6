//! Reading a chart as Helm's loader does (`pkg/chart/loader`): a directory
//! (filtered by its `.helmignore`) or a `.tgz`, split into Chart.yaml,
//! values.yaml, values.schema.json, templates, other files and subcharts
//! (`charts/NAME/` directories and `charts/*.tgz` archives).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde_json::Value as Json;

use super::ignore::Rules;
use super::{Chart, ChartError, ChartFile};

/// Loads a chart directory or archive.
pub fn load(path: &Path) -> Result<Chart, ChartError> {
    let read_err = |message: String| ChartError::Read {
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
    if meta.is_dir() {
        let ignore = match std::fs::read_to_string(path.join(".helmignore")) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(read_err(e.to_string())),
        };
        let rules = Rules::parse(&ignore)?;
        let mut files = Vec::new();
        walk(path, "", &rules, &mut files).map_err(|e| read_err(e.to_string()))?;
        if !files.iter().any(|f| f.name == "Chart.yaml") {
            return Err(ChartError::Invalid(format!(
                "Chart.yaml file is missing in {}",
                path.display()
            )));
        }
        from_files(files)
    } else {
        let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
        load_archive(&bytes)
    }
}

fn walk(root: &Path, prefix: &str, rules: &Rules, out: &mut Vec<ChartFile>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(root.join(prefix))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // Follows symlinks, as Helm's `sympath.Walk` does.
        let meta = std::fs::metadata(entry.path())?;
        if meta.is_dir() {
            if !rules.ignored(&rel, true) {
                walk(root, &rel, rules, out)?;
            }
            continue;
        }
        if rules.ignored(&rel, false) {
            continue;
        }
        let mut data = std::fs::read(entry.path())?;
        strip_bom(&mut data);
        out.push(ChartFile { name: rel, data });
    }
    Ok(())
}

fn strip_bom(data: &mut Vec<u8>) {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
}

/// Loads a gzipped chart archive (its files sit under one top directory).
pub fn load_archive(bytes: &[u8]) -> Result<Chart, ChartError> {
    let invalid = |e: std::io::Error| ChartError::Invalid(format!("invalid chart archive: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = Vec::new();
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(invalid)?
            .to_string_lossy()
            .into_owned();
        let name = match path.split_once('/') {
            Some((_, rest)) => rest.to_owned(),
            None => path,
        };
        if name.split('/').any(|p| p == "..") {
            return Err(ChartError::Invalid(format!(
                "chart illegally contains content outside the base directory: {name:?}"
            )));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(invalid)?;
        strip_bom(&mut data);
        files.push(ChartFile { name, data });
    }
    if files.is_empty() {
        return Err(ChartError::Invalid("no files in chart archive".to_owned()));
    }
    from_files(files)
}

/// Helm's `LoadFiles`: sorts the files into the parts of a chart.
pub fn from_files(files: Vec<ChartFile>) -> Result<Chart, ChartError> {
    let mut chart = Chart::default();
    let mut subcharts: BTreeMap<String, Vec<ChartFile>> = BTreeMap::new();
    let mut has_meta = false;
    let mut requirements = None;
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {
                chart.metadata = yaml_object(&f.data)
                    .map_err(|e| ChartError::Invalid(format!("cannot load Chart.yaml: {e}")))?;
                has_meta = true;
            }
            "Chart.lock" => {
                chart.lock =
                    Some(yaml_object(&f.data).map_err(|e| {
                        ChartError::Invalid(format!("cannot load Chart.lock: {e}"))
                    })?);
            }
            "values.yaml" => {
                chart.values = yaml_object(&f.data)
                    .map_err(|e| ChartError::Invalid(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => chart.schema = Some(f.data),
            "requirements.yaml" => {
                requirements = Some(yaml_object(&f.data).map_err(|e| {
                    ChartError::Invalid(format!("cannot load requirements.yaml: {e}"))
                })?);
                chart.files.push(f);
            }
            name if name.starts_with("templates/") => chart.templates.push(f),
            name if name.starts_with("charts/") => {
                if Path::new(name)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("prov"))
                {
                    chart.files.push(f);
                    continue;
                }
                let rest = &name["charts/".len()..];
                let (cname, inner) = rest.split_once('/').unwrap_or((rest, ""));
                let (cname, inner) = (cname.to_owned(), inner.to_owned());
                let name = if inner.is_empty() {
                    cname.clone()
                } else {
                    inner
                };
                subcharts
                    .entry(cname)
                    .or_default()
                    .push(ChartFile { name, data: f.data });
            }
            _ => chart.files.push(f),
        }
    }
    if !has_meta {
        return Err(ChartError::Invalid("Chart.yaml file is missing".to_owned()));
    }
    if let Some(Json::Object(mut req)) = requirements
        && chart.api_version() == "v1"
        && let Some(deps) = req.remove("dependencies")
        && let Json::Object(meta) = &mut chart.metadata
    {
        meta.insert("dependencies".to_owned(), deps);
    }
    validate_metadata(&chart.metadata)?;
    for (name, files) in subcharts {
        if name.starts_with(['_', '.']) {
            continue;
        }
        let wrap = |e: ChartError| {
            ChartError::Invalid(format!(
                "error unpacking subchart {name} in {}: {e}",
                chart.name()
            ))
        };
        let sub = if Path::new(&name).extension().is_some_and(|e| e == "tgz") {
            let Some(file) = files.into_iter().next() else {
                continue;
            };
            load_archive(&file.data).map_err(wrap)?
        } else {
            let files: Vec<ChartFile> = files.into_iter().filter(|f| f.name != name).collect();
            from_files(files).map_err(wrap)?
        };
        chart.dependencies.push(sub);
    }
    chart.dependencies.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(chart)
}

/// YAML bytes as a JSON object (an empty document is an empty object).
fn yaml_object(data: &[u8]) -> Result<Json, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    match super::values::parse_yaml(text)? {
        Json::Null => Ok(Json::Object(serde_json::Map::new())),
        v @ Json::Object(_) => Ok(v),
        _ => Err("error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]interface {}".to_owned()),
    }
}

/// Helm's `Metadata.Validate`, the checks users hit.
fn validate_metadata(meta: &Json) -> Result<(), ChartError> {
    let field = |k: &str| meta.get(k).and_then(Json::as_str).unwrap_or("");
    let err = |m: &str| Err(ChartError::Invalid(format!("validation: {m}")));
    if field("apiVersion").is_empty() {
        return err("chart.metadata.apiVersion is required");
    }
    if field("name").is_empty() {
        return err("chart.metadata.name is required");
    }
    if field("version").is_empty() {
        return err("chart.metadata.version is required");
    }
    match field("type") {
        "" | "application" | "library" => Ok(()),
        _ => err("chart.metadata.type must be application or library"),
    }
}
