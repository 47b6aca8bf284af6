//! `devloop config`: the resolved configuration, each value with its source.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::AppArgs;
use crate::cluster::KubeTarget;
use crate::config::{AppConfig, Sourced};
use crate::context::Context;
use crate::error::Result;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub apps: AppArgs,
}

#[derive(Serialize)]
struct Report<'a> {
    config_file: Option<&'a Path>,
    root: &'a Path,
    kube: &'a KubeTarget,
    allowed_contexts: &'a Sourced<Vec<String>>,
    apps: Vec<&'a AppConfig>,
}

pub fn run(args: &ConfigArgs, ctx: &Context) -> Result<()> {
    let config = ctx.load_config(args.apps.registry.as_deref())?;
    let apps = config.select(args.apps.app.as_deref())?;
    let kube = ctx.kube_target();
    let report = Report {
        config_file: config.file.as_deref(),
        root: &config.root,
        kube: &kube,
        allowed_contexts: &config.allowed_contexts,
        apps,
    };
    if ctx.printer.is_json() {
        ctx.printer.event(&report);
    } else {
        ctx.printer.data(text(&report, &config.root).trim_end());
    }
    Ok(())
}

/// One line of the text report: key, value, where the value came from.
type Row = (&'static str, String, String);

fn row<T>(key: &'static str, value: &Sourced<T>, show: impl Fn(&T) -> String) -> Row {
    (key, show(&value.value), value.source.to_string())
}

fn list<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.iter().map(show).collect::<Vec<_>>().join(", ")
    }
}

fn or_dash<T: ToString>(value: Option<&T>) -> String {
    value.map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The report for a person: `key  value  source`, paths relative to the repo.
fn text(report: &Report<'_>, root: &Path) -> String {
    let rel = |p: &PathBuf| -> String {
        match p.strip_prefix(root) {
            Ok(r) if r.as_os_str().is_empty() => ".".to_owned(),
            Ok(r) => r.display().to_string(),
            Err(_) => p.display().to_string(),
        }
    };
    let kube = report.kube;
    let mut sections: Vec<(String, Vec<Row>)> = vec![(
        String::new(),
        vec![
            row("kubeconfig", &kube.kubeconfig, |v| {
                list(v, |p| p.display().to_string())
            }),
            row("context", &kube.context, |v| or_dash(v.as_ref())),
            row("allowed_contexts", report.allowed_contexts, |v| {
                list(v, Clone::clone)
            }),
        ],
    )];
    for app in &report.apps {
        let rows = vec![
            row("name", &app.name, Clone::clone),
            row("path", &app.path, rel),
            row("image", &app.image, Clone::clone),
            row("registry", &app.registry, |v| or_dash(v.as_ref())),
            row("namespace", &app.namespace, Clone::clone),
            row("keep_images", &app.keep_images, ToString::to_string),
            row("history_max", &app.history_max, ToString::to_string),
            row("image_pull_secrets", &app.image_pull_secrets, |v| {
                list(v, Clone::clone)
            }),
            row("chart", &app.chart, rel),
            row("values", &app.values, |v| list(v, rel)),
            row("ports", &app.ports, |v| list(v, ToString::to_string)),
            row("debug.port", &app.debug_port, |v| or_dash(v.as_ref())),
            row("sync", &app.sync, |v| match v {
                None => "-".to_owned(),
                Some(rules) => list(rules, |r| format!("{} -> {} ({})", r.src, r.dest, r.reload)),
            }),
        ];
        sections.push((format!("app {}", app.name.value), rows));
    }
    let all = || sections.iter().flat_map(|(_, rows)| rows.iter());
    let key_width = all().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let value_width = all().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    let file = report.config_file.map_or_else(
        || "none (defaults; `devloop init` writes one)".to_owned(),
        |f| f.display().to_string(),
    );
    let mut out = format!("config file: {file}\n");
    for (title, rows) in &sections {
        let indent = if title.is_empty() { "" } else { "  " };
        if !title.is_empty() {
            let _ = writeln!(out, "\n{title}");
        }
        for (key, value, source) in rows {
            let _ = writeln!(
                out,
                "{indent}{key:<key_width$}  {value:<value_width$}  {source}"
            );
        }
    }
    out
}
