//! One app directory, judged: every pack scores its signals on the app's
//! files and the best pack names the language; its manifests name the build
//! tool, its framework rules the framework, its entry and port rules the
//! entry point and port. Pure: reads only through [`Tree`].
//!
//! A pack's score is `weight of its best manifest + source files (at most
//! 50) + 10 x its best framework's signal weights`. Packs weigh a framework
//! found in the code (weight 10: +100) far above a build file or a source
//! count, because the language is what the server code is written in, not
//! what a frontend's package.json or a Groovy-DSL build.gradle suggests.

use std::collections::BTreeMap;

use serde::Serialize;

use super::tree::{self, Tree};
use crate::pack::{Marker, Pack, PortSource, Rx};

/// Files of one pattern read per app: the shallowest first. Server code and
/// config sit near the app root; a 10k-file app is not read whole: at 200,
/// the bench's 20-package workspace spent most of its time in regex
/// searches of files that could not decide anything (`tests/bench/detect.sh`).
const MAX_FILES_PER_PATTERN: usize = 64;

/// Source files counted toward a pack's score at most, so that a big
/// frontend cannot outvote the server's framework.
const MAX_SOURCE_SCORE: usize = 50;

/// Bonus per language marker file (`tsconfig.json`) present at the app root.
const MARKER_BONUS: usize = 5;

/// Why a value was decided: a file (and line) and what it said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// `language`, `build_tool`, `framework`, `entry`, `port`, `app`, `kept`.
    pub field: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub detail: String,
}

/// The files of one app: its directory and the repo-relative paths under it
/// that belong to it (nested apps excluded), shallowest first.
pub struct AppFiles<'a> {
    pub dir: String,
    pub files: Vec<&'a str>,
    /// Files directly in `dir`.
    top: Vec<&'a str>,
    /// Files directly in the directories that hold the app (workspaces, the
    /// repo root): their manifests name its build tool when its own do not;
    /// they do not count toward a pack's score.
    inherited: Vec<&'a str>,
    /// Extension -> (files, the shallowest such file).
    extensions: BTreeMap<&'a str, (usize, &'a str)>,
}

impl<'a> AppFiles<'a> {
    pub fn new(dir: &str, mut files: Vec<&'a str>) -> Self {
        files.sort_by_cached_key(|f| (f.matches('/').count(), *f));
        let top = files
            .iter()
            .copied()
            .filter(|f| tree::parent(f) == dir)
            .collect();
        let mut extensions: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
        for f in &files {
            if let Some(ext) = extension(f) {
                extensions.entry(ext).or_insert((0, f)).0 += 1;
            }
        }
        AppFiles {
            dir: dir.to_owned(),
            files,
            top,
            inherited: Vec::new(),
            extensions,
        }
    }

    /// Manifests directly in `dirs` (directories holding the app) name its
    /// build tool when its own do not (a pnpm workspace's lock file).
    pub fn inherit(&mut self, tree: &'a Tree, dirs: &[&str]) {
        self.inherited = dirs.iter().flat_map(|d| tree.children(d)).collect();
    }

    fn rel(&self, file: &'a str) -> &'a str {
        tree::relative(file, &self.dir)
    }

    /// The app's files sorted to each pattern of `pack` in one pass,
    /// shallowest first, at most [`MAX_FILES_PER_PATTERN`] each.
    fn index(&self, pack: &Pack) -> Vec<Vec<&'a str>> {
        let set = &pack.detect.patterns;
        let mut out = vec![Vec::new(); set.len()];
        let (mut scratch, mut ids) = (Vec::new(), Vec::new());
        for f in &self.files {
            ids.clear();
            set.matches_into(self.rel(f), &mut scratch, &mut ids);
            ids.sort_unstable();
            ids.dedup();
            for id in &ids {
                if out[*id].len() < MAX_FILES_PER_PATTERN {
                    out[*id].push(*f);
                }
            }
        }
        out
    }
}

/// A regex match in a file: where, the line's text, the first capture.
pub struct Hit {
    pub file: String,
    pub line: Option<usize>,
    pub text: String,
    pub capture: Option<String>,
}

impl Hit {
    pub fn evidence(&self, field: &'static str, detail: impl Into<String>) -> Evidence {
        let detail = detail.into();
        let detail = if self.text.is_empty() {
            detail
        } else if detail.is_empty() {
            self.text.clone()
        } else {
            format!("{detail}: {}", self.text)
        };
        Evidence {
            field,
            file: Some(self.file.clone()),
            line: self.line,
            detail,
        }
    }
}

/// The first match of `re` in `file` (or the file itself without a regex).
pub fn search(tree: &Tree, file: &str, re: Option<&Rx>) -> Option<Hit> {
    let Some(re) = re else {
        return Some(Hit {
            file: file.to_owned(),
            line: None,
            text: String::new(),
            capture: None,
        });
    };
    let re = re.get()?;
    let text = tree.read(file)?;
    // The first match outside a comment: doc comments and commented-out
    // code name frameworks and ports the app does not use.
    let (caps, start) = re.captures_iter(&text).find_map(|caps| {
        let at = caps.get(0)?.start();
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        (!is_comment(text[start..].trim_start())).then_some((caps, start))
    })?;
    let whole = caps.get(0)?;
    let end = text[whole.start()..]
        .find('\n')
        .map_or(text.len(), |i| whole.start() + i);
    let mut line_text: String = text[start..end].trim().chars().take(120).collect();
    if line_text.is_empty() {
        line_text = whole.as_str().trim().chars().take(120).collect();
    }
    Some(Hit {
        file: file.to_owned(),
        line: Some(text[..whole.start()].matches('\n').count() + 1),
        text: line_text,
        // The first group that took part: alternatives may each have one.
        capture: caps
            .iter()
            .skip(1)
            .flatten()
            .next()
            .map(|c| c.as_str().to_owned()),
    })
}

/// Whether a line (without its indentation) is a comment in the languages
/// packs read: `//`, `/*`, ` * `, `# ` (not Rust's `#[`), `;` (Clojure),
/// `%` (Erlang), `--`.
fn is_comment(line: &str) -> bool {
    ["//", "/*", "*", "# ", "#\t", ";", "%", "--"]
        .iter()
        .any(|p| line.starts_with(p))
        || line == "#"
}

fn first_hit<'a>(
    tree: &Tree,
    files: impl Iterator<Item = &'a str>,
    re: Option<&Rx>,
) -> Option<Hit> {
    files.into_iter().find_map(|f| search(tree, f, re))
}

/// Build scripts written in the language (`mix.exs`, `Package.swift`,
/// `setup.py`: strong manifests that name a build tool) are not the app's
/// source; `manage.py` and `main.go` are.
fn is_build_file(pack: &Pack, file: &str) -> bool {
    pack.detect.manifests.iter().any(|m| {
        m.marker == Marker::Strong
            && m.build_tool.is_some()
            && m.file.matches(tree::file_name(file))
    })
}

fn extension(file: &str) -> Option<&str> {
    let name = tree::file_name(file);
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, ext)| ext)
}

/// What one app directory is.
#[derive(Debug, Default)]
pub struct Analysis<'p, 'a> {
    pub language: Option<String>,
    pub build_tool: Option<String>,
    pub framework: Option<String>,
    /// Repo-relative.
    pub entry: Option<String>,
    pub port: Option<u16>,
    pub port_source: Option<PortSource>,
    pub evidence: Vec<Evidence>,
    /// Source files of any pack's languages.
    pub sources: usize,
    /// A manifest says this directory is a workspace or multi-module root.
    pub workspace: bool,
    /// The winning pack and the app's files by its patterns, kept for
    /// [`add_ports`].
    winner: Option<Winner<'p, 'a>>,
}

#[derive(Debug)]
struct Winner<'p, 'a> {
    pack: &'p Pack,
    view: Vec<Vec<&'a str>>,
    /// The framework's documented default port, and the framework.
    framework_port: Option<(u16, String)>,
}

struct Scored<'p, 'a> {
    pack: &'p Pack,
    view: Vec<Vec<&'a str>>,
    score: usize,
    manifests: Vec<(usize, Hit)>,
    language: Option<LangScore>,
    framework: Option<(usize, u32, Vec<Hit>)>,
}

/// Scores every pack on `app` and reports the winner's findings. `ports`
/// holds port findings from outside the app's files (compose); `None` skips
/// the port search (deciding which directories are apps needs no port).
pub fn analyze<'p, 'a>(
    tree: &Tree,
    packs: &'p [Pack],
    app: &AppFiles<'a>,
    ports: Option<&[(u16, PortSource, Evidence)]>,
) -> Analysis<'p, 'a> {
    let mut out = Analysis::default();
    let mut best: Option<Scored<'p, 'a>> = None;
    let mut scores: Vec<(usize, &str)> = Vec::new();
    for pack in packs {
        let d = &pack.detect;
        let mut manifests = Vec::new();
        let mut inherited_manifests = Vec::new();
        for (i, rule) in d.manifests.iter().enumerate() {
            let files = app
                .top
                .iter()
                .copied()
                .filter(|f| rule.file.matches(tree::file_name(f)));
            if let Some(hit) = first_hit(tree, files, rule.regex.as_ref()) {
                out.workspace |= rule.workspace;
                manifests.push((i, hit));
                continue;
            }
            if rule.build_tool.is_none() {
                continue;
            }
            let inherited = app
                .inherited
                .iter()
                .copied()
                .filter(|f| rule.file.matches(tree::file_name(f)));
            if let Some(hit) = first_hit(tree, inherited, rule.regex.as_ref()) {
                inherited_manifests.push((i, hit));
            }
        }
        let (language, sources) = language_of(tree, pack, app);
        out.sources += sources;
        if manifests.is_empty() && sources == 0 {
            continue;
        }
        let view = app.index(pack);
        let framework = best_framework(tree, pack, &view);
        let manifest_weight = manifests
            .iter()
            .map(|(i, _)| d.manifests[*i].weight as usize)
            .max()
            .unwrap_or(0);
        let fw_weight = framework.as_ref().map_or(0, |(_, w, _)| *w as usize);
        let score = manifest_weight + sources.min(MAX_SOURCE_SCORE) + 10 * fw_weight;
        manifests.extend(inherited_manifests);
        scores.push((score, pack.name.as_str()));
        if best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(Scored {
                pack,
                view,
                score,
                manifests,
                language,
                framework,
            });
        }
    }
    if let Some(best) = best {
        scores.sort_by_key(|s| std::cmp::Reverse(s.0));
        let others: Vec<String> = scores
            .iter()
            .skip(1)
            .take(3)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        report(tree, app, best, &others, &mut out);
    }
    if let Some(extra) = ports {
        add_ports(tree, packs, app, &mut out, extra);
    }
    out
}

/// A language of a pack, as counted in one app.
struct LangScore {
    name: String,
    /// Source files plus [`MARKER_BONUS`] per marker file.
    score: usize,
    files: usize,
    markers: Vec<String>,
    /// Its shallowest source file.
    first: Option<String>,
}

/// The pack's language with the most source files (plus marker bonuses),
/// and the pack's source count.
fn language_of(tree: &Tree, pack: &Pack, app: &AppFiles<'_>) -> (Option<LangScore>, usize) {
    let mut language: Option<LangScore> = None;
    let mut sources = 0;
    for lang in &pack.detect.languages {
        let is_lang =
            |f: &str| extension(f).is_some_and(|e| lang.extensions.iter().any(|x| x == e));
        let mut count = 0;
        let mut first: Option<&str> = None;
        for ext in &lang.extensions {
            if let Some((n, f)) = app.extensions.get(ext.as_str()) {
                count += n;
                if first.is_none_or(|old| f.matches('/').count() < old.matches('/').count()) {
                    first = Some(f);
                }
            }
        }
        count -= app
            .top
            .iter()
            .filter(|f| is_lang(f) && is_build_file(pack, f))
            .count();
        sources += count;
        let markers: Vec<String> = lang
            .markers
            .iter()
            .filter(|m| tree.contains(&tree::join(&app.dir, m)))
            .cloned()
            .collect();
        let score = count + MARKER_BONUS * markers.len();
        if score > 0 && language.as_ref().is_none_or(|l| score > l.score) {
            language = Some(LangScore {
                name: lang.name.clone(),
                score,
                files: count,
                markers,
                first: first.map(str::to_owned),
            });
        }
    }
    (language, sources)
}

/// The framework whose signals weigh most (ties: higher `priority`, then
/// the pack's order), with the hits that decided it.
fn best_framework(tree: &Tree, pack: &Pack, view: &[Vec<&str>]) -> Option<(usize, u32, Vec<Hit>)> {
    let mut best: Option<(u32, i32, usize, Vec<Hit>)> = None;
    for (i, rule) in pack.detect.frameworks.iter().enumerate() {
        let mut weight = 0;
        let mut hits = Vec::new();
        for signal in &rule.signals {
            if let Some(hit) = first_hit(
                tree,
                view[signal.files.id].iter().copied(),
                signal.regex.as_ref(),
            ) {
                weight += signal.weight;
                hits.push(hit);
            }
        }
        if weight == 0 {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(w, p, _, _)| (weight, rule.priority) > (*w, *p))
        {
            best = Some((weight, rule.priority, i, hits));
        }
    }
    best.map(|(w, _, i, hits)| (i, w, hits))
}

fn report<'p, 'a>(
    tree: &Tree,
    app: &AppFiles<'a>,
    best: Scored<'p, 'a>,
    others: &[String],
    out: &mut Analysis<'p, 'a>,
) {
    let d = &best.pack.detect;
    if let Some(lang) = best.language {
        let markers = if lang.markers.is_empty() {
            String::new()
        } else {
            format!(" and {}", lang.markers.join(", "))
        };
        let others = if others.is_empty() {
            String::new()
        } else {
            format!("; others: {}", others.join(", "))
        };
        out.evidence.push(Evidence {
            field: "language",
            file: lang.first,
            line: None,
            detail: format!(
                "{} {} source files{markers}; pack {} scored {}{others}",
                lang.files, lang.name, best.pack.name, best.score
            ),
        });
        out.language = Some(lang.name);
    }
    let tool = best
        .manifests
        .iter()
        .filter(|(i, _)| d.manifests[*i].build_tool.is_some())
        .max_by_key(|(i, _)| (d.manifests[*i].weight, std::cmp::Reverse(*i)));
    if let Some((i, hit)) = tool {
        let name = d.manifests[*i].build_tool.clone();
        out.evidence
            .push(hit.evidence("build_tool", name.clone().unwrap_or_default()));
        out.build_tool = name;
    }
    let mut fw_port = None;
    let mut fw_entries: &[String] = &[];
    if let Some((i, _, hits)) = &best.framework {
        let rule = &d.frameworks[*i];
        for hit in hits {
            out.evidence.push(hit.evidence("framework", &rule.name));
        }
        out.framework = Some(rule.name.clone());
        fw_port = rule.port.map(|p| (p, rule.name.clone()));
        fw_entries = &rule.entry;
    }
    out.entry = find_entry(
        tree,
        app,
        best.pack,
        &best.view,
        fw_entries,
        &mut out.evidence,
    );
    out.winner = Some(Winner {
        pack: best.pack,
        view: best.view,
        framework_port: fw_port,
    });
}

/// Finds the port of an analysed app: the winning pack's and `common`'s
/// port rules, then `extra` (compose), then the framework's default; the
/// best [`PortSource`] wins.
pub fn add_ports(
    tree: &Tree,
    packs: &[Pack],
    app: &AppFiles<'_>,
    out: &mut Analysis<'_, '_>,
    extra: &[(u16, PortSource, Evidence)],
) {
    let mut ports = match &out.winner {
        Some(w) => port_findings(tree, packs, app, w.pack, &w.view),
        None => Vec::new(),
    };
    ports.extend(extra.iter().cloned());
    if let Some((port, name)) = out.winner.as_ref().and_then(|w| w.framework_port.clone()) {
        ports.push((
            port,
            PortSource::FrameworkDefault,
            Evidence {
                field: "port",
                file: None,
                line: None,
                detail: format!("{name}'s documented default port"),
            },
        ));
    }
    // Stable: rule order decides among findings of the same source.
    ports.sort_by_key(|(_, source, _)| *source);
    if let Some((port, source, ev)) = ports.into_iter().next() {
        out.port = Some(port);
        out.port_source = Some(source);
        out.evidence.push(ev);
    }
}

/// Ports that the winner's port rules find, then those of packs without a
/// language (`common`: Dockerfile EXPOSE, Kubernetes manifests, .env), in
/// rule order.
fn port_findings(
    tree: &Tree,
    packs: &[Pack],
    app: &AppFiles<'_>,
    pack: &Pack,
    view: &[Vec<&str>],
) -> Vec<(u16, PortSource, Evidence)> {
    let mut ports: Vec<(u16, PortSource, Evidence)> = Vec::new();
    let common: Vec<(&Pack, Vec<Vec<&str>>)> = packs
        .iter()
        .filter(|p| p.detect.languages.is_empty())
        .map(|p| (p, app.index(p)))
        .collect();
    let rules = pack.detect.ports.iter().map(|r| (r, view)).chain(
        common
            .iter()
            .flat_map(|(p, view)| p.detect.ports.iter().map(move |r| (r, view.as_slice()))),
    );
    for (rule, view) in rules {
        let found = view[rule.files.id].iter().find_map(|f| {
            let hit = search(tree, f, Some(&rule.regex))?;
            let port = hit
                .capture
                .as_deref()?
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)?;
            Some((port, hit))
        });
        if let Some((port, hit)) = found {
            ports.push((
                port,
                rule.source,
                hit.evidence("port", rule.source.as_str()),
            ));
        }
    }
    ports
}

/// The framework's entry files, else the pack's entry rules in order. A
/// rule whose regex captures a path (`"main": "server.js"`) names that path,
/// relative to the matched file, if it exists.
fn find_entry(
    tree: &Tree,
    app: &AppFiles<'_>,
    pack: &Pack,
    view: &[Vec<&str>],
    framework_entries: &[String],
    evidence: &mut Vec<Evidence>,
) -> Option<String> {
    for rel in framework_entries {
        let path = tree::join(&app.dir, rel);
        if tree.contains(&path) {
            evidence.push(Evidence {
                field: "entry",
                file: Some(path.clone()),
                line: None,
                detail: "the framework's entry file".to_owned(),
            });
            return Some(path);
        }
    }
    for rule in &pack.detect.entry {
        for file in view[rule.files.id].iter().copied() {
            let Some(hit) = search(tree, file, rule.regex.as_ref()) else {
                continue;
            };
            let path = match &hit.capture {
                Some(cap) => {
                    let cap = cap.trim_start_matches("./");
                    let path = tree::join(tree::parent(file), cap);
                    if !tree.contains(&path) {
                        continue;
                    }
                    path
                }
                None => file.to_owned(),
            };
            evidence.push(hit.evidence("entry", format!("entry rule {}", rule.files.text)));
            return Some(path);
        }
    }
    None
}
