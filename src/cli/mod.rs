//! The command line: clap structs that only validate what the user typed.
//!
//! Flags shared by every command follow kubectl's and helm's habits. Each
//! subcommand lives in its own module with a `run` function; a subcommand is
//! listed here only once it works.

mod build;
mod cluster_args;
mod completions;
mod config;
mod deploy;
mod down;
mod duration;
mod history;
mod init;
mod man;
mod packs;
mod rollback;
mod status;
mod template;
mod up;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::context::Context;
use crate::error::Result;
use crate::output::OutputFormat;

/// The Kubernetes inner dev loop in one binary.
///
/// `devloop init` scaffolds a Dockerfile, a Helm chart and VS Code debug
/// configurations for the app in this directory; `devloop up` rebuilds,
/// redeploys, syncs, streams logs and forwards ports while you code.
#[derive(Debug, Parser)]
#[command(
    name = "devloop",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current-context)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace to deploy into (default: devloop.toml's, else <app>-dev)
    #[arg(short = 'n', long, global = true, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Print more detail (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Print less: -q hides progress, -qq also hides warnings
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Output format: text for people, json for editors and scripts (one JSON document or event per line)
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub output: OutputFormat,
    /// Do not color output (also when `NO_COLOR` is set)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Answer yes to every question and never prompt
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
}

impl GlobalArgs {
    /// -qq .. -vv as one signed number.
    pub fn verbosity(&self) -> i8 {
        let v = i8::try_from(self.verbose).unwrap_or(i8::MAX);
        let q = i8::try_from(self.quiet).unwrap_or(i8::MAX);
        v.saturating_sub(q)
    }
}

/// Flags of commands that act on apps.
#[derive(Debug, Args, Clone, Default)]
pub struct AppArgs {
    /// Act on this app only (default: every app in devloop.toml)
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// Registry to push images to, host[:port][/path] (also `DEVLOOP_REGISTRY`)
    #[arg(long, value_name = "REGISTRY")]
    pub registry: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect the apps of this repo and scaffold Dockerfile, chart, devloop.toml
    Init(init::InitArgs),
    /// List the language packs or show one (`devloop packs list`, `devloop packs show NAME`)
    Packs(packs::PacksArgs),
    /// Build each app's image once, push or load it, print the image reference
    Build(build::BuildArgs),
    /// Show the resolved configuration and where each value came from
    Config(config::ConfigArgs),
    /// Deploy, then watch the tree and redeploy on every change until Ctrl-C
    Up(up::UpArgs),
    /// Build, push or load, render, apply and wait for the rollout, once
    Deploy(deploy::DeployArgs),
    /// Delete the app's release from the cluster (objects, revisions, and the namespace devloop created)
    Down(down::DownArgs),
    /// Render a chart as `helm template` does, without helm.
    Template(template::TemplateArgs),
    /// List each app's release revisions (stored as Helm stores them; helm sees the same)
    History(history::HistoryArgs),
    /// Go back to an earlier revision of the app's release (default: the previous one)
    Rollback(rollback::RollbackArgs),
    /// Show each app's release revision, pods, and the running `devloop up` session
    Status(status::StatusArgs),
    /// Print a shell completion script (e.g. `devloop completions bash > /etc/bash_completion.d/devloop`)
    Completions(completions::CompletionsArgs),
    /// Print the man page in roff format (e.g. `devloop man | man -l -`)
    Man(man::ManArgs),
}

/// Runs the parsed command.
pub fn run(command: Command, ctx: &Context) -> Result<()> {
    match command {
        Command::Init(args) => init::run(&args, ctx),
        Command::Packs(args) => packs::run(&args, ctx),
        Command::Build(args) => build::run(&args, ctx),
        Command::Config(args) => config::run(&args, ctx),
        Command::Up(args) => up::run(&args, ctx),
        Command::Deploy(args) => deploy::run(&args, ctx),
        Command::Down(args) => down::run(&args, ctx),
        Command::Template(args) => template::run(&args, ctx),
        Command::History(args) => history::run(&args, ctx),
        Command::Rollback(args) => rollback::run(&args, ctx),
        Command::Status(args) => status::run(&args, ctx),
        Command::Completions(args) => {
            completions::run(&args, ctx);
            Ok(())
        }
        Command::Man(args) => man::run(&args, ctx),
    }
}
