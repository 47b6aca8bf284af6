//! `devloop packs list|show NAME`: the packs init uses, embedded or the
//! user's (`$XDG_CONFIG_HOME/devloop/packs/<name>` overrides by name).

use std::fmt::Write as _;

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::pack::{self, Pack};

#[derive(Debug, Args)]
pub struct PacksArgs {
    #[command(subcommand)]
    pub command: PacksCommand,
}

#[derive(Debug, Subcommand)]
pub enum PacksCommand {
    /// List the packs: name, languages, build tools with a Dockerfile, origin
    List,
    /// Print a pack's pack.toml and list its files
    Show {
        /// The pack's name
        name: String,
    },
}

/// The packs for this run: embedded, overridden by the user's.
pub fn load(ctx: &Context) -> Result<Vec<Pack>> {
    let dir = pack::user::dir(
        ctx.env("XDG_CONFIG_HOME").as_deref(),
        ctx.env("HOME").as_deref(),
    );
    pack::user::load(dir.as_deref()).map_err(|e| {
        Error::usage(
            e.to_string(),
            Some("fix or remove the user pack; packs/README.md documents the format".to_owned()),
        )
    })
}

fn origin(pack: &Pack) -> String {
    pack.origin
        .as_ref()
        .map_or_else(|| "embedded".to_owned(), |p| p.display().to_string())
}

pub fn run(args: &PacksArgs, ctx: &Context) -> Result<()> {
    let packs = load(ctx)?;
    match &args.command {
        PacksCommand::List => {
            if ctx.printer.is_json() {
                let list: Vec<_> = packs
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name,
                            "languages": p.detect.languages.iter().map(|l| &l.name).collect::<Vec<_>>(),
                            "port": p.scaffold.port,
                            "dockerfiles": p.scaffold.dockerfile.iter().map(|d| &d.file).collect::<Vec<_>>(),
                            "debugger": p.scaffold.debug.as_ref().map(|d| &d.runtime),
                            "origin": origin(p),
                        })
                    })
                    .collect();
                ctx.printer.event(&list);
                return Ok(());
            }
            let mut out = String::new();
            for p in &packs {
                let languages: Vec<&str> =
                    p.detect.languages.iter().map(|l| l.name.as_str()).collect();
                let dockerfile = if p.scaffold.dockerfile.is_empty() {
                    "no Dockerfile"
                } else {
                    "Dockerfile"
                };
                let debugger = p
                    .scaffold
                    .debug
                    .as_ref()
                    .map_or("-", |d| d.runtime.as_str());
                let _ = writeln!(
                    out,
                    "{:<8} {:<24} {:<13} {:<8} {}",
                    p.name,
                    if languages.is_empty() {
                        "-".to_owned()
                    } else {
                        languages.join(", ")
                    },
                    dockerfile,
                    debugger,
                    origin(p)
                );
            }
            ctx.printer.data(out.trim_end());
            Ok(())
        }
        PacksCommand::Show { name } => {
            let pack = packs.iter().find(|p| &p.name == name).ok_or_else(|| {
                Error::usage(
                    format!("no pack {name}"),
                    Some(format!(
                        "packs: {}",
                        packs
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                )
            })?;
            let mut out = format!("# {} ({})\n", pack.name, origin(pack));
            for (file, _) in &pack.scaffold.files {
                let _ = writeln!(out, "# file: {file}");
            }
            out.push_str(&pack.text);
            ctx.printer.data(out.trim_end());
            Ok(())
        }
    }
}
