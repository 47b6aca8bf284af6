//! One release revision as Helm 4 stores it: the `release` v1 JSON of
//! `helm.sh/helm/v4/pkg/release/v1` (Helm 4.2), field for field, with the
//! chart as `pkg/chart/v2` serialises it (no subcharts: Helm does not store
//! them either).
//!
//! Field names, `omitempty` and time encodings follow Helm's Go structs so
//! that Helm reads what devloop writes; every struct keeps the fields it does
//! not know (`extra`) so a record Helm wrote survives a read-modify-write by
//! devloop (marking it `superseded`, say) unchanged. Building a record from
//! a render is [`Release::new`]; the chart comes in as plain parts
//! ([`ChartParts`]) so this module does not depend on the chart model.

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value as Json};

use super::manifest::{self, ObjectRef};
use crate::helm::rendered::{Hook as RenderedHook, Rendered};

/// The apply method devloop records: `csa`, although devloop applies with
/// server-side apply (manager `devloop`, force).
///
/// Helm 4's upgrade and rollback default to `--server-side=auto`, which
/// means server-side apply exactly when the release says `ssa`, and then
/// without `--force-conflicts`: Helm's manager would conflict with every field
/// devloop's manager owns and changes (the image, first of all). With `csa`
/// Helm patches client-side (a three-way strategic merge from the stored
/// manifest), an Update that takes fields over instead of conflicting; the
/// next devloop deploy, forced, takes them back. Helm's rollback takes the
/// method from the revision it returns to, so devloop also rewrites `ssa`
/// on the revisions Helm wrote before ([`super::Store::hand_over`]).
/// Proven in `tests/integration/release.rs` against real Helm.
pub const APPLY_METHOD: &str = "csa";

/// A release's state, Helm's `pkg/release/common.Status` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
    /// Also any word this devloop does not know (a later Helm's).
    #[default]
    #[serde(other)]
    Unknown,
}

impl Status {
    /// Helm's spelling (also the Secret's `status` label).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Helm refuses to upgrade or roll back while a revision is pending.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `release.Release`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Release {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Info>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// The values the user gave (not the chart's defaults).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Map::is_empty"
    )]
    pub config: Map<String, Json>,
    /// The manifest as applied, hooks excluded (`---\n# Source: ...`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hooks: Vec<Hook>,
    /// The revision, from 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `ssa` or `csa`; empty means `csa` to Helm. See [`APPLY_METHOD`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply_method: String,
    /// Helm keeps a release's own labels on the Secret, not in the JSON.
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    /// Fields a later Helm may add, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Json>,
}

/// `release.Info`. Times are Go `time.Time` JSON (RFC 3339 with
/// nanoseconds), kept as text so Helm's own values round-trip exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Info {
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_deployed: Option<String>,
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_deployed: Option<String>,
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(flatten)]
    pub extra: Map<String, Json>,
}

/// `chart.Chart` (v2) as it is serialised into a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Chart {
    /// Chart.yaml as JSON (`name`, `version`, `appVersion`, ...).
    #[serde(default)]
    pub metadata: Option<Json>,
    /// Chart.lock as JSON.
    #[serde(default)]
    pub lock: Option<Json>,
    #[serde(default, deserialize_with = "nullable")]
    pub templates: Vec<File>,
    /// The chart's values.yaml.
    #[serde(default, deserialize_with = "nullable")]
    pub values: Map<String, Json>,
    /// values.schema.json, base64 (Go `[]byte`).
    #[serde(default)]
    pub schema: Option<String>,
    /// Go's zero time when there is no schema (Helm writes it anyway).
    #[serde(default = "zero_time")]
    pub schemamodtime: String,
    #[serde(default, deserialize_with = "nullable")]
    pub files: Vec<File>,
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub modtime: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Json>,
}

/// `common.File`: a chart file, its bytes base64 as Go encodes `[]byte`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct File {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub data: String,
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub modtime: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Json>,
}

/// `release.Hook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Hook {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The chart-relative template path (`myapp/templates/job.yaml`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// `pre-install`, `post-upgrade`, ... (Helm's words).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub events: Vec<String>,
    #[serde(default)]
    pub last_run: HookExecution,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub weight: i32,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_policies: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub output_log_policies: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Json>,
}

/// `release.HookExecution`; `phase` is always written (`""` before a run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HookExecution {
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub started_at: Option<String>,
    #[serde(
        default,
        deserialize_with = "time",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<String>,
    /// `Running`, `Succeeded`, `Failed`, `Unknown` or empty.
    #[serde(default)]
    pub phase: String,
}

/// The chart as a release stores it, from the chart model's parts.
#[derive(Debug, Clone, Default)]
pub struct ChartParts {
    /// Chart.yaml as JSON.
    pub metadata: Json,
    /// Chart.lock as JSON, if the chart has one.
    pub lock: Option<Json>,
    /// `templates/...` files: chart-relative name and bytes.
    pub templates: Vec<(String, Vec<u8>)>,
    /// values.yaml as JSON.
    pub values: Map<String, Json>,
    /// values.schema.json's bytes.
    pub schema: Option<Vec<u8>>,
    /// Every other file (README, crds/, .helmignore...).
    pub files: Vec<(String, Vec<u8>)>,
}

/// What a new revision is made of.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub version: u32,
    pub chart: &'a ChartParts,
    /// The values the user gave (`config`), not merged with the chart's.
    pub config: Map<String, Json>,
    pub rendered: &'a Rendered,
    pub status: Status,
    /// e.g. `Install complete`, `Upgrade complete` (Helm's words).
    pub description: String,
    /// The release's first deploy; `None` for an install (then `now`).
    pub first_deployed: Option<String>,
    pub now: Timestamp,
}

impl Release {
    /// A revision for `input`, with [`APPLY_METHOD`].
    pub fn new(input: &NewRelease<'_>) -> Release {
        let now = go_time(input.now);
        let file = |(name, data): &(String, Vec<u8>)| File {
            name: name.clone(),
            data: base64::engine::general_purpose::STANDARD.encode(data),
            modtime: Some(now.clone()),
            extra: Map::new(),
        };
        let parts = input.chart;
        let chart = Chart {
            metadata: Some(parts.metadata.clone()),
            lock: parts.lock.clone(),
            templates: parts.templates.iter().map(file).collect(),
            values: parts.values.clone(),
            schema: parts
                .schema
                .as_ref()
                .map(|s| base64::engine::general_purpose::STANDARD.encode(s)),
            schemamodtime: if parts.schema.is_some() {
                now.clone()
            } else {
                zero_time()
            },
            files: parts.files.iter().map(file).collect(),
            modtime: Some(now.clone()),
            extra: Map::new(),
        };
        Release {
            name: input.name.to_owned(),
            info: Some(Info {
                first_deployed: Some(input.first_deployed.clone().unwrap_or_else(|| now.clone())),
                last_deployed: Some(now),
                deleted: None,
                description: input.description.clone(),
                status: input.status,
                notes: input.rendered.notes.clone().unwrap_or_default(),
                extra: Map::new(),
            }),
            chart: Some(chart),
            config: input.config.clone(),
            manifest: input.rendered.manifest_text(),
            hooks: input.rendered.hooks.iter().map(hook).collect(),
            version: input.version,
            namespace: input.namespace.to_owned(),
            apply_method: APPLY_METHOD.to_owned(),
            labels: BTreeMap::new(),
            extra: Map::new(),
        }
    }

    /// The Secret's name: `sh.helm.release.v1.<name>.v<version>`.
    pub fn key(&self) -> String {
        key(&self.name, self.version)
    }

    pub fn status(&self) -> Status {
        self.info.as_ref().map_or(Status::Unknown, |i| i.status)
    }

    /// Sets status and description together, as Helm's `SetStatus` does.
    pub fn set_status(&mut self, status: Status, description: impl Into<String>) {
        let info = self.info.get_or_insert_with(Info::default);
        info.status = status;
        info.description = description.into();
    }

    pub fn description(&self) -> &str {
        self.info.as_ref().map_or("", |i| i.description.as_str())
    }

    /// When this revision was last deployed (Helm's history `UPDATED`).
    pub fn updated(&self) -> Option<Timestamp> {
        self.info
            .as_ref()
            .and_then(|i| i.last_deployed.as_deref())
            .and_then(|t| t.parse().ok())
    }

    fn metadata(&self, key: &str) -> &str {
        self.chart
            .as_ref()
            .and_then(|c| c.metadata.as_ref())
            .and_then(|m| m.get(key))
            .and_then(Json::as_str)
            .unwrap_or("")
    }

    /// `name-version`, as `helm history` prints the chart.
    pub fn chart_label(&self) -> String {
        format!("{}-{}", self.metadata("name"), self.metadata("version"))
    }

    pub fn app_version(&self) -> &str {
        self.metadata("appVersion")
    }

    /// The container images the manifest runs, in order, without repeats.
    pub fn images(&self) -> Vec<String> {
        manifest::images(&self.manifest)
    }

    /// The objects the manifest holds (hooks excluded): what an uninstall
    /// deletes, found by release rather than by label.
    pub fn resources(&self) -> Vec<ObjectRef> {
        manifest::resources(&self.manifest)
    }
}

/// The Secret (or `ConfigMap`) name Helm gives revision `version` of `name`.
pub fn key(name: &str, version: u32) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// `t` as Go's `time.Time` marshals a UTC time (RFC 3339, nanoseconds with
/// trailing zeros trimmed, `Z`).
pub fn go_time(t: Timestamp) -> String {
    t.to_string()
}

fn zero_time() -> String {
    "0001-01-01T00:00:00Z".to_owned()
}

fn hook(h: &RenderedHook) -> Hook {
    Hook {
        name: h.manifest.name().to_owned(),
        kind: h.manifest.kind().to_owned(),
        path: h.manifest.source.clone(),
        manifest: h.manifest.text.clone(),
        events: h.events.iter().map(|e| e.as_str().to_owned()).collect(),
        last_run: HookExecution::default(),
        weight: h.weight,
        delete_policies: h
            .delete_policies
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        output_log_policies: Vec::new(),
        extra: Map::new(),
    }
}

/// Go's `json.Unmarshal` leaves a field at its zero value on `null`.
fn nullable<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Helm 4 reads `""` as the zero time; so does devloop.
fn time<'de, D>(de: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(de)?.filter(|t| !t.is_empty()))
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests;
