//! `toYaml`'s emitter: what Helm gets from `sigs.k8s.io/yaml.Marshal`, which
//! marshals to JSON, reads that back with `yaml.v2` and emits it with
//! libyaml's rules: keys sorted by yaml.v2's natural order, numbers as JSON
//! wrote them (integral floats become ints), strings quoted when they would
//! read back as something else (`"true"`, `"1.0"`, `"2024-01-01"`, `""`),
//! single-quoted when they start with an indicator, literal `|-` blocks for
//! multi-line text, long plain lines folded at column 80, sequences inside a
//! mapping not indented. Also `fromYaml`'s reader.

use std::cmp::Ordering;

use super::json;
use crate::helm::template::{Value, fmt};

/// A value as yaml.v2 sees it after the JSON round trip.
enum Node {
    Null,
    Bool(bool),
    /// An integer or float, already printed.
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Helm's `toYaml` text (without the final newline), or `None` when JSON
/// cannot encode the value (NaN, infinities): Helm then prints "".
pub fn to_yaml(value: &Value) -> Option<String> {
    let node = node(value)?;
    let mut e = Emitter {
        out: String::new(),
        column: 0,
    };
    match &node {
        Node::Map(entries) if !entries.is_empty() => e.map(entries, 0, false),
        Node::Seq(items) if !items.is_empty() => e.seq(items, 0, false),
        n => {
            e.scalar(n, 2, false);
            e.newline();
        }
    }
    Some(e.out.strip_suffix('\n').unwrap_or(&e.out).to_owned())
}

fn node(value: &Value) -> Option<Node> {
    Some(match value {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Number(i.to_string()),
        Value::Byte(b) => Node::Number(b.to_string()),
        Value::Float(f) => Node::Number(float_text(*f)?),
        // yaml.v2 reads the JSON text back: a raw NEL inside a quoted
        // scalar is a line break, folded to a space.
        Value::String(s) if !yaml_readable(s) => return None,
        Value::String(s) => Node::Str(s.replace('\u{85}', " ")),
        Value::List(l) => Node::Seq(l.borrow().iter().map(node).collect::<Option<_>>()?),
        Value::Map(m) => {
            let mut entries: Vec<(String, Node)> = m
                .borrow()
                .iter()
                .map(|(k, v)| yaml_readable(k).then(|| Some((k.clone(), node(v)?)))?)
                .collect::<Option<_>>()?;
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            Node::Map(entries)
        }
        Value::Object(o) => node(&Value::from_json(&o.to_json()))?,
    })
}

/// Whether yaml.v2's reader accepts `s` as JSON wrote it: JSON escapes
/// the C0 controls, but DEL, the C1 controls (but NEL) and U+FFFE/U+FFFF go
/// out raw and yaml.v2 refuses them ("control characters are not allowed"),
/// so Helm's `toYaml` yields "" (a binary file through `.Files.AsConfig`).
fn yaml_readable(s: &str) -> bool {
    !s.chars()
        .any(|c| matches!(c, '\u{7F}'..='\u{84}' | '\u{86}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}'))
}

/// A float as JSON prints it, read back by yaml.v2: an int if it looks like
/// one, else a float printed with `%g`.
fn float_text(f: f64) -> Option<String> {
    let text = json::float(f)?;
    if let Ok(i) = text.parse::<i64>() {
        return Some(i.to_string());
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(u.to_string());
    }
    Some(fmt::display(&Value::Float(f)))
}

/// yaml.v2's `keyList.Less`: runs of digits compare as numbers, letters sort
/// after other characters.
fn key_order(a: &str, b: &str) -> Ordering {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let less = |x: &[char], y: &[char]| -> Option<bool> {
        for i in 0..x.len().min(y.len()) {
            if x[i] == y[i] {
                continue;
            }
            let (xl, yl) = (x[i].is_alphabetic(), y[i].is_alphabetic());
            if xl && yl {
                return Some(x[i] < y[i]);
            }
            if xl || yl {
                return Some(yl);
            }
            let (mut xn, mut yn) = (0i64, 0i64);
            if x[i] == '0' || y[i] == '0' {
                let mut j = i;
                while j > 0 && x[j - 1].is_ascii_digit() {
                    j -= 1;
                    if x[j] != '0' {
                        xn = 1;
                        yn = 1;
                        break;
                    }
                }
            }
            let mut xi = i;
            while xi < x.len() && x[xi].is_ascii_digit() {
                xn = xn
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(x[xi] as u8 - b'0'));
                xi += 1;
            }
            let mut yi = i;
            while yi < y.len() && y[yi].is_ascii_digit() {
                yn = yn
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(y[yi] as u8 - b'0'));
                yi += 1;
            }
            if xn != yn {
                return Some(xn < yn);
            }
            if xi != yi {
                return Some(xi < yi);
            }
            return Some(x[i] < y[i]);
        }
        None
    };
    match less(&ar, &br) {
        Some(true) => Ordering::Less,
        Some(false) => match less(&br, &ar) {
            Some(true) => Ordering::Greater,
            _ => Ordering::Equal,
        },
        None => ar.len().cmp(&br.len()),
    }
}

struct Emitter {
    out: String,
    column: usize,
}

const BEST_WIDTH: usize = 80;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        if c == '\n' {
            self.column = 0;
        } else {
            self.column += 1;
        }
    }

    fn write(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn newline(&mut self) {
        if self.column > 0 || !self.out.ends_with('\n') {
            self.put('\n');
        }
    }

    fn indent_to(&mut self, n: usize) {
        for _ in 0..n {
            self.put(' ');
        }
    }

    /// Entries of a non-empty map whose keys start at column `indent`; the
    /// first key is already positioned when `inline`.
    fn map(&mut self, entries: &[(String, Node)], indent: usize, inline: bool) {
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 || !inline {
                self.indent_to(indent);
            }
            let complex = k.contains(is_break) || k.chars().count() > 128;
            if complex {
                // Not a simple key: `? key` on its own line, then `: value`.
                self.put('?');
                self.put(' ');
                self.string(k, indent + 2, false);
                self.newline();
                self.indent_to(indent);
            } else {
                self.string(k, indent + 2, true);
            }
            self.put(':');
            match v {
                // After `? key`, libyaml starts a collection value on the
                // `:` line, indented one step.
                Node::Map(m) if complex && !m.is_empty() => {
                    self.put(' ');
                    self.map(m, indent + 2, true);
                }
                Node::Seq(s) if complex && !s.is_empty() => {
                    self.put(' ');
                    self.seq(s, indent + 2, true);
                }
                Node::Map(m) if !m.is_empty() => {
                    self.put('\n');
                    self.map(m, indent + 2, false);
                }
                Node::Seq(s) if !s.is_empty() => {
                    self.put('\n');
                    self.seq(s, indent, false);
                }
                v => {
                    self.put(' ');
                    self.scalar(v, indent + 2, false);
                    self.newline();
                }
            }
        }
    }

    fn seq(&mut self, items: &[Node], indent: usize, inline: bool) {
        for (i, v) in items.iter().enumerate() {
            if i > 0 || !inline {
                self.indent_to(indent);
            }
            self.put('-');
            self.put(' ');
            match v {
                Node::Map(m) if !m.is_empty() => self.map(m, indent + 2, true),
                Node::Seq(s) if !s.is_empty() => self.seq(s, indent + 2, true),
                v => {
                    self.scalar(v, indent + 2, false);
                    self.newline();
                }
            }
        }
    }

    fn scalar(&mut self, v: &Node, indent: usize, key: bool) {
        match v {
            Node::Null => self.write("null"),
            Node::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Node::Number(n) => self.write(n),
            Node::Str(s) => self.string(s, indent, key),
            Node::Map(_) => self.write("{}"),
            Node::Seq(_) => self.write("[]"),
        }
    }

    fn string(&mut self, s: &str, indent: usize, key: bool) {
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if resolves_to_non_string(s) || is_base60_float(s) {
            Style::Double
        } else {
            Style::Plain
        };
        let a = analyze(s);
        if style == Style::Plain && !a.block_plain_allowed {
            style = Style::Single;
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || key) {
            style = Style::Double;
        }
        let allow_breaks = !key;
        match style {
            Style::Plain => self.plain(s, indent, allow_breaks),
            Style::Single => self.single(s, indent, allow_breaks),
            Style::Double => self.double(s, indent, allow_breaks),
            Style::Literal => self.literal(s, indent),
        }
    }

    fn fold(&mut self, indent: usize) {
        self.put('\n');
        self.indent_to(indent);
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.fold(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
    }

    fn single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('\'');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.fold(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                spaces = false;
            }
        }
        self.put('\'');
    }

    fn double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('"');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => "0".to_owned(),
                    '\u{7}' => "a".to_owned(),
                    '\u{8}' => "b".to_owned(),
                    '\t' => "t".to_owned(),
                    '\n' => "n".to_owned(),
                    '\u{b}' => "v".to_owned(),
                    '\u{c}' => "f".to_owned(),
                    '\r' => "r".to_owned(),
                    '\u{1b}' => "e".to_owned(),
                    '"' => "\"".to_owned(),
                    '\\' => "\\".to_owned(),
                    '\u{85}' => "N".to_owned(),
                    '\u{a0}' => "_".to_owned(),
                    '\u{2028}' => "L".to_owned(),
                    '\u{2029}' => "P".to_owned(),
                    c if u32::from(c) <= 0xff => format!("x{:02X}", u32::from(c)),
                    c if u32::from(c) <= 0xffff => format!("u{:04X}", u32::from(c)),
                    c => format!("U{:08X}", u32::from(c)),
                };
                self.write(&esc);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i + 1 != chars.len()
                {
                    self.fold(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.put('|');
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.put('2');
        }
        match chars.as_slice() {
            [] => self.put('-'),
            [.., last] if !is_break(*last) => self.put('-'),
            [_] => self.put('+'),
            [.., prev, _] if is_break(*prev) => self.put('+'),
            _ => {}
        }
        self.put('\n');
        let mut breaks = true;
        for c in chars {
            if is_break(c) {
                self.put('\n');
                breaks = true;
            } else {
                if breaks {
                    self.indent_to(indent);
                    breaks = false;
                }
                self.put(c);
            }
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    c.is_none_or(|c| c == ' ' || c == '\t' || is_break(c))
}

/// go-yaml's `is_printable` (NEL is; 4-byte characters are not).
fn is_printable(c: char) -> bool {
    let u = u32::from(c);
    c == '\n'
        || c == '\u{85}'
        || (0x20..=0x7e).contains(&u)
        || (0xa0..=0xd7ff).contains(&u)
        || ((0xe000..=0xfffd).contains(&u) && u != 0xfeff)
}

#[allow(clippy::struct_excessive_bools)]
struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, for block context.
#[allow(clippy::too_many_lines)] // libyaml's function, kept in one piece
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut block_indicators, mut flow_indicators) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = is_blankz(chars.get(1).copied());
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                flow_indicators = true;
                block_indicators = true;
            }
            if c == '?' || c == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if c == '-' && followed_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(c) {
                flow_indicators = true;
            }
            if c == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if c == '#' && preceded_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        let last = i + 1 == chars.len();
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(Some(c));
        followed_by_whitespace = is_blankz(chars.get(i + 2).copied());
    }
    let _ = flow_indicators;
    let mut a = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// yaml.v2's `resolve` for a plain scalar: whether it would read back as
/// null, a bool, a number or a timestamp rather than a string.
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
        "on", "On", "ON", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off",
        "OFF", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    let Some(first) = s.chars().next() else {
        return true;
    };
    if !(first.is_ascii_digit() || "+-.yYnNtTfFoO~".contains(first)) {
        return false;
    }
    if SPECIAL.contains(&s) {
        return true;
    }
    if first == '.' {
        return is_yaml_float(s);
    }
    if !(first.is_ascii_digit() || first == '+' || first == '-') {
        return false;
    }
    if is_timestamp(s) {
        return true;
    }
    let plain = s.replace('_', "");
    super::parse_go_int(&plain).is_some()
        || is_yaml_float(&plain)
        || plain
            .strip_prefix("0b")
            .or_else(|| plain.strip_prefix("-0b"))
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c == '0' || c == '1'))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, finite.
fn is_yaml_float(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mant, exp) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let mant_ok = if let Some(frac) = mant.strip_prefix('.') {
        !frac.is_empty() && frac.bytes().all(|c| c.is_ascii_digit())
    } else {
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        !int.is_empty()
            && int.bytes().all(|c| c.is_ascii_digit())
            && frac.bytes().all(|c| c.is_ascii_digit())
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
    });
    mant_ok && exp_ok && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// yaml.v2's timestamp forms (`2006-1-2`, with `T`/`t`/space and a time).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let date_end = rest.find(['T', 't', ' ']).unwrap_or(rest.len());
    let date = &rest[..date_end];
    let Some((m, d)) = date.split_once('-') else {
        return false;
    };
    let num = |x: &str| (1..=2).contains(&x.len()) && x.bytes().all(|c| c.is_ascii_digit());
    if !num(m) || !num(d) {
        return false;
    }
    let (m, d): (u32, u32) = (m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return false;
    }
    if date_end == rest.len() {
        return true;
    }
    let time = &rest[date_end + 1..];
    let (hms, _zone) = time
        .find(['Z', '+', '-'])
        .map_or((time, ""), |i| (&time[..i], &time[i..]));
    let hms = hms.split('.').next().unwrap_or_default();
    let parts: Vec<&str> = hms.split(':').collect();
    parts.len() == 3 && parts.iter().all(|p| num(p))
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (main, frac) = body.split_once('.').unwrap_or((body, ""));
    if !frac.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or_default();
    if !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    let mut count = 0;
    for p in parts {
        count += 1;
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    count > 0
}

/// `sigs.k8s.io/yaml.Unmarshal` into an `interface{}`: YAML read as JSON
/// (numbers become float64).
pub(super) fn from_yaml(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Nil);
    }
    // sigs.k8s.io/yaml reads the first document only.
    // yaml.v2 is YAML 1.1: `0777` is octal.
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let json = docs.into_iter().next().unwrap_or_default();
    Ok(Value::from_json(&json))
}
