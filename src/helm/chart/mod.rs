//! The chart model: a Helm chart loaded as Helm loads it ([`Chart::load`]),
//! its values composed and coalesced as Helm does ([`values::coalesce`]),
//! and rendered into [`Rendered`](crate::helm::rendered::Rendered) with
//! Helm's objects (`.Values`, `.Release`, `.Chart`, `.Capabilities`,
//! `.Template`, `.Files`) by [`render`]. It owns no cluster access: deploy
//! passes `.Capabilities` and a [`Lookup`](crate::helm::rendered::Lookup).

mod deps;
mod error;
mod ignore;
mod load;
mod objects;
mod render;
mod schema;
mod sort;
mod strvals;
pub mod values;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

pub use error::ChartError;
pub use render::render;
pub use values::{ValueInputs, Values};

use crate::helm::template::Value;

/// One file of a chart, its path relative to the chart root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// A loaded chart and its subcharts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chart {
    /// Chart.yaml as JSON (its own keys: `apiVersion`, `name`, ...).
    pub metadata: Json,
    /// Chart.lock as JSON, when the chart has one (Helm's release keeps it).
    pub lock: Option<Json>,
    /// values.yaml as JSON (numbers are float64, as in Helm).
    pub values: Json,
    /// values.schema.json, as is.
    pub schema: Option<Vec<u8>>,
    /// `templates/...` files.
    pub templates: Vec<ChartFile>,
    /// Every other file (`.Files`), `crds/` included, after `.helmignore`.
    pub files: Vec<ChartFile>,
    /// Subcharts from `charts/`, sorted by name.
    pub dependencies: Vec<Chart>,
}

/// Who the render is for (`.Release`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    /// True on a first install; `.Release.IsUpgrade` is its opposite.
    pub is_install: bool,
}

impl Chart {
    /// Loads a chart directory (honouring `.helmignore`) or `.tgz` archive.
    pub fn load(path: impl AsRef<Path>) -> Result<Chart, ChartError> {
        load::load(path.as_ref())
    }

    /// Builds a chart from its files (paths relative to the chart root).
    pub fn from_files(files: Vec<ChartFile>) -> Result<Chart, ChartError> {
        load::from_files(files)
    }

    fn meta_str(&self, key: &str) -> &str {
        self.metadata.get(key).and_then(Json::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.meta_str("name")
    }

    pub fn version(&self) -> &str {
        self.meta_str("version")
    }

    pub fn api_version(&self) -> &str {
        self.meta_str("apiVersion")
    }

    pub fn app_version(&self) -> &str {
        self.meta_str("appVersion")
    }

    /// `type: library`: only its partials are used.
    pub fn is_library(&self) -> bool {
        self.meta_str("type") == "library"
    }

    /// `.Chart` as Helm 4 hands it to templates: Go field names.
    fn template_metadata(&self, is_root: bool) -> Value {
        let m = &self.metadata;
        let s = |k: &str| Value::from(m.get(k).and_then(Json::as_str).unwrap_or(""));
        let list = |k: &str| match m.get(k) {
            Some(Json::Array(items)) => {
                Value::list(items.iter().map(render::json_to_value).collect())
            }
            _ => Value::list(Vec::new()),
        };
        let maintainers = match m.get("maintainers") {
            Some(Json::Array(items)) => Value::list(
                items
                    .iter()
                    .map(|i| {
                        let f =
                            |k: &str| Value::from(i.get(k).and_then(Json::as_str).unwrap_or(""));
                        Value::map(BTreeMap::from([
                            ("Name".to_owned(), f("name")),
                            ("Email".to_owned(), f("email")),
                            ("URL".to_owned(), f("url")),
                        ]))
                    })
                    .collect(),
            ),
            _ => Value::list(Vec::new()),
        };
        let dependencies = match m.get("dependencies") {
            Some(Json::Array(items)) => Value::list(
                items
                    .iter()
                    .map(|d| {
                        let f =
                            |k: &str| Value::from(d.get(k).and_then(Json::as_str).unwrap_or(""));
                        let l = |k: &str| match d.get(k) {
                            Some(Json::Array(items)) => {
                                Value::list(items.iter().map(render::json_to_value).collect())
                            }
                            _ => Value::list(Vec::new()),
                        };
                        Value::map(BTreeMap::from([
                            ("Name".to_owned(), f("name")),
                            ("Version".to_owned(), f("version")),
                            ("Repository".to_owned(), f("repository")),
                            ("Condition".to_owned(), f("condition")),
                            ("Tags".to_owned(), l("tags")),
                            (
                                "Enabled".to_owned(),
                                Value::Bool(d.get("enabled") == Some(&Json::Bool(true))),
                            ),
                            ("ImportValues".to_owned(), l("import-values")),
                            ("Alias".to_owned(), f("alias")),
                        ]))
                    })
                    .collect(),
            ),
            _ => Value::list(Vec::new()),
        };
        let annotations = match m.get("annotations") {
            Some(a @ Json::Object(_)) => render::json_to_value(a),
            _ => Value::Nil,
        };
        Value::map(BTreeMap::from([
            ("APIVersion".to_owned(), s("apiVersion")),
            ("Annotations".to_owned(), annotations),
            ("AppVersion".to_owned(), s("appVersion")),
            ("Condition".to_owned(), s("condition")),
            ("Dependencies".to_owned(), dependencies),
            (
                "Deprecated".to_owned(),
                Value::Bool(m.get("deprecated") == Some(&Json::Bool(true))),
            ),
            ("Description".to_owned(), s("description")),
            ("Home".to_owned(), s("home")),
            ("Icon".to_owned(), s("icon")),
            ("IsRoot".to_owned(), Value::Bool(is_root)),
            ("Keywords".to_owned(), list("keywords")),
            ("KubeVersion".to_owned(), s("kubeVersion")),
            ("Maintainers".to_owned(), maintainers),
            ("Name".to_owned(), s("name")),
            ("Sources".to_owned(), list("sources")),
            ("Tags".to_owned(), s("tags")),
            ("Type".to_owned(), s("type")),
            ("Version".to_owned(), s("version")),
        ]))
    }
}

#[cfg(test)]
mod tests;
