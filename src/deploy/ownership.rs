//! Which objects belong to a release, and the metadata that says so.
//!
//! devloop writes Helm's ownership metadata exactly as Helm does, so a
//! user's helm binary adopts devloop's objects as its own, and finds its
//! objects by the release annotation plus `app.kubernetes.io/instance`
//! (both set here), never by a label a chart or Helm would rewrite.

use serde_json::{Map, Value as Json};

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// On a namespace devloop created, so `down` knows it may delete it.
pub const CREATED_BY_ANNOTATION: &str = "devloop.dev/created-by";
/// The field manager of every devloop apply.
pub const FIELD_MANAGER: &str = "devloop";

/// The release an object is stamped with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Release {
    /// The label selector that narrows a list to this release's candidates;
    /// [`Release::owns`] then checks the annotations.
    pub fn selector(&self) -> String {
        format!("{INSTANCE_LABEL}={}", self.name)
    }

    /// Adds Helm's ownership metadata (and the instance label) to `object`,
    /// keeping everything else the chart rendered.
    pub fn stamp(&self, object: &mut Json) {
        let Some(root) = object.as_object_mut() else {
            return;
        };
        let mut metadata = take_map(root, "metadata");
        let mut labels = take_map(&mut metadata, "labels");
        labels.insert(MANAGED_BY_LABEL.to_owned(), Json::from("Helm"));
        labels.insert(INSTANCE_LABEL.to_owned(), Json::from(self.name.as_str()));
        let mut annotations = take_map(&mut metadata, "annotations");
        annotations.insert(
            RELEASE_NAME_ANNOTATION.to_owned(),
            Json::from(self.name.as_str()),
        );
        annotations.insert(
            RELEASE_NAMESPACE_ANNOTATION.to_owned(),
            Json::from(self.namespace.as_str()),
        );
        metadata.insert("labels".to_owned(), Json::Object(labels));
        metadata.insert("annotations".to_owned(), Json::Object(annotations));
        root.insert("metadata".to_owned(), Json::Object(metadata));
    }

    /// Whether a live object's annotations name this release (Helm's
    /// ownership check; labels alone are not proof).
    pub fn owns(&self, object: &Json) -> bool {
        let annotation = |key: &str| {
            object
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Json::as_str)
        };
        annotation(RELEASE_NAME_ANNOTATION) == Some(self.name.as_str())
            && annotation(RELEASE_NAMESPACE_ANNOTATION) == Some(self.namespace.as_str())
    }

    /// What another owner's metadata says, for the error when devloop
    /// refuses to take an object over.
    pub fn foreign_owner(object: &Json) -> String {
        let annotations = object.pointer("/metadata/annotations");
        let get = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        match (
            get(RELEASE_NAME_ANNOTATION),
            get(RELEASE_NAMESPACE_ANNOTATION),
        ) {
            (Some(name), Some(ns)) => format!("it belongs to release {name} in namespace {ns}"),
            _ => "it was not created by devloop or Helm".to_owned(),
        }
    }
}

/// Removes `key` from `map` as an object; anything else (`labels: null`
/// renders as null, which Kubernetes treats as empty) becomes an empty one.
fn take_map(map: &mut Map<String, Json>, key: &str) -> Map<String, Json> {
    match map.remove(key) {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn release() -> Release {
        Release {
            name: "web".into(),
            namespace: "web-dev".into(),
        }
    }

    #[test]
    fn stamping_adds_helms_metadata_and_keeps_the_charts() {
        let mut obj = json!({"kind": "Service", "metadata": {"name": "web", "labels": {"app": "web", "app.kubernetes.io/managed-by": "devloop"}, "annotations": null}});
        release().stamp(&mut obj);
        assert_eq!(
            obj["metadata"]["labels"],
            json!({"app": "web", "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "web"})
        );
        assert_eq!(
            obj["metadata"]["annotations"],
            json!({"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "web-dev"})
        );
        assert!(release().owns(&obj));
    }

    #[test]
    fn ownership_needs_both_annotations_of_this_release() {
        let mut obj = json!({"metadata": {"name": "x"}});
        assert!(!release().owns(&obj));
        assert_eq!(
            Release::foreign_owner(&obj),
            "it was not created by devloop or Helm"
        );
        Release {
            name: "web".into(),
            namespace: "other".into(),
        }
        .stamp(&mut obj);
        assert!(!release().owns(&obj));
        assert_eq!(
            Release::foreign_owner(&obj),
            "it belongs to release web in namespace other"
        );
        // A label alone (what a chart may copy around) is not ownership.
        let labelled = json!({"metadata": {"labels": {"app.kubernetes.io/instance": "web"}}});
        assert!(!release().owns(&labelled));
    }
}
