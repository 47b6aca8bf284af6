//! The value model every part of the Helm renderer shares.
//!
//! It mirrors what Helm hands to Go's `text/template`: values from YAML are
//! `float64`, template literals and `len` are `int`, `--set` integers are
//! `int64`; maps and lists are shared references (`Rc<RefCell<..>>`), so a
//! function that mutates a map (`set`, `merge`) changes it for every later
//! reader within one render. Maps are `BTreeMap`s because Go prints and ranges
//! over maps in sorted key order. Values are not `Send`: a render runs on one
//! thread; [`Value::from_json`] and [`Value::to_json`] cross thread boundaries.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::error::FuncError;
use super::funcs::{CallContext, Signature};

/// A shared, mutable map (Go's `map[string]interface{}`).
pub type MapRef = Rc<RefCell<BTreeMap<String, Value>>>;
/// A shared, mutable list (Go's `[]interface{}`).
pub type ListRef = Rc<RefCell<Vec<Value>>>;

/// One Go value as a template sees it.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's untyped `nil` (an invalid or nil interface value).
    #[default]
    Nil,
    Bool(bool),
    /// Go `int` (template literals, `len`, range indexes).
    Int(i64),
    /// Go `int64` (`--set` integers, most sprig arithmetic).
    Int64(i64),
    /// Go `uint8` (indexing a string yields a byte).
    Byte(u8),
    /// Go `float64` (every number that came from YAML or JSON).
    Float(f64),
    String(Rc<str>),
    List(ListRef),
    Map(MapRef),
    /// A Go struct or other typed value with fields and methods (Helm's
    /// `.Files`, `.Capabilities`), provided by the chart model.
    Object(Rc<dyn Object>),
}

/// A typed Go value that templates reach through fields and methods
/// (`.Files.Get "x"`, `.Capabilities.APIVersions.Has "v1"`). The executor
/// calls methods with Go's argument checks (against [`Object::method`]'s
/// signature) and reports their errors as `error calling NAME: ...`.
pub trait Object: std::fmt::Debug {
    /// Go's type name (`%T`, error messages), such as `chart.Files`.
    fn type_name(&self) -> &'static str;

    /// A field (or map entry) by name; `None` when there is none.
    fn field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }

    /// The signature of the method `name`, if the value has that method.
    fn method(&self, name: &str) -> Option<Signature> {
        let _ = name;
        None
    }

    /// Calls the method `name` (one [`Object::method`] returned a signature for).
    fn call_method(
        &self,
        name: &str,
        ctx: &mut CallContext<'_, '_>,
        args: &[Value],
    ) -> Result<Value, FuncError> {
        let _ = (ctx, args);
        Err(FuncError::new(format!("{name} is not a method")))
    }

    /// What `%v` prints (Go prints a struct as `{field1 field2}`).
    fn display(&self) -> String;

    /// `(key, value)` pairs when the value is a Go map or slice type that
    /// `range` iterates (Helm's `.Files`); `None` for a struct.
    fn range_items(&self) -> Option<Vec<(Value, Value)>> {
        None
    }

    /// Go truth: a map or slice type is false when empty; a struct is true.
    fn truth(&self) -> bool {
        self.range_items().is_none_or(|items| !items.is_empty())
    }

    /// The value as JSON, for renders that hand values back.
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

impl Value {
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)))
    }

    /// Converts JSON the way Helm reads values: every number is a `float64`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The value as JSON (non-finite floats become `null`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
            Value::Byte(b) => serde_json::Value::from(*b),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => {
                serde_json::Value::Array(l.borrow().iter().map(Value::to_json).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => o.to_json(),
        }
    }

    /// Go's type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Byte(_) => "uint8",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's `text/template` truth: false, 0, "", empty list or map, nil.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Byte(b) => *b != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.borrow().is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => o.truth(),
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The integer of an `int`/`int64`/`uint8`, if the value is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            Value::Byte(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `reflect.Kind` family, used by the comparison functions.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Value::Nil => Kind::Invalid,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) | Value::Int64(_) => Kind::Int,
            Value::Byte(_) => Kind::Uint,
            Value::Float(_) => Kind::Float,
            Value::String(_) => Kind::String,
            Value::List(_) | Value::Map(_) | Value::Object(_) => Kind::Other,
        }
    }
}

/// Go's `basicKind` classes for comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
    Other,
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::string(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::string(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
