//! A pack's Dockerfile made the app's: the port, the run command and `ARG`
//! defaults are set on their own lines (`ENV PORT=`, `EXPOSE`, `CMD`,
//! `ARG NAME=`), as data, so the pack's file stays a plain Dockerfile.

use std::collections::BTreeMap;

/// What is set in the pack's Dockerfile.
pub struct Fill<'a> {
    pub port: u16,
    /// The `CMD`, exec form.
    pub command: &'a [String],
    /// `ARG` defaults by name.
    pub args: &'a BTreeMap<String, String>,
}

/// `text` with its last stage's `ENV PORT=`, `EXPOSE` and `CMD` lines and the
/// named `ARG` lines set; a missing `CMD` is appended.
pub fn fill(text: &str, fill: &Fill<'_>) -> String {
    let words: Vec<String> = fill
        .command
        .iter()
        .map(|w| serde_json::Value::from(w.as_str()).to_string())
        .collect();
    let cmd = format!("CMD [{}]", words.join(", "));
    let mut out = String::with_capacity(text.len() + 64);
    let mut has_cmd = false;
    for line in text.lines() {
        let (keyword, rest) = split(line);
        let replaced = match keyword.as_str() {
            "ENV" if rest.starts_with("PORT=") || rest.starts_with("PORT ") => {
                Some(format!("ENV PORT={}", fill.port))
            }
            "EXPOSE" => Some(format!("EXPOSE {}", fill.port)),
            "CMD" => {
                has_cmd = true;
                Some(cmd.clone())
            }
            "ARG" => rest
                .split_once('=')
                .and_then(|(name, _)| fill.args.get(name.trim()).map(|v| (name.trim(), v)))
                .map(|(name, value)| format!("ARG {name}={value}")),
            _ => None,
        };
        out.push_str(replaced.as_deref().unwrap_or(line));
        out.push('\n');
    }
    if !has_cmd {
        out.push_str(&cmd);
        out.push('\n');
    }
    out
}

/// The last `WORKDIR` of a Dockerfile: where the app's source is in the image.
pub fn workdir(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let (keyword, rest) = split(line);
            (keyword == "WORKDIR").then(|| rest.trim().trim_matches('"').to_owned())
        })
        .next_back()
}

fn split(line: &str) -> (String, &str) {
    let line = line.trim_start();
    let (keyword, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
    (keyword.to_ascii_uppercase(), rest.trim_start())
}

/// `template` with `{name}` replaced by `vars[name]`; unknown names stay.
pub fn expand(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_port_cmd_and_args_by_line() {
        let text = "FROM x AS build\nARG MAIN=.\nARG KEEP=1\nWORKDIR /src\nFROM y\nWORKDIR /app\nENV PORT=8080\nEXPOSE 8080\nCMD [\"old\"]\n";
        let args = BTreeMap::from([("MAIN".to_owned(), "./cmd/api".to_owned())]);
        let command = vec!["python".to_owned(), "app.py".to_owned()];
        let got = fill(
            text,
            &Fill {
                port: 5000,
                command: &command,
                args: &args,
            },
        );
        assert_eq!(
            got,
            "FROM x AS build\nARG MAIN=./cmd/api\nARG KEEP=1\nWORKDIR /src\nFROM y\nWORKDIR /app\nENV PORT=5000\nEXPOSE 5000\nCMD [\"python\", \"app.py\"]\n"
        );
        assert_eq!(workdir(&got).as_deref(), Some("/app"));
        let appended = fill(
            "FROM y\n",
            &Fill {
                port: 1,
                command: &command,
                args: &args,
            },
        );
        assert!(appended.ends_with("CMD [\"python\", \"app.py\"]\n"));
        assert_eq!(workdir("FROM y\n"), None);
    }

    #[test]
    fn expands_known_placeholders_only() {
        assert_eq!(
            expand(
                "{module}:app --port {port} {x}",
                &[("module", "app.main"), ("port", "80")]
            ),
            "app.main:app --port 80 {x}"
        );
    }
}
