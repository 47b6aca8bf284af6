//! Helm's template function library: Helm's own functions and the Sprig
//! library as Helm ships it, on top of Go's builtins.
//!
//! [`helm_funcs`] is the one entry point: the chart model builds its
//! [`TemplateSet`](super::template::TemplateSet) with it. Each family lives in
//! its own file and registers itself; shared conversions (Sprig's `strval`,
//! `cast.ToInt64`, `empty`) live here. A function Helm has and devloop does
//! not is simply absent, so a template calling it fails to parse with Go's
//! `function "NAME" not defined` at its file and line. Absent today:
//! `bcrypt`, `htpasswd` (no bcrypt without a duplicated crypto crate),
//! `derivePassword`, `encryptAES`/`decryptAES` (no AES in the tree),
//! `buildCustomCert` (needs X.509 parsing), `toYamlPretty` (yaml.v3's
//! emitter). Helm itself drops Sprig's `env` and `expandenv`.
//!
//! `lookup` is registered as `helm template` has it (an empty map); the
//! chart model replaces it (`Funcs::register("lookup", ...)`) to reach a
//! cluster.

mod crypto;
mod dates;
mod dicts;
mod encoding;
mod helm;
mod json;
mod lists;
mod logic;
mod math;
mod misc;
mod random;
mod regex;
pub(crate) mod semver;
mod strings;
mod toml;
mod yaml;

use super::template::{FuncError, Funcs, Value, fmt};

pub use yaml::to_yaml;

/// Go's builtins, Helm's own functions and Sprig's, as Helm's engine
/// registers them (without the `.Files`-style objects of the chart model).
pub fn helm_funcs() -> Funcs {
    let mut funcs = Funcs::new();
    logic::register(&mut funcs);
    strings::register(&mut funcs);
    lists::register(&mut funcs);
    dicts::register(&mut funcs);
    math::register(&mut funcs);
    misc::register(&mut funcs);
    dates::register(&mut funcs);
    crypto::register(&mut funcs);
    encoding::register(&mut funcs);
    regex::register(&mut funcs);
    semver::register(&mut funcs);
    random::register(&mut funcs);
    helm::register(&mut funcs);
    toml::register(&mut funcs);
    funcs
}

/// Sprig's `strval`: a string as is, anything else as `fmt.Sprintf("%v")`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Nil => "<nil>".to_owned(),
        v => fmt::display(v),
    }
}

/// The string argument `i` (the signature already checked its type).
pub(crate) fn arg_str(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or_default()
}

/// The int argument `i` (the signature already checked its type).
pub(crate) fn arg_int(args: &[Value], i: usize) -> i64 {
    args.get(i).and_then(Value::as_int).unwrap_or_default()
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, `0x`/`0o`/`0b`/`0` prefixes,
/// underscores only after a prefix.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_owned(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_owned(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_owned(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_owned(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.is_empty() || (!prefixed && digits.contains('_')) {
        return None;
    }
    if digits.starts_with('_') && radix == 10 || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let digits = digits.replace('_', "");
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// `cast.ToInt64`: numbers (floats truncated), bools, numeric strings
/// (`"12"`, `"12.0"`, `"0x1f"`); anything else is 0.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Byte(b) => i64::from(*b),
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => {
            let t = trim_zero_decimal(s);
            parse_go_int(t).unwrap_or(0)
        }
        _ => 0,
    }
}

/// cast's `trimZeroDecimal`: `"12.000"` is `"12"`.
fn trim_zero_decimal(s: &str) -> &str {
    if let Some((int, frac)) = s.split_once('.')
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0')
    {
        return int;
    }
    s
}

/// `cast.ToFloat64`: numbers, bools, numeric strings; anything else is 0.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Byte(b) => f64::from(*b),
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|_| !s.trim().is_empty() && !s.contains(char::is_whitespace))
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: nil, false, 0, "", and empty lists and maps.
pub(crate) fn is_empty(v: &Value) -> bool {
    !v.is_true()
}

/// The items of a list argument, or Sprig's error for any other type.
pub(crate) fn list_items(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.borrow().clone()),
        Value::Nil => Err(FuncError::new(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        v => Err(FuncError::new(format!(
            "Cannot {what} on type {}",
            kind_name(v)
        ))),
    }
}

/// Go's `reflect.Kind` name of a value.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Byte(_) => "uint8",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(_) => "ptr",
    }
}

/// Go's `reflect.DeepEqual` on template values.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Byte(x), Value::Byte(y)) => x == y,
        #[allow(clippy::float_cmp)]
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| deep_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => false,
    }
}

/// A deep copy (maps and lists are fresh; Sprig's `deepCopy`).
pub(crate) fn deep_copy(v: &Value) -> Value {
    match v {
        Value::List(l) => Value::list(l.borrow().iter().map(deep_copy).collect()),
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), deep_copy(v)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// Sprig's `strslice`: a list's non-nil items as strings, nil as no items,
/// anything else as one string.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .borrow()
            .iter()
            .filter(|v| !v.is_nil())
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        v => vec![strval(v)],
    }
}
