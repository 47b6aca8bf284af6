//! Sync rules: which local files go where in the container, and what runs
//! after they land. Written in devloop.toml (`sync = [{ src, dest, reload }]`)
//! or shipped by a pack (`[[sync]]` in pack.toml); compiled here once.
//!
//! A rule's `src` is a glob relative to the app directory (`*` stays within
//! one directory, `**` crosses them). The glob's literal leading directories
//! are replaced by `dest`: `src/**` with dest `/app/src` puts `src/a/b.py` at
//! `/app/src/a/b.py`; `**/*.py` with dest `/app` puts `a/b.py` at `/app/a/b.py`.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

/// One rule as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub src: String,
    pub dest: String,
    #[serde(default)]
    pub reload: Reload,
}

/// What runs in the container after files of a rule were synced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "RawReload", into = "RawReload")]
pub enum Reload {
    /// Nothing: the app (or its framework's reloader) reads the new files.
    #[default]
    None,
    /// Restart the app's process through devloop's supervisor (see
    /// [`super::supervise`]); the container and its files stay.
    Restart,
    /// Run this command in the container.
    Exec(Vec<String>),
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(untagged)]
enum RawReload {
    Word(String),
    Command(Vec<String>),
}

impl TryFrom<RawReload> for Reload {
    type Error = String;

    fn try_from(raw: RawReload) -> Result<Self, Self::Error> {
        match raw {
            RawReload::Word(w) if w == "none" => Ok(Reload::None),
            RawReload::Word(w) if w == "restart" => Ok(Reload::Restart),
            RawReload::Word(w) => Err(format!(
                "reload `{w}` is not \"none\", \"restart\" or a command ([\"...\"])"
            )),
            RawReload::Command(c) if c.is_empty() => Err("reload command is empty".to_owned()),
            RawReload::Command(c) => Ok(Reload::Exec(c)),
        }
    }
}

impl From<Reload> for RawReload {
    fn from(reload: Reload) -> Self {
        match reload {
            Reload::None => RawReload::Word("none".to_owned()),
            Reload::Restart => RawReload::Word("restart".to_owned()),
            Reload::Exec(c) => RawReload::Command(c),
        }
    }
}

impl fmt::Display for Reload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reload::None => f.write_str("none"),
            Reload::Restart => f.write_str("restart"),
            Reload::Exec(c) => write!(f, "exec {}", c.join(" ")),
        }
    }
}

#[derive(Clone)]
struct Rule {
    glob: GlobMatcher,
    /// The glob's literal leading directories, replaced by `dest`.
    prefix: PathBuf,
    dest: PathBuf,
    reload: Reload,
}

/// Compiled rules of one app.
#[derive(Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// Where a file goes and which rule sent it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub container: PathBuf,
    pub rule: usize,
}

impl Rules {
    /// Compiles `specs`; the message names the bad rule.
    pub fn compile(specs: &[RuleSpec]) -> Result<Rules, String> {
        let mut rules = Vec::with_capacity(specs.len());
        for spec in specs {
            let glob = GlobBuilder::new(&spec.src)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("sync src `{}`: {e}", spec.src))?
                .compile_matcher();
            if spec.src.starts_with('/') || spec.src.split('/').any(|c| c == "..") {
                return Err(format!(
                    "sync src `{}` must stay inside the app directory",
                    spec.src
                ));
            }
            let dest = PathBuf::from(&spec.dest);
            if !dest.is_absolute() || dest.components().any(|c| c == Component::ParentDir) {
                return Err(format!(
                    "sync dest `{}` must be an absolute path in the container",
                    spec.dest
                ));
            }
            rules.push(Rule {
                glob,
                prefix: literal_prefix(&spec.src),
                dest,
                reload: spec.reload.clone(),
            });
        }
        Ok(Rules { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The container path of `rel` (relative to the app directory) by the
    /// first rule that matches it.
    pub fn target(&self, rel: &Path) -> Option<Target> {
        self.rules.iter().enumerate().find_map(|(index, rule)| {
            if !rule.glob.is_match(rel) {
                return None;
            }
            let tail = rel.strip_prefix(&rule.prefix).ok()?;
            Some(Target {
                container: rule.dest.join(tail),
                rule: index,
            })
        })
    }

    /// What to run after syncing files of `rules` (indices): each command
    /// once, in rule order, then one restart if any rule asks for it.
    pub fn reloads(&self, rules: &[usize]) -> Vec<Reload> {
        let mut out: Vec<Reload> = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if rules.contains(&index)
                && matches!(rule.reload, Reload::Exec(_))
                && !out.contains(&rule.reload)
            {
                out.push(rule.reload.clone());
            }
        }
        if rules.iter().any(|&i| {
            self.rules
                .get(i)
                .is_some_and(|r| r.reload == Reload::Restart)
        }) {
            out.push(Reload::Restart);
        }
        out
    }

    /// Whether any rule restarts the app (the supervisor is needed).
    pub fn restarts(&self) -> bool {
        self.rules.iter().any(|r| r.reload == Reload::Restart)
    }
}

/// `src/app/**/*.py` gives `src/app`; `main.py` gives nothing (a literal
/// file keeps its name under `dest`).
fn literal_prefix(glob: &str) -> PathBuf {
    let parts: Vec<&str> = glob.split('/').collect();
    let literal = parts
        .iter()
        .take_while(|p| !p.contains(['*', '?', '[', '{']))
        .count();
    // The last part is the file name itself when the whole glob is literal.
    let dirs = literal.min(parts.len().saturating_sub(1));
    parts[..dirs].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(src: &str, dest: &str, reload: Reload) -> RuleSpec {
        RuleSpec {
            src: src.into(),
            dest: dest.into(),
            reload,
        }
    }

    #[test]
    fn files_map_to_container_paths_by_the_first_matching_rule() {
        let rules = Rules::compile(&[
            rule("src/**", "/app/src", Reload::None),
            rule("**/*.py", "/app", Reload::Restart),
            rule(
                "static/*.css",
                "/srv/css",
                Reload::Exec(vec!["touch".into()]),
            ),
            rule("main.js", "/app", Reload::None),
        ])
        .expect("rules");
        let cases = [
            ("src/a/b.py", Some(("/app/src/a/b.py", 0))),
            ("handler.py", Some(("/app/handler.py", 1))),
            ("pkg/mod.py", Some(("/app/pkg/mod.py", 1))),
            ("static/site.css", Some(("/srv/css/site.css", 2))),
            ("static/deep/site.css", None),
            ("main.js", Some(("/app/main.js", 3))),
            ("requirements.txt", None),
        ];
        for (rel, want) in cases {
            let got = rules.target(Path::new(rel));
            let want = want.map(|(c, r)| Target {
                container: c.into(),
                rule: r,
            });
            assert_eq!(got, want, "{rel}");
        }
        assert_eq!(
            rules.reloads(&[0, 1, 2, 2]),
            vec![Reload::Exec(vec!["touch".into()]), Reload::Restart]
        );
        assert!(rules.restarts());
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        for (spec, needle) in [
            (rule("src/[", "/app", Reload::None), "sync src `src/[`"),
            (rule("../x/*", "/app", Reload::None), "inside the app"),
            (rule("*.py", "app", Reload::None), "absolute"),
        ] {
            let err = Rules::compile(&[spec]).err().expect("an error");
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn reload_is_a_word_or_a_command() {
        #[derive(Deserialize)]
        struct One {
            sync: Vec<RuleSpec>,
        }
        let parsed: One = toml::from_str(
            "sync = [{ src = \"a\", dest = \"/a\" }, { src = \"b\", dest = \"/b\", reload = \"restart\" }, { src = \"c\", dest = \"/c\", reload = [\"kill\", \"-HUP\", \"1\"] }]",
        )
        .expect("parses");
        let reloads: Vec<_> = parsed.sync.into_iter().map(|r| r.reload).collect();
        assert_eq!(
            reloads,
            vec![
                Reload::None,
                Reload::Restart,
                Reload::Exec(vec!["kill".into(), "-HUP".into(), "1".into()])
            ]
        );
        assert!(
            toml::from_str::<One>("sync = [{ src = \"a\", dest = \"/a\", reload = \"bounce\" }]")
                .is_err()
        );
    }
}
