//! The one Printer: data to stdout, everything else to stderr, progress bars
//! that only draw on a terminal, and `--output json` events.
//!
//! Every line a command prints goes through here, so `-q`, `-v`, `--no-color`
//! and `--output json` behave the same everywhere, and log lines never fight
//! with a progress bar (indicatif's own `println` drops lines when the bar is
//! hidden, so plain writes are used unless a bar is drawing).

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use serde::Serialize;

use crate::error::Error;

/// How results are printed: for people, or as JSON lines for editors and scripts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Width of the verb column, as cargo aligns `Compiling`, `Finished`, ...
const VERB_WIDTH: usize = 12;

#[derive(Clone, Copy)]
enum Style {
    Verb,
    Warn,
    Error,
    Hint,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Verb => "\x1b[1;32m",
            Style::Warn => "\x1b[1;33m",
            Style::Error => "\x1b[1;31m",
            Style::Hint => "\x1b[36m",
        }
    }
}

/// Prints for one run of devloop.
pub struct Printer {
    format: OutputFormat,
    /// Negative with `-q`, positive with `-v`.
    verbosity: i8,
    color: bool,
    /// Colour on stdout (log prefixes): the wish, and stdout a terminal.
    color_stdout: bool,
    bars: MultiProgress,
    draws: bool,
}

impl Printer {
    /// `color` is the user's wish; it is also off when stderr is no terminal.
    pub fn new(format: OutputFormat, verbosity: i8, color: bool) -> Printer {
        let tty = std::io::stderr().is_terminal();
        let draws = tty && format == OutputFormat::Text && verbosity == 0;
        let bars = MultiProgress::with_draw_target(if draws {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Printer {
            format,
            verbosity,
            color: color && tty,
            color_stdout: color && std::io::stdout().is_terminal(),
            bars,
            draws,
        }
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}\x1b[0m", style.code())
        } else {
            text.to_owned()
        }
    }

    /// `text` in the `index`th of a few distinct colours (per-pod log
    /// prefixes), when stdout is a terminal and colour is wanted.
    pub fn paint_tag(&self, index: usize, text: &str) -> String {
        const TAGS: [&str; 6] = ["36", "35", "33", "32", "34", "91"];
        if self.color_stdout {
            format!("\x1b[{}m{text}\x1b[0m", TAGS[index % TAGS.len()])
        } else {
            text.to_owned()
        }
    }

    fn stderr_line(&self, line: &str) {
        let write = || {
            let mut err = std::io::stderr().lock();
            // Nothing sensible can be done when stderr itself is gone.
            let _ = writeln!(err, "{line}");
        };
        if self.draws {
            self.bars.suspend(write);
        } else {
            write();
        }
    }

    /// A progress line with a verb in the column: `    Building web (2.1s)`.
    pub fn status(&self, verb: &str, message: impl Display) {
        if self.verbosity < 0 || self.is_json() {
            return;
        }
        let verb = self.paint(Style::Verb, &format!("{verb:>VERB_WIDTH$}"));
        self.stderr_line(&format!("{verb} {message}"));
    }

    /// Something the user should know; hidden with `-qq`.
    pub fn warn(&self, message: impl Display) {
        if self.verbosity < -1 {
            return;
        }
        if self.is_json() {
            self.event(&serde_json::json!({"event": "warning", "message": message.to_string()}));
            return;
        }
        let label = self.paint(Style::Warn, "warning:");
        self.stderr_line(&format!("{label} {message}"));
    }

    /// Detail for `-v`.
    pub fn debug(&self, message: impl Display) {
        if self.verbosity > 0 && !self.is_json() {
            self.stderr_line(&format!("{:>VERB_WIDTH$} {message}", "debug"));
        }
    }

    /// The error a command ended with, and its hint. Always printed.
    pub fn error(&self, err: &Error) {
        if self.is_json() {
            self.event(&serde_json::json!({
                "event": "error",
                "code": err.code(),
                "message": err.to_string(),
                "hint": err.hint(),
                "exit_code": err.exit_status().code(),
            }));
        }
        let label = self.paint(Style::Error, "error:");
        self.stderr_line(&format!("{label} {err}"));
        if let Some(hint) = err.hint() {
            let label = self.paint(Style::Hint, "hint:");
            self.stderr_line(&format!("  {label} {hint}"));
        }
    }

    /// A line of an app's logs or of a tool's output, shown as it is.
    pub fn line(&self, text: impl Display) {
        if !self.is_json() {
            self.stderr_line(&text.to_string());
        }
    }

    /// The command's result, for scripts: stdout, unchanged by `-q`.
    pub fn data(&self, text: impl Display) {
        write_stdout(&format!("{text}\n"));
    }

    /// One JSON event line on stdout (only in `--output json`).
    pub fn event<T: Serialize>(&self, event: &T) {
        if !self.is_json() {
            return;
        }
        match serde_json::to_string(event) {
            Ok(line) => write_stdout(&format!("{line}\n")),
            Err(err) => self.stderr_line(&format!("cannot encode event: {err}")),
        }
    }

    /// A progress bar that draws only on a terminal, in text mode, without `-q`/`-v`.
    pub fn progress(&self, len: Option<u64>) -> ProgressBar {
        if !self.draws {
            return ProgressBar::hidden();
        }
        let bar = len.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
        self.bars.add(bar)
    }
}

/// Writes to stdout; a closed pipe (`devloop config | head`) ends the process
/// quietly with success, as ripgrep does, since the reader got what it wanted.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let result = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(err) = result {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {err}");
        std::process::exit(2);
    }
}
