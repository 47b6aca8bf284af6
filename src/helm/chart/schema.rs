//! `values.schema.json` validation with Helm 4's messages (it uses
//! santhosh-tekuri/jsonschema v6): `- at '/path': got string, want integer`.
//! A focused validator for the keywords charts use: `type`, `required`,
//! `properties`, `patternProperties`, `additionalProperties`, `enum`,
//! `const`, `minimum`/`maximum` (and exclusive), `multipleOf`,
//! `minLength`/`maxLength`, `pattern`, `items`, `minItems`/`maxItems`,
//! `uniqueItems`, `min`/`maxProperties`, `allOf`/`anyOf`/`oneOf`/`not`
//! (failures nested under them, as v6 prints them), `if`/`then`/`else`,
//! local `$ref`s. `format` is not checked (Helm does not either).
//! Helm lists a chart's errors in Go map order (it varies run to run); this
//! lists them in document order.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use super::{Chart, ChartError};

/// Validates the chart's and every subchart's values against their schemas.
pub fn validate_chart(chart: &Chart, values: &Json) -> Result<(), ChartError> {
    let mut out = String::new();
    collect(chart, values, &mut out)?;
    if out.is_empty() {
        return Ok(());
    }
    Err(ChartError::Schema(format!(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{out}"
    )))
}

fn collect(chart: &Chart, values: &Json, out: &mut String) -> Result<(), ChartError> {
    if let Some(bytes) = &chart.schema {
        let schema: Json = serde_json::from_slice(bytes).map_err(|e| {
            ChartError::Schema(format!("{}: invalid values.schema.json: {e}", chart.name()))
        })?;
        let mut errors = Vec::new();
        Validator { root: &schema }.check(&schema, values, "", &mut errors);
        if !errors.is_empty() {
            out.push_str(chart.name());
            out.push_str(":\n");
            for f in &errors {
                f.write(out, 0);
            }
        }
    }
    for sub in &chart.dependencies {
        let empty = Json::Object(Map::new());
        collect(sub, values.get(sub.name()).unwrap_or(&empty), out)?;
    }
    Ok(())
}

/// One failure as v6 reports it; combinators (`allOf`, `anyOf`, `oneOf`)
/// carry their subschemas' failures, printed indented under them.
struct Failure {
    at: String,
    msg: String,
    causes: Vec<Failure>,
}

impl Failure {
    fn new(at: impl Into<String>, msg: impl Into<String>) -> Failure {
        Failure {
            at: at.into(),
            msg: msg.into(),
            causes: Vec::new(),
        }
    }

    fn write(&self, out: &mut String, depth: usize) {
        let _ = writeln!(
            out,
            "{}- at '{}': {}",
            "  ".repeat(depth),
            self.at,
            self.msg
        );
        for c in &self.causes {
            c.write(out, depth + 1);
        }
    }
}

struct Validator<'s> {
    root: &'s Json,
}

fn type_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn is_type(v: &Json, t: &str) -> bool {
    match t {
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        t => type_of(v) == t,
    }
}

/// How v6 quotes a value in messages: strings in single quotes, others as JSON.
fn quote(v: &Json) -> String {
    match v {
        Json::String(s) => format!("'{s}'"),
        Json::Number(n) => number(n.as_f64().unwrap_or_default()),
        v => v.to_string(),
    }
}

fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'s> Validator<'s> {
    fn resolve(&self, r: &str) -> Option<&'s Json> {
        let pointer = r.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    #[allow(clippy::too_many_lines)] // one keyword after another
    fn check(&self, schema: &'s Json, v: &Json, at: &str, errs: &mut Vec<Failure>) {
        let Some(s) = schema.as_object() else {
            if schema == &Json::Bool(false) {
                errs.push(Failure::new(at.to_owned(), "false schema".to_owned()));
            }
            return;
        };
        let err = |errs: &mut Vec<Failure>, m: String| errs.push(Failure::new(at, m));
        if let Some(r) = s.get("$ref").and_then(Json::as_str)
            && let Some(target) = self.resolve(r)
        {
            self.check(target, v, at, errs);
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Json::String(t) => vec![t.as_str()],
                Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
                _ => vec![],
            };
            if !types.is_empty() && !types.iter().any(|t| is_type(v, t)) {
                err(
                    errs,
                    format!("got {}, want {}", type_of(v), types.join(" or ")),
                );
                return;
            }
        }
        if let Some(Json::Array(options)) = s.get("enum")
            && !options.iter().any(|o| json_eq(o, v))
        {
            let list: Vec<String> = options.iter().map(quote).collect();
            if list.len() == 1 {
                err(errs, format!("value must be {}", list[0]));
            } else {
                err(errs, format!("value must be one of {}", list.join(", ")));
            }
        }
        if let Some(c) = s.get("const")
            && !json_eq(c, v)
        {
            err(errs, format!("value must be {}", quote(c)));
        }
        self.check_combinators(s, v, at, errs);
        match v {
            Json::Number(n) => {
                let f = n.as_f64().unwrap_or_default();
                let bound = |k: &str| s.get(k).and_then(Json::as_f64);
                #[allow(clippy::type_complexity)]
                let checks: [(&str, fn(f64, f64) -> bool); 4] = [
                    ("minimum", |f, b| f < b),
                    ("maximum", |f, b| f > b),
                    ("exclusiveMinimum", |f, b| f <= b),
                    ("exclusiveMaximum", |f, b| f >= b),
                ];
                if let Some(m) = bound("multipleOf")
                    && m > 0.0
                    && ((f / m) - (f / m).round()).abs() > 1e-9
                {
                    err(
                        errs,
                        format!("multipleOf: got {}, want {}", number(f), number(m)),
                    );
                }
                for (k, fails) in checks {
                    if let Some(b) = bound(k)
                        && fails(f, b)
                    {
                        err(errs, format!("{k}: got {}, want {}", number(f), number(b)));
                    }
                }
            }
            Json::String(text) => {
                let len = text.chars().count();
                if let Some(min) = s.get("minLength").and_then(Json::as_u64)
                    && (len as u64) < min
                {
                    err(errs, format!("minLength: got {len}, want {min}"));
                }
                if let Some(max) = s.get("maxLength").and_then(Json::as_u64)
                    && (len as u64) > max
                {
                    err(errs, format!("maxLength: got {len}, want {max}"));
                }
                if let Some(p) = s.get("pattern").and_then(Json::as_str)
                    && let Ok(re) = regex::Regex::new(p)
                    && !re.is_match(text)
                {
                    err(errs, format!("'{text}' does not match pattern '{p}'"));
                }
            }
            Json::Array(items) => {
                if let Some(min) = s.get("minItems").and_then(Json::as_u64)
                    && (items.len() as u64) < min
                {
                    err(errs, format!("minItems: got {}, want {min}", items.len()));
                }
                if let Some(max) = s.get("maxItems").and_then(Json::as_u64)
                    && (items.len() as u64) > max
                {
                    err(errs, format!("maxItems: got {}, want {max}", items.len()));
                }
                if s.get("uniqueItems") == Some(&Json::Bool(true)) {
                    let dup = (0..items.len()).find_map(|j| {
                        (0..j)
                            .find(|&i| json_eq(&items[i], &items[j]))
                            .map(|i| (i, j))
                    });
                    if let Some((i, j)) = dup {
                        err(errs, format!("items at {i} and {j} are equal"));
                    }
                }
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        let schema = match item_schema {
                            Json::Array(tuple) => match tuple.get(i) {
                                Some(t) => t,
                                None => continue,
                            },
                            one => one,
                        };
                        self.check(schema, item, &format!("{at}/{i}"), errs);
                    }
                }
            }
            Json::Object(obj) => self.check_object(s, obj, at, errs),
            _ => {}
        }
    }

    /// `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`.
    fn check_combinators(
        &self,
        s: &'s Map<String, Json>,
        v: &Json,
        at: &str,
        errs: &mut Vec<Failure>,
    ) {
        let run = |schema: &'s Json| {
            let mut e = Vec::new();
            self.check(schema, v, at, &mut e);
            e
        };
        let wrap = |msg: String, causes: Vec<Failure>| Failure {
            at: at.to_owned(),
            msg,
            causes,
        };
        if let Some(Json::Array(all)) = s.get("allOf") {
            let causes: Vec<Failure> = all.iter().flat_map(run).collect();
            if !causes.is_empty() {
                errs.push(wrap("'allOf' failed".to_owned(), causes));
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let results: Vec<Vec<Failure>> = any.iter().map(run).collect();
            if !results.is_empty() && results.iter().all(|r| !r.is_empty()) {
                errs.push(wrap(
                    "'anyOf' failed".to_owned(),
                    results.into_iter().flatten().collect(),
                ));
            }
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let results: Vec<Vec<Failure>> = one.iter().map(run).collect();
            let matched: Vec<String> = results
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_empty())
                .map(|(i, _)| i.to_string())
                .collect();
            match matched.len() {
                0 if !results.is_empty() => errs.push(wrap(
                    "'oneOf' failed, none matched".to_owned(),
                    results.into_iter().flatten().collect(),
                )),
                0 | 1 => {}
                _ => errs.push(wrap(
                    format!("'oneOf' failed, subschemas {} matched", matched.join(", ")),
                    Vec::new(),
                )),
            }
        }
        if let Some(not) = s.get("not")
            && run(not).is_empty()
        {
            errs.push(wrap("'not' failed".to_owned(), Vec::new()));
        }
        if let Some(cond) = s.get("if") {
            let branch = if run(cond).is_empty() {
                s.get("then")
            } else {
                s.get("else")
            };
            if let Some(b) = branch {
                self.check(b, v, at, errs);
            }
        }
    }

    fn check_object(
        &self,
        s: &'s Map<String, Json>,
        obj: &Map<String, Json>,
        at: &str,
        errs: &mut Vec<Failure>,
    ) {
        if let Some(Json::Array(req)) = s.get("required") {
            let missing: Vec<String> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !obj.contains_key(*k))
                .map(|k| format!("'{k}'"))
                .collect();
            match missing.len() {
                0 => {}
                1 => errs.push(Failure::new(
                    at.to_owned(),
                    format!("missing property {}", missing[0]),
                )),
                _ => errs.push(Failure::new(
                    at.to_owned(),
                    format!("missing properties {}", missing.join(", ")),
                )),
            }
        }
        let n = obj.len();
        if let Some(min) = s.get("minProperties").and_then(Json::as_u64)
            && (n as u64) < min
        {
            errs.push(Failure::new(
                at,
                format!("minProperties: got {n}, want {min}"),
            ));
        }
        if let Some(max) = s.get("maxProperties").and_then(Json::as_u64)
            && (n as u64) > max
        {
            errs.push(Failure::new(
                at,
                format!("maxProperties: got {n}, want {max}"),
            ));
        }
        let props = s.get("properties").and_then(Json::as_object);
        let patterns: Vec<(regex::Regex, &Json)> = s
            .get("patternProperties")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(p, sch)| regex::Regex::new(p).ok().map(|re| (re, sch)))
            .collect();
        let mut extra = Vec::new();
        for (k, val) in obj {
            let child_at = format!("{at}/{}", escape(k));
            let mut known = false;
            if let Some(sch) = props.and_then(|p| p.get(k)) {
                known = true;
                self.check(sch, val, &child_at, errs);
            }
            for (re, sch) in &patterns {
                if re.is_match(k) {
                    known = true;
                    self.check(sch, val, &child_at, errs);
                }
            }
            if !known {
                match s.get("additionalProperties") {
                    Some(Json::Bool(false)) => extra.push(format!("'{k}'")),
                    Some(sch @ Json::Object(_)) => self.check(sch, val, &child_at, errs),
                    _ => {}
                }
            }
        }
        match extra.len() {
            0 => {}
            _ => errs.push(Failure::new(
                at.to_owned(),
                format!("additional properties {} not allowed", extra.join(", ")),
            )),
        }
    }
}

/// JSON equality where 1 and 1.0 are the same number.
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
