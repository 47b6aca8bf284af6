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

    /// Helm's `reformatExecErrorMsg`.
    pub fn helm_message(&self) -> String {
        let full = &self.chain[0];
        let tokens: Vec<&str> = full.splitn(3, ": ").collect();
        if tokens.len() != 3 {
            return format!("execution error in (): {full}");
        }
        if let Some(msg) = warning(tokens[2]) {
            return format!("execution error at ({}): {msg}", tokens[1]);
        }
        let mut entries: Vec<(&str, &str, String)> = Vec::new();
        for (i, text) in self.chain.iter().enumerate() {
            let parts: Vec<&str> = text.splitn(4, ": ").collect();
            if parts.len() != 4 {
                return full.clone();
            }
            let mut msg = parts[3].to_owned();
            if let Some(next) = self.chain.get(i + 1) {
                msg = msg.replace(next.as_str(), "");
            }
            let entry = (parts[1], parts[2], msg.trim().to_owned());
            if !entries.contains(&entry) {
                entries.push(entry);
            }
        }
        let mut out = String::new();
        for (location, executing, msg) in entries {
            if msg.is_empty() {
                continue;
            }
            out.push_str(location);
            out.push_str("\n  ");
            out.push_str(executing);
            out.push_str(":\n    ");
            out.push_str(&msg);
            out.push('\n');
        }
        out.trim().to_owned()
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
