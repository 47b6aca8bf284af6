//! Server-side apply and strategic merge patch (issue 6): field sets and
//! `managedFields`, the built-in types' list merge keys as data, apply with
//! ownership and conflicts, strategic merge patch with its directives.

pub mod fieldset;
pub mod last_applied;
pub mod schema;
pub mod smp;
pub mod ssa;

use serde_json::Value;

/// Drops what the real server's typed encoding omits (`omitempty`): empty
/// `labels`, `annotations`, `finalizers`, `ownerReferences` in metadata and
/// empty `data`/`binaryData`/`stringData` of `ConfigMap`s and `Secret`s.
pub fn omit_empty(obj: &mut Value) {
    let empty = |v: &Value| {
        v.as_object().is_some_and(serde_json::Map::is_empty)
            || v.as_array().is_some_and(Vec::is_empty)
    };
    if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in ["labels", "annotations", "finalizers", "ownerReferences"] {
            if md.get(f).is_some_and(empty) {
                md.remove(f);
            }
        }
    }
    let data_kind =
        matches!(obj["kind"].as_str(), Some("ConfigMap" | "Secret")) && obj["apiVersion"] == "v1";
    if data_kind && let Some(m) = obj.as_object_mut() {
        for f in ["data", "binaryData", "stringData"] {
            if m.get(f).is_some_and(empty) {
                m.remove(f);
            }
        }
    }
}

/// Is this kind a custom resource on a real cluster (CRD-registered, or one
/// of the CRD-defined kinds the simulator serves built in)? Strategic merge
/// patch is refused for them.
pub fn is_custom(rt: &crate::registry::ResourceType) -> bool {
    rt.custom
        || rt.group.ends_with("gateway.networking.k8s.io")
        || rt.group == "monitoring.coreos.com"
}
