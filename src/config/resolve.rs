//! Resolution: flags > `DEVLOOP_*` env > devloop.toml > defaults, into one
//! [`Config`] whose every value remembers where it came from.
//!
//! This is the only place that applies defaults; commands read the resolved
//! [`AppConfig`]s and never look at the file, the environment or flags again.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;

use super::ConfigError;
use super::file::{self, Parsed, PortSpec, Table};
use super::names;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--registry`.
    Flag(&'static str),
    /// An environment variable, e.g. `DEVLOOP_REGISTRY`.
    Env(&'static str),
    /// A key in devloop.toml, at this line and column.
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// devloop's default, described for a person.
    Default(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Env(var) => write!(f, "env {var}"),
            // The file's name only: `devloop config` names the whole path once.
            Source::File { path, line, column } => {
                let name = path.file_name().unwrap_or(path.as_os_str());
                write!(f, "{}:{line}:{column}", name.to_string_lossy())
            }
            Source::Default(why) => write!(f, "default ({why})"),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    fn new(value: T, source: Source) -> Self {
        Sourced { value, source }
    }
}

/// Values given on the command line; each wins over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub registry: Option<String>,
    pub namespace: Option<String>,
}

/// One app, fully resolved.
#[derive(Debug, Clone, Serialize)]
pub struct AppConfig {
    pub name: Sourced<String>,
    /// Absolute app directory.
    pub path: Sourced<PathBuf>,
    pub image: Sourced<String>,
    pub registry: Sourced<Option<String>>,
    pub namespace: Sourced<String>,
    /// Local devloop images of this app kept by `build` (at least 1).
    pub keep_images: Sourced<usize>,
    /// Release revisions kept in the cluster, as Helm's `--history-max` (0: all).
    pub history_max: Sourced<usize>,
    /// Secrets named in the pods' `imagePullSecrets`.
    pub image_pull_secrets: Sourced<Vec<String>>,
    /// Absolute chart directory.
    pub chart: Sourced<PathBuf>,
    /// Absolute values files, in the order Helm applies them.
    pub values: Sourced<Vec<PathBuf>>,
    pub ports: Sourced<Vec<PortSpec>>,
    pub debug_port: Sourced<Option<u16>>,
    /// Live-sync rules as written; `None`: the app's pack's rules.
    pub sync: Sourced<Option<Vec<crate::sync::rules::RuleSpec>>>,
}

/// The resolved configuration of every app in the repo.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The devloop.toml that was read, if any.
    pub file: Option<PathBuf>,
    /// The directory app paths are relative to (devloop.toml's, else the working directory).
    pub root: PathBuf,
    pub allowed_contexts: Sourced<Vec<String>>,
    pub apps: Vec<AppConfig>,
}

/// Keys that describe one app and so cannot stand at the top level beside `[[app]]`.
const APP_ONLY_KEYS: &str = "name, path, image, chart, values, ports, debug, sync";

impl Config {
    /// Finds devloop.toml from `cwd` upwards and resolves it with `overrides`
    /// and the `DEVLOOP_*` variables that `env` returns.
    pub fn load(
        cwd: &Path,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        match file::find(cwd) {
            Some(path) => {
                let parsed = file::load(&path)?;
                Config::resolve(Some(&parsed), cwd, overrides, env)
            }
            None => Config::resolve(None, cwd, overrides, env),
        }
    }

    /// Resolves a parsed file (or none: one app in `cwd`, all defaults).
    pub fn resolve(
        parsed: Option<&Parsed>,
        cwd: &Path,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let fixed = Fixed::new(overrides, env)?;
        let Some(parsed) = parsed else {
            let empty = Parsed {
                path: cwd.join(file::FILE_NAME),
                source: String::new(),
                config: Table::default(),
            };
            let app = resolve_app(&empty, &empty.config, None, cwd, &fixed)?;
            return Ok(Config {
                file: None,
                root: cwd.to_owned(),
                allowed_contexts: Sourced::new(Vec::new(), Source::Default("none")),
                apps: vec![app],
            });
        };
        let root = parsed
            .path
            .parent()
            .map_or_else(|| cwd.to_owned(), Path::to_owned);
        let top = &parsed.config;
        let allowed_contexts = match &top.allowed_contexts {
            Some(list) => {
                if let Some(bad) = list.get_ref().iter().find(|c| c.trim().is_empty()) {
                    return Err(parsed.invalid(
                        list,
                        format!("`{bad}` is not a context name"),
                        None,
                    ));
                }
                Sourced::new(list.get_ref().clone(), file_source(parsed, list))
            }
            None => Sourced::new(Vec::new(), Source::Default("none")),
        };
        let apps = match &top.app {
            None => vec![resolve_app(parsed, top, None, &root, &fixed)?],
            Some(tables) => {
                reject_app_keys_at_top(parsed, top)?;
                let mut apps = Vec::with_capacity(tables.len());
                let mut seen = BTreeSet::new();
                for table in tables {
                    let app = resolve_app(parsed, table.get_ref(), Some(top), &root, &fixed)?;
                    if !seen.insert(app.name.value.clone()) {
                        let at = table
                            .get_ref()
                            .name
                            .as_ref()
                            .map_or(table.span(), Spanned::span);
                        let (line, column) = parsed.line_col(at.start);
                        return Err(ConfigError::Invalid {
                            path: parsed.path.clone(),
                            line,
                            column,
                            message: format!("two apps are named `{}`", app.name.value),
                            hint: Some("give each [[app]] its own `name`".to_owned()),
                        });
                    }
                    apps.push(app);
                }
                if apps.is_empty() {
                    return Err(ConfigError::Invalid {
                        path: parsed.path.clone(),
                        line: 1,
                        column: 1,
                        message: "`app` holds no app".to_owned(),
                        hint: None,
                    });
                }
                apps
            }
        };
        Ok(Config {
            file: Some(parsed.path.clone()),
            root,
            allowed_contexts,
            apps,
        })
    }

    /// The apps a command acts on: the one named by `--app`, else all of them.
    pub fn select(&self, app: Option<&str>) -> Result<Vec<&AppConfig>, ConfigError> {
        match app {
            None => Ok(self.apps.iter().collect()),
            Some(name) => self
                .apps
                .iter()
                .find(|a| a.name.value == name)
                .map(|a| vec![a])
                .ok_or_else(|| ConfigError::UnknownApp {
                    name: name.to_owned(),
                    file: self.file.clone(),
                    available: self.apps.iter().map(|a| a.name.value.clone()).collect(),
                }),
        }
    }
}

/// Values from flags and the environment, validated once for every app.
struct Fixed {
    registry: Option<Sourced<String>>,
    namespace: Option<Sourced<String>>,
}

impl Fixed {
    fn new(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let pick = |flag_value: &Option<String>, flag: &'static str, var: &'static str| {
            flag_value
                .clone()
                .map(|v| Sourced::new(v, Source::Flag(flag)))
                .or_else(|| {
                    env(var)
                        .filter(|v| !v.is_empty())
                        .map(|v| Sourced::new(v, Source::Env(var)))
                })
        };
        let registry = pick(&overrides.registry, "--registry", "DEVLOOP_REGISTRY");
        let namespace = pick(&overrides.namespace, "--namespace", "DEVLOOP_NAMESPACE");
        let bad = |s: &Sourced<String>, message: String| ConfigError::Override {
            source_name: s.source.to_string(),
            message,
        };
        if let Some(r) = &registry
            && let Some(problem) = names::registry_problem(&r.value)
        {
            return Err(bad(r, format!("`{}`: {problem}", r.value)));
        }
        if let Some(ns) = &namespace
            && !names::is_dns_label(&ns.value, names::MAX_LABEL)
        {
            return Err(bad(ns, namespace_problem(&ns.value)));
        }
        Ok(Fixed {
            registry,
            namespace,
        })
    }
}

fn namespace_problem(ns: &str) -> String {
    format!(
        "`{ns}` is not a namespace name (lowercase letters, digits and '-', at most {} characters)",
        names::MAX_LABEL
    )
}

fn file_source<T>(parsed: &Parsed, spanned: &Spanned<T>) -> Source {
    let (line, column) = parsed.line_col(spanned.span().start);
    Source::File {
        path: parsed.path.clone(),
        line,
        column,
    }
}

fn reject_app_keys_at_top(parsed: &Parsed, top: &Table) -> Result<(), ConfigError> {
    let found: [(&str, Option<std::ops::Range<usize>>); 8] = [
        ("name", top.name.as_ref().map(Spanned::span)),
        ("path", top.path.as_ref().map(Spanned::span)),
        ("image", top.image.as_ref().map(Spanned::span)),
        ("chart", top.chart.as_ref().map(Spanned::span)),
        ("values", top.values.as_ref().map(Spanned::span)),
        ("ports", top.ports.as_ref().map(Spanned::span)),
        ("debug", top.debug.as_ref().map(Spanned::span)),
        ("sync", top.sync.as_ref().map(Spanned::span)),
    ];
    if let Some((key, Some(span))) = found.into_iter().find(|(_, span)| span.is_some()) {
        let (line, column) = parsed.line_col(span.start);
        return Err(ConfigError::Invalid {
            path: parsed.path.clone(),
            line,
            column,
            message: format!("`{key}` describes one app, but this file has [[app]] tables"),
            hint: Some(format!(
                "move it into each [[app]]; only registry, namespace, keep_images, history_max, image_pull_secrets and allowed_contexts are shared at the top level ({APP_ONLY_KEYS} are per app)"
            )),
        });
    }
    Ok(())
}

/// Resolves one app table; `shared` is the top level of a many-app file.
fn resolve_app(
    parsed: &Parsed,
    table: &Table,
    shared: Option<&Table>,
    root: &Path,
    fixed: &Fixed,
) -> Result<AppConfig, ConfigError> {
    if shared.is_some() {
        reject_shared_keys_in_app(parsed, table)?;
    }
    let path = app_path(parsed, table, shared.is_some(), root)?;
    let name = app_name(parsed, table, &path.value)?;
    let image = match &table.image {
        Some(i) if !names::is_image_repository(i.get_ref()) => {
            return Err(parsed.invalid(
                i,
                format!("`{}` is not an image repository", i.get_ref()),
                Some("write the repository only, lowercase, without registry or tag (the registry is `registry`, the tag is devloop's)".to_owned()),
            ));
        }
        Some(i) => Sourced::new(i.get_ref().clone(), file_source(parsed, i)),
        None => Sourced::new(name.value.clone(), Source::Default("the app name")),
    };
    // A many-app file's top level gives defaults that an [[app]] may override.
    let own_or_shared = |key: fn(&Table) -> &Option<Spanned<String>>| {
        key(table)
            .clone()
            .or_else(|| shared.and_then(|s| key(s).clone()))
    };
    let registry = if let Some(r) = &fixed.registry {
        Sourced::new(Some(r.value.clone()), r.source.clone())
    } else if let Some(spanned) = own_or_shared(|t| &t.registry) {
        let value = spanned.get_ref();
        if let Some(problem) = names::registry_problem(value) {
            return Err(parsed.invalid(&spanned, format!("`{value}`: {problem}"), None));
        }
        Sourced::new(Some(value.clone()), file_source(parsed, &spanned))
    } else {
        Sourced::new(
            None,
            Source::Default("none: images stay local or are loaded"),
        )
    };
    let namespace = if let Some(ns) = &fixed.namespace {
        ns.clone()
    } else if let Some(spanned) = own_or_shared(|t| &t.namespace) {
        let value = spanned.get_ref();
        if !names::is_dns_label(value, names::MAX_LABEL) {
            return Err(parsed.invalid(&spanned, namespace_problem(value), None));
        }
        Sourced::new(value.clone(), file_source(parsed, &spanned))
    } else {
        Sourced::new(format!("{}-dev", name.value), Source::Default("<app>-dev"))
    };
    let keep_images = keep_images(parsed, table, shared)?;
    let history_max = history_max(parsed, table, shared)?;
    let chart = match &table.chart {
        Some(c) => Sourced::new(
            normalize(&path.value.join(c.get_ref())),
            file_source(parsed, c),
        ),
        None => Sourced::new(
            path.value.join("chart"),
            Source::Default("chart/ in the app directory"),
        ),
    };
    let values = match &table.values {
        Some(v) => Sourced::new(
            v.get_ref()
                .iter()
                .map(|f| normalize(&path.value.join(f)))
                .collect(),
            file_source(parsed, v),
        ),
        None => Sourced::new(Vec::new(), Source::Default("the chart's values.yaml only")),
    };
    let image_pull_secrets = image_pull_secrets(parsed, table, shared)?;
    Ok(AppConfig {
        image_pull_secrets,
        ports: app_ports(parsed, table)?,
        debug_port: debug_port(parsed, table)?,
        sync: sync_rules(parsed, table)?,
        name,
        path,
        image,
        registry,
        namespace,
        keep_images,
        history_max,
        chart,
        values,
    })
}

/// Local images kept per app: enough to go back a few changes without one
/// image per save piling up (each rebuild of `up` makes one).
pub const DEFAULT_KEEP_IMAGES: usize = 5;

fn keep_images(
    parsed: &Parsed,
    table: &Table,
    shared: Option<&Table>,
) -> Result<Sourced<usize>, ConfigError> {
    let Some(spanned) = table
        .keep_images
        .as_ref()
        .or_else(|| shared.and_then(|s| s.keep_images.as_ref()))
    else {
        return Ok(Sourced::new(
            DEFAULT_KEEP_IMAGES,
            Source::Default("5 per app"),
        ));
    };
    match usize::try_from(*spanned.get_ref()) {
        Ok(n) if n >= 1 => Ok(Sourced::new(n, file_source(parsed, spanned))),
        _ => Err(parsed.invalid(
            spanned,
            format!(
                "keep_images = {} keeps no image; the one just built is always kept",
                spanned.get_ref()
            ),
            Some("use 1 or more".to_owned()),
        )),
    }
}

/// Helm's `--history-max` default: enough revisions to roll back a few
/// deploys, few enough that frequent dev deploys do not pile up Secrets.
pub const DEFAULT_HISTORY_MAX: usize = crate::release::DEFAULT_HISTORY_MAX;

fn history_max(
    parsed: &Parsed,
    table: &Table,
    shared: Option<&Table>,
) -> Result<Sourced<usize>, ConfigError> {
    let Some(spanned) = table
        .history_max
        .as_ref()
        .or_else(|| shared.and_then(|s| s.history_max.as_ref()))
    else {
        return Ok(Sourced::new(
            DEFAULT_HISTORY_MAX,
            Source::Default("10 revisions, as helm's --history-max"),
        ));
    };
    match usize::try_from(*spanned.get_ref()) {
        Ok(n) => Ok(Sourced::new(n, file_source(parsed, spanned))),
        Err(_) => Err(parsed.invalid(
            spanned,
            format!("history_max = {} is negative", spanned.get_ref()),
            Some("use 0 to keep every revision, or the number of revisions to keep".to_owned()),
        )),
    }
}

/// `imagePullSecrets` for the app's pods: Secret names (DNS subdomains).
fn image_pull_secrets(
    parsed: &Parsed,
    table: &Table,
    shared: Option<&Table>,
) -> Result<Sourced<Vec<String>>, ConfigError> {
    let Some(list) = table
        .image_pull_secrets
        .as_ref()
        .or_else(|| shared.and_then(|s| s.image_pull_secrets.as_ref()))
    else {
        return Ok(Sourced::new(Vec::new(), Source::Default("none")));
    };
    if let Some(bad) = list
        .get_ref()
        .iter()
        .find(|n| n.len() > 253 || !n.split('.').all(|p| names::is_dns_label(p, 63)))
    {
        return Err(parsed.invalid(
            list,
            format!("`{bad}` is not a Secret name"),
            Some("Secret names are lowercase letters, digits, `-` and `.`".to_owned()),
        ));
    }
    Ok(Sourced::new(
        list.get_ref().clone(),
        file_source(parsed, list),
    ))
}

fn reject_shared_keys_in_app(parsed: &Parsed, table: &Table) -> Result<(), ConfigError> {
    if let Some(nested) = table.app.as_ref().and_then(|apps| apps.first()) {
        return Err(parsed.invalid(nested, "an [[app]] cannot hold apps", None));
    }
    if let Some(ctx) = &table.allowed_contexts {
        return Err(parsed.invalid(
            ctx,
            "`allowed_contexts` is shared by all apps",
            Some("set it once at the top level of devloop.toml".to_owned()),
        ));
    }
    Ok(())
}

fn app_path(
    parsed: &Parsed,
    table: &Table,
    many: bool,
    root: &Path,
) -> Result<Sourced<PathBuf>, ConfigError> {
    match &table.path {
        Some(p) => {
            let dir = root.join(p.get_ref());
            if !dir.is_dir() {
                return Err(parsed.invalid(
                    p,
                    format!("app path `{}` is not a directory", p.get_ref()),
                    Some(format!("paths are relative to {}", root.display())),
                ));
            }
            Ok(Sourced::new(normalize(&dir), file_source(parsed, p)))
        }
        None if many => {
            let (line, column) = parsed.line_col(table.name.as_ref().map_or(0, |n| n.span().start));
            Err(ConfigError::Invalid {
                path: parsed.path.clone(),
                line,
                column,
                message: "this [[app]] has no `path`".to_owned(),
                hint: Some(
                    "set `path` to the app's directory, relative to devloop.toml".to_owned(),
                ),
            })
        }
        None => Ok(Sourced::new(
            root.to_owned(),
            Source::Default("devloop.toml's directory"),
        )),
    }
}

fn app_name(parsed: &Parsed, table: &Table, dir: &Path) -> Result<Sourced<String>, ConfigError> {
    let Some(n) = &table.name else {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(Sourced::new(
            names::release_name(&dir_name),
            Source::Default("the app directory's name"),
        ));
    };
    if !names::is_dns_label(n.get_ref(), names::MAX_RELEASE_NAME) {
        return Err(parsed.invalid(
            n,
            format!(
                "`{}` is not a valid release name (lowercase letters, digits and '-', at most {} characters)",
                n.get_ref(),
                names::MAX_RELEASE_NAME
            ),
            Some(format!("for example `{}`", names::release_name(n.get_ref()))),
        ));
    }
    Ok(Sourced::new(n.get_ref().clone(), file_source(parsed, n)))
}

fn app_ports(parsed: &Parsed, table: &Table) -> Result<Sourced<Vec<PortSpec>>, ConfigError> {
    let Some(p) = &table.ports else {
        return Ok(Sourced::new(Vec::new(), Source::Default("none")));
    };
    let mut locals = BTreeSet::new();
    if let Some(dup) = p.get_ref().iter().find(|spec| !locals.insert(spec.local)) {
        return Err(parsed.invalid(
            p,
            format!("local port {} is forwarded twice", dup.local),
            Some("map one of them elsewhere: \"LOCAL:REMOTE\"".to_owned()),
        ));
    }
    Ok(Sourced::new(p.get_ref().clone(), file_source(parsed, p)))
}

fn debug_port(parsed: &Parsed, table: &Table) -> Result<Sourced<Option<u16>>, ConfigError> {
    match table.debug.as_ref() {
        Some(d) if d.get_ref().port == Some(0) => {
            Err(parsed.invalid(d, "debug port 0 is not a port", None))
        }
        Some(d) if d.get_ref().port.is_some() => {
            Ok(Sourced::new(d.get_ref().port, file_source(parsed, d)))
        }
        _ => Ok(Sourced::new(
            None,
            Source::Default("the debugger's usual port"),
        )),
    }
}

fn sync_rules(
    parsed: &Parsed,
    table: &Table,
) -> Result<Sourced<Option<Vec<crate::sync::rules::RuleSpec>>>, ConfigError> {
    let Some(rules) = &table.sync else {
        return Ok(Sourced::new(
            None,
            Source::Default("the app's pack's rules"),
        ));
    };
    crate::sync::rules::Rules::compile(rules.get_ref()).map_err(|message| {
        parsed.invalid(
            rules,
            message,
            Some(
                "sync = [{ src = \"src/**\", dest = \"/app/src\", reload = \"restart\" }]"
                    .to_owned(),
            ),
        )
    })?;
    Ok(Sourced::new(
        Some(rules.get_ref().clone()),
        file_source(parsed, rules),
    ))
}

/// Removes `.` components and resolves `..` lexically, so paths print as users expect.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests;
