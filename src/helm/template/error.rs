//! Template errors as Go words them, and as Helm rewords them.
//!
//! Go's `text/template` reports `template: NAME:LINE: msg` when parsing and
//! `template: FILE:LINE:COL: executing "NAME" at <NODE>: msg` when executing;
//! an error a function returns is wrapped (`error calling f: ...`) and stays
//! reachable through `errors.Unwrap`. [`ExecError`] keeps that unwrap chain
//! so [`Error::helm_message`] can apply Helm's rewording (`parse error at
//! (...)`, `execution error at (...)`, and the indented location trace).

use std::fmt;

/// A template failed to parse; `message` is Go's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(parse_name: &str, line: usize, msg: &str) -> ParseError {
        ParseError {
            message: format!("template: {parse_name}:{line}: {msg}"),
        }
    }

    /// Helm's `cleanupParseError`: `parse error at (FILE:LINE): LAST`, where
    /// LAST is the text after the message's last `": "`.
    pub fn helm_message(&self) -> String {
        let tokens: Vec<&str> = self.message.split(": ").collect();
        if tokens.len() == 1 {
            return format!("parse error in ({}): {}", "", self.message);
        }
        format!(
            "parse error at ({}): {}",
            tokens[1],
            tokens[tokens.len() - 1]
        )
    }
}

/// A template failed while executing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", chain[0])]
pub struct ExecError {
    /// Go's `errors.Unwrap` chain, outermost first, consecutive duplicates
    /// removed: `[0]` is the full message of the `ExecError`, later entries
    /// are errors it wraps (a function's error, an included template's).
    pub chain: Vec<String>,
}

impl ExecError {
    pub(crate) fn plain(message: String) -> ExecError {
        ExecError {
            chain: vec![message],
        }
    }

    /// Go's message.
    pub fn message(&self) -> &str {
        &self.chain[0]
    }

    /// Helm's `reformatExecErrorMsg`: `required`/`fail` messages become
    /// `execution error at (FILE:LINE:COL): msg`; a chain made only of
    /// template errors becomes an indented trace, one location per nested
    /// template; anything else (a function's own error at the bottom) is
    /// left as Go worded it.
    pub fn helm_message(&self) -> String {
        let full = &self.chain[0];
        let tokens: Vec<&str> = full.splitn(3, ": ").collect();
        if tokens.len() != 3 {
            return format!("execution error in (): {full}");
        }
        if let Some(msg) = warning(tokens[2]) {
            return format!("execution error at ({}): {msg}", tokens[1]);
        }
        let mut entries: Vec<Trace> = Vec::new();
        for text in &self.chain {
            let Some(trace) = Trace::parse(text) else {
                return full.clone();
            };
            if entries.last() != Some(&trace) {
                entries.push(trace);
            }
        }
        let mut out = String::new();
        for t in entries {
            if !t.location.is_empty() {
                out.push_str(&t.location);
                out.push_str("\n  ");
            }
            if !t.executing.is_empty() {
                out.push_str(&t.executing);
                out.push_str("\n    ");
            }
            if !t.message.is_empty() {
                out.push_str(&t.message);
                out.push('\n');
            }
        }
        out.trim().to_owned()
    }
}

/// One step of Helm's error trace.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    location: String,
    executing: String,
    message: String,
}

impl Trace {
    /// Reads one `text/template` error text; `None` when it is not one.
    fn parse(text: &str) -> Option<Trace> {
        let rest = text.strip_prefix("template: ")?;
        if rest.starts_with("no template ") {
            return Some(Trace {
                location: String::new(),
                executing: String::new(),
                message: text.to_owned(),
            });
        }
        if let Some((location, after)) = rest.split_once(": executing ")
            && let Some((executing, msg)) = after.split_once(">: ")
        {
            let msg = match msg.find("template:") {
                Some(i) => msg[..i].trim(),
                None => msg,
            };
            return Some(Trace {
                location: location.to_owned(),
                executing: format!("executing {executing}>:"),
                message: msg.to_owned(),
            });
        }
        let (location, msg) = rest.split_once(": ")?;
        Some(Trace {
            location: location.to_owned(),
            executing: String::new(),
            message: msg.to_owned(),
        })
    }
}

/// Helm's `required`/`fail` marker: `HELM_ERR_START<msg>HELM_ERR_END`.
pub const HELM_WARN_START: &str = "HELM_ERR_START";
pub const HELM_WARN_END: &str = "HELM_ERR_END";

fn warning(text: &str) -> Option<&str> {
    let start = text.find(HELM_WARN_START)? + HELM_WARN_START.len();
    let end = text.rfind(HELM_WARN_END)?;
    (end >= start).then(|| &text[start..end])
}

/// Parsing or executing failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl Error {
    /// The message Helm shows for this error.
    pub fn helm_message(&self) -> String {
        match self {
            Error::Parse(e) => e.helm_message(),
            Error::Exec(e) => e.helm_message(),
        }
    }
}

/// What a template function returns instead of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FuncError {
    /// The function returned a Go error: reported as `error calling NAME:
    /// <chain[0]>`, with `chain` (the error's own unwrap chain) kept under it.
    Call { chain: Vec<String> },
    /// An error the executor itself would raise (no `error calling` prefix),
    /// such as Go's argument type checks.
    Exec(String),
}

impl FuncError {
    /// A plain Go error (`errors.New(msg)`).
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError::Call {
            chain: vec![message.into()],
        }
    }

    /// An error from executing another template (`include`, `tpl`).
    pub fn from_exec(err: ExecError) -> FuncError {
        FuncError::Call { chain: err.chain }
    }

    /// Helm's `required`/`fail` error: Helm reports only `message`.
    pub fn helm_warning(message: &str) -> FuncError {
        FuncError::new(format!("{HELM_WARN_START}{message}{HELM_WARN_END}"))
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuncError::Call { chain } => f.write_str(chain.first().map_or("", String::as_str)),
            FuncError::Exec(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for FuncError {}
