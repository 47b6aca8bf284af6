//! `devloop init`: detect the repo's apps and say what would be scaffolded.
//!
//! This issue ships `--dry-run` only: the report of every app (language,
//! build tool, framework, entry point, port and the evidence for each) and
//! the files init would write or keep. Writing them comes next; until then
//! `init` without `--dry-run` refuses rather than pretend.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::context::Context;
use crate::detect::{self, App, Report};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Show what init detects and would write; write nothing (required for now)
    #[arg(long)]
    pub dry_run: bool,
    /// The repo to look at (default: the working directory)
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

pub fn run(args: &InitArgs, ctx: &Context) -> Result<()> {
    if !args.dry_run {
        return Err(Error::usage(
            "`devloop init` does not write files yet",
            Some("run `devloop init --dry-run` to see what it detects and would write".to_owned()),
        ));
    }
    let root = args
        .path
        .as_ref()
        .map_or_else(|| ctx.cwd.clone(), |p| ctx.cwd.join(p));
    if !root.is_dir() {
        return Err(Error::usage(
            format!("{} is not a directory", root.display()),
            Some("--path names the repo to look at".to_owned()),
        ));
    }
    let started = Instant::now();
    let report = detect::detect(&root)?;
    let elapsed = started.elapsed();
    if ctx.printer.is_json() {
        ctx.printer.event(&report);
        return Ok(());
    }
    ctx.printer.status(
        "Detected",
        format!(
            "{} app{} in {} ({} ms)",
            report.apps.len(),
            if report.apps.len() == 1 { "" } else { "s" },
            root.display(),
            elapsed.as_millis()
        ),
    );
    if report.apps.is_empty() {
        ctx.printer
            .warn("no app found: no manifest (package.json, go.mod, pom.xml, ...) or server code");
    } else {
        ctx.printer.data(text(&report).trim_end());
    }
    ctx.printer
        .status("Finished", "dry run: nothing was written");
    Ok(())
}

/// The report for a person: one block per app, each value with the evidence
/// that decided it.
fn text(report: &Report) -> String {
    let mut out = String::new();
    for (i, app) in report.apps.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "app {} ({})", app.name, app.path);
        let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
        let port = match app.port {
            Some(p) => format!("{p} ({})", app.port_source.as_str()),
            None => "unknown".to_owned(),
        };
        let rows = [
            ("language", or_unknown(&app.language), "language"),
            ("build tool", or_unknown(&app.build_tool), "build_tool"),
            ("framework", or_unknown(&app.framework), "framework"),
            ("entry", or_unknown(&app.entry), "entry"),
            ("port", port, "port"),
        ];
        let width = rows.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
        for (label, value, field) in rows {
            let why = why(app, field);
            let _ = writeln!(out, "  {label:<10}  {value:<width$}  {why}");
        }
        let _ = writeln!(out, "  would write {}", app.files.join(", "));
        for kept in &app.kept {
            let _ = writeln!(out, "  keeps      {} ({})", kept.path, kept.reason);
        }
    }
    out
}

/// The first evidence for `field`, as `file:line detail`.
fn why(app: &App, field: &str) -> String {
    app.evidence
        .iter()
        .find(|e| e.field == field)
        .map(|e| {
            let place = match (&e.file, e.line) {
                (Some(f), Some(l)) => format!("{f}:{l} "),
                (Some(f), None) => format!("{f} "),
                _ => String::new(),
            };
            format!("{place}{}", e.detail).trim_end().to_owned()
        })
        .unwrap_or_default()
}
