//! The typed values templates reach: `.Files` (Helm's `Files` map with
//! `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`) and
//! `.Capabilities` (`KubeVersion`, `APIVersions.Has`, `HelmVersion`).

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;

use crate::helm::funcs::to_yaml;
use crate::helm::rendered::Capabilities;
use crate::helm::template::{CallContext, FuncError, Object, Param, Signature, Value};

/// Helm's `chart.Files`: file name to bytes.
#[derive(Debug, Clone, Default)]
pub struct Files(pub BTreeMap<String, Rc<[u8]>>);

impl Files {
    fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_default()
    }

    fn as_map(&self, encode: fn(&[u8]) -> String) -> String {
        // Helm 4 no longer returns "" for no files: `{}`, as toYaml writes it.
        let m: BTreeMap<String, Value> = self
            .0
            .iter()
            .map(|(k, v)| {
                let base = k.rsplit('/').next().unwrap_or(k).to_owned();
                (base, Value::from(encode(v)))
            })
            .collect();
        to_yaml(&Value::map(m)).unwrap_or_default()
    }
}

fn bytes_value(d: &[u8]) -> Value {
    Value::list(d.iter().map(|b| Value::Byte(*b)).collect())
}

impl Object for Files {
    fn type_name(&self) -> &'static str {
        "common.Files"
    }

    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some(Signature::fixed(&[Param::String])),
            "AsConfig" | "AsSecrets" => Some(Signature::fixed(&[])),
            _ => None,
        }
    }

    fn call_method(
        &self,
        name: &str,
        _: &mut CallContext<'_, '_>,
        args: &[Value],
    ) -> Result<Value, FuncError> {
        let arg = args.first().and_then(Value::as_str).unwrap_or_default();
        Ok(match name {
            "Get" => Value::from(self.text(arg)),
            "GetBytes" => self
                .0
                .get(arg)
                .map_or_else(|| Value::list(Vec::new()), |d| bytes_value(d)),
            "Glob" => {
                let re = glob_regex(arg)
                    .ok_or_else(|| FuncError::new(format!("syntax error in pattern {arg}")))?;
                let m = self
                    .0
                    .iter()
                    .filter(|(k, _)| re.is_match(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Value::Object(Rc::new(Files(m)))
            }
            "Lines" => {
                let Some(d) = self.0.get(arg) else {
                    return Ok(Value::list(Vec::new()));
                };
                let s = String::from_utf8_lossy(d);
                let s = s.strip_suffix('\n').unwrap_or(&s);
                Value::list(s.split('\n').map(Value::from).collect())
            }
            "AsConfig" => Value::from(self.as_map(|d| String::from_utf8_lossy(d).into_owned())),
            "AsSecrets" => {
                Value::from(self.as_map(|d| base64::engine::general_purpose::STANDARD.encode(d)))
            }
            _ => return Err(FuncError::new(format!("{name} is not a method"))),
        })
    }

    fn display(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(u8::to_string).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", items.join(" "))
    }

    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), bytes_value(v)))
                .collect(),
        )
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::Value::String(
                            base64::engine::general_purpose::STANDARD.encode(v),
                        ),
                    )
                })
                .collect(),
        )
    }
}

/// gobwas/glob with `/` as separator: `*` stays in a path segment, `**`
/// crosses them, `?`, `[...]`, `{a,b}`.
fn glob_regex(pattern: &str) -> Option<regex::Regex> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut in_alt = 0;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' || c == '[' {
                        re.push('\\');
                    }
                    re.push(c);
                }
                re.push(']');
            }
            '{' => {
                in_alt += 1;
                re.push_str("(?:");
            }
            '}' if in_alt > 0 => {
                in_alt -= 1;
                re.push(')');
            }
            ',' if in_alt > 0 => re.push('|'),
            '\\' => {
                let n = chars.next()?;
                re.push_str(&regex::escape(&n.to_string()));
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}

/// Helm 4.2's version info (`.Capabilities.HelmVersion`), as the oracle
/// (Helm's SDK v4.2.3) reports it.
const HELM_VERSION: &str = "v4.2";
const HELM_GO_VERSION: &str = "go1.26.6";
const HELM_KUBE_CLIENT_VERSION: &str = "v1.36";

/// `.Capabilities`.
#[derive(Debug)]
pub struct CapsObject {
    kube: Rc<KubeVersion>,
    apis: Rc<ApiVersions>,
    helm: Rc<HelmVersion>,
}

impl CapsObject {
    pub fn new(caps: &Capabilities) -> CapsObject {
        CapsObject {
            kube: Rc::new(KubeVersion::parse(&caps.kube_version)),
            apis: Rc::new(ApiVersions(caps.api_versions.clone())),
            helm: Rc::new(HelmVersion),
        }
    }
}

impl Object for CapsObject {
    fn type_name(&self) -> &'static str {
        "*common.Capabilities"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "KubeVersion" => Value::Object(self.kube.clone()),
            "APIVersions" => Value::Object(self.apis.clone()),
            "HelmVersion" => Value::Object(self.helm.clone()),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        format!(
            "&{{{} {} {}}}",
            self.apis.display(),
            self.kube.display(),
            self.helm.display()
        )
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "APIVersions": self.apis.to_json(),
            "KubeVersion": self.kube.to_json(),
            "HelmVersion": self.helm.to_json(),
        })
    }
}

/// `.Capabilities.KubeVersion`.
#[derive(Debug)]
pub struct KubeVersion {
    version: String,
    /// `v<major>.<minor>[.<patch>]`, what Helm's `String()` prints.
    normalized: String,
    major: String,
    minor: String,
}

impl KubeVersion {
    fn parse(v: &str) -> KubeVersion {
        let bare = v.trim_start_matches('v');
        let core = bare.split(['-', '+']).next().unwrap_or_default();
        let mut parts = bare.split(['.', '-', '+']);
        KubeVersion {
            version: v.to_owned(),
            normalized: format!("v{core}"),
            major: parts.next().unwrap_or_default().to_owned(),
            minor: parts.next().unwrap_or_default().to_owned(),
        }
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &'static str {
        "common.KubeVersion"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Version" => Value::from(self.version.as_str()),
            "Major" => Value::from(self.major.as_str()),
            "Minor" => Value::from(self.minor.as_str()),
            _ => return None,
        })
    }

    fn method(&self, name: &str) -> Option<Signature> {
        matches!(name, "String" | "GitVersion").then(|| Signature::fixed(&[]))
    }

    fn call_method(
        &self,
        name: &str,
        _: &mut CallContext<'_, '_>,
        _: &[Value],
    ) -> Result<Value, FuncError> {
        Ok(Value::from(if name == "String" {
            self.normalized.as_str()
        } else {
            self.version.as_str()
        }))
    }

    fn display(&self) -> String {
        self.normalized.clone()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"Version": self.version, "Major": self.major, "Minor": self.minor})
    }
}

/// `.Capabilities.APIVersions` (Helm's `VersionSet`).
#[derive(Debug)]
pub struct ApiVersions(Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> &'static str {
        "common.VersionSet"
    }

    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Has").then(|| Signature::fixed(&[Param::String]))
    }

    fn call_method(
        &self,
        _: &str,
        _: &mut CallContext<'_, '_>,
        args: &[Value],
    ) -> Result<Value, FuncError> {
        let want = args.first().and_then(Value::as_str).unwrap_or_default();
        Ok(Value::Bool(self.0.iter().any(|v| v == want)))
    }

    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }

    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        Some(
            self.0
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        Value::Int(i64::try_from(i).unwrap_or_default()),
                        Value::from(v.as_str()),
                    )
                })
                .collect(),
        )
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!(self.0)
    }
}

/// `.Capabilities.HelmVersion`.
#[derive(Debug)]
pub struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> &'static str {
        "version.BuildInfo"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::from(match name {
            "Version" => HELM_VERSION,
            "GitCommit" | "GitTreeState" => "",
            "GoVersion" => HELM_GO_VERSION,
            "KubeClientVersion" => HELM_KUBE_CLIENT_VERSION,
            _ => return None,
        }))
    }

    fn display(&self) -> String {
        format!("{{{HELM_VERSION}   {HELM_GO_VERSION} {HELM_KUBE_CLIENT_VERSION}}}")
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"version": HELM_VERSION, "go_version": HELM_GO_VERSION, "kube_client_version": HELM_KUBE_CLIENT_VERSION})
    }
}
