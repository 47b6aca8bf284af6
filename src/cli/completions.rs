//! `devloop completions <shell>`: completion scripts generated from the clap
//! definitions, so they never drift from the real flags.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::context::Context;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: &CompletionsArgs, ctx: &Context) {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "devloop", &mut buf);
    ctx.printer.data(String::from_utf8_lossy(&buf).trim_end());
}
