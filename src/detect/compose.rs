//! Compose files: which directories are built as services (each is an app)
//! and which container port each publishes. A line-based reader of the
//! compose shapes real repos use (`build: ./api`, `build: {context: ...}`,
//! `ports: ["8080:80"]`, long-form `target: 80`, `expose`), since devloop
//! carries no YAML parser; anything else is ignored, never guessed.

use super::tree::{self, Tree};

/// Compose files this deep or shallower are read (`docker-compose.yml` at
/// the root, or in `deploy/`, `ops/local/`).
const MAX_DEPTH: usize = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// The build context, repo-relative (`""` is the root).
    pub context: String,
    /// The first container port it publishes or exposes.
    pub port: Option<u16>,
    pub file: String,
    pub line: usize,
}

pub fn is_compose_file(name: &str) -> bool {
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"));
    stem.is_some_and(|s| {
        s == "compose"
            || s == "docker-compose"
            || s.starts_with("docker-compose.")
            || s.starts_with("compose.")
    })
}

/// Every service with a build context, from every compose file in the tree.
pub fn services(tree: &Tree) -> Vec<Service> {
    let mut out = Vec::new();
    for file in tree.files() {
        if file.matches('/').count() > MAX_DEPTH || !is_compose_file(tree::file_name(file)) {
            continue;
        }
        if let Some(text) = tree.read(file) {
            out.extend(parse(file, &text));
        }
    }
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn unquote(value: &str) -> &str {
    let v = value.split(" #").next().unwrap_or(value).trim();
    v.trim_matches(|c| c == '"' || c == '\'')
}

/// `"8080:80"`, `8080:80/tcp`, `127.0.0.1:8080:80`, `80`, `3000-3001` -> the container port.
fn container_port(value: &str) -> Option<u16> {
    let v = unquote(value);
    let v = v.split('/').next()?;
    let v = v.rsplit(':').next()?;
    let v = v.split('-').next()?;
    v.trim().parse().ok().filter(|p| *p > 0)
}

/// Parses one compose file (`file` is its repo path, for contexts and evidence).
pub fn parse(file: &str, text: &str) -> Vec<Service> {
    let base = tree::parent(file);
    let mut out: Vec<Service> = Vec::new();
    let mut in_services = false;
    let mut service_indent = None;
    let mut current: Option<(Service, bool)> = None;
    let mut list_key = "";
    let mut build_indent = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let ind = indent(line);
        if ind == 0 {
            flush(&mut current, &mut out);
            in_services = body.starts_with("services:");
            service_indent = None;
            continue;
        }
        if !in_services {
            continue;
        }
        if service_indent.is_none_or(|s| ind <= s) && body.ends_with(':') && !body.starts_with('-')
        {
            flush(&mut current, &mut out);
            service_indent = Some(ind);
            let service = Service {
                name: body.trim_end_matches(':').trim().to_owned(),
                context: String::new(),
                port: None,
                file: file.to_owned(),
                line: n + 1,
            };
            current = Some((service, false));
            list_key = "";
            build_indent = None;
            continue;
        }
        let Some((service, has_build)) = current.as_mut() else {
            continue;
        };
        if let Some(item) = body.strip_prefix("- ") {
            if matches!(list_key, "ports" | "expose") && service.port.is_none() {
                if let Some((k, v)) = item.split_once(": ") {
                    if k.trim() == "target" {
                        service.port = container_port(v);
                    }
                } else {
                    service.port = container_port(item);
                }
            }
            continue;
        }
        let (key, value) = body.split_once(':').unwrap_or((body, ""));
        let value = value.trim();
        if build_indent.is_some_and(|b| ind > b) {
            if key == "context" {
                service.context = normalize(base, unquote(value));
            }
            continue;
        }
        build_indent = None;
        if key == "target" && list_key == "ports" && service.port.is_none() {
            service.port = container_port(value);
            continue;
        }
        list_key = "";
        match key {
            "build" => {
                *has_build = true;
                if value.is_empty() {
                    build_indent = Some(ind);
                    service.context = normalize(base, ".");
                } else {
                    service.context = normalize(base, unquote(value));
                }
            }
            "ports" | "expose" => list_key = if key == "ports" { "ports" } else { "expose" },
            _ => {}
        }
    }
    flush(&mut current, &mut out);
    out
}

fn flush(current: &mut Option<(Service, bool)>, out: &mut Vec<Service>) {
    if let Some((service, true)) = current.take() {
        out.push(service);
    }
}

/// `base` joined with a relative `path`, `.` and `..` resolved; `""` is the root.
fn normalize(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_shapes() {
        let text = r#"
version: "3.9"
services:
  api:
    build: ./services/api
    ports:
      - "8081:8080"
  web:
    build:
      context: web
      dockerfile: Dockerfile.dev
    ports:
      - target: 3000
        published: 80
  worker:
    build: .
    expose:
      - 9000
  db:
    image: postgres:16
    ports:
      - 5432:5432
volumes:
  data: {}
"#;
        let got: Vec<(String, String, Option<u16>)> = parse("docker-compose.yml", text)
            .into_iter()
            .map(|s| (s.name, s.context, s.port))
            .collect();
        assert_eq!(
            got,
            [
                ("api".into(), "services/api".into(), Some(8080)),
                ("web".into(), "web".into(), Some(3000)),
                ("worker".into(), String::new(), Some(9000)),
            ]
        );
    }

    #[test]
    fn contexts_are_relative_to_the_compose_file() {
        let text = "services:\n  app:\n    build: ../src/app\n    ports: [\"1:2\"]\n";
        let got = parse("deploy/compose.yaml", text);
        assert_eq!(got[0].context, "src/app");
    }

    #[test]
    fn port_forms() {
        for (value, want) in [
            ("\"8080:80\"", Some(80)),
            ("8080:80/tcp", Some(80)),
            ("127.0.0.1:8080:8000", Some(8000)),
            ("'3000'", Some(3000)),
            ("3000-3001", Some(3000)),
            ("x", None),
        ] {
            assert_eq!(container_port(value), want, "{value}");
        }
    }

    #[test]
    fn compose_file_names() {
        for ok in [
            "docker-compose.yml",
            "compose.yaml",
            "docker-compose.dev.yml",
        ] {
            assert!(is_compose_file(ok), "{ok}");
        }
        for bad in ["compose.json", "composer.yml", "docker.yml"] {
            assert!(!is_compose_file(bad), "{bad}");
        }
    }
}
