//! Docker's `.dockerignore` rules, ported from moby's `patternmatcher` and
//! `ignorefile` packages (the code `docker build` runs), not from gitignore.
//!
//! What differs from gitignore, and is kept here on purpose:
//! - patterns are anchored at the context root (`foo` is `/foo`, never `a/foo`);
//! - `*` and `?` never cross `/`; `**` matches any number of directories (even none);
//! - a pattern that matches a directory excludes everything under it;
//! - the last matching pattern wins, and `!pattern` re-includes;
//! - an excluded directory is still walked when some `!` pattern starts with it.
//!
//! This module only decides; the walk that applies the decision is in `context.rs`.

use std::fmt;

/// A `.dockerignore` that cannot be used, as Docker would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PatternError {
    pub line: usize,
    pub message: String,
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The cleaned pattern without its `!`, as Docker prints it.
    text: String,
    exclusion: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    Any,
    /// `**` followed by more pattern: `(.*/)?`.
    DirStar,
    /// `**` at the end: `.*`.
    Rest,
    /// `[...]`: a class (may match `/`, as Go's regexp does).
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

impl Pattern {
    /// The pattern as written after cleaning, without `!`.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// Whether the pattern matches `path` (slash-separated, relative, clean).
    pub fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        match_tokens(&self.tokens, &chars)
    }
}

/// The patterns of one `.dockerignore`, in order.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
}

impl Matcher {
    /// Parses `.dockerignore` text as Docker's `ignorefile.ReadAll` and
    /// `patternmatcher.New` do.
    pub fn parse(text: &str) -> Result<Matcher, PatternError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = Vec::new();
        for (index, raw) in text.split('\n').enumerate() {
            // Comments are recognised before trimming, as Docker does.
            if raw.starts_with('#') {
                continue;
            }
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let (invert, rest) = match trimmed.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, trimmed),
            };
            let mut pattern = if rest.is_empty() {
                String::new()
            } else {
                clean(rest)
            };
            if pattern.len() > 1 && pattern.starts_with('/') {
                pattern.remove(0);
            }
            lines.push((index + 1, invert, pattern));
        }
        let mut patterns = Vec::with_capacity(lines.len());
        for (line, invert, pattern) in lines {
            if invert && pattern.is_empty() {
                return Err(PatternError {
                    line,
                    message: "illegal exclusion pattern: \"!\"".to_owned(),
                });
            }
            let tokens = compile(&pattern).map_err(|message| PatternError { line, message })?;
            patterns.push(Pattern {
                text: pattern,
                exclusion: invert,
                tokens,
            });
        }
        Ok(Matcher { patterns })
    }

    /// Docker's build CLI (`TrimBuildFilesFromExcludes`): `.dockerignore` and
    /// the Dockerfile are sent even when a pattern excludes them, by adding
    /// `!` patterns for them at the end.
    pub fn keep_build_files(&mut self, dockerfile: &str) {
        for name in [".dockerignore", dockerfile] {
            if self.excludes(name) {
                let text = clean(name);
                let tokens = compile(&text)
                    .unwrap_or_else(|_| text.chars().map(Token::Literal).collect::<Vec<Token>>());
                self.patterns.push(Pattern {
                    text,
                    exclusion: true,
                    tokens,
                });
            }
        }
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left
    /// out: moby's `MatchesOrParentMatches`. A pattern that matches a parent
    /// directory matches the path; the last matching pattern decides.
    pub fn excludes(&self, path: &str) -> bool {
        // Decoded once per path, the parents being its prefixes up to each
        // `/`: the context walk asks this for every entry, and a `Vec<char>`
        // plus a prefix `String` per pattern and parent showed up as a
        // sixth of a 50k-file context's time (malloc/free in `perf`).
        let chars: Vec<char> = path.chars().collect();
        let parents: Vec<usize> = chars
            .iter()
            .enumerate()
            .filter_map(|(i, c)| (*c == '/').then_some(i))
            .collect();
        let mut matched = false;
        for pattern in &self.patterns {
            // An inclusion cannot change a path already excluded, nor an
            // exclusion one that is not: Docker skips those (same result).
            if pattern.exclusion != matched {
                continue;
            }
            let hit = match_tokens(&pattern.tokens, &chars)
                || parents
                    .iter()
                    .any(|&end| match_tokens(&pattern.tokens, &chars[..end]));
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// For an excluded directory: whether it must still be walked because a
    /// `!` pattern starts with it (Docker's literal prefix test, so
    /// `!**/keep` does not reopen an excluded directory, as in Docker).
    pub fn must_descend(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| format!("{}/", p.text).starts_with(&dir_slash))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exclusion {
            write!(f, "!{}", self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

/// Go's `filepath.Clean` on a `/`-separated path.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Compiles a cleaned pattern into tokens, as moby builds its regexp; the
/// errors are those of Go's `filepath.Match` syntax check.
fn compile(pattern: &str) -> Result<Vec<Token>, String> {
    let bad = || format!("syntax error in pattern `{pattern}`");
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i == chars.len() {
                    Token::Rest
                } else {
                    Token::DirStar
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' => match chars.get(i) {
                Some(&next) => {
                    tokens.push(Token::Literal(next));
                    i += 1;
                }
                None => return Err(bad()),
            },
            '[' => {
                let (token, next) = class(&chars, i).ok_or_else(bad)?;
                tokens.push(token);
                i = next;
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    Ok(tokens)
}

/// Parses a class body starting after `[`; returns the token and the index after `]`.
fn class(chars: &[char], mut i: usize) -> Option<(Token, usize)> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let one = |i: &mut usize| -> Option<char> {
        let c = *chars.get(*i)?;
        *i += 1;
        if c == '\\' {
            let escaped = *chars.get(*i)?;
            *i += 1;
            return Some(escaped);
        }
        Some(c)
    };
    loop {
        match chars.get(i) {
            None => return None,
            Some(']') => {
                return (!items.is_empty()).then_some((Token::Class { negated, items }, i + 1));
            }
            Some(_) => {
                let lo = one(&mut i)?;
                let hi =
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                        i += 1;
                        one(&mut i)?
                    } else {
                        lo
                    };
                if hi < lo {
                    return None;
                }
                items.push((lo, hi));
            }
        }
    }
}

/// Backtracking match of the whole path, equivalent to moby's `^...$` regexp.
fn match_tokens(tokens: &[Token], path: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return path.is_empty();
    };
    match first {
        Token::Literal(c) => path.first() == Some(c) && match_tokens(rest, &path[1..]),
        Token::Any => path.first().is_some_and(|c| *c != '/') && match_tokens(rest, &path[1..]),
        Token::Class { negated, items } => {
            path.first().is_some_and(|c| {
                let inside = items.iter().any(|(lo, hi)| (lo..=hi).contains(&c));
                inside != *negated
            }) && match_tokens(rest, &path[1..])
        }
        Token::Star => {
            let run = path.iter().take_while(|c| **c != '/').count();
            (0..=run).any(|n| match_tokens(rest, &path[n..]))
        }
        // `.*` stops at a newline in Go's regexp; names with newlines are rare
        // enough that Docker's quirk is kept only here.
        Token::Rest => !path.contains(&'\n') && rest.is_empty(),
        Token::DirStar => {
            match_tokens(rest, path)
                || path.iter().enumerate().any(|(n, c)| {
                    *c == '/' && !path[..n].contains(&'\n') && match_tokens(rest, &path[n + 1..])
                })
        }
    }
}

#[cfg(test)]
mod tests;
