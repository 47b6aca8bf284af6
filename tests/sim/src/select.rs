//! Label and field selectors, as list and watch filter by them.

use serde_json::Value;

#[derive(Debug, Clone)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label or field selector (all requirements must hold).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    reqs: Vec<Req>,
    field: bool,
}

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set_values(rest: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised set, found {rest:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect())
}

impl Selector {
    pub fn parse_labels(s: &str) -> Result<Selector, String> {
        Self::parse(s, false)
    }

    pub fn parse_fields(s: &str) -> Result<Selector, String> {
        Self::parse(s, true)
    }

    fn parse(s: &str, field: bool) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some((k, v)) = part.split_once("!=") {
                Req::NotEq(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("==") {
                Req::Eq(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once('=') {
                Req::Eq(k.trim().to_owned(), v.trim().to_owned())
            } else if field {
                return Err(format!("invalid field selector: {part:?}"));
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Req::NotIn(k.trim().to_owned(), set_values(rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Req::In(k.trim().to_owned(), set_values(rest)?)
            } else if let Some(k) = part.strip_prefix('!') {
                Req::NotExists(k.trim().to_owned())
            } else if part.contains(char::is_whitespace) || part.contains('(') {
                return Err(format!("unable to parse requirement: {part:?}"));
            } else {
                Req::Exists(part.to_owned())
            };
            reqs.push(req);
        }
        Ok(Selector { reqs, field })
    }

    fn lookup(&self, obj: &Value, key: &str) -> Option<String> {
        let v = if self.field {
            let mut cur = obj;
            for seg in key.split('.') {
                cur = cur.get(seg)?;
            }
            cur
        } else {
            obj.get("metadata")?.get("labels")?.get(key)?
        };
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.reqs.iter().all(|r| match r {
            Req::Eq(k, v) => {
                // Field selectors compare absent fields as "".
                self.lookup(obj, k)
                    .or_else(|| self.field.then(String::new))
                    .as_deref()
                    == Some(v.as_str())
            }
            Req::NotEq(k, v) => {
                self.lookup(obj, k)
                    .or_else(|| self.field.then(String::new))
                    .as_deref()
                    != Some(v.as_str())
            }
            Req::In(k, vs) => self.lookup(obj, k).is_some_and(|x| vs.contains(&x)),
            Req::NotIn(k, vs) => self.lookup(obj, k).is_none_or(|x| !vs.contains(&x)),
            Req::Exists(k) => self.lookup(obj, k).is_some(),
            Req::NotExists(k) => self.lookup(obj, k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match_like_the_api_server() {
        let obj = json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "web", "tier": "fe"}}});
        let yes = [
            "app=web",
            "app==web",
            "app!=db",
            "app in (web, db)",
            "env notin (prod)",
            "app",
            "!env",
            "app=web,tier=fe",
            "",
        ];
        for s in yes {
            assert!(Selector::parse_labels(s).expect(s).matches(&obj), "{s}");
        }
        for s in [
            "app=db",
            "app notin (web)",
            "env",
            "!app",
            "app=web,tier=be",
        ] {
            assert!(!Selector::parse_labels(s).expect(s).matches(&obj), "{s}");
        }
        let f = Selector::parse_fields("metadata.name=a,metadata.namespace!=x").expect("fields");
        assert!(f.matches(&obj));
        assert!(
            !Selector::parse_fields("metadata.name=b")
                .expect("f")
                .matches(&obj)
        );
        assert!(Selector::parse_fields("nonsense").is_err());
    }
}
