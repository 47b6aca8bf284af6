//! Masterminds semver v3 as Sprig uses it: `semver` (a version object with
//! `Major`, `Minor`, `Patch`, `Prerelease`, `Metadata`, `Original`) and
//! `semverCompare` (constraints with `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`,
//! `^`, wildcards, hyphen ranges, `,`/space for and, `||` for or; a version
//! with a pre-release only matches a constraint that has one).

use std::cmp::Ordering;
use std::rc::Rc;

use super::arg_str;
use crate::helm::template::{CallContext, FuncError, Funcs, Object, Param, Signature, Value};

#[derive(Clone, Debug, Default)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
        let original = s.to_owned();
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, meta) = s.split_once('+').unwrap_or((s, ""));
        let (core, pre) = s.split_once('-').unwrap_or((s, ""));
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let num = |p: &str| -> Option<u64> {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        };
        let ident_ok = |x: &str| {
            x.is_empty()
                || x.split('.').all(|i| {
                    !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        };
        if !ident_ok(pre) || !ident_ok(meta) {
            return None;
        }
        Some(Version {
            major: num(parts[0])?,
            minor: parts.get(1).map_or(Some(0), |p| num(p))?,
            patch: parts.get(2).map_or(Some(0), |p| num(p))?,
            pre: pre.to_owned(),
            meta: meta.to_owned(),
            original,
        })
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }

    fn cmp(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (ap, bp): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in ap.iter().zip(bp.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ap.len().cmp(&bp.len())
}

/// One `op version` term; `dirty` is the first wildcard position (1 major,
/// 2 minor, 3 patch, 0 none).
struct Term {
    op: String,
    v: Version,
    dirty: u8,
}

fn is_x(p: &str) -> bool {
    matches!(p, "x" | "X" | "*")
}

fn parse_term(t: &str) -> Option<Term> {
    let op_end = t.find(|c: char| !"=!<>~^".contains(c)).unwrap_or(t.len());
    let (op, ver) = (&t[..op_end], t[op_end..].trim());
    if !matches!(
        op,
        "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
    ) {
        return None;
    }
    let ver = ver.strip_prefix('v').unwrap_or(ver);
    let (core, rest) = match ver.find(['-', '+']) {
        Some(i) => (&ver[..i], &ver[i..]),
        None => (ver, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    // A wildcard or a missing minor/patch makes the term "dirty" there.
    let dirty = parts
        .iter()
        .position(|p| is_x(p))
        .or((parts.len() < 3).then_some(parts.len()))
        .map_or(0, |i| u8::try_from(i + 1).unwrap_or(3));
    let fixed: Vec<&str> = parts
        .iter()
        .map(|p| if is_x(p) { "0" } else { p })
        .collect();
    let v = Version::parse(&format!("{}{rest}", fixed.join(".")))?;
    let op = match op {
        "=>" => ">=",
        "=<" => "<=",
        "~>" => "~",
        "=" => "",
        o => o,
    };
    Some(Term {
        op: op.to_owned(),
        v,
        dirty,
    })
}

impl Term {
    fn check(&self, v: &Version) -> bool {
        let c = &self.v;
        if !v.pre.is_empty() && c.pre.is_empty() && self.op != "!=" {
            return false;
        }
        let ord = v.cmp(c);
        match self.op.as_str() {
            "" => match self.dirty {
                0 => ord == Ordering::Equal,
                _ => self.tilde(v),
            },
            "!=" => match self.dirty {
                0 => ord != Ordering::Equal,
                _ => !self.tilde(v),
            },
            ">" => match self.dirty {
                1 => false,
                2 => v.major > c.major,
                3 => v.major > c.major || (v.major == c.major && v.minor > c.minor),
                _ => ord == Ordering::Greater,
            },
            "<" => ord == Ordering::Less,
            ">=" => ord != Ordering::Less,
            "<=" => match self.dirty {
                1 => true,
                2 => v.major <= c.major,
                3 => v.major < c.major || (v.major == c.major && v.minor <= c.minor),
                _ => ord != Ordering::Greater,
            },
            "~" => self.tilde(v),
            "^" => {
                if ord == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.dirty == 2 {
                    v.major == c.major
                } else if c.minor > 0 || self.dirty == 3 {
                    v.major == 0 && v.minor == c.minor
                } else {
                    v.major == 0 && v.minor == 0 && v.patch == c.patch
                }
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.v;
        if v.cmp(c) == Ordering::Less {
            return false;
        }
        if self.dirty == 1 {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.dirty == 2
    }
}

/// A constraint: or-groups of and-terms.
fn parse_constraint(s: &str) -> Option<Vec<Vec<Term>>> {
    let mut groups = Vec::new();
    for group in s.split("||") {
        let mut tokens: Vec<String> = Vec::new();
        for tok in group.replace(',', " ").split_whitespace() {
            match tokens.last_mut() {
                Some(last) if last.chars().all(|c| "=!<>~^".contains(c)) => last.push_str(tok),
                _ => tokens.push(tok.to_owned()),
            }
        }
        let mut terms = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if tokens.get(i + 1).is_some_and(|t| t == "-") && i + 2 < tokens.len() {
                terms.push(parse_term(&format!(">={}", tokens[i]))?);
                terms.push(parse_term(&format!("<={}", tokens[i + 2]))?);
                i += 3;
                continue;
            }
            terms.push(parse_term(&tokens[i])?);
            i += 1;
        }
        if terms.is_empty() {
            return None;
        }
        groups.push(terms);
    }
    Some(groups)
}

#[derive(Debug)]
struct SemverValue(Version);

impl Object for SemverValue {
    fn type_name(&self) -> &'static str {
        "*semver.Version"
    }

    fn method(&self, name: &str) -> Option<Signature> {
        matches!(
            name,
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
        )
        .then(|| Signature::fixed(&[]))
    }

    fn call_method(
        &self,
        name: &str,
        _ctx: &mut CallContext<'_, '_>,
        _args: &[Value],
    ) -> Result<Value, FuncError> {
        let v = &self.0;
        let int = |n: u64| Value::Int64(i64::try_from(n).unwrap_or(i64::MAX));
        Ok(match name {
            "Major" => int(v.major),
            "Minor" => int(v.minor),
            "Patch" => int(v.patch),
            "Prerelease" => Value::from(v.pre.as_str()),
            "Metadata" => Value::from(v.meta.as_str()),
            "Original" => Value::from(v.original.as_str()),
            _ => Value::from(v.string()),
        })
    }

    fn display(&self) -> String {
        self.0.string()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.0.string())
    }
}

pub(super) fn register(f: &mut Funcs) {
    f.register(
        "semverCompare",
        Signature::fixed(&[Param::String, Param::String]),
        |_, args| {
            let c = arg_str(args, 0);
            let groups = parse_constraint(c)
                .ok_or_else(|| FuncError::new(format!("improper constraint: {c}")))?;
            let v = Version::parse(arg_str(args, 1))
                .ok_or_else(|| FuncError::new("invalid semantic version"))?;
            Ok(Value::Bool(
                groups.iter().any(|g| g.iter().all(|t| t.check(&v))),
            ))
        },
    );
    f.register("semver", Signature::fixed(&[Param::String]), |_, args| {
        let v = Version::parse(arg_str(args, 0))
            .ok_or_else(|| FuncError::new("invalid semantic version"))?;
        Ok(Value::Object(Rc::new(SemverValue(v))))
    });
}

/// Masterminds' `Constraints.Check` as Helm's `IsCompatibleRange` uses it:
/// false when either side does not parse.
pub(crate) fn constraint_matches(constraint: &str, version: &str) -> bool {
    let (Some(groups), Some(v)) = (parse_constraint(constraint), Version::parse(version)) else {
        return false;
    };
    groups.iter().any(|g| g.iter().all(|t| t.check(&v)))
}
