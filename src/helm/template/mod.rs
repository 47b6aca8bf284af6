//! Go's `text/template`, as Helm uses it.
//!
//! A [`TemplateSet`] holds parsed templates by name (files and their
//! `define`s) and the [`Funcs`] they may call; [`TemplateSet::execute`] runs
//! one with a [`Value`] as dot and returns its text, byte for byte what Go
//! would write. Errors carry Go's wording ([`Error`]) and Helm's rewording
//! ([`Error::helm_message`]). Helm's function library registers itself
//! through [`Funcs::register`]; the chart model drives [`TemplateSet::parse`]
//! and [`TemplateSet::render`].
//!
//! Values are `Rc`-based and not `Send`: build the set (which is `Send +
//! Sync`) anywhere, convert JSON to [`Value`] and render inside one blocking
//! task (`tokio::task::spawn_blocking`), and hand back the `String`s.
//!
//! ```text
//! let mut funcs = Funcs::new();                       // Go's builtins
//! funcs.register("include", Signature::fixed(&[Param::String, Param::Any]), |ctx, args| {
//!     let name = args[0].as_str().expect("checked by the signature");
//!     ctx.execute_template(name, args[1].clone()).map(Value::from)
//! });
//! let mut set = TemplateSet::new(Arc::new(funcs));    // Helm's: missingkey=zero, named "gotpl"
//! set.parse("chart/templates/cm.yaml", text)?;        // the file and its defines
//! let yaml = set.render("chart/templates/cm.yaml", Value::from_json(&ctx))?;
//! // errors: err.to_string() is Go's text, err.helm_message() is Helm's
//! ```
//!
//! Conventions for the Helm library built on this: a Go error a function
//! returns is [`FuncError::new`] (reported as `error calling NAME: ...`);
//! an error from running another template is [`FuncError::from_exec`] (Helm
//! then prints a trace of template locations); `required`/`fail` use
//! [`FuncError::helm_warning`]; an argument type error the executor itself
//! would raise is [`FuncError::Exec`]. Helm's `tpl` parses its text under
//! the name `gotpl` ([`CallContext::execute_text`]).

mod ast;
mod builtins;
pub mod error;
mod exec;
pub mod fmt;
mod funcs;
mod lex;
mod parse;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use error::{Error, ExecError, FuncError, ParseError};
pub use funcs::{CallContext, FuncImpl, Funcs, Param, Signature};
pub use value::{ListRef, MapRef, Object, Value};

/// Go's `missingkey` option: what `.key` on a map without that key yields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=zero`: a nil `interface{}` (prints `<no value>`). Helm's
    /// mode unless `--strict`.
    #[default]
    Zero,
    /// `missingkey=default`/`invalid`: an invalid value (`.a.b` on a missing
    /// `a` yields nothing instead of a nil-pointer error).
    Invalid,
    /// `missingkey=error`: `map has no entry for key "k"`.
    Error,
}

/// Parsed templates by name, and the functions they call.
#[derive(Clone)]
pub struct TemplateSet {
    /// The set's own name, as Go's messages about unknown templates quote
    /// it (Helm's is `gotpl`).
    pub(crate) name: String,
    pub(crate) trees: HashMap<String, Arc<ast::Tree>>,
    pub(crate) funcs: Arc<Funcs>,
    pub(crate) missing_key: MissingKey,
}

impl TemplateSet {
    /// An empty set named like Helm's (`gotpl`), with `missingkey=zero`.
    pub fn new(funcs: Arc<Funcs>) -> TemplateSet {
        TemplateSet {
            name: "gotpl".to_owned(),
            trees: HashMap::new(),
            funcs,
            missing_key: MissingKey::Zero,
        }
    }

    #[must_use]
    pub fn with_missing_key(mut self, missing_key: MissingKey) -> TemplateSet {
        self.missing_key = missing_key;
        self
    }

    /// The same parsed templates calling other functions (with the same
    /// names: parsing only checked that each called function exists).
    #[must_use]
    pub fn with_funcs(mut self, funcs: Arc<Funcs>) -> TemplateSet {
        self.funcs = funcs;
        self
    }

    /// Parses `text` as the template `name` and adds it and its `define`s /
    /// `block`s to the set (Go's `t.New(name).Parse(text)`): a later
    /// definition replaces an earlier one, except that an empty body never
    /// replaces a non-empty one.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let funcs = self.funcs.clone();
        let trees = parse::parse(name, text, &|f| funcs.contains(f))?;
        for tree in trees {
            if tree.is_empty()
                && self
                    .trees
                    .get(&tree.name)
                    .is_some_and(|old| !old.is_empty())
            {
                continue;
            }
            self.trees.insert(tree.name.clone(), Arc::new(tree));
        }
        Ok(())
    }

    /// Whether the set has a template called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of the set's templates, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Runs the template `name` with `data` as dot (Go's `ExecuteTemplate`).
    pub fn execute(&self, name: &str, data: Value) -> Result<String, ExecError> {
        let Some(tree) = self.trees.get(name) else {
            return Err(ExecError::plain(format!(
                "template: no template {} associated with template {}",
                fmt::quote(name, false),
                fmt::quote(&self.name, false)
            )));
        };
        exec::execute(self, tree, data, 0, None)
    }

    /// What Helm's engine makes of one template: [`TemplateSet::execute`],
    /// then every `<no value>` removed (Helm's `missingkey=zero` clean-up).
    pub fn render(&self, name: &str, data: Value) -> Result<String, ExecError> {
        Ok(self.execute(name, data)?.replace("<no value>", ""))
    }
}

#[cfg(test)]
mod tests;
