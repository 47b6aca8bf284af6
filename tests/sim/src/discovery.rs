//! `/version`, legacy and aggregated discovery, and minimal `OpenAPI` v3.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use crate::registry::{Registry, ResourceType};

pub const KUBE_VERSION: &str = "v1.33.0";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": KUBE_VERSION,
        "gitCommit": "devloop-sim",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": format!("linux/{}", arch()),
    })
}

/// The machine's architecture as Kubernetes names it.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}

pub fn api_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}],
    })
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": gvs,
        "preferredVersion": gvs[0],
    })
}

pub fn api_group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(reg: &Registry, group: &str) -> Option<Value> {
    let groups = reg.groups();
    let (_, versions) = groups.iter().find(|(g, _)| g == group && !g.is_empty())?;
    let mut v = group_json(group, versions);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

pub fn api_resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = reg.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let resources: Vec<Value> = types.iter().flat_map(ResourceType::api_resources).collect();
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

/// `APIGroupDiscoveryList` (apidiscovery.k8s.io/v2) for `/api` (core) or `/apis`.
pub fn aggregated(reg: &Registry, core: bool) -> Value {
    let items: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, vs)| {
            let versions: Vec<Value> = vs
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = reg
                        .in_group_version(g, v)
                        .iter()
                        .map(ResourceType::discovery_v2)
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if core {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": g, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn gv_hash(reg: &Registry, group: &str, version: &str) -> String {
    let mut h = DefaultHasher::new();
    for t in reg.in_group_version(group, version) {
        (&t.kind, &t.plural, t.namespaced, t.status).hash(&mut h);
    }
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: one entry per served group/version.
pub fn openapi_root(reg: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    for (g, vs) in reg.groups() {
        for v in vs {
            let p = gv_path(&g, &v);
            let url = format!("/openapi/v3/{p}?hash={}", gv_hash(reg, &g, &v));
            paths.insert(p, json!({"serverRelativeURL": url}));
        }
    }
    json!({"paths": paths})
}

/// The `OpenAPI` schema name of a kind, as the upstream spec names it.
pub fn schema_name(t: &ResourceType) -> String {
    let g = t.group.as_str();
    let prefix = if g.is_empty() {
        "io.k8s.api.core".to_owned()
    } else if g == "apiextensions.k8s.io" {
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".to_owned()
    } else if let Some(short) = g.strip_suffix(".k8s.io") {
        format!("io.k8s.api.{}", short.replace('.', "-"))
    } else if !g.contains('.') {
        format!("io.k8s.api.{g}")
    } else {
        let mut parts: Vec<&str> = g.split('.').collect();
        parts.reverse();
        parts.join(".")
    };
    format!("{prefix}.{}.{}", t.version, t.kind)
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// A minimal but valid `OpenAPI` v3 document for one group/version: every
/// resource's paths (PATCH advertising `fieldValidation`, which is what
/// kubectl checks before it leaves validation to the server) and a schema per
/// kind carrying `x-kubernetes-group-version-kind`. Schemas accept any fields.
pub fn openapi_gv(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = reg.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let base = format!("/{}", gv_path(group, version));
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for t in &types {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let name = schema_name(t);
        let reference = json!({"$ref": format!("#/components/schemas/{name}")});
        let body = |types: &[&str]| {
            let content: serde_json::Map<String, Value> = types
                .iter()
                .map(|ct| ((*ct).to_owned(), json!({"schema": reference})))
                .collect();
            json!({"content": content, "required": true})
        };
        let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let write_params = vec![
            query_param("dryRun"),
            query_param("fieldManager"),
            query_param("fieldValidation"),
        ];
        let op = |action: &str, params: Vec<Value>, request: Option<Value>| {
            let mut o = json!({
                "operationId": format!("{action}{}", t.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": ok,
            });
            if let Some(r) = request {
                o["requestBody"] = r;
            }
            o
        };
        let ns_prefix = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}")
        } else {
            base.clone()
        };
        let mut path_params = vec![];
        if t.namespaced {
            path_params.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string"}}));
        }
        let mut item_params = path_params.clone();
        item_params.push(
            json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}),
        );
        let mut patch_query = write_params.clone();
        patch_query.push(query_param("force"));
        let patch_body = body(&[
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ]);
        paths.insert(
            format!("{ns_prefix}/{}", t.plural),
            json!({
                "get": op("list", vec![query_param("labelSelector"), query_param("fieldSelector"), query_param("limit"), query_param("continue"), query_param("watch"), query_param("resourceVersion")], None),
                "post": op("post", write_params.clone(), Some(body(&["*/*"]))),
                "delete": op("deletecollection", vec![query_param("labelSelector"), query_param("dryRun")], None),
                "parameters": path_params,
            }),
        );
        paths.insert(
            format!("{ns_prefix}/{}/{{name}}", t.plural),
            json!({
                "get": op("get", vec![], None),
                "put": op("put", write_params.clone(), Some(body(&["*/*"]))),
                "patch": op("patch", patch_query.clone(), Some(patch_body.clone())),
                "delete": op("delete", vec![query_param("dryRun"), query_param("gracePeriodSeconds"), query_param("propagationPolicy")], None),
                "parameters": item_params,
            }),
        );
        if t.status {
            paths.insert(
                format!("{ns_prefix}/{}/{{name}}/status", t.plural),
                json!({
                    "get": op("get", vec![], None),
                    "put": op("put", write_params.clone(), Some(body(&["*/*"]))),
                    "patch": op("patch", patch_query, Some(patch_body)),
                    "parameters": item_params,
                }),
            );
        }
        schemas.insert(
            name,
            json!({
                "description": format!("{} (devloop-sim: schema not simulated; any fields accepted)", t.kind),
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                },
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [gvk],
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}
