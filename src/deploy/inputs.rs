//! "Nothing changed since the last deploy": a digest of a deploy's inputs —
//! the chart's files, the merged values, the image reference, devloop's
//! version — not of its rendered output, so charts with random values
//! (`randAlphaNum` passwords) don't redeploy forever.

use std::path::Path;

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

use crate::build::context::hex;

/// Where the digest is kept: an annotation on the release's stored revision.
pub const INPUTS_ANNOTATION: &str = "devloop.dev/inputs";

/// The digest, `sha256:<hex>`. Files are hashed in sorted order with their
/// chart-relative paths, so renames and moves count as changes.
pub fn digest(chart_dir: &Path, values: &Json, image: &str) -> std::io::Result<String> {
    let mut files = Vec::new();
    collect(chart_dir, chart_dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for relative in &files {
        let bytes = std::fs::read(chart_dir.join(relative))?;
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher.update(b"\0values\0");
    hasher.update(values.to_string().as_bytes());
    hasher.update(b"\0image\0");
    hasher.update(image.as_bytes());
    hasher.update(b"\0devloop\0");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_digest_moves_with_each_input_and_only_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
        std::fs::write(dir.path().join("Chart.yaml"), "name: web\n").expect("write");
        std::fs::write(dir.path().join("templates/a.yaml"), "kind: A\n").expect("write");
        let values = json!({"replicas": 1});
        let base = digest(dir.path(), &values, "web:1").expect("digest");
        assert!(base.starts_with("sha256:") && base.len() == 71, "{base}");
        assert_eq!(digest(dir.path(), &values, "web:1").expect("same"), base);
        assert_ne!(digest(dir.path(), &values, "web:2").expect("image"), base);
        assert_ne!(
            digest(dir.path(), &json!({"replicas": 2}), "web:1").expect("values"),
            base
        );
        std::fs::rename(
            dir.path().join("templates/a.yaml"),
            dir.path().join("templates/b.yaml"),
        )
        .expect("rename");
        assert_ne!(digest(dir.path(), &values, "web:1").expect("renamed"), base);
    }
}
