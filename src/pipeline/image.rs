//! The chart values devloop sets for the image it built (`image.repository`,
//! `image.tag`, `image.digest`, `image.pullPolicy`, `imagePullSecrets`), as
//! the shared dev chart and `helm create` charts read them.

use serde_json::{Value as Json, json};

use crate::build::{BuildResult, PullPolicy};

/// `repo@sha256:...` pins by digest (pushed images); `repo:tag` by tag
/// (loaded or shared-daemon images, which have no registry digest).
pub fn values(result: &BuildResult, pull_secrets: &[String]) -> Json {
    let (repository, tag, digest) = split(&result.reference);
    let mut image = json!({
        "repository": repository,
        "tag": tag,
        "digest": digest,
    });
    if result.pull_policy == PullPolicy::IfNotPresent {
        image["pullPolicy"] = json!("IfNotPresent");
    }
    let mut values = json!({ "image": image });
    if !pull_secrets.is_empty() {
        values["imagePullSecrets"] = pull_secrets
            .iter()
            .map(|name| json!({ "name": name }))
            .collect();
    }
    values
}

/// `(repository, tag, digest)` of a reference.
pub fn split(reference: &str) -> (&str, &str, &str) {
    if let Some((repo, digest)) = reference.split_once('@') {
        return (repo, "", digest);
    }
    // A `:` after the last `/` is a tag; before it, a registry port.
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => (
            &reference[..last_slash + i],
            &reference[last_slash + i + 1..],
            "",
        ),
        None => (reference, "", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_tag_and_digest() {
        assert_eq!(
            split("127.0.0.1:5000/web@sha256:abc"),
            ("127.0.0.1:5000/web", "", "sha256:abc")
        );
        assert_eq!(split("web:dl-1234"), ("web", "dl-1234", ""));
        assert_eq!(
            split("127.0.0.1:5000/team/web:v1"),
            ("127.0.0.1:5000/team/web", "v1", "")
        );
        assert_eq!(split("127.0.0.1:5000/web"), ("127.0.0.1:5000/web", "", ""));
    }
}
