//! The function registry templates call into, and the context a function
//! gets when called.
//!
//! Go type-checks function arguments against the function's signature before
//! calling it, so a registration declares its [`Param`]s: the executor then
//! raises Go's own `wrong type for value; expected string; got int` at the
//! argument. A function gets its evaluated arguments and a [`CallContext`]
//! through which `include`-like functions execute other templates and
//! `tpl`-like functions parse and run new text against the same set.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::{Error, ExecError, FuncError};
use super::exec::State;
use super::value::Value;

/// A parameter's Go type, as far as argument checking needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `interface{}` or `reflect.Value`: anything, nil included.
    Any,
    String,
    /// Go `int`.
    Int,
    Int64,
    Float64,
    Bool,
    /// `[]interface{}` (nil allowed).
    List,
    /// `map[string]interface{}` (nil allowed).
    Map,
}

impl Param {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::String => "string",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Float64 => "float64",
            Param::Bool => "bool",
            Param::List => "[]interface {}",
            Param::Map => "map[string]interface {}",
        }
    }

    /// Go's `canBeNil`: whether an untyped nil converts to this type.
    pub(crate) fn can_be_nil(self) -> bool {
        matches!(self, Param::Any | Param::List | Param::Map)
    }
}

/// A function's parameters: fixed ones, then an optional variadic tail.
#[derive(Clone, Debug)]
pub struct Signature {
    pub params: Vec<Param>,
    pub variadic: Option<Param>,
}

impl Signature {
    pub fn fixed(params: &[Param]) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: None,
        }
    }

    pub fn variadic(params: &[Param], rest: Param) -> Signature {
        Signature {
            params: params.to_vec(),
            variadic: Some(rest),
        }
    }

    /// The type of argument `i` (0-based) of a call with `n` arguments.
    pub(crate) fn param(&self, i: usize) -> Param {
        self.params
            .get(i)
            .copied()
            .or(self.variadic)
            .unwrap_or(Param::Any)
    }
}

/// A function or method body as the executor calls it.
pub(crate) type FuncBody<'x> =
    dyn Fn(&mut CallContext<'_, '_>, &[Value]) -> Result<Value, FuncError> + 'x;

/// A template function's body.
pub type FuncImpl =
    Arc<dyn Fn(&mut CallContext<'_, '_>, &[Value]) -> Result<Value, FuncError> + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Func {
    pub sig: Signature,
    pub imp: FuncImpl,
    /// Go's `and`/`or`/`call`, which the executor treats specially.
    pub special: Option<&'static str>,
}

/// The functions a template set can call: Go's builtins plus registered ones.
#[derive(Clone)]
pub struct Funcs {
    pub(crate) map: HashMap<String, Func>,
}

impl Default for Funcs {
    fn default() -> Self {
        Funcs::new()
    }
}

impl Funcs {
    /// Go's builtin functions (`and`, `or`, `not`, `len`, `index`, `slice`,
    /// `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`,
    /// `html`, `js`, `urlquery`, `call`).
    pub fn new() -> Funcs {
        let mut funcs = Funcs {
            map: HashMap::new(),
        };
        super::builtins::register(&mut funcs);
        funcs
    }

    /// Adds or replaces a function (Go's `Funcs` also overrides builtins).
    pub fn register<F>(&mut self, name: &str, sig: Signature, f: F)
    where
        F: Fn(&mut CallContext<'_, '_>, &[Value]) -> Result<Value, FuncError>
            + Send
            + Sync
            + 'static,
    {
        self.map.insert(
            name.to_owned(),
            Func {
                sig,
                imp: Arc::new(f),
                special: None,
            },
        );
    }

    pub(crate) fn register_special(&mut self, name: &'static str, sig: Signature, f: FuncImpl) {
        self.map.insert(
            name.to_owned(),
            Func {
                sig,
                imp: f,
                special: Some(name),
            },
        );
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// What a function sees of the running template.
pub struct CallContext<'s, 'a> {
    pub(crate) state: &'s mut State<'a>,
    pub(crate) untyped_nil: Vec<bool>,
}

impl CallContext<'_, '_> {
    /// Whether argument `i` is Go's untyped nil (a nil literal, or a variable
    /// or pipeline holding a missing value) rather than a nil value taken
    /// from a map or list; a few Go functions tell them apart.
    pub fn arg_is_untyped_nil(&self, i: usize) -> bool {
        self.untyped_nil.get(i).copied().unwrap_or(false)
    }

    /// Executes the named template of the set with `data` as dot into a new
    /// string (Helm's `include`).
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, FuncError> {
        self.state
            .execute_nested(name, data)
            .map_err(FuncError::from_exec)
    }

    /// Whether the set has a template called `name`.
    pub fn has_template(&self, name: &str) -> bool {
        self.state.lookup(name).is_some()
    }

    /// Parses `text` as a template called `name` alongside the set's
    /// templates (its `define`s shadow theirs, for this call only) and
    /// executes it with `data` (Helm's `tpl`).
    pub fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, Error> {
        self.state.execute_text(name, text, data)
    }

    /// The name of the template being executed (`{{ template }}`'d name,
    /// or the file's).
    pub fn template_name(&self) -> &str {
        self.state.template_name()
    }

    /// Nesting depth of template calls so far.
    pub fn depth(&self) -> usize {
        self.state.depth
    }
}

impl From<ExecError> for FuncError {
    fn from(err: ExecError) -> Self {
        FuncError::from_exec(err)
    }
}
