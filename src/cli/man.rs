//! `devloop man`: the man page, generated from the clap definitions.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::Cli;
use crate::context::Context;
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write devloop.1 and one page per subcommand (devloop-<command>.1) into DIR
    /// instead of printing devloop.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: &ManArgs, ctx: &Context) -> Result<()> {
    let command = Cli::command();
    let Some(dir) = &args.dir else {
        ctx.printer.data(render(&command)?.trim_end());
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir.display(), e))?;
    let mut pages = vec![("devloop.1".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("devloop-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        std::fs::write(&path, render(&page)?)
            .map_err(|e| Error::io("cannot write", path.display(), e))?;
        ctx.printer.status("Wrote", path.display());
    }
    Ok(())
}

fn render(command: &clap::Command) -> Result<String> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut buf)
        .map_err(|e| Error::Internal(format!("rendering the man page: {e}")))?;
    String::from_utf8(buf).map_err(|e| Error::Internal(format!("man page is not UTF-8: {e}")))
}
