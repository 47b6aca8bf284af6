//! String functions: trimming, case, `trunc`/`substr`, `quote`/`squote`,
//! `cat`, `indent`/`nindent`, `replace`, `contains`/`hasPrefix`/`hasSuffix`,
//! `split`/`splitList`/`splitn`/`join`, `sortAlpha`, `toString`, case
//! conversions (`snakecase`, `camelcase`, `kebabcase`).

use std::collections::BTreeMap;

use super::{arg_int, arg_str, strslice, strval};
use crate::helm::template::{FuncError, Funcs, Param, Signature, Value, fmt};

type StrFn = fn(&str) -> String;
type Str2Fn = fn(&str, &str) -> Value;

#[allow(clippy::too_many_lines)] // one registration table
pub(super) fn register(f: &mut Funcs) {
    let one: &[(&str, StrFn)] = &[
        ("trim", |s| s.trim().to_owned()),
        ("upper", str::to_uppercase),
        ("lower", str::to_lowercase),
        ("title", title),
        ("untitle", untitle),
        ("nospace", |s| {
            s.chars().filter(|c| !c.is_whitespace()).collect()
        }),
        ("initials", |s| {
            s.split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect()
        }),
        ("snakecase", |s| words_joined(s, '_')),
        ("kebabcase", |s| words_joined(s, '-')),
        ("camelcase", camelcase),
        ("swapcase", |s| {
            s.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<String>()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect()
        }),
    ];
    for (name, op) in one {
        let op = *op;
        f.register(name, Signature::fixed(&[Param::String]), move |_, args| {
            Ok(Value::from(op(arg_str(args, 0))))
        });
    }
    let two: &[(&str, Str2Fn)] = &[
        ("trimAll", |cut, s| {
            Value::from(s.trim_matches(|c| cut.contains(c)))
        }),
        ("trimPrefix", |p, s| {
            Value::from(s.strip_prefix(p).unwrap_or(s))
        }),
        ("trimSuffix", |p, s| {
            Value::from(s.strip_suffix(p).unwrap_or(s))
        }),
        ("contains", |sub, s| Value::Bool(s.contains(sub))),
        ("hasPrefix", |p, s| Value::Bool(s.starts_with(p))),
        ("hasSuffix", |p, s| Value::Bool(s.ends_with(p))),
        ("splitList", |sep, s| {
            Value::list(go_split(s, sep, -1).into_iter().map(Value::from).collect())
        }),
        ("split", |sep, s| {
            Value::map(
                go_split(s, sep, -1)
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (format!("_{i}"), Value::from(p)))
                    .collect(),
            )
        }),
    ];
    for (name, op) in two {
        let op = *op;
        f.register(
            name,
            Signature::fixed(&[Param::String, Param::String]),
            move |_, args| Ok(op(arg_str(args, 0), arg_str(args, 1))),
        );
    }
    f.register(
        "splitn",
        Signature::fixed(&[Param::String, Param::Int, Param::String]),
        |_, args| {
            let parts = go_split(arg_str(args, 2), arg_str(args, 0), arg_int(args, 1));
            Ok(Value::map(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (format!("_{i}"), Value::from(p)))
                    .collect::<BTreeMap<_, _>>(),
            ))
        },
    );
    f.register(
        "replace",
        Signature::fixed(&[Param::String, Param::String, Param::String]),
        |_, args| {
            Ok(Value::from(go_replace(
                arg_str(args, 2),
                arg_str(args, 0),
                arg_str(args, 1),
            )))
        },
    );
    f.register(
        "trunc",
        Signature::fixed(&[Param::Int, Param::String]),
        |_, args| {
            let (c, s) = (arg_int(args, 0), arg_str(args, 1).as_bytes());
            let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
            let out = if c < 0 && len + c > 0 {
                &s[usize::try_from(len + c).unwrap_or(0)..]
            } else if c >= 0 && len > c {
                &s[..usize::try_from(c).unwrap_or(0)]
            } else {
                s
            };
            Ok(Value::from(String::from_utf8_lossy(out).into_owned()))
        },
    );
    f.register(
        "substr",
        Signature::fixed(&[Param::Int, Param::Int, Param::String]),
        |_, args| {
            let (start, end, s) = (arg_int(args, 0), arg_int(args, 1), arg_str(args, 2));
            let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
            let (a, b) = if start < 0 {
                (0, end)
            } else if end < 0 || end > len {
                (start, len)
            } else {
                (start, end)
            };
            if a < 0 || b < a || b > len {
                return Err(FuncError::new(format!(
                    "runtime error: slice bounds out of range [{a}:{b}]"
                )));
            }
            let bytes =
                &s.as_bytes()[usize::try_from(a).unwrap_or(0)..usize::try_from(b).unwrap_or(0)];
            Ok(Value::from(String::from_utf8_lossy(bytes).into_owned()))
        },
    );
    f.register(
        "repeat",
        Signature::fixed(&[Param::Int, Param::String]),
        |_, args| {
            let n = usize::try_from(arg_int(args, 0))
                .map_err(|_| FuncError::new("strings: negative Repeat count"))?;
            Ok(Value::from(arg_str(args, 1).repeat(n)))
        },
    );
    f.register(
        "indent",
        Signature::fixed(&[Param::Int, Param::String]),
        |_, args| indent(args).map(Value::from),
    );
    f.register(
        "nindent",
        Signature::fixed(&[Param::Int, Param::String]),
        |_, args| indent(args).map(|s| Value::from(format!("\n{s}"))),
    );
    f.register(
        "abbrev",
        Signature::fixed(&[Param::Int, Param::String]),
        |_, args| {
            let (w, s) = (arg_int(args, 0), arg_str(args, 1));
            let w = usize::try_from(w).unwrap_or(0);
            if w < 4 || s.len() <= w {
                return Ok(Value::from(s));
            }
            let head = String::from_utf8_lossy(&s.as_bytes()[..w - 3]).into_owned();
            Ok(Value::from(format!("{head}...")))
        },
    );
    f.register(
        "wrap",
        Signature::fixed(&[Param::Int, Param::String]),
        |_, args| {
            Ok(Value::from(wrap(
                arg_str(args, 1),
                arg_int(args, 0),
                "\n",
                false,
            )))
        },
    );
    f.register(
        "wrapWith",
        Signature::fixed(&[Param::Int, Param::String, Param::String]),
        |_, args| {
            Ok(Value::from(wrap(
                arg_str(args, 2),
                arg_int(args, 0),
                arg_str(args, 1),
                true,
            )))
        },
    );
    f.register(
        "abbrevboth",
        Signature::fixed(&[Param::Int, Param::Int, Param::String]),
        |_, args| {
            let (left, right, s) = (arg_int(args, 0), arg_int(args, 1), arg_str(args, 2));
            if right < 4 || left > 0 && right < 7 {
                return Ok(Value::from(s));
            }
            Ok(Value::from(abbreviate_full(s, left, right)))
        },
    );
    f.register(
        "plural",
        Signature::fixed(&[Param::String, Param::String, Param::Int]),
        |_, args| {
            Ok(Value::from(if arg_int(args, 2) == 1 {
                arg_str(args, 0)
            } else {
                arg_str(args, 1)
            }))
        },
    );
    f.register("quote", Signature::variadic(&[], Param::Any), |_, args| {
        let parts: Vec<String> = args
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| fmt::quote(&strval(v), false))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.register("squote", Signature::variadic(&[], Param::Any), |_, args| {
        let parts: Vec<String> = args
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.register("cat", Signature::variadic(&[], Param::Any), |_, args| {
        let parts: Vec<String> = args
            .iter()
            .filter(|v| !v.is_nil())
            .map(fmt::display)
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.register("toString", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::from(strval(&args[0])))
    });
    f.register("toStrings", Signature::fixed(&[Param::Any]), |_, args| {
        Ok(Value::list(
            strslice(&args[0]).into_iter().map(Value::from).collect(),
        ))
    });
    f.register(
        "join",
        Signature::fixed(&[Param::String, Param::Any]),
        |_, args| Ok(Value::from(strslice(&args[1]).join(arg_str(args, 0)))),
    );
    f.register("sortAlpha", Signature::fixed(&[Param::Any]), |_, args| {
        let mut items = match &args[0] {
            Value::List(_) => strslice(&args[0]),
            v => vec![strval(v)],
        };
        items.sort();
        Ok(Value::list(items.into_iter().map(Value::from).collect()))
    });
}

fn indent(args: &[Value]) -> Result<String, FuncError> {
    let n = usize::try_from(arg_int(args, 0))
        .map_err(|_| FuncError::new("strings: negative Repeat count"))?;
    let pad = " ".repeat(n);
    Ok(format!(
        "{pad}{}",
        arg_str(args, 1).replace('\n', &format!("\n{pad}"))
    ))
}

/// Go's `strings.Replace(s, old, new, -1)` (an empty `old` matches between
/// every rune).
fn go_replace(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

/// Go's `strings.SplitN(s, sep, n)` (`n < 0`: all; an empty `sep` splits
/// into runes).
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        let limit = usize::try_from(n).unwrap_or(usize::MAX);
        if chars.len() <= limit {
            return chars;
        }
        let mut out = chars[..limit - 1].to_vec();
        out.push(chars[limit - 1..].concat());
        return out;
    }
    match usize::try_from(n) {
        Ok(limit) => s.splitn(limit, sep).map(str::to_owned).collect(),
        Err(_) => s.split(sep).map(str::to_owned).collect(),
    }
}

/// Go's `strings.Title`: upper-cases each letter after a separator.
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let sep = if prev.is_ascii() {
                !(prev.is_ascii_alphanumeric() || prev == '_')
            } else {
                !prev.is_alphanumeric() && prev.is_whitespace()
            };
            prev = c;
            if sep {
                c.to_uppercase().collect::<String>()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// goutils' `Uncapitalize`: lower-cases the first letter of each word.
fn untitle(s: &str) -> String {
    let mut after_space = true;
    s.chars()
        .map(|c| {
            let out = if after_space {
                c.to_lowercase().collect::<String>()
            } else {
                c.to_string()
            };
            after_space = c.is_whitespace();
            out
        })
        .collect()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings' `ToCamelCase`: connectors (`-`, `_`, spaces) removed and the
/// letter after each upper-cased.
fn camelcase(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(c.to_uppercase().next().unwrap_or(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else { return out };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// Words of a camel-case or separated string, lower-cased and joined
/// (xstrings' `ToSnakeCase`/`ToKebabCase` for the common shapes).
fn words_joined(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words.join(&connector.to_string())
}

/// goutils' `WrapCustom` (byte offsets, as Go's).
fn wrap(s: &str, width: i64, newline: &str, long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = usize::try_from(width.max(1)).unwrap_or(1);
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(len);
        if let Some(i) = b[offset..end].iter().rposition(|&c| c == b' ') {
            out.extend_from_slice(&b[offset..offset + i]);
            out.extend_from_slice(newline.as_bytes());
            offset += i + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// goutils' `AbbreviateFull` (errors read as "").
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> String {
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    let cut = |a: i64, b: i64| {
        let (a, b) = (
            usize::try_from(a).unwrap_or(0),
            usize::try_from(b).unwrap_or(0),
        );
        String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned()
    };
    if s.is_empty() || max_width < 4 {
        return String::new();
    }
    if len <= max_width {
        return s.to_owned();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return format!("{}...", cut(0, max_width - 3));
    }
    if max_width < 7 {
        return String::new();
    }
    if offset + max_width - 3 < len {
        let rest = cut(offset, len);
        return format!("...{}", abbreviate_full(&rest, 0, max_width - 3));
    }
    format!("...{}", cut(len - (max_width - 3), len))
}
