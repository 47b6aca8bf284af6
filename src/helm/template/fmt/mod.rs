//! Go's `fmt` as templates reach it: `print`, `println`, `printf` and the
//! text an action prints.
//!
//! Owns verb dispatch (`%v %d %s %q %x %f %e %g %t %T %c %U ...`), flags,
//! width and precision, Go's bad-verb / missing / extra argument notes, and
//! Go's float formatting (`%v` of 1000000.0 is `1e+06`). It knows nothing
//! about templates beyond [`Value`].

use std::fmt::Write as _;

mod float;

use super::value::Value;
use float::{format_float, hex_float};

/// Flags, width and precision of one verb (Go's `fmt` flag set).
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Spec {
    pub(super) plus: bool,
    pub(super) minus: bool,
    pub(super) sharp: bool,
    pub(super) zero: bool,
    pub(super) space: bool,
    pub(super) width: Option<usize>,
    pub(super) prec: Option<usize>,
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        format_value(&mut out, arg, 'v', Spec::default(), true);
    }
    out
}

/// `fmt.Sprintln`: spaces between all operands, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        format_value(&mut out, arg, 'v', Spec::default(), true);
    }
    out.push('\n');
    out
}

/// The text `{{ value }}` prints (`fmt.Fprint` of one value).
pub fn display(value: &Value) -> String {
    let mut out = String::new();
    format_value(&mut out, value, 'v', Spec::default(), true);
    out
}

/// `fmt.Sprintf` with Go's verbs and its notes for bad input.
#[allow(clippy::too_many_lines)]
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut next_arg = 0;
    let mut reordered = false;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        let mut good_index = true;
        while i < chars.len() {
            match chars[i] {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index, width, precision.
        if let Some((n, next)) = arg_index(&chars, i) {
            if n < args.len() {
                next_arg = n;
            } else {
                good_index = false;
            }
            i = next;
            reordered = true;
        }
        if i < chars.len() && chars[i] == '*' {
            i += 1;
            match args.get(next_arg).and_then(Value::as_int) {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX));
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            next_arg += 1;
        } else {
            let (n, next) = number(&chars, i);
            spec.width = n;
            i = next;
        }
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            if let Some((n, next)) = arg_index(&chars, i) {
                if n < args.len() {
                    next_arg = n;
                } else {
                    good_index = false;
                }
                i = next;
                reordered = true;
            }
            if i < chars.len() && chars[i] == '*' {
                i += 1;
                match args.get(next_arg).and_then(Value::as_int) {
                    Some(p) if p >= 0 => spec.prec = Some(usize::try_from(p).unwrap_or(0)),
                    _ => out.push_str("%!(BADPREC)"),
                }
                next_arg += 1;
            } else {
                let (n, next) = number(&chars, i);
                spec.prec = Some(n.unwrap_or(0));
                i = next;
            }
        }
        if let Some((n, next)) = arg_index(&chars, i) {
            if n < args.len() {
                next_arg = n;
            } else {
                good_index = false;
            }
            i = next;
            reordered = true;
        }
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_index {
            let _ = write!(out, "%!{verb}(BADINDEX)");
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next_arg += 1;
        if verb == 'T' {
            pad(&mut out, arg.type_name(), spec);
            continue;
        }
        if spec.minus {
            spec.zero = false;
        }
        format_value(&mut out, arg, verb, spec, true);
    }
    if !reordered && next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, arg) in args[next_arg..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if arg.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(arg.type_name());
                out.push('=');
                format_value(&mut out, arg, 'v', Spec::default(), true);
            }
        }
        out.push(')');
    }
    out
}

/// `[n]` argument index at `i`: (zero-based index, position after).
fn arg_index(chars: &[char], i: usize) -> Option<(usize, usize)> {
    if chars.get(i) != Some(&'[') {
        return None;
    }
    let (n, next) = number(chars, i + 1);
    if chars.get(next) == Some(&']') {
        n.filter(|n| *n > 0).map(|n| (n - 1, next + 1))
    } else {
        None
    }
}

fn number(chars: &[char], mut i: usize) -> (Option<usize>, usize) {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        i += 1;
    }
    (n, i)
}

/// Pads `s` to the spec's width with spaces (left or right).
fn pad(out: &mut String, s: &str, spec: Spec) {
    let len = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        let c = if spec.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.push_str(s);
    }
}

/// Pads a number: zero padding goes after the sign.
fn pad_number(out: &mut String, s: &str, spec: Spec) {
    if spec.zero && !spec.minus && spec.width.is_some() {
        let width = spec.width.unwrap_or(0);
        let (sign, digits) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        let len = s.chars().count();
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', width.saturating_sub(len)));
        out.push_str(digits);
    } else {
        pad(out, s, spec);
    }
}

fn bad_verb(out: &mut String, value: &Value, verb: char) {
    let _ = write!(out, "%!{verb}(");
    if value.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(value.type_name());
        out.push('=');
        format_value(out, value, 'v', Spec::default(), false);
    }
    out.push(')');
}

fn format_value(out: &mut String, value: &Value, verb: char, spec: Spec, top: bool) {
    if verb == 'v' && spec.sharp {
        let mut s = String::new();
        go_syntax(&mut s, value, top);
        pad(out, &s, spec);
        return;
    }
    match value {
        Value::Nil => {
            if verb == 'v' || !top {
                pad(out, "<nil>", spec);
            } else {
                bad_verb(out, value, verb);
            }
        }
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, value, verb),
        },
        Value::Int(i) | Value::Int64(i) => format_int(out, value, i128::from(*i), verb, spec),
        Value::Byte(b) => format_int(out, value, i128::from(*b), verb, spec),
        Value::Float(f) => match verb {
            'x' | 'X' => {
                let s = hex_float(*f, verb == 'X');
                pad_number(out, &s, spec);
            }
            'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F' => {
                let s = format_float(*f, verb, spec);
                pad_number(out, &s, spec);
            }
            _ => bad_verb(out, value, verb),
        },
        Value::String(s) => match verb {
            'v' | 's' => {
                let s = match spec.prec {
                    Some(p) => s.chars().take(p).collect::<String>(),
                    None => s.to_string(),
                };
                pad(out, &s, spec);
            }
            'q' => pad(out, &quote_with(s, spec.sharp, spec.plus), spec),
            'x' | 'X' => {
                let mut hex = String::new();
                for (k, b) in s.bytes().enumerate() {
                    if spec.space && k > 0 {
                        hex.push(' ');
                    }
                    if verb == 'x' {
                        let _ = write!(hex, "{b:02x}");
                    } else {
                        let _ = write!(hex, "{b:02X}");
                    }
                }
                pad(out, &hex, spec);
            }
            _ => bad_verb(out, value, verb),
        },
        Value::List(items) => {
            out.push('[');
            for (k, item) in items.borrow().iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                format_value(out, item, verb, spec, false);
            }
            out.push(']');
        }
        Value::Object(o) => pad(out, &o.display(), spec),
        Value::Map(map) => {
            out.push_str("map[");
            for (k, (key, item)) in map.borrow().iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                format_value(out, &Value::string(key.as_str()), verb, spec, false);
                out.push(':');
                format_value(out, item, verb, spec, false);
            }
            out.push(']');
        }
    }
}

/// Go's `%#v`: the value as Go source.
fn go_syntax(out: &mut String, value: &Value, top: bool) {
    match value {
        Value::Nil if top => out.push_str("<nil>"),
        Value::Nil => out.push_str("interface {}(nil)"),
        Value::Byte(b) => {
            let _ = write!(out, "0x{b:x}");
        }
        Value::String(s) => out.push_str(&quote(s, false)),
        Value::List(items) => {
            out.push_str("[]interface {}{");
            for (k, item) in items.borrow().iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                go_syntax(out, item, false);
            }
            out.push('}');
        }
        Value::Map(map) => {
            out.push_str("map[string]interface {}{");
            for (k, (key, item)) in map.borrow().iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote(key, false));
                out.push(':');
                go_syntax(out, item, false);
            }
            out.push('}');
        }
        v => format_value(out, v, 'v', Spec::default(), false),
    }
}

fn format_int(out: &mut String, value: &Value, i: i128, verb: char, spec: Spec) {
    let digits = match verb {
        'v' | 'd' => i.unsigned_abs().to_string(),
        'b' => format!("{:b}", i.unsigned_abs()),
        'o' | 'O' => format!("{:o}", i.unsigned_abs()),
        'x' => format!("{:x}", i.unsigned_abs()),
        'X' => format!("{:X}", i.unsigned_abs()),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec);
            return;
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, &quote_rune(c), spec);
            return;
        }
        'U' => {
            let s = format!("U+{i:04X}");
            pad(out, &s, spec);
            return;
        }
        _ => {
            bad_verb(out, value, verb);
            return;
        }
    };
    let mut digits = digits;
    if let Some(p) = spec.prec {
        if p == 0 && i == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match (spec.sharp, verb) {
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        (true, 'o') if !digits.starts_with('0') => "0",
        (_, 'O') => "0o",
        _ => "",
    };
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    let spec = Spec {
        zero: spec.zero && spec.prec.is_none(),
        ..spec
    };
    pad_number(out, &s, spec);
}

/// Go's `strconv.Quote` (or a raw backquoted string for `%#q` when possible).
pub fn quote(s: &str, backquote: bool) -> String {
    quote_with(s, backquote, false)
}

/// [`quote`], escaping every non-ASCII character when `ascii` (`%+q`).
fn quote_with(s: &str, backquote: bool, ascii: bool) -> String {
    if backquote && !s.contains('`') && !s.chars().any(|c| c.is_control() && c != '\t') {
        return format!("`{s}`");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if ascii && !c.is_ascii() {
            let n = u32::from(c);
            if n < 0x10000 {
                let _ = write!(out, "\\u{n:04x}");
            } else {
                let _ = write!(out, "\\U{n:08x}");
            }
        } else {
            escape_char(&mut out, c, '"');
        }
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'');
    out.push('\'');
    out
}

fn escape_char(out: &mut String, c: char, delim: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == delim => {
            out.push('\\');
            out.push(c);
        }
        c if c.is_control() => {
            let n = u32::from(c);
            if n < 0x80 {
                let _ = write!(out, "\\x{n:02x}");
            } else if n < 0x10000 {
                let _ = write!(out, "\\u{n:04x}");
            } else {
                let _ = write!(out, "\\U{n:08x}");
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        let cases = [
            (1_000_000.0, "1e+06"),
            (100_000.0, "100000"),
            (1.5, "1.5"),
            (0.0001, "0.0001"),
            (0.000_01, "1e-05"),
            (123_456_789.0, "1.23456789e+08"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (3.0, "3"),
        ];
        for (f, want) in cases {
            assert_eq!(display(&Value::Float(f)), want, "{f}");
        }
    }

    #[test]
    fn printf_verbs() {
        let args = [Value::Int(3), Value::Float(1.23456), Value::string("a")];
        assert_eq!(sprintf("%d %5.2f %q", &args), "3  1.23 \"a\"");
        assert_eq!(sprintf("%d", &[]), "%!d(MISSING)");
        assert_eq!(
            sprintf("%g|%e", &[Value::Float(1e6), Value::Float(1e6)]),
            "1e+06|1.000000e+06"
        );
        assert_eq!(sprintf("%.3g", &[Value::Float(1234.5)]), "1.23e+03");
    }
}
