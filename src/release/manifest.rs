//! Reading a stored release manifest (`---\n# Source: ...` documents, as
//! Helm writes `release.manifest`): the images it runs, for `history`, and
//! the objects it holds, for an uninstall that finds them by release.

use serde_json::Value as Json;

/// One object of a release, as Helm's uninstall addresses it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// As written in the manifest; `None` means the release's namespace
    /// (or a cluster-scoped object).
    pub namespace: Option<String>,
}

/// The documents of a manifest, parsed; documents that are empty or not a
/// mapping (a comment-only template) are skipped, as Helm skips them.
fn documents(manifest: &str) -> impl Iterator<Item = Json> + '_ {
    manifest
        .split("\n---")
        .map(|d| d.strip_prefix("---").unwrap_or(d))
        .filter(|d| !d.trim().is_empty())
        .filter_map(|d| serde_saphyr::from_str::<Json>(d).ok())
        .filter(Json::is_object)
}

/// Images of `containers` and `initContainers` lists anywhere in the
/// objects (a Deployment's pod template, a `CronJob`'s job template, a Pod),
/// app containers first, each image once.
pub fn images(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    for doc in documents(manifest) {
        collect_images(&doc, &mut out);
    }
    out
}

fn collect_images(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (key, child) in map {
                if key == "containers" || key == "initContainers" {
                    for image in child
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("image").and_then(Json::as_str))
                    {
                        if !out.iter().any(|i| i == image) {
                            out.push(image.to_owned());
                        }
                    }
                } else {
                    collect_images(child, out);
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|i| collect_images(i, out)),
        _ => {}
    }
}

/// The objects of the manifest, in the order stored (Helm's install order;
/// an uninstall goes in reverse).
pub fn resources(manifest: &str) -> Vec<ObjectRef> {
    documents(manifest)
        .filter_map(|doc| {
            let text = |pointer: &str| {
                doc.pointer(pointer)
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            };
            Some(ObjectRef {
                api_version: text("/apiVersion")?,
                kind: text("/kind")?,
                name: text("/metadata/name")?,
                namespace: text("/metadata/namespace"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "---\n# Source: web/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n\n---\n# Source: web/templates/empty.yaml\n# nothing rendered\n---\n# Source: web/templates/cron.yaml\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: tick\n  namespace: jobs\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers:\n            - name: wait\n              image: busybox:1.37\n          containers:\n            - name: tick\n              image: reg/tick:2\n            - name: side\n              image: busybox:1.37\n---\n# Source: web/templates/bad.yaml\nkind: [\n";

    #[test]
    fn images_app_containers_first_each_once() {
        assert_eq!(images(MANIFEST), ["reg/tick:2", "busybox:1.37"]);
        assert!(images("").is_empty());
    }

    #[test]
    fn resources_in_stored_order_skipping_what_is_not_an_object() {
        let refs = resources(MANIFEST);
        let short: Vec<(&str, &str, &str, Option<&str>)> = refs
            .iter()
            .map(|r| {
                (
                    r.api_version.as_str(),
                    r.kind.as_str(),
                    r.name.as_str(),
                    r.namespace.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            short,
            [
                ("v1", "ServiceAccount", "web", None),
                ("batch/v1", "CronJob", "tick", Some("jobs")),
            ]
        );
    }
}
