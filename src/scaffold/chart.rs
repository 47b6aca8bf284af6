//! The shared chart (`templates/chart/`, embedded) made the app's: Chart.yaml's
//! `name` and values.yaml's `containerPort`, `service.port`, `probes.type`
//! and `probes.path` are set by key, on their own lines, so the comments and
//! Helm's braces are never touched.

/// The chart's files, relative to the chart directory.
pub const FILES: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        include_str!("../../templates/chart/Chart.yaml"),
    ),
    (
        "values.yaml",
        include_str!("../../templates/chart/values.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("../../templates/chart/templates/NOTES.txt"),
    ),
    (
        "templates/_helpers.tpl",
        include_str!("../../templates/chart/templates/_helpers.tpl"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("../../templates/chart/templates/deployment.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("../../templates/chart/templates/service.yaml"),
    ),
    (
        "templates/serviceaccount.yaml",
        include_str!("../../templates/chart/templates/serviceaccount.yaml"),
    ),
];

/// What is set in the chart.
pub struct Fill<'a> {
    pub name: &'a str,
    pub port: u16,
    pub probe_type: &'a str,
    pub probe_path: &'a str,
}

/// The chart's files for the app: (path in the chart, text).
pub fn files(fill: &Fill<'_>) -> Vec<(String, String)> {
    let port = fill.port.to_string();
    FILES
        .iter()
        .map(|(path, text)| {
            let text = match *path {
                "Chart.yaml" => set(text, &["name"], &scalar(fill.name)),
                "values.yaml" => [
                    (&["containerPort"][..], port.clone()),
                    (&["service", "port"][..], port.clone()),
                    (&["probes", "type"][..], scalar(fill.probe_type)),
                    (&["probes", "path"][..], scalar(fill.probe_path)),
                ]
                .iter()
                .fold((*text).to_owned(), |t, (key, value)| set(&t, key, value)),
                _ => (*text).to_owned(),
            };
            ((*path).to_owned(), text)
        })
        .collect()
}

/// A YAML plain scalar when it is one, else a double-quoted string.
fn scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c))
        && !value.starts_with(['-', '.'])
        && !matches!(
            value,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off"
        )
        && value.parse::<f64>().is_err();
    if plain {
        value.to_owned()
    } else {
        serde_json::Value::from(value).to_string()
    }
}

/// `text` with the block-style mapping key at `path` set to `value` (the rest
/// of its line replaced); unchanged when the key is not there.
pub fn set(text: &str, path: &[&str], value: &str) -> String {
    let mut open: Vec<usize> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let is_content = !trimmed.trim().is_empty() && !trimmed.starts_with('#');
        if done || !is_content {
            out.push_str(line);
            continue;
        }
        while open.last().is_some_and(|&i| indent <= i) {
            open.pop();
        }
        let depth = open.len();
        let key = path.get(depth).copied().unwrap_or_default();
        let is_key = trimmed.starts_with(key)
            && trimmed[key.len()..].starts_with(':')
            && (depth > 0 || indent == 0);
        if is_key && depth + 1 == path.len() {
            let newline = if line.ends_with('\n') { "\n" } else { "" };
            out.push_str(&line[..indent]);
            out.push_str(key);
            out.push_str(": ");
            out.push_str(value);
            out.push_str(newline);
            done = true;
            continue;
        }
        if is_key {
            open.push(indent);
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_keys_by_path_and_keeps_comments() {
        let text = "# top\nport: 1\nservice:\n  # the port\n  type: ClusterIP\n  port: 8080\nprobes:\n  type: http\n  readiness:\n    type: x\n";
        let got = set(text, &["service", "port"], "3000");
        assert_eq!(got, text.replace("  port: 8080", "  port: 3000"));
        let got = set(&got, &["probes", "type"], "tcp");
        assert!(
            got.contains("probes:\n  type: tcp\n  readiness:\n    type: x\n"),
            "{got}"
        );
        assert_eq!(set(text, &["nope", "port"], "1"), text);
        assert_eq!(
            set(text, &["port"], "2"),
            text.replace("port: 1", "port: 2")
        );
    }

    #[test]
    fn fills_the_embedded_chart() {
        let files = files(&Fill {
            name: "web",
            port: 5000,
            probe_type: "tcp",
            probe_path: "/healthz",
        });
        let get = |p: &str| {
            files
                .iter()
                .find(|(n, _)| n == p)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        };
        assert!(get("Chart.yaml").contains("\nname: web\n"));
        let values = get("values.yaml");
        assert!(values.contains("\ncontainerPort: 5000\n"));
        assert!(values.contains("\nservice:\n  type: ClusterIP\n  port: 5000\n"));
        assert!(values.contains("probes:\n  type: tcp\n  path: /healthz\n"));
        assert!(values.starts_with("# Values for development with devloop."));
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("8080"), "\"8080\"");
    }
}
