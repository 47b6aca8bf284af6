//! Regular expressions (Go's RE2 syntax, which the `regex` crate shares):
//! `regexMatch`, `regexFind`, `regexFindAll`, `regexReplaceAll`,
//! `regexReplaceAllLiteral`, `regexSplit`, `regexQuoteMeta` and the `must*`
//! variants.

use regex::{NoExpand, Regex};

use super::{arg_int, arg_str};
use crate::helm::template::{FuncError, Funcs, Param, Signature, Value};

/// Compiles `re`; the error worded as Go's `regexp.Compile` words the
/// common mistakes.
fn compile(re: &str) -> Result<Regex, FuncError> {
    Regex::new(re).map_err(|e| {
        let msg = e.to_string();
        let last = msg.lines().last().unwrap_or_default().trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        let go = match last {
            "unclosed group" => "missing closing )",
            "unopened group" => "unexpected )",
            "unclosed character class" => "missing closing ]",
            "repetition operator missing expression" => "missing argument to repetition operator",
            other => other,
        };
        FuncError::new(format!("error parsing regexp: {go}: `{re}`"))
    })
}

/// `regexp.MustCompile`'s panic text.
fn must_compile(re: &str) -> Result<Regex, FuncError> {
    compile(re).map_err(|e| FuncError::new(format!("regexp: Compile({}): {e}", go_backquote(re))))
}

/// Go's `quote` helper in `regexp`: backquoted when possible.
fn go_backquote(s: &str) -> String {
    if s.contains('`') {
        crate::helm::template::fmt::quote(s, false)
    } else {
        format!("`{s}`")
    }
}

fn strings(items: Vec<&str>) -> Value {
    Value::list(items.into_iter().map(Value::from).collect())
}

type Compile = fn(&str) -> Result<Regex, FuncError>;
type ReFn = fn(&[Value], Compile) -> Result<Value, FuncError>;

pub(super) fn register(f: &mut Funcs) {
    let s2 = Signature::fixed(&[Param::String, Param::String]);
    let s3 = Signature::fixed(&[Param::String, Param::String, Param::String]);
    let s2i = Signature::fixed(&[Param::String, Param::String, Param::Int]);
    f.register("regexMatch", s2.clone(), |_, args| {
        Ok(Value::Bool(
            compile(arg_str(args, 0)).is_ok_and(|r| r.is_match(arg_str(args, 1))),
        ))
    });
    let table: &[(&str, Signature, ReFn)] = &[
        ("regexFind", s2.clone(), |a, compile| {
            let r = compile(arg_str(a, 0))?;
            Ok(Value::from(
                r.find(arg_str(a, 1)).map_or("", |m| m.as_str()),
            ))
        }),
        ("regexFindAll", s2i.clone(), |a, compile| {
            let r = compile(arg_str(a, 0))?;
            let n = usize::try_from(arg_int(a, 2)).unwrap_or(usize::MAX);
            Ok(strings(
                r.find_iter(arg_str(a, 1))
                    .take(n)
                    .map(|m| m.as_str())
                    .collect(),
            ))
        }),
        ("regexReplaceAll", s3.clone(), |a, compile| {
            let r = compile(arg_str(a, 0))?;
            Ok(Value::from(
                r.replace_all(arg_str(a, 1), arg_str(a, 2)).into_owned(),
            ))
        }),
        ("regexReplaceAllLiteral", s3, |a, compile| {
            let r = compile(arg_str(a, 0))?;
            Ok(Value::from(
                r.replace_all(arg_str(a, 1), NoExpand(arg_str(a, 2)))
                    .into_owned(),
            ))
        }),
        ("regexSplit", s2i, |a, compile| {
            let r = compile(arg_str(a, 0))?;
            Ok(strings(go_split(
                &r,
                arg_str(a, 0),
                arg_str(a, 1),
                arg_int(a, 2),
            )))
        }),
    ];
    for (name, sig, op) in table {
        let op = *op;
        f.register(name, sig.clone(), move |_, args| op(args, must_compile));
        let must = format!("mustR{}", &name[1..]);
        f.register(&must, sig.clone(), move |_, args| op(args, compile));
    }
    f.register("mustRegexMatch", s2, |_, args| {
        Ok(Value::Bool(
            compile(arg_str(args, 0))?.is_match(arg_str(args, 1)),
        ))
    });
    f.register(
        "regexQuoteMeta",
        Signature::fixed(&[Param::String]),
        |_, args| Ok(Value::from(regex::escape(arg_str(args, 0)))),
    );
}

/// Go's `Regexp.Split(s, n)`.
fn go_split<'s>(r: &Regex, expr: &str, s: &'s str, n: i64) -> Vec<&'s str> {
    if n == 0 {
        return Vec::new();
    }
    if !expr.is_empty() && s.is_empty() {
        return vec![""];
    }
    let limit = usize::try_from(n).ok();
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in r.find_iter(s) {
        if limit.is_some_and(|l| out.len() == l - 1) {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(&s[beg..end]);
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(&s[beg..]);
    }
    out
}
