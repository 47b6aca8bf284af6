//! How the built-in types' lists merge, as data: the Kubernetes API's
//! `x-kubernetes-list-type`/`x-kubernetes-list-map-keys` (server-side apply)
//! and `patchStrategy`/`patchMergeKey` (strategic merge patch).

use serde_json::{Map, Value};

/// How a list merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Replaced whole (`atomic`; no `patchStrategy`).
    Atomic,
    /// A set of scalars (`set`; `patchStrategy: merge` on a primitive list).
    Set,
    /// A list of objects identified by `keys` (SSA) / `merge_key` (SMP).
    Map {
        keys: &'static [&'static str],
        merge_key: &'static str,
    },
}

const CONTAINERS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// `(field, keys, SMP merge key)` for lists whose field name alone decides.
const BY_NAME: &[(&str, &[&str], &str)] = &[
    ("containers", &["name"], "name"),
    ("initContainers", &["name"], "name"),
    ("ephemeralContainers", &["name"], "name"),
    ("env", &["name"], "name"),
    ("volumes", &["name"], "name"),
    ("volumeMounts", &["mountPath"], "mountPath"),
    ("volumeDevices", &["devicePath"], "devicePath"),
    ("imagePullSecrets", &["name"], "name"),
    ("hostAliases", &["ip"], "ip"),
    (
        "topologySpreadConstraints",
        &["topologyKey", "whenUnsatisfiable"],
        "topologyKey",
    ),
    ("resourceClaims", &["name"], "name"),
    ("schedulingGates", &["name"], "name"),
    ("ownerReferences", &["uid"], "uid"),
    ("conditions", &["type"], "type"),
];

/// Maps and structs owned and replaced whole (`x-kubernetes-map-type:
/// atomic`, `+structType=atomic`): label selectors (`LabelSelector` is an
/// atomic struct; Service `selector` and `nodeSelector` atomic maps) and
/// RBAC `roleRef`.
const ATOMIC_OBJECTS: &[&str] = &[
    "selector",
    "nodeSelector",
    "podSelector",
    "namespaceSelector",
    "labelSelector",
    "roleRef",
];

/// Is the object at `path` (field names from the root) atomic?
pub fn atomic_object(path: &[&str]) -> bool {
    path.len() > 1 && path.last().is_some_and(|f| ATOMIC_OBJECTS.contains(f))
}

/// Maps and optional (pointer) structs: an update that adds one owns the
/// node itself too (`.` in `fieldsV1`), as the real server's comparison of
/// typed objects gives; required structs (`spec`, `template`, ...) are
/// never "added".
const ADDED_NODES: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "limits",
    "requests",
    "parameters",
    "rollingUpdate",
    "securityContext",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "httpGet",
    "exec",
    "tcpSocket",
    "grpc",
    "configMap",
    "secret",
    "emptyDir",
    "persistentVolumeClaim",
    "valueFrom",
    "configMapKeyRef",
    "secretKeyRef",
    "fieldRef",
    "resourceFieldRef",
    "configMapRef",
    "secretRef",
    "affinity",
    "nodeAffinity",
    "podAffinity",
    "podAntiAffinity",
];

/// Does an update that adds the object at `path` own the node itself?
pub fn owns_added_node(path: &[&str]) -> bool {
    path.last().is_some_and(|f| ADDED_NODES.contains(f)) && !atomic_object(path)
}

/// Default values of key fields (the real server defaults them before
/// building the key, e.g. `protocol: TCP` of ports).
pub fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".into()))
}

/// The list type of the list at `path` (field names from the object's
/// root; list items do not appear).
pub fn list_type(path: &[&str]) -> ListType {
    let Some((last, init)) = path.split_last() else {
        return ListType::Atomic;
    };
    match *last {
        "finalizers" if init == ["metadata"] => return ListType::Set,
        "ports" => {
            if init.last().is_some_and(|p| CONTAINERS.contains(p)) {
                return ListType::Map {
                    keys: &["containerPort", "protocol"],
                    merge_key: "containerPort",
                };
            }
            if init == ["spec"] {
                return ListType::Map {
                    keys: &["port", "protocol"],
                    merge_key: "port",
                };
            }
            return ListType::Atomic;
        }
        _ => {}
    }
    BY_NAME
        .iter()
        .find(|(f, _, _)| f == last)
        .map_or(ListType::Atomic, |(_, keys, merge_key)| ListType::Map {
            keys,
            merge_key,
        })
}

/// The key of a list-map item: its key fields (defaulted), sorted by name.
pub fn item_key(keys: &[&str], item: &Value) -> Map<String, Value> {
    let mut names: Vec<&str> = keys.to_vec();
    names.sort_unstable();
    let mut out = Map::new();
    for k in names {
        if let Some(v) = item.get(k).cloned().or_else(|| key_default(k)) {
            out.insert(k.to_owned(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lists_have_their_keys() {
        assert_eq!(
            list_type(&["spec", "template", "spec", "containers"]),
            ListType::Map {
                keys: &["name"],
                merge_key: "name"
            }
        );
        assert!(matches!(
            list_type(&["spec", "containers", "ports"]),
            ListType::Map {
                merge_key: "containerPort",
                ..
            }
        ));
        assert!(matches!(
            list_type(&["spec", "ports"]),
            ListType::Map {
                merge_key: "port",
                ..
            }
        ));
        assert_eq!(list_type(&["metadata", "finalizers"]), ListType::Set);
        assert_eq!(list_type(&["spec", "tolerations"]), ListType::Atomic);
        assert_eq!(list_type(&["spec", "containers", "args"]), ListType::Atomic);
        assert!(atomic_object(&["spec", "selector"]));
        assert!(!atomic_object(&["metadata", "labels"]));
    }
}
