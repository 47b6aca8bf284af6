//! The `pack.toml` format: the raw TOML structs (`PackFile`, `DetectSpec`)
//! and their compiled form ([`Compiled`]: globs and regexes built once).
//! `packs/README.md` documents every key; keep the two in step.

use std::sync::OnceLock;

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PackFile {
    pub name: String,
    #[serde(default)]
    pub detect: DetectSpec,
    /// The port an app listens on when detection found none.
    pub port: Option<u16>,
    #[serde(default)]
    pub dockerfile: Vec<super::scaffold::DockerfileRule>,
    #[serde(default)]
    pub run: Vec<super::scaffold::RunRule>,
    pub debug: Option<super::scaffold::Debug>,
    #[serde(default)]
    pub probe: super::scaffold::Probe,
    /// Live-sync rules for `devloop up` (see `crate::sync`).
    #[serde(default)]
    pub sync: Vec<crate::sync::rules::RuleSpec>,
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
    /// Its index in the pack's [`PatternSet`].
    pub id: usize,
    by_path: bool,
    glob: globset::Glob,
    /// Compiled on first use, like [`Rx`]: most packs never see a file.
    matcher: OnceLock<GlobMatcher>,
}

impl Pattern {
    /// Whether `rel` (a `/`-separated path relative to the app) matches.
    pub fn matches(&self, rel: &str) -> bool {
        let m = self.matcher.get_or_init(|| self.glob.compile_matcher());
        if self.by_path {
            m.is_match(rel)
        } else {
            m.is_match(file_name(rel))
        }
    }
}

fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, n)| n)
}

/// Path patterns keep `*` within one component; name patterns match a bare
/// file name, and without that option `*.js` is a hash lookup by extension
/// in a glob set instead of a regex run.
fn glob(text: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(text)
        .literal_separator(text.contains('/'))
        .build()
        .map_err(|e| format!("glob {text:?}: {e}"))
}

/// Every pattern of a pack in two glob sets (by name, by path), so that one
/// pass over an app's files sorts them to every pattern at once: matching
/// each pattern on its own costs a pass per pattern (~100 on 10k files).
/// The sets are built on first use.
#[derive(Debug)]
pub struct PatternSet {
    /// (glob, by path, pattern id): brace alternatives expanded, so that
    /// `*.{js,ts}` becomes two extension lookups instead of a regex that
    /// every file of the app runs through.
    globs: Vec<(globset::Glob, bool, usize)>,
    sets: OnceLock<Result<Sets, String>>,
    len: usize,
}

#[derive(Debug)]
struct Sets {
    names: GlobSet,
    name_ids: Vec<usize>,
    paths: GlobSet,
    path_ids: Vec<usize>,
}

impl Sets {
    fn build(globs: &[(globset::Glob, bool, usize)]) -> Result<Sets, String> {
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut name_ids, mut path_ids) = (Vec::new(), Vec::new());
        for (glob, by_path, id) in globs {
            if *by_path {
                paths.add(glob.clone());
                path_ids.push(*id);
            } else {
                names.add(glob.clone());
                name_ids.push(*id);
            }
        }
        Ok(Sets {
            names: names.build().map_err(|e| e.to_string())?,
            name_ids,
            paths: paths.build().map_err(|e| e.to_string())?,
            path_ids,
        })
    }
}

impl PatternSet {
    /// The built sets, or why they do not build.
    fn sets(&self) -> Result<&Sets, String> {
        self.sets
            .get_or_init(|| Sets::build(&self.globs))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds to `out` the ids of the patterns `rel` matches (`scratch` is reused).
    pub fn matches_into(&self, rel: &str, scratch: &mut Vec<usize>, out: &mut Vec<usize>) {
        // A set that does not build matches nothing (the unit tests build
        // every embedded pack's).
        let Ok(sets) = self.sets() else {
            return;
        };
        sets.names.matches_into(file_name(rel), scratch);
        out.extend(scratch.iter().map(|i| sets.name_ids[*i]));
        if !sets.path_ids.is_empty() {
            sets.paths.matches_into(rel, scratch);
            out.extend(scratch.iter().map(|i| sets.path_ids[*i]));
        }
    }
}

/// `a.{b,c}` -> `a.b`, `a.c` (every group, not nested).
fn expand_braces(text: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (text.find('{'), text.find('}')) else {
        return vec![text.to_owned()];
    };
    if close < open || text[open + 1..close].contains('{') {
        return vec![text.to_owned()];
    }
    let (head, tail) = (&text[..open], &text[close + 1..]);
    text[open + 1..close]
        .split(',')
        .flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}")))
        .collect()
}

struct Patterns {
    globs: Vec<(globset::Glob, bool, usize)>,
    len: usize,
}

impl Patterns {
    fn new() -> Patterns {
        Patterns {
            globs: Vec::new(),
            len: 0,
        }
    }

    fn add(&mut self, text: &str) -> Result<Pattern, String> {
        let g = glob(text)?;
        let id = self.len;
        self.len += 1;
        let by_path = text.contains('/');
        for alt in expand_braces(text) {
            self.globs.push((glob(&alt)?, by_path, id));
        }
        Ok(Pattern {
            text: text.to_owned(),
            id,
            by_path,
            glob: g,
            matcher: OnceLock::new(),
        })
    }

    fn build(self) -> PatternSet {
        PatternSet {
            len: self.len,
            globs: self.globs,
            sets: OnceLock::new(),
        }
    }
}

/// A regex compiled on first use: a run compiles only the regexes of the
/// packs an app could be (~1 in 5). `^` and `$` are line anchors: packs match
/// lines of source and config. The unit tests compile every embedded one.
#[derive(Debug)]
pub struct Rx {
    pub text: String,
    cell: OnceLock<Result<Regex, String>>,
}

impl Rx {
    fn new(text: &str) -> Rx {
        Rx {
            text: text.to_owned(),
            cell: OnceLock::new(),
        }
    }

    /// The regex, or why it does not compile.
    pub fn check(&self) -> Result<&Regex, String> {
        self.cell
            .get_or_init(|| {
                RegexBuilder::new(&self.text)
                    .multi_line(true)
                    .build()
                    .map_err(|e| format!("regex {:?}: {e}", self.text))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The regex; `None` (matching nothing) if it does not compile.
    pub fn get(&self) -> Option<&Regex> {
        self.check().ok()
    }
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
    pub regex: Option<Rx>,
    pub build_tool: Option<String>,
    pub weight: u32,
    pub marker: Marker,
    pub workspace: bool,
}

#[derive(Debug)]
pub struct Signal {
    pub files: Pattern,
    pub regex: Option<Rx>,
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
    pub regex: Option<Rx>,
}

#[derive(Debug)]
pub struct PortRule {
    pub files: Pattern,
    pub regex: Rx,
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
    /// Every pattern above, by id.
    pub patterns: PatternSet,
}

impl Compiled {
    /// Compiles every regex (they compile lazily otherwise) and checks that
    /// port regexes capture the port.
    pub fn check(&self) -> Result<(), String> {
        self.patterns.sets()?;
        let optional = self
            .manifests
            .iter()
            .map(|m| m.regex.as_ref())
            .chain(
                self.frameworks
                    .iter()
                    .flat_map(|f| f.signals.iter().map(|s| s.regex.as_ref())),
            )
            .chain(self.entry.iter().map(|e| e.regex.as_ref()));
        for rx in optional.flatten() {
            rx.check()?;
        }
        for port in &self.ports {
            if port.regex.check()?.captures_len() < 2 {
                return Err(format!(
                    "port regex {:?} has no capture group",
                    port.regex.text
                ));
            }
        }
        Ok(())
    }
}

fn opt_rx(text: Option<&String>) -> Option<Rx> {
    text.map(|t| Rx::new(t))
}

impl DetectSpec {
    pub(super) fn compile(self) -> Result<Compiled, String> {
        let mut patterns = Patterns::new();
        let mut manifests = Vec::new();
        for m in self.manifests {
            manifests.push(ManifestRule {
                file: patterns.add(&m.file)?,
                regex: opt_rx(m.regex.as_ref()),
                build_tool: m.build_tool,
                weight: m.weight,
                marker: m.marker,
                workspace: m.workspace,
            });
        }
        let mut frameworks = Vec::new();
        for f in self.frameworks {
            let mut signals = Vec::new();
            for s in &f.signal {
                signals.push(Signal {
                    files: patterns.add(&s.files)?,
                    regex: opt_rx(s.regex.as_ref()),
                    weight: s.weight,
                });
            }
            frameworks.push(FrameworkRule {
                name: f.name,
                port: f.port,
                priority: f.priority,
                entry: f.entry,
                signals,
            });
        }
        let mut entry = Vec::new();
        for e in &self.entry {
            entry.push(EntryRule {
                files: patterns.add(&e.files)?,
                regex: opt_rx(e.regex.as_ref()),
            });
        }
        let mut ports = Vec::new();
        for p in &self.port {
            ports.push(PortRule {
                files: patterns.add(&p.files)?,
                regex: Rx::new(&p.regex),
                source: p.source,
            });
        }
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
            patterns: patterns.build(),
        })
    }
}
