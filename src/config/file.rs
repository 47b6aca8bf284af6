//! The `devloop.toml` schema as written by the user, and its parsing.
//!
//! This module only knows the file: which keys exist, their types and where
//! each one was written (line and column, for errors and `devloop config`).
//! Defaults, environment variables and flags are applied in `resolve.rs`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::ConfigError;

/// The file name devloop looks for, in the working directory and its parents.
pub const FILE_NAME: &str = "devloop.toml";

/// One table of the file. The top level is a `Table`; in a one-app repo it
/// describes the app, in a many-app repo each app is an `[[app]]` table and
/// the top level holds only the keys shared by all apps (`registry`,
/// `namespace`, `keep_images`, `history_max`, `allowed_contexts`). Which key may stand where is checked in
/// `resolve.rs`, with the key's line and column.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Release and app name; default: the app directory's name, sanitised.
    pub name: Option<Spanned<String>>,
    /// App directory, relative to devloop.toml; default: devloop.toml's directory.
    pub path: Option<Spanned<String>>,
    /// Image repository (no registry, no tag); default: the app name.
    pub image: Option<Spanned<String>>,
    /// Registry to push to (`host[:port][/path]`); default: none.
    pub registry: Option<Spanned<String>>,
    /// Kubernetes namespace; default: `<app>-dev`.
    pub namespace: Option<Spanned<String>>,
    /// Local devloop images kept per app; older ones are removed. Default: 5.
    pub keep_images: Option<Spanned<i64>>,
    /// Release revisions kept (Helm's `--history-max`); 0 keeps all. Default: 10.
    pub history_max: Option<Spanned<i64>>,
    /// Secrets the cluster pulls the image with (`imagePullSecrets`); default: none.
    pub image_pull_secrets: Option<Spanned<Vec<String>>>,
    /// Helm chart directory, relative to the app; default: `chart`.
    pub chart: Option<Spanned<String>>,
    /// Extra values files, relative to the app, applied after the chart's values.yaml.
    pub values: Option<Spanned<Vec<String>>>,
    /// App ports to forward: `8080` or `"18080:8080"` (local:remote).
    pub ports: Option<Spanned<Vec<PortSpec>>>,
    /// Debugger settings.
    pub debug: Option<Spanned<DebugTable>>,
    /// Live-sync rules for `devloop up`; default: the app's pack's.
    pub sync: Option<Spanned<Vec<crate::sync::rules::RuleSpec>>>,
    /// Kube contexts, beyond the local-looking ones, that devloop may deploy to.
    pub allowed_contexts: Option<Spanned<Vec<String>>>,
    /// The apps of a many-app repo.
    pub app: Option<Vec<Spanned<Table>>>,
}

/// `[debug]`: what `up --debug` needs that detection pinned.
#[derive(Debug, Default, Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DebugTable {
    /// Local port the debugger is forwarded to, pinned so editor configs stay valid.
    pub port: Option<u16>,
}

/// One forwarded port: the app's port in the container and the local port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PortSpec {
    pub local: u16,
    pub remote: u16,
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.local == self.remote {
            write!(f, "{}", self.remote)
        } else {
            write!(f, "{}:{}", self.local, self.remote)
        }
    }
}

impl std::str::FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let port = |p: &str| -> Result<u16, String> {
            match p.trim().parse::<u16>() {
                Ok(0) | Err(_) => Err(format!("`{p}` is not a port (1-65535)")),
                Ok(n) => Ok(n),
            }
        };
        if let Some((local, remote)) = s.split_once(':') {
            Ok(PortSpec {
                local: port(local)?,
                remote: port(remote)?,
            })
        } else {
            let p = port(s)?;
            Ok(PortSpec {
                local: p,
                remote: p,
            })
        }
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number or \"LOCAL:REMOTE\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortSpec, E> {
                match u16::try_from(v) {
                    Ok(p) if p > 0 => Ok(PortSpec {
                        local: p,
                        remote: p,
                    }),
                    _ => Err(E::custom(format!("`{v}` is not a port (1-65535)"))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortSpec, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

/// A parsed file with what errors need to point into it.
#[derive(Debug)]
pub struct Parsed {
    pub path: PathBuf,
    pub source: String,
    pub config: Table,
}

impl Parsed {
    /// 1-based line and column of a byte offset in the file.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.source, offset)
    }

    /// An "invalid value" error pointing at a spanned key.
    pub fn invalid<T>(
        &self,
        spanned: &Spanned<T>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> ConfigError {
        let (line, column) = self.line_col(spanned.span().start);
        ConfigError::Invalid {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
            hint,
        }
    }
}

/// Parses `source` (read from `path`) into the schema; unknown keys and wrong
/// types are errors with the line and column where they were written.
pub fn parse(path: &Path, source: String) -> Result<Parsed, ConfigError> {
    match toml::from_str::<Table>(&source) {
        Ok(config) => Ok(Parsed {
            path: path.to_owned(),
            source,
            config,
        }),
        Err(err) => {
            let (line, column) = err
                .span()
                .map_or((1, 1), |span| line_col(&source, span.start));
            Err(ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: err.message().trim().to_owned(),
            })
        }
    }
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<Parsed, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, source)
}

/// Finds devloop.toml in `start` or its nearest ancestor, as cargo finds Cargo.toml.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Parsed, ConfigError> {
        parse(Path::new("devloop.toml"), s.to_owned())
    }

    #[test]
    fn one_app_file() {
        let parsed =
            parse_str("name = \"web\"\nports = [8080, \"18081:8081\"]\n[debug]\nport = 5678\n")
                .expect("valid file");
        let top = &parsed.config;
        assert_eq!(top.name.as_ref().map(|n| n.get_ref().as_str()), Some("web"));
        let ports = top.ports.as_ref().expect("ports").get_ref();
        assert_eq!(
            ports,
            &[
                PortSpec {
                    local: 8080,
                    remote: 8080
                },
                PortSpec {
                    local: 18081,
                    remote: 8081
                }
            ]
        );
        assert_eq!(
            top.debug.as_ref().expect("debug").get_ref().port,
            Some(5678)
        );
        let name = top.name.as_ref().expect("name");
        assert_eq!(parsed.line_col(name.span().start), (1, 8));
    }

    #[test]
    fn errors_carry_line_and_column() {
        let cases = [
            (
                "name = \"web\"\nprots = [1]\n",
                2,
                1,
                "unknown field `prots`",
            ),
            (
                "[[app]]\nname = \"a\"\n\n[[app]]\n  imgae = \"x\"\n",
                5,
                3,
                "unknown field `imgae`",
            ),
            ("ports = [0]\n", 1, 10, "not a port"),
            ("ports = [\"a:b\"]\n", 1, 10, "not a port"),
            ("[debug]\nport = \"x\"\n", 2, 8, "invalid type"),
            ("name = \n", 1, 8, ""),
        ];
        for (source, line, column, needle) in cases {
            match parse_str(source) {
                Err(ConfigError::Parse {
                    line: l,
                    column: c,
                    message,
                    ..
                }) => {
                    assert_eq!((l, c), (line, column), "{source:?}: {message}");
                    assert!(message.contains(needle), "{source:?}: {message}");
                }
                other => panic!("{source:?}: expected a parse error, got {other:?}"),
            }
        }
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("é = 1\nx", 7), (2, 1));
        assert_eq!(line_col("ab", 1), (1, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[test]
    fn port_spec_round_trips() {
        for s in ["80", "18080:8080"] {
            assert_eq!(s.parse::<PortSpec>().expect("port").to_string(), s);
        }
        assert!("0".parse::<PortSpec>().is_err());
        assert!("70000".parse::<PortSpec>().is_err());
    }
}
