//! Go's builtin template functions (`text/template/funcs.go`), with Go's
//! error texts: `and`, `or`, `not`, `len`, `index`, `slice`, `print`,
//! `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `html`, `js`,
//! `urlquery`, `call`. (`and`/`or` short-circuit in the executor.)

use std::fmt::Write as _;
use std::sync::Arc;

use super::error::FuncError;
use super::fmt::{sprint, sprintf, sprintln};
use super::funcs::{Funcs, Param, Signature};
use super::value::{Kind, Value};

type FResult = Result<Value, FuncError>;

pub(crate) fn register(f: &mut Funcs) {
    use Param::{Any, String};
    let any1 = Signature::fixed(&[Any]);
    let any2 = Signature::fixed(&[Any, Any]);
    let any_var = Signature::variadic(&[], Any);
    let first_any_var = Signature::variadic(&[Any], Any);

    // `and`/`or` return the deciding argument; the executor evaluates lazily.
    f.register_special(
        "and",
        first_any_var.clone(),
        Arc::new(|_, a| Ok(a.last().cloned().unwrap_or_default())),
    );
    f.register_special(
        "or",
        first_any_var.clone(),
        Arc::new(|_, a| Ok(a.last().cloned().unwrap_or_default())),
    );
    f.register_special("call", first_any_var.clone(), Arc::new(|_, a| call(a)));
    f.register("not", any1.clone(), |_, a| Ok(Value::Bool(!a[0].is_true())));
    f.register("len", any1, |ctx, a| {
        if ctx.arg_is_untyped_nil(0) {
            // Go's `len` calls Type() on the invalid reflect.Value and panics.
            return Err(FuncError::new(
                "reflect: call of reflect.Value.Type on zero Value",
            ));
        }
        length(&a[0])
    });
    f.register("index", first_any_var.clone(), |_, a| index(&a[0], &a[1..]));
    f.register("slice", first_any_var.clone(), |_, a| slice(&a[0], &a[1..]));
    f.register("print", any_var.clone(), |_, a| {
        Ok(Value::string(sprint(a)))
    });
    f.register("println", any_var.clone(), |_, a| {
        Ok(Value::string(sprintln(a)))
    });
    f.register("printf", Signature::variadic(&[String], Any), |_, a| {
        Ok(Value::string(sprintf(
            a[0].as_str().unwrap_or_default(),
            &a[1..],
        )))
    });
    f.register("eq", first_any_var, |_, a| {
        if a.len() < 2 {
            return Err(FuncError::new("missing argument for comparison"));
        }
        for b in &a[1..] {
            if eq(&a[0], b)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    f.register("ne", any2.clone(), |_, a| {
        Ok(Value::Bool(!eq(&a[0], &a[1])?))
    });
    f.register("lt", any2.clone(), |_, a| {
        Ok(Value::Bool(lt(&a[0], &a[1])?))
    });
    f.register("le", any2.clone(), |_, a| {
        Ok(Value::Bool(le(&a[0], &a[1])?))
    });
    f.register("gt", any2.clone(), |_, a| {
        Ok(Value::Bool(!le(&a[0], &a[1])?))
    });
    f.register("ge", any2, |_, a| Ok(Value::Bool(!lt(&a[0], &a[1])?)));
    f.register("html", any_var.clone(), |_, a| {
        Ok(Value::string(html_escape(&print_args(a))))
    });
    f.register("js", any_var.clone(), |_, a| {
        Ok(Value::string(js_escape(&print_args(a))))
    });
    f.register("urlquery", any_var, |_, a| {
        Ok(Value::string(query_escape(&print_args(a))))
    });
}

/// Go's `evalArgs`: a lone string as is, else `fmt.Sprint`.
fn print_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    let printable: Vec<Value> = a
        .iter()
        .map(|v| {
            if v.is_nil() {
                Value::string("<no value>")
            } else {
                v.clone()
            }
        })
        .collect();
    sprint(&printable)
}

fn call(a: &[Value]) -> FResult {
    let name = a[0].as_str().unwrap_or_default();
    match a.get(1) {
        None | Some(Value::Nil) => Err(FuncError::new("call of nil")),
        Some(v) => Err(FuncError::new(format!(
            "non-function {name} of type {}",
            v.type_name()
        ))),
    }
}

fn length(v: &Value) -> FResult {
    let n = match v {
        Value::Nil => return Err(FuncError::new("len of nil pointer")),
        Value::String(s) => s.len(),
        Value::List(l) => l.borrow().len(),
        Value::Map(m) => m.borrow().len(),
        v => return Err(FuncError::new(format!("len of type {}", v.type_name()))),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, FuncError> {
    let x = match index {
        Value::Nil => return Err(FuncError::new("cannot index slice/array with nil")),
        v => match v.as_int() {
            Some(x) => x,
            None => {
                return Err(FuncError::new(format!(
                    "cannot index slice/array with type {}",
                    v.type_name()
                )));
            }
        },
    };
    match usize::try_from(x) {
        Ok(u) if u <= cap => Ok(u),
        _ => Err(FuncError::new(format!("index out of range: {x}"))),
    }
}

fn index(item: &Value, indexes: &[Value]) -> FResult {
    if item.is_nil() {
        return Err(FuncError::new("index of untyped nil"));
    }
    let mut item = item.clone();
    for index in indexes {
        item = match &item {
            Value::Nil => return Err(FuncError::new("index of nil pointer")),
            Value::List(l) => {
                let l = l.borrow();
                let x = index_arg(index, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => return Err(FuncError::new("reflect: slice index out of range")),
                }
            }
            Value::String(s) => {
                let x = index_arg(index, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Byte(*b),
                    None => return Err(FuncError::new("reflect: string index out of range")),
                }
            }
            Value::Map(m) => match index {
                Value::String(k) => m.borrow().get(&**k).cloned().unwrap_or_default(),
                Value::Nil => return Err(FuncError::new("value is nil; should be of type string")),
                v => {
                    return Err(FuncError::new(format!(
                        "value has type {}; should be string",
                        v.type_name()
                    )));
                }
            },
            v => {
                return Err(FuncError::new(format!(
                    "can't index item of type {}",
                    v.type_name()
                )));
            }
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> FResult {
    if item.is_nil() {
        return Err(FuncError::new("slice of untyped nil"));
    }
    if indexes.len() > 3 {
        return Err(FuncError::new(format!(
            "too many slice indexes: {}",
            indexes.len()
        )));
    }
    let len = match item {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err(FuncError::new("cannot 3-index slice a string"));
            }
            s.len()
        }
        Value::List(l) => l.borrow().len(),
        v => {
            return Err(FuncError::new(format!(
                "can't slice item of type {}",
                v.type_name()
            )));
        }
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(FuncError::new(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(FuncError::new(format!(
            "invalid slice index: {} > {}",
            idx[1], idx[2]
        )));
    }
    Ok(match item {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Value::string(sub),
            None => {
                Value::string(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
            }
        },
        Value::List(l) => Value::list(l.borrow()[idx[0]..idx[1]].to_vec()),
        _ => Value::Nil,
    })
}

fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::new(format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    ))
}

/// Go's `eq` for one pair.
fn eq(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (a.kind(), b.kind());
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int | Kind::Uint, Kind::Int | Kind::Uint) => Ok(a.as_int() == b.as_int()),
            _ if a.is_nil() || b.is_nil() => Ok(false),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => (x - y).abs() == 0.0,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        _ if k1 == Kind::Int || k1 == Kind::Uint => a.as_int() == b.as_int(),
        (Value::List(_), Value::Map(_)) | (Value::Map(_), Value::List(_)) => {
            let text = sprintf(
                "non-comparable types %s: %v, %s: %v",
                &[
                    a.clone(),
                    Value::string(a.type_name()),
                    Value::string(b.type_name()),
                    b.clone(),
                ],
            );
            return Err(FuncError::new(text));
        }
        _ => {
            let text = sprintf(
                "non-comparable type %s: %v",
                &[b.clone(), Value::string(b.type_name())],
            );
            return Err(FuncError::new(text));
        }
    })
}

fn basic(v: &Value) -> Result<Kind, FuncError> {
    match v.kind() {
        Kind::Invalid | Kind::Other => Err(FuncError::new("invalid type for comparison")),
        k => Ok(k),
    }
}

fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let k1 = basic(a)?;
    let k2 = basic(b)?;
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int | Kind::Uint, Kind::Int | Kind::Uint) => Ok(a.as_int() < b.as_int()),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(_), _) => return Err(FuncError::new("invalid type for comparison")),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => a.as_int() < b.as_int(),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, FuncError> {
    Ok(lt(a, b)? || eq(a, b)?)
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if u32::from(c) < u32::from(' ') => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
