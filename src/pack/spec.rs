//! The `pack.toml` format: the raw TOML structs (`PackFile`, `DetectSpec`)
//! and their compiled form ([`Compiled`]: globs and regexes built once).
//! `packs/README.md` documents every key; keep the two in step.

use globset::{GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PackFile {
    pub name: String,
    #[serde(default)]
    pub detect: DetectSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DetectSpec {
    #[serde(default)]
    skip_dirs: Vec<String>,
    #[serde(default, rename = "language")]
    languages: Vec<RawLanguage>,
    #[serde(default, rename = "manifest")]
    manifests: Vec<RawManifest>,
    #[serde(default, rename = "framework")]
    frameworks: Vec<RawFramework>,
    #[serde(default)]
    entry: Vec<RawMatch>,
    #[serde(default)]
    port: Vec<RawPort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLanguage {
    name: String,
    extensions: Vec<String>,
    #[serde(default)]
    markers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    file: String,
    regex: Option<String>,
    build_tool: Option<String>,
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    marker: Marker,
    #[serde(default)]
    workspace: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFramework {
    name: String,
    port: Option<u16>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    entry: Vec<String>,
    signal: Vec<RawSignal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignal {
    files: String,
    regex: Option<String>,
    #[serde(default = "one")]
    weight: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    files: String,
    regex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    files: String,
    regex: String,
    source: PortSource,
}

fn one() -> u32 {
    1
}

/// Whether a manifest file makes its directory an app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Marker {
    /// `package.json`, `go.mod`: the directory is an app (or a workspace).
    #[default]
    Strong,
    /// `app.py`, `index.html`: an app only where no strong marker is around.
    Weak,
    /// `tsconfig.json`, lock files: evidence only.
    No,
}

/// Where a port came from, best first (the order [`crate::detect`] prefers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortSource {
    Code,
    Config,
    Dockerfile,
    Compose,
    FrameworkDefault,
    None,
}

impl PortSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PortSource::Code => "code",
            PortSource::Config => "config",
            PortSource::Dockerfile => "dockerfile",
            PortSource::Compose => "compose",
            PortSource::FrameworkDefault => "framework-default",
            PortSource::None => "none",
        }
    }
}

/// A file pattern: a glob on the file name, or on the path relative to the
/// app when it contains a `/` (`src/main/**/*.java`).
#[derive(Debug)]
pub struct Pattern {
    pub text: String,
    by_path: bool,
    glob: GlobMatcher,
}

impl Pattern {
    fn new(text: &str) -> Result<Pattern, String> {
        let glob = GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("glob {text:?}: {e}"))?
            .compile_matcher();
        Ok(Pattern {
            text: text.to_owned(),
            by_path: text.contains('/'),
            glob,
        })
    }

    /// Whether `rel` (a `/`-separated path relative to the app) matches.
    pub fn matches(&self, rel: &str) -> bool {
        if self.by_path {
            self.glob.is_match(rel)
        } else {
            let name = rel.rsplit_once('/').map_or(rel, |(_, n)| n);
            self.glob.is_match(name)
        }
    }
}

fn regex(text: &str) -> Result<Regex, String> {
    // `^` and `$` are line anchors: packs match lines of source and config.
    RegexBuilder::new(text)
        .multi_line(true)
        .build()
        .map_err(|e| format!("regex {text:?}: {e}"))
}

fn opt_regex(text: Option<&String>) -> Result<Option<Regex>, String> {
    text.map(|t| regex(t)).transpose()
}

#[derive(Debug)]
pub struct LanguageRule {
    pub name: String,
    pub extensions: Vec<String>,
    pub markers: Vec<String>,
}

#[derive(Debug)]
pub struct ManifestRule {
    pub file: Pattern,
    pub regex: Option<Regex>,
    pub build_tool: Option<String>,
    pub weight: u32,
    pub marker: Marker,
    pub workspace: bool,
}

#[derive(Debug)]
pub struct Signal {
    pub files: Pattern,
    pub regex: Option<Regex>,
    pub weight: u32,
}

#[derive(Debug)]
pub struct FrameworkRule {
    pub name: String,
    pub port: Option<u16>,
    pub priority: i32,
    pub entry: Vec<String>,
    pub signals: Vec<Signal>,
}

#[derive(Debug)]
pub struct EntryRule {
    pub files: Pattern,
    pub regex: Option<Regex>,
}

#[derive(Debug)]
pub struct PortRule {
    pub files: Pattern,
    pub regex: Regex,
    pub source: PortSource,
}

/// A pack's `[detect]` part, compiled.
#[derive(Debug)]
pub struct Compiled {
    pub skip_dirs: Vec<String>,
    pub languages: Vec<LanguageRule>,
    pub manifests: Vec<ManifestRule>,
    pub frameworks: Vec<FrameworkRule>,
    pub entry: Vec<EntryRule>,
    pub ports: Vec<PortRule>,
}

impl DetectSpec {
    pub(super) fn compile(self) -> Result<Compiled, String> {
        let manifests = self
            .manifests
            .into_iter()
            .map(|m| {
                Ok(ManifestRule {
                    file: Pattern::new(&m.file)?,
                    regex: opt_regex(m.regex.as_ref())?,
                    build_tool: m.build_tool,
                    weight: m.weight,
                    marker: m.marker,
                    workspace: m.workspace,
                })
            })
            .collect::<Result<_, String>>()?;
        let frameworks = self
            .frameworks
            .into_iter()
            .map(|f| {
                let signals = f
                    .signal
                    .iter()
                    .map(|s| {
                        Ok(Signal {
                            files: Pattern::new(&s.files)?,
                            regex: opt_regex(s.regex.as_ref())?,
                            weight: s.weight,
                        })
                    })
                    .collect::<Result<_, String>>()?;
                Ok(FrameworkRule {
                    name: f.name,
                    port: f.port,
                    priority: f.priority,
                    entry: f.entry,
                    signals,
                })
            })
            .collect::<Result<_, String>>()?;
        let entry = self
            .entry
            .iter()
            .map(|e| {
                Ok(EntryRule {
                    files: Pattern::new(&e.files)?,
                    regex: opt_regex(e.regex.as_ref())?,
                })
            })
            .collect::<Result<_, String>>()?;
        let ports = self
            .port
            .iter()
            .map(|p| {
                let re = regex(&p.regex)?;
                if re.captures_len() < 2 {
                    return Err(format!("port regex {:?} has no capture group", p.regex));
                }
                Ok(PortRule {
                    files: Pattern::new(&p.files)?,
                    regex: re,
                    source: p.source,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Compiled {
            skip_dirs: self.skip_dirs,
            languages: self
                .languages
                .into_iter()
                .map(|l| LanguageRule {
                    name: l.name,
                    extensions: l.extensions,
                    markers: l.markers,
                })
                .collect(),
            manifests,
            frameworks,
            entry,
            ports,
        })
    }
}
