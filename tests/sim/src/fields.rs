//! Server-side field validation (`fieldValidation=Strict|Warn|Ignore`), for
//! what the simulator knows without schemas: the top-level fields of
//! built-in kinds and `metadata`.

use serde_json::Value;

use crate::registry::ResourceType;

const METADATA: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The top-level fields (besides apiVersion, kind, metadata) of a built-in
/// kind; `None` for kinds whose fields the simulator does not know (custom
/// resources, CRD-defined kinds it serves built in).
fn top_level(rt: &ResourceType) -> Option<&'static [&'static str]> {
    Some(match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "ConfigMap") => &["data", "binaryData", "immutable"],
        ("", "Secret") => &["data", "stringData", "type", "immutable"],
        ("", "ServiceAccount") => &[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        ("", "Endpoints") => &["subsets"],
        ("", "Event") => &[
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ],
        ("events.k8s.io", "Event") => &[
            "eventTime",
            "series",
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
            "regarding",
            "related",
            "note",
            "type",
            "deprecatedSource",
            "deprecatedFirstTimestamp",
            "deprecatedLastTimestamp",
            "deprecatedCount",
        ],
        ("rbac.authorization.k8s.io", "Role") => &["rules"],
        ("rbac.authorization.k8s.io", "ClusterRole") => &["rules", "aggregationRule"],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            &["subjects", "roleRef"]
        }
        ("storage.k8s.io", "StorageClass") => &[
            "provisioner",
            "parameters",
            "reclaimPolicy",
            "mountOptions",
            "allowVolumeExpansion",
            "volumeBindingMode",
            "allowedTopologies",
        ],
        ("scheduling.k8s.io", "PriorityClass") => {
            &["value", "globalDefault", "description", "preemptionPolicy"]
        }
        ("discovery.k8s.io", "EndpointSlice") => &["addressType", "endpoints", "ports"],
        ("apps", "ControllerRevision") => &["data", "revision"],
        (g, _)
            if rt.custom
                || g.ends_with("gateway.networking.k8s.io")
                || g == "monitoring.coreos.com" =>
        {
            return None;
        }
        _ => &["spec", "status"],
    })
}

/// The unknown fields of `obj`, as the real server names them.
pub fn unknown(rt: &ResourceType, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(meta) = obj.get("metadata").and_then(Value::as_object) {
        out.extend(
            meta.keys()
                .filter(|k| !METADATA.contains(&k.as_str()))
                .map(|k| format!("metadata.{k}")),
        );
    }
    if let (Some(allowed), Some(m)) = (top_level(rt), obj.as_object()) {
        out.extend(
            m.keys()
                .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                .filter(|k| !allowed.contains(&k.as_str()))
                .cloned(),
        );
    }
    out
}

/// Drops unknown fields, as decoding into the real server's types does
/// (and empty ones their encoding omits).
pub fn prune(rt: &ResourceType, obj: &mut Value) {
    crate::apply::omit_empty(obj);
    for path in unknown(rt, obj) {
        match path.strip_prefix("metadata.") {
            Some(k) => {
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
            None => {
                if let Some(m) = obj.as_object_mut() {
                    m.remove(&path);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    #[test]
    fn finds_unknown_top_level_and_metadata_fields() {
        let reg = Registry::default();
        let deploy = reg.by_kind("apps/v1", "Deployment").expect("deployments");
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "label": {}}, "spec": {}, "specc": {}});
        assert_eq!(unknown(&deploy, &obj), ["metadata.label", "specc"]);
        let mut pruned = obj.clone();
        prune(&deploy, &mut pruned);
        assert_eq!(
            pruned,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {}})
        );
        let cm = reg.by_kind("v1", "ConfigMap").expect("configmaps");
        assert!(unknown(&cm, &json!({"metadata": {"name": "a"}, "data": {}})).is_empty());
        let smon = reg
            .by_kind("monitoring.coreos.com/v1", "ServiceMonitor")
            .expect("servicemonitors");
        assert!(unknown(&smon, &json!({"anything": 1})).is_empty());
    }
}
