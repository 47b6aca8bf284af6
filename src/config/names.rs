//! Kubernetes and Helm naming rules: release names, namespaces, image names.
//!
//! Pure functions, shared by config resolution (defaults and validation) and
//! every later command that names an object.

/// Helm's limit for release names (the `sh.helm.release.v1.<name>.v<N>` Secret
/// name must stay under 63 characters).
pub const MAX_RELEASE_NAME: usize = 53;

/// Kubernetes' limit for a DNS-1123 label (namespaces, most object names).
pub const MAX_LABEL: usize = 63;

/// Turns any directory name into a valid Helm release name: DNS-1123
/// (lowercase alphanumerics and '-', starting and ending alphanumeric),
/// at most 53 characters. Runs of other characters become one '-'.
pub fn release_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    let mut name: String = trimmed.chars().take(MAX_RELEASE_NAME).collect();
    while name.ends_with('-') {
        name.pop();
    }
    if name.is_empty() {
        "app".to_owned()
    } else {
        name
    }
}

/// Whether `name` is a DNS-1123 label of at most `max` characters.
pub fn is_dns_label(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// Whether `name` is a valid image repository path (no registry host, no tag):
/// lowercase components of `[a-z0-9]` joined by `.`, `_`, `__` or `-`, split by `/`.
pub fn is_image_repository(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|component| {
            let b = component.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
                })
        })
}

/// Why `registry` is not a registry reference (`host[:port][/path]`), if it is not.
pub fn registry_problem(registry: &str) -> Option<&'static str> {
    if registry.contains("://") {
        return Some("a registry is `host[:port][/path]`, without a scheme");
    }
    if registry.is_empty() || registry.starts_with('/') || registry.ends_with('/') {
        return Some("a registry is `host[:port][/path]`");
    }
    if registry.chars().any(|c| c.is_whitespace() || c == '@') {
        return Some("a registry has no spaces and no `@`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_from_directory_names() {
        let long = "a".repeat(80);
        let cases = [
            ("web", "web"),
            ("My_App", "my-app"),
            ("hello world!!", "hello-world"),
            ("--x--", "x"),
            ("Über.Service", "ber-service"),
            ("", "app"),
            ("___", "app"),
            (long.as_str(), &long[..MAX_RELEASE_NAME]),
        ];
        for (raw, want) in cases {
            assert_eq!(release_name(raw), want, "release_name({raw:?})");
            assert!(is_dns_label(&release_name(raw), MAX_RELEASE_NAME));
        }
    }

    #[test]
    fn truncation_never_ends_with_a_dash() {
        let raw = format!("{}-b", "a".repeat(52));
        let name = release_name(&raw);
        assert_eq!(name, "a".repeat(52));
    }

    #[test]
    fn dns_labels() {
        for ok in ["a", "web-dev", "a1", "1a"] {
            assert!(is_dns_label(ok, MAX_LABEL), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad, MAX_LABEL), "{bad}");
        }
    }

    #[test]
    fn image_repositories() {
        for ok in ["web", "team/web", "a.b_c-d/e"] {
            assert!(is_image_repository(ok), "{ok}");
        }
        for bad in ["", "Web", "web:tag", "/web", "web/", "web@sha256"] {
            assert!(!is_image_repository(bad), "{bad}");
        }
    }

    #[test]
    fn registries() {
        assert_eq!(registry_problem("127.0.0.1:5000"), None);
        assert_eq!(registry_problem("ghcr.io/team"), None);
        assert!(registry_problem("http://localhost:5000").is_some());
        assert!(registry_problem("ghcr.io/").is_some());
        assert!(registry_problem("").is_some());
    }
}
