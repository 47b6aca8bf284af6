//! The resource types the simulator serves, as data.

use std::sync::RwLock;

use serde_json::{Value, json};

/// One served resource type (one group/version/plural).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `/status` subresource (status is ignored on the main resource).
    pub status: bool,
    /// Registered from a `CustomResourceDefinition`.
    pub custom: bool,
}

pub const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceType {
    /// Has a `/scale` subresource (`spec.replicas`).
    pub fn scale(&self) -> bool {
        matches!(
            (self.group.as_str(), self.plural.as_str()),
            ("apps", "deployments" | "replicasets" | "statefulsets")
                | ("", "replicationcontrollers")
        )
    }

    /// Reviews (access, rules, self) are answered, never stored.
    pub fn is_review(&self) -> bool {
        matches!(
            self.group.as_str(),
            "authorization.k8s.io" | "authentication.k8s.io"
        )
    }

    pub fn verbs(&self) -> &'static [&'static str] {
        if self.is_review() {
            &["create"]
        } else {
            &VERBS
        }
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The storage key of the type (`apps/deployments`, `/pods`): one store per
    /// group and plural whatever the version.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// `deployments.apps` or `pods`, as error messages name resources.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Legacy discovery's `APIResource` entries (the resource and its status).
    pub fn api_resources(&self) -> Vec<Value> {
        let mut main = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs(),
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        let mut out = vec![main];
        if self.status {
            out.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if self.scale() {
            out.push(json!({
                "name": format!("{}/scale", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
        out
    }

    /// Aggregated discovery (apidiscovery.k8s.io/v2) `APIResourceDiscovery`.
    pub fn discovery_v2(&self) -> Value {
        let response_kind =
            json!({"group": self.group, "version": self.version, "kind": self.kind});
        let mut out = json!({
            "resource": self.plural,
            "responseKind": response_kind,
            "scope": if self.namespaced { "Namespaced" } else { "Cluster" },
            "singularResource": self.singular,
            "verbs": self.verbs(),
        });
        if !self.short_names.is_empty() {
            out["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            out["categories"] = json!(self.categories);
        }
        let mut subresources = Vec::new();
        if self.status {
            subresources.push(json!({
                "subresource": "status",
                "responseKind": response_kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if self.scale() {
            subresources.push(json!({
                "subresource": "scale",
                "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                "verbs": ["get", "patch", "update"],
            }));
        }
        if !subresources.is_empty() {
            out["subresources"] = json!(subresources);
        }
        out
    }
}

/// All served types; `CustomResourceDefinition`s add to it at run time.
pub struct Registry {
    types: RwLock<Vec<ResourceType>>,
}

/// `(apiVersion, kind, plural, namespaced, status subresource, short names, in "all")`.
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    &'static [&'static str],
    bool,
);

const NS: bool = true;
const CLUSTER: bool = false;

#[rustfmt::skip]
const BUILTIN: &[Builtin] = &[
    ("v1", "Namespace", "namespaces", CLUSTER, true, &["ns"], false),
    ("v1", "Pod", "pods", NS, true, &["po"], true),
    ("v1", "Service", "services", NS, true, &["svc"], true),
    ("v1", "Endpoints", "endpoints", NS, false, &["ep"], false),
    ("v1", "ConfigMap", "configmaps", NS, false, &["cm"], false),
    ("v1", "Secret", "secrets", NS, false, &[], false),
    ("v1", "ServiceAccount", "serviceaccounts", NS, false, &["sa"], false),
    ("v1", "Event", "events", NS, false, &["ev"], false),
    ("v1", "Node", "nodes", CLUSTER, true, &["no"], false),
    ("v1", "PersistentVolumeClaim", "persistentvolumeclaims", NS, true, &["pvc"], false),
    ("v1", "PersistentVolume", "persistentvolumes", CLUSTER, true, &["pv"], false),
    ("v1", "ResourceQuota", "resourcequotas", NS, true, &["quota"], false),
    ("v1", "LimitRange", "limitranges", NS, false, &["limits"], false),
    ("v1", "ReplicationController", "replicationcontrollers", NS, true, &["rc"], true),
    ("apps/v1", "Deployment", "deployments", NS, true, &["deploy"], true),
    ("apps/v1", "ReplicaSet", "replicasets", NS, true, &["rs"], true),
    ("apps/v1", "StatefulSet", "statefulsets", NS, true, &["sts"], true),
    ("apps/v1", "DaemonSet", "daemonsets", NS, true, &["ds"], true),
    ("apps/v1", "ControllerRevision", "controllerrevisions", NS, false, &[], false),
    ("batch/v1", "Job", "jobs", NS, true, &[], true),
    ("batch/v1", "CronJob", "cronjobs", NS, true, &["cj"], true),
    ("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", NS, true, &["hpa"], true),
    ("networking.k8s.io/v1", "Ingress", "ingresses", NS, true, &["ing"], false),
    ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", NS, false, &["netpol"], false),
    ("networking.k8s.io/v1", "IngressClass", "ingressclasses", CLUSTER, false, &[], false),
    ("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", NS, true, &["pdb"], false),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", NS, false, &[], false),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", NS, false, &[], false),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", CLUSTER, false, &[], false),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", CLUSTER, false, &[], false),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", CLUSTER, true, &["crd", "crds"], false),
    ("storage.k8s.io/v1", "StorageClass", "storageclasses", CLUSTER, false, &["sc"], false),
    ("coordination.k8s.io/v1", "Lease", "leases", NS, false, &[], false),
    ("events.k8s.io/v1", "Event", "events", NS, false, &["ev"], false),
    ("discovery.k8s.io/v1", "EndpointSlice", "endpointslices", NS, false, &[], false),
    ("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", CLUSTER, false, &["pc"], false),
    ("gateway.networking.k8s.io/v1", "Gateway", "gateways", NS, true, &["gtw"], false),
    ("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes", NS, true, &[], false),
    ("gateway.networking.k8s.io/v1", "GatewayClass", "gatewayclasses", CLUSTER, true, &["gc"], false),
    ("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors", NS, false, &["smon"], false),
    ("monitoring.coreos.com/v1", "PodMonitor", "podmonitors", NS, false, &["pmon"], false),
    ("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrules", NS, false, &["promrule"], false),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", CLUSTER, false, &[], false),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", CLUSTER, false, &[], false),
    ("authorization.k8s.io/v1", "SubjectAccessReview", "subjectaccessreviews", CLUSTER, false, &[], false),
    ("authentication.k8s.io/v1", "SelfSubjectReview", "selfsubjectreviews", CLUSTER, false, &[], false),
];

fn builtin() -> Vec<ResourceType> {
    BUILTIN
        .iter()
        .map(|&(gv, kind, plural, namespaced, status, short, all)| {
            let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
            ResourceType {
                group: group.to_owned(),
                version: version.to_owned(),
                kind: kind.to_owned(),
                plural: plural.to_owned(),
                singular: kind.to_lowercase(),
                namespaced,
                short_names: short.iter().map(|s| (*s).to_owned()).collect(),
                categories: if all { vec!["all".to_owned()] } else { vec![] },
                status,
                custom: false,
            }
        })
        .collect()
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            types: RwLock::new(builtin()),
        }
    }
}

impl Registry {
    pub fn all(&self) -> Vec<ResourceType> {
        self.types
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The type served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// The type of a kind in an apiVersion (`apps/v1`, `Deployment`).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    /// Served group versions in discovery order: `(group, [versions])`, the
    /// preferred (first registered) version first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in self
            .types
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<ResourceType> {
        self.types
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// Registers (or re-registers) the served versions of a CRD; returns the
    /// accepted names for its status, or an error message.
    pub fn register_crd(&self, crd: &Value) -> Result<Value, String> {
        let spec = &crd["spec"];
        let group = spec["group"].as_str().ok_or("spec.group: Required value")?;
        let names = &spec["names"];
        let plural = names["plural"]
            .as_str()
            .ok_or("spec.names.plural: Required value")?;
        let kind = names["kind"]
            .as_str()
            .ok_or("spec.names.kind: Required value")?;
        let singular = names["singular"]
            .as_str()
            .map_or_else(|| kind.to_lowercase(), str::to_owned);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let versions = spec["versions"]
            .as_array()
            .ok_or("spec.versions: Required value")?;
        let mut new_types = Vec::new();
        for v in versions {
            if v["served"].as_bool() == Some(false) {
                continue;
            }
            let version = v["name"]
                .as_str()
                .ok_or("spec.versions.name: Required value")?;
            new_types.push(ResourceType {
                group: group.to_owned(),
                version: version.to_owned(),
                kind: kind.to_owned(),
                plural: plural.to_owned(),
                singular: singular.clone(),
                namespaced,
                short_names: strings(&names["shortNames"]),
                categories: strings(&names["categories"]),
                status: v["subresources"].get("status").is_some(),
                custom: true,
            });
        }
        let mut types = self
            .types
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        types.retain(|t| !(t.group == group && t.plural == plural));
        types.extend(new_types);
        Ok(json!({
            "plural": plural,
            "singular": singular,
            "kind": kind,
            "listKind": names["listKind"].as_str().map_or_else(|| format!("{kind}List"), str::to_owned),
            "shortNames": strings(&names["shortNames"]),
            "categories": strings(&names["categories"]),
        }))
    }

    pub fn unregister_crd(&self, crd: &Value) {
        let (Some(group), Some(plural)) = (
            crd["spec"]["group"].as_str(),
            crd["spec"]["names"]["plural"].as_str(),
        ) else {
            return;
        };
        self.types
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|t| !(t.group == group && t.plural == plural && t.custom));
    }
}
