//! JSON as Go's `encoding/json` writes it (`toJson`, `toPrettyJson`,
//! `toRawJson`): sorted keys, HTML-safe escapes, Go's float format; and
//! `fromJson`/`fromJsonArray`'s reader.

use std::fmt::Write as _;

use crate::helm::template::Value;

/// `json.Marshal`; `None` for values JSON cannot hold (NaN, infinities).
pub(super) fn marshal(v: &Value, escape_html: bool) -> Option<String> {
    let mut out = String::new();
    write_value(&mut out, v, escape_html, None, 0)?;
    Some(out)
}

/// `json.MarshalIndent(v, "", indent)`.
pub(super) fn marshal_indent(v: &Value, indent: &str) -> Option<String> {
    let mut out = String::new();
    write_value(&mut out, v, true, Some(indent), 0)?;
    Some(out)
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_value(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Option<()> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Byte(b) => out.push_str(&b.to_string()),
        Value::Float(f) => out.push_str(&float(*f)?),
        Value::String(s) => string(out, s, html),
        Value::List(l) => {
            let l = l.borrow();
            if l.is_empty() {
                out.push_str("[]");
                return Some(());
            }
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return Some(());
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                string(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, item, html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push('}');
        }
        Value::Object(o) => {
            write_value(out, &Value::from_json(&o.to_json()), html, indent, depth)?;
        }
    }
    Some(())
}

/// Go's JSON float: `%f`-like unless tiny or huge, then `1e+21`/`1e-7`.
pub(super) fn float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return Some(if let Some(neg) = exp.strip_prefix('-') {
            format!("{mant}e-{neg}")
        } else {
            format!("{mant}e+{exp}")
        });
    }
    Some(format!("{f}"))
}

fn string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `json.Unmarshal` into an `interface{}` (numbers become float64).
pub(super) fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|j| Value::from_json(&j))
        .map_err(|e| e.to_string())
}
