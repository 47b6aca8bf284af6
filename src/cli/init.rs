//! `devloop init`: detect the repo's apps and scaffold each one: a Dockerfile
//! and .dockerignore from its pack, the shared chart, `devloop.toml` and
//! VS Code attach configurations. Files are planned first
//! ([`scaffold::plan`]), then written without clobbering
//! ([`scaffold::writer`]); `--dry-run` shows the same plan and writes nothing.
//! Prompts (on a TTY, before anything is written) ask only for what detection
//! could not decide; every prompt has a flag.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::config::names::release_name;
use crate::context::Context;
use crate::detect::{self, App, Report};
use crate::error::{Error, Result};
use crate::pack::Pack;
use crate::scaffold::plan::{self, Choice};
use crate::scaffold::writer::{self, Done, Outcome};

/// The port when neither detection, a flag nor the pack names one: the most
/// common default of web frameworks across the packs.
const FALLBACK_PORT: u16 = 8080;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Show what init detects and would write; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The repo to look at (default: the working directory)
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Scaffold only this app (its name or path; repeatable)
    #[arg(long, value_name = "APP")]
    pub app: Vec<String>,
    /// Use this pack instead of the detected one (one app only)
    #[arg(long, value_name = "PACK")]
    pub pack: Option<String>,
    /// The port the app listens on (one app only)
    #[arg(long)]
    pub port: Option<u16>,
    /// The app's release name (one app only)
    #[arg(long)]
    pub name: Option<String>,
    /// Never prompt: take the best guess for what detection could not decide
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Overwrite files that exist and differ from what init would write
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs, ctx: &Context) -> Result<()> {
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
    let packs = super::packs::load(ctx)?;
    let packs = packs.as_slice();
    let started = Instant::now();
    let report = detect::detect_with(&root, packs);
    let elapsed = started.elapsed();
    if args.dry_run && ctx.printer.is_json() {
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
        if args.dry_run {
            ctx.printer
                .status("Finished", "dry run: nothing was written");
        }
        return Ok(());
    }
    let selected = select(&report, &args.app)?;
    if selected.len() > 1 && (args.pack.is_some() || args.port.is_some() || args.name.is_some()) {
        return Err(Error::usage(
            "--pack, --port and --name describe one app, but several are selected",
            Some(format!(
                "pick one with --app ({})",
                selected
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ));
    }
    let interactive = !args.yes
        && !ctx.printer.is_json()
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal();
    let mut choices = Vec::new();
    for app in selected {
        if let Some(choice) = choose(app, packs, args, interactive, ctx)? {
            choices.push(choice);
        }
    }
    let (planned, warnings) = plan::plan(&root, &choices, args.force);
    for warning in &warnings {
        ctx.printer.warn(warning);
    }
    let done = writer::apply(&root, &planned, args.force, !args.dry_run)
        .map_err(|e| Error::io("write", root.display(), e))?;
    if ctx.printer.is_json() {
        ctx.printer
            .event(&serde_json::json!({"event": "init", "files": done}));
        return Ok(());
    }
    if args.dry_run {
        ctx.printer.data(text(&report, &choices, &done).trim_end());
        ctx.printer
            .status("Finished", "dry run: nothing was written");
    } else {
        report_done(ctx, &done);
    }
    Ok(())
}

/// The apps named by `--app` (by name or path), or all.
fn select<'a>(report: &'a Report, wanted: &[String]) -> Result<Vec<&'a App>> {
    if wanted.is_empty() {
        return Ok(report.apps.iter().collect());
    }
    wanted
        .iter()
        .map(|w| {
            report
                .apps
                .iter()
                .find(|a| &a.name == w || &a.path == w)
                .ok_or_else(|| {
                    Error::usage(
                        format!("no app {w} in this repo"),
                        Some(format!(
                            "apps: {}",
                            report
                                .apps
                                .iter()
                                .map(|a| format!("{} ({})", a.name, a.path))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    )
                })
        })
        .collect()
}

/// The pack whose detection names the app's language.
fn pack_for<'a>(packs: &'a [Pack], language: Option<&str>) -> Option<&'a Pack> {
    let language = language?;
    packs
        .iter()
        .find(|p| p.detect.languages.iter().any(|l| l.name == language))
}

/// What init scaffolds for `app`: flags first, then detection, then a prompt
/// (interactive) or the best guess with a warning. `None`: the app is skipped.
fn choose<'a>(
    app: &'a App,
    packs: &'a [Pack],
    args: &InitArgs,
    interactive: bool,
    ctx: &Context,
) -> Result<Option<Choice<'a>>> {
    let pack = match &args.pack {
        Some(name) => Some(packs.iter().find(|p| &p.name == name).ok_or_else(|| {
            Error::usage(
                format!("no pack {name}"),
                Some("`devloop packs list` names them".to_owned()),
            )
        })?),
        None => pack_for(packs, app.language.as_deref()),
    };
    let pack = match pack {
        Some(p) => p,
        None if interactive => {
            let names: Vec<&str> = packs
                .iter()
                .filter(|p| !p.scaffold.dockerfile.is_empty())
                .map(|p| p.name.as_str())
                .collect();
            let picked = dialoguer::Select::new()
                .with_prompt(format!("Language of {} ({})", app.name, app.path))
                .items(&names)
                .default(0)
                .interact()
                .map_err(|e| Error::usage(format!("prompt: {e}"), None))?;
            let name = names.get(picked).copied().unwrap_or_default();
            packs
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| Error::Internal(format!("picked pack {name} vanished")))?
        }
        None => {
            ctx.printer.warn(format!(
                "{} ({}): language unknown, skipped; --pack names it",
                app.name, app.path
            ));
            return Ok(None);
        }
    };
    let guess = pack.scaffold.port.unwrap_or(FALLBACK_PORT);
    let port = match (args.port, app.port) {
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) if interactive => dialoguer::Input::<u16>::new()
            .with_prompt(format!("Port {} listens on", app.name))
            .default(guess)
            .interact_text()
            .map_err(|e| Error::usage(format!("prompt: {e}"), None))?,
        (None, None) => {
            ctx.printer.warn(format!(
                "{}: no port found, guessed {guess} (the {} pack's default); --port sets it",
                app.name, pack.name
            ));
            guess
        }
    };
    let name = match &args.name {
        Some(raw) => {
            let name = release_name(raw);
            if &name != raw {
                ctx.printer
                    .warn(format!("--name {raw} is not a release name; using {name}"));
            }
            name
        }
        None => app.name.clone(),
    };
    Ok(Some(Choice {
        app,
        pack,
        name,
        port,
    }))
}

fn report_done(ctx: &Context, done: &[Done]) {
    let mut changed = 0;
    for d in done {
        match &d.outcome {
            Outcome::Created => ctx.printer.status("Created", &d.path),
            Outcome::Overwritten => ctx.printer.status("Overwrote", &d.path),
            Outcome::Updated => ctx.printer.status("Updated", &d.path),
            Outcome::Unchanged => ctx.printer.debug(format!("unchanged {}", d.path)),
            Outcome::Skipped { reason } => {
                ctx.printer
                    .status("Skipped", format!("{} ({reason})", d.path));
            }
        }
        if matches!(
            d.outcome,
            Outcome::Created | Outcome::Overwritten | Outcome::Updated
        ) {
            changed += 1;
        }
    }
    let unchanged = done
        .iter()
        .filter(|d| d.outcome == Outcome::Unchanged)
        .count();
    ctx.printer.status(
        "Finished",
        format!("{changed} file(s) written, {unchanged} already up to date"),
    );
}

/// The dry run for a person: one block per app, each value with the evidence
/// that decided it, then what init would do to each file.
fn text(report: &Report, choices: &[Choice<'_>], done: &[Done]) -> String {
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
        if let Some(choice) = choices.iter().find(|c| std::ptr::eq(c.app, app)) {
            let _ = writeln!(out, "  {:<10}  {}", "pack", choice.pack.name);
        }
    }
    out.push('\n');
    for d in done {
        let line = match &d.outcome {
            Outcome::Created => format!("would create     {}", d.path),
            Outcome::Overwritten => format!("would overwrite  {}", d.path),
            Outcome::Updated => format!("would update     {} (devloop's entries)", d.path),
            Outcome::Unchanged => format!("unchanged        {}", d.path),
            Outcome::Skipped { reason } => format!("would skip       {} ({reason})", d.path),
        };
        let _ = writeln!(out, "{line}");
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
