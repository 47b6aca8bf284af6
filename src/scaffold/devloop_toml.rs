//! The `devloop.toml` init writes: what was detected, pinned. One app: its
//! keys at the top level; several: one `[[app]]` table each.

use std::fmt::Write as _;

/// One app's entry.
pub struct Entry {
    pub name: String,
    /// Relative to the repo root; `.` for the root.
    pub path: String,
    /// Local and container port (`8081:8080` when the local one moved).
    pub port: (u16, u16),
    /// The debugger's pinned local port.
    pub debug_port: Option<u16>,
}

const HEADER: &str = "# devloop.toml: written by `devloop init` from what it detected; yours to edit.\n# The debugger's local port is pinned so editor attach configurations stay valid.\n";

fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn port(p: (u16, u16)) -> String {
    if p.0 == p.1 {
        p.1.to_string()
    } else {
        quote(&format!("{}:{}", p.0, p.1))
    }
}

/// The file's text.
pub fn render(entries: &[Entry]) -> String {
    let mut out = String::from(HEADER);
    if let [one] = entries {
        let _ = writeln!(out, "name = {}", quote(&one.name));
        if one.path != "." {
            let _ = writeln!(out, "path = {}", quote(&one.path));
        }
        let _ = writeln!(out, "ports = [{}]", port(one.port));
        if let Some(debug) = one.debug_port {
            let _ = write!(out, "\n[debug]\nport = {debug}\n");
        }
        return out;
    }
    for entry in entries {
        let _ = write!(
            out,
            "\n[[app]]\nname = {}\npath = {}\nports = [{}]\n",
            quote(&entry.name),
            quote(&entry.path),
            port(entry.port)
        );
        if let Some(debug) = entry.debug_port {
            let _ = writeln!(out, "debug = {{ port = {debug} }}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::Table;

    #[test]
    fn one_app_at_the_top_several_as_tables_and_both_parse() {
        let one = render(&[Entry {
            name: "web".into(),
            path: ".".into(),
            port: (5000, 5000),
            debug_port: Some(5678),
        }]);
        assert!(
            one.ends_with("name = \"web\"\nports = [5000]\n\n[debug]\nport = 5678\n"),
            "{one}"
        );
        let table: Table = toml::from_str(&one).expect("parses");
        assert_eq!(table.debug.map(|d| d.into_inner().port), Some(Some(5678)));
        let two = render(&[
            Entry {
                name: "api".into(),
                path: "api".into(),
                port: (8080, 8080),
                debug_port: Some(2345),
            },
            Entry {
                name: "web".into(),
                path: "web".into(),
                port: (8081, 8080),
                debug_port: None,
            },
        ]);
        let table: Table = toml::from_str(&two).expect("parses");
        assert_eq!(table.app.map(|a| a.len()), Some(2));
        assert!(two.contains("ports = [\"8081:8080\"]"), "{two}");
    }
}
