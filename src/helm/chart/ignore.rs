//! `.helmignore`: Helm's own rules (`pkg/ignore`), which are not gitignore's.
//! A pattern without `/` matches the base name, one with `/` the whole path
//! (Go's `filepath.Match`), a leading `/` anchors at the chart root, a
//! trailing `/` only matches directories, `**` is refused. A `!` rule is
//! Helm's odd negation: a path it does *not* match is ignored. Helm always
//! adds `templates/.?*` (dotfiles in templates).

use super::ChartError;

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    kind: MatchKind,
}

#[derive(Debug, Clone, Copy)]
enum MatchKind {
    Anchored,
    Path,
    Base,
}

/// The rules of one `.helmignore` plus Helm's default.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses a `.helmignore` (absent: empty text) and adds Helm's default.
    pub fn parse(text: &str) -> Result<Rules, ChartError> {
        let mut rules = Rules::default();
        for line in text.lines() {
            rules.add(line)?;
        }
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    fn add(&mut self, line: &str) -> Result<(), ChartError> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(ChartError::Invalid(
                "double-star (**) syntax is not supported".to_owned(),
            ));
        }
        if glob_match(rule, "abc").is_none() {
            return Err(ChartError::Invalid("syntax error in pattern".to_owned()));
        }
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        let rule = rule.trim_end_matches('/');
        let (pattern, kind) = if let Some(r) = rule.strip_prefix('/') {
            (r, MatchKind::Anchored)
        } else if rule.contains('/') {
            (rule, MatchKind::Path)
        } else {
            (rule, MatchKind::Base)
        };
        self.rules.push(Rule {
            pattern: pattern.to_owned(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (slash-separated, relative to the chart root) is ignored.
    pub fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            let target = match rule.kind {
                MatchKind::Anchored | MatchKind::Path => path,
                MatchKind::Base => path.rsplit('/').next().unwrap_or(path),
            };
            let matched = glob_match(&rule.pattern, target).unwrap_or(false);
            if rule.negate {
                if (rule.must_dir && !is_dir) || !matched {
                    return true;
                }
                continue;
            }
            if rule.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Match` (Unix): `*`, `?`, `[...]`, `\` escapes; `None` for a
/// malformed pattern.
pub fn glob_match(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    let Some((&c, rest)) = p.split_first() else {
        return Some(n.is_empty());
    };
    match c {
        '*' => {
            // Check the rest of the pattern is well formed even if unmatched.
            for i in 0..=n.len() {
                if i > 0 && n[i - 1] == '/' {
                    break;
                }
                if match_from(rest, &n[i..])? {
                    return Some(true);
                }
            }
            match_from(rest, &[]).map(|_| false)
        }
        '?' => match n.split_first() {
            Some((&h, tail)) if h != '/' => match_from(rest, tail),
            _ => match_from(rest, &[]).map(|_| false),
        },
        '[' => {
            let (ok, consumed) = class(rest, n.first().copied())?;
            match n.split_first() {
                Some((_, tail)) if ok => match_from(&rest[consumed..], tail),
                _ => match_from(&rest[consumed..], &[]).map(|_| false),
            }
        }
        '\\' => {
            let (&lit, rest) = rest.split_first()?;
            match n.split_first() {
                Some((&h, tail)) if h == lit => match_from(rest, tail),
                _ => match_from(rest, &[]).map(|_| false),
            }
        }
        lit => match n.split_first() {
            Some((&h, tail)) if h == lit => match_from(rest, tail),
            _ => match_from(rest, &[]).map(|_| false),
        },
    }
}

/// A `[...]` class after the `[`: (matches `c`, chars consumed incl. `]`).
fn class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = p.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            i += 1;
            hi = if p[i] == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                p[i]
            };
            i += 1;
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    let ok = c.is_some_and(|c| c != '/') && matched != negate;
    Some((ok, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_ignore_rules() {
        let rules = Rules::parse("# c\n*.bak\n/secret.txt\ndocs/\nsub/*.md\n").expect("parses");
        let cases = [
            ("a.bak", false, true),
            ("templates/x.bak", false, true),
            ("secret.txt", false, true),
            ("x/secret.txt", false, false),
            ("docs", true, true),
            ("docs", false, false),
            ("sub/a.md", false, true),
            ("other/sub/a.md", false, false),
            ("templates/.hidden", false, true),
            ("templates/x.yaml", false, false),
        ];
        for (path, dir, want) in cases {
            assert_eq!(rules.ignored(path, dir), want, "{path}");
        }
        assert!(Rules::parse("a/**/b").is_err());
    }

    #[test]
    fn go_filepath_match() {
        assert_eq!(glob_match("*.y?ml", "a.yaml"), Some(true));
        assert_eq!(glob_match("*", "a/b"), Some(false));
        assert_eq!(glob_match("[a-c]x", "bx"), Some(true));
        assert_eq!(glob_match("[^a-c]x", "bx"), Some(false));
        assert_eq!(glob_match("[", "a"), None);
    }
}
