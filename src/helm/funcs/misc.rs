//! Paths, URLs, DNS and small Sprig leftovers: `base`/`dir`/`clean`/`ext`/
//! `isAbs` (and the `os*` forms, the same on Unix), `urlParse`/`urlJoin`,
//! `getHostByName`, `seq`, `tuple`, `trimall`.

use std::collections::BTreeMap;

use super::{arg_str, to_int64};
use crate::helm::template::{FuncError, Funcs, Param, Signature, Value};

type StrFn = fn(&str) -> Value;

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    let paths: &[(&str, StrFn)] = &[
        ("base", |p| Value::from(base(p))),
        ("dir", |p| Value::from(dir(p))),
        ("clean", |p| Value::from(clean(p))),
        ("ext", |p| Value::from(ext(p))),
        ("isAbs", |p| Value::Bool(p.starts_with('/'))),
    ];
    for (name, op) in paths {
        let op = *op;
        for n in [
            name.to_string(),
            format!("os{}{}", name[..1].to_uppercase(), &name[1..]),
        ] {
            f.register(&n, Signature::fixed(&[Param::String]), move |_, args| {
                Ok(op(arg_str(args, 0)))
            });
        }
    }
    f.register("hello", Signature::fixed(&[]), |_, _| {
        Ok(Value::from("Hello!"))
    });
    // Sprig's `toDecimal`: an octal number (as text) in decimal; 0 if not one.
    f.register("toDecimal", Signature::fixed(&[Param::Any]), |_, args| {
        let text = crate::helm::template::fmt::display(&args[0]);
        Ok(Value::Int64(i64::from_str_radix(&text, 8).unwrap_or(0)))
    });
    f.register("tuple", Signature::variadic(&[], Param::Any), |_, args| {
        Ok(Value::list(args.to_vec()))
    });
    f.register(
        "trimall",
        Signature::fixed(&[Param::String, Param::String]),
        |_, args| {
            let cut = arg_str(args, 0);
            Ok(Value::from(
                arg_str(args, 1).trim_matches(|c| cut.contains(c)),
            ))
        },
    );
    f.register("seq", Signature::variadic(&[], Param::Int), |_, args| {
        let p: Vec<i64> = args.iter().map(to_int64).collect();
        let (start, end, step) = match p.as_slice() {
            [end] => (1, *end, if *end < 1 { -1 } else { 1 }),
            [start, end] => (*start, *end, if end < start { -1 } else { 1 }),
            [start, step, end] => {
                if end < start && *step > 0 {
                    return Ok(Value::from(""));
                }
                (*start, *end, *step)
            }
            _ => return Ok(Value::from("")),
        };
        let inc = if end < start { -1 } else { 1 };
        let mut out = Vec::new();
        let mut i = start;
        let limit = end + inc;
        if limit < start {
            while step < 0 && i > limit {
                out.push(i.to_string());
                i += step;
            }
        } else {
            while step > 0 && i < limit {
                out.push(i.to_string());
                i += step;
            }
        }
        Ok(Value::from(out.join(" ")))
    });
    f.register("urlParse", Signature::fixed(&[Param::String]), |_, args| {
        let u = parse_url(arg_str(args, 0))
            .map_err(|e| FuncError::new(format!("unable to parse url: {e}")))?;
        let hostname = hostname(&u.host);
        let m: BTreeMap<String, Value> = [
            ("scheme", u.scheme),
            ("host", u.host),
            ("hostname", hostname),
            ("path", u.path),
            ("query", u.query),
            ("opaque", u.opaque),
            ("fragment", u.fragment),
            ("userinfo", u.userinfo),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
        Ok(Value::map(m))
    });
    f.register("urlJoin", Signature::fixed(&[Param::Map]), |_, args| {
        let get = |k: &str| match &args[0] {
            Value::Map(m) => m
                .borrow()
                .get(k)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let u = Url {
            scheme: get("scheme"),
            host: get("host"),
            path: get("path"),
            query: get("query"),
            opaque: get("opaque"),
            fragment: get("fragment"),
            userinfo: get("userinfo"),
        };
        Ok(Value::from(u.to_string()))
    });
    f.register(
        "getHostByName",
        Signature::fixed(&[Param::String]),
        |_, args| {
            use std::net::ToSocketAddrs as _;
            let name = arg_str(args, 0);
            match (name, 0).to_socket_addrs() {
                Ok(mut addrs) => addrs
                    .next()
                    .map(|a| Value::from(a.ip().to_string()))
                    .ok_or_else(|| FuncError::new(format!("lookup {name}: no such host"))),
                Err(e) => Err(FuncError::new(format!("lookup {name}: {e}"))),
            }
        },
    );
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".to_owned();
    }
    t.rsplit('/').next().unwrap_or(t).to_owned()
}

fn dir(p: &str) -> String {
    let d = p.rfind('/').map_or("", |i| &p[..=i]);
    clean(d)
}

fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_owned();
        }
    }
    String::new()
}

struct Url {
    scheme: String,
    host: String,
    path: String,
    query: String,
    opaque: String,
    fragment: String,
    userinfo: String,
}

fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    host.split(':').next().unwrap_or_default().to_owned()
}

/// Go's `url.Parse` for the shapes charts use (no percent-decoding
/// beyond what the parts need).
#[allow(clippy::assigning_clones)]
fn parse_url(raw: &str) -> Result<Url, String> {
    let (rest, fragment) = raw.split_once('#').unwrap_or((raw, ""));
    let mut u = Url {
        scheme: String::new(),
        host: String::new(),
        path: String::new(),
        query: String::new(),
        opaque: String::new(),
        fragment: fragment.to_owned(),
        userinfo: String::new(),
    };
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let s = &rest[..i];
        let valid = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if i == 0 {
            return Err(format!(
                "parse {}: missing protocol scheme",
                super::fmt::quote(raw, false)
            ));
        }
        if valid {
            u.scheme = s.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.query = q.to_owned();
        rest = r;
    }
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_owned();
        return Ok(u);
    }
    if let Some(auth_rest) = rest.strip_prefix("//") {
        let end = auth_rest.find('/').unwrap_or(auth_rest.len());
        let authority = &auth_rest[..end];
        if let Some(at) = authority.rfind('@') {
            u.userinfo = authority[..at].to_owned();
            u.host = authority[at + 1..].to_owned();
        } else {
            u.host = authority.to_owned();
        }
        rest = &auth_rest[end..];
    }
    u.path = rest.to_owned();
    Ok(u)
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = String::new();
        if self.opaque.is_empty() {
            if !self.scheme.is_empty() {
                buf.push_str(&self.scheme);
                buf.push(':');
            }
            if !self.scheme.is_empty() || !self.host.is_empty() || !self.userinfo.is_empty() {
                if !self.host.is_empty() || !self.path.is_empty() || !self.userinfo.is_empty() {
                    buf.push_str("//");
                }
                if !self.userinfo.is_empty() {
                    buf.push_str(&self.userinfo);
                    buf.push('@');
                }
                buf.push_str(&self.host);
            }
            if !self.path.is_empty() && !self.path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            buf.push_str(&self.path);
        } else {
            buf.push_str(&self.scheme);
            buf.push(':');
            buf.push_str(&self.opaque);
        }
        if !self.query.is_empty() {
            buf.push('?');
            buf.push_str(&self.query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&self.fragment);
        }
        f.write_str(&buf)
    }
}
