//! `toToml` as BurntSushi/toml's encoder writes it (direct keys first,
//! then `[table]`s indented two spaces a level, `[[arrays]]` of tables,
//! floats always with a decimal point) and `fromToml`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{arg_str, strval};
use crate::helm::template::{Funcs, Param, Signature, Value};

pub(super) fn register(f: &mut Funcs) {
    f.register("toToml", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(match &args[0] {
            Value::Map(m) => {
                let mut enc = Encoder::default();
                enc.table(&[], &m.borrow());
                enc.out
            }
            _ => "toml: top-level values must be Go maps or structs".to_owned(),
        }))
    });
    f.register("fromToml", Signature::fixed(&[Param::String]), |_, args| {
        Ok(match arg_str(args, 0).parse::<toml::Table>() {
            Ok(t) => from_table(&t),
            Err(e) => Value::map(BTreeMap::from([(
                "Error".to_owned(),
                Value::from(e.message().to_owned()),
            )])),
        })
    });
}

fn from_toml(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::Int64(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::list(a.iter().map(from_toml).collect()),
        toml::Value::Table(t) => from_table(t),
    }
}

fn from_table(t: &toml::Table) -> Value {
    Value::map(t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect())
}

#[derive(Default)]
struct Encoder {
    out: String,
}

fn is_table_array(v: &Value) -> bool {
    match v {
        Value::List(l) => {
            let l = l.borrow();
            !l.is_empty() && l.iter().all(|v| matches!(v, Value::Map(_) | Value::Nil))
        }
        _ => false,
    }
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_)) || is_table_array(v)
}

fn key_text(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        quote(k)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn element(v: &Value) -> String {
    match v {
        Value::Float(f) => {
            if f.is_nan() {
                "nan".to_owned()
            } else if f.is_infinite() {
                (if *f > 0.0 { "inf" } else { "-inf" }).to_owned()
            } else {
                let s = format!("{f}");
                if s.contains('.') { s } else { format!("{s}.0") }
            }
        }
        Value::String(s) => quote(s),
        Value::List(l) => {
            let items: Vec<String> = l.borrow().iter().map(element).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(m) => {
            let items: Vec<String> = m
                .borrow()
                .iter()
                .filter(|(_, v)| !v.is_nil())
                .map(|(k, v)| format!("{} = {}", key_text(k), element(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        v => strval(v),
    }
}

impl Encoder {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(depth: usize) -> String {
        "  ".repeat(depth.saturating_sub(1))
    }

    fn path(key: &[String]) -> String {
        key.iter()
            .map(|k| key_text(k))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn table(&mut self, key: &[String], m: &BTreeMap<String, Value>) {
        let direct = m.iter().filter(|(_, v)| !is_table(v) && !v.is_nil());
        let sub = m.iter().filter(|(_, v)| is_table(v));
        for (k, v) in direct {
            let ind = Self::indent(key.len() + 1);
            let _ = write!(self.out, "{ind}{} = {}", key_text(k), element(v));
            self.newline();
        }
        for (k, v) in sub {
            let mut child = key.to_vec();
            child.push(k.clone());
            let ind = Self::indent(child.len());
            match v {
                Value::Map(sm) => {
                    if child.len() == 1 {
                        self.newline();
                    }
                    let _ = write!(self.out, "{ind}[{}]", Self::path(&child));
                    self.newline();
                    self.table(&child, &sm.borrow());
                }
                Value::List(l) => {
                    for item in l.borrow().iter() {
                        if let Value::Map(sm) = item {
                            self.newline();
                            let _ = write!(self.out, "{ind}[[{}]]", Self::path(&child));
                            self.newline();
                            self.table(&child, &sm.borrow());
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
