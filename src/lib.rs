//! devloop: the Kubernetes inner dev loop in one binary.
//!
//! `main` parses the command line, builds the [`context::Context`] every
//! command runs with, runs the command and turns its outcome into an exit
//! code (see [`error::ExitStatus`]). Everything else lives in the modules.

pub mod build;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod context;
pub mod debug;
pub mod deploy;
pub mod detect;
pub mod error;
pub mod guard;
pub mod helm;
pub mod output;
pub mod pack;
pub mod pipeline;
pub mod release;
pub mod rollout;
pub mod scaffold;
pub mod session;
pub mod sync;
pub mod watch;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::{Error, ExitStatus};
use crate::output::Printer;

/// Runs devloop with the process's arguments and environment.
pub fn main() -> ExitCode {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let no_color = no_color_requested(&env) || std::env::args_os().any(|a| a == "--no-color");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err, no_color),
    };
    let printer = Printer::new(cli.global.output, cli.global.verbosity(), !no_color);
    let cwd = match std::env::current_dir() {
        Ok(dir) => dir,
        Err(err) => {
            printer.error(&Error::io("cannot read", "the working directory", err));
            return ExitStatus::Infrastructure.into();
        }
    };
    let ctx = Context::new(printer, cli.global.clone(), cwd, env);
    match cli::run(cli.command, &ctx) {
        Ok(()) => ExitStatus::Success.into(),
        Err(err) => {
            ctx.printer.error(&err);
            err.exit_status().into()
        }
    }
}

/// `NO_COLOR` set to anything non-empty turns color off (no-color.org).
fn no_color_requested(env: &std::collections::HashMap<String, String>) -> bool {
    env.get("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// clap's own messages: help and version exit 0; a usage error is the user's
/// to fix, so it exits 1 (clap's default is 2, which devloop keeps for
/// infrastructure failures).
fn usage_error(err: &clap::Error, no_color: bool) -> ExitCode {
    if no_color {
        // clap honours NO_COLOR but not our flag; its Display has no styles.
        let text = err.render().to_string();
        if err.use_stderr() {
            let _ = write!(std::io::stderr(), "{text}");
        } else {
            let _ = write!(std::io::stdout(), "{text}");
        }
    } else {
        // A closed stdout (`devloop --help | head`) is not worth reporting.
        let _ = err.print();
    }
    if err.use_stderr() {
        ExitStatus::User.into()
    } else {
        ExitStatus::Success.into()
    }
}
