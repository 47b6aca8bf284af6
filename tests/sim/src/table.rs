//! `Table` output (`Accept: application/json;as=Table;...`): the columns
//! `kubectl get` prints, per kind as the real server's printers make them.

use serde_json::{Value, json};

use crate::objects::{self, meta_str};
use crate::registry::ResourceType;

type Cell = Box<dyn Fn(&Value) -> Value>;

struct Column {
    name: String,
    ty: &'static str,
    priority: u8,
    cell: Cell,
}

fn col(name: &str, priority: u8, cell: impl Fn(&Value) -> Value + 'static) -> Column {
    Column {
        name: name.to_owned(),
        ty: "string",
        priority,
        cell: Box::new(cell),
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn age() -> Column {
    col("Age", 0, |o| {
        json!(objects::human_age(meta_str(o, "creationTimestamp")))
    })
}

fn or_none(s: String) -> Value {
    json!(if s.is_empty() { "<none>".to_owned() } else { s })
}

fn pod_status(o: &Value) -> String {
    if o["metadata"].get("deletionTimestamp").is_some() {
        return "Terminating".to_owned();
    }
    let statuses = o["status"]["containerStatuses"].as_array();
    for c in statuses.into_iter().flatten() {
        for state in ["waiting", "terminated"] {
            if let Some(r) = c["state"][state]["reason"].as_str() {
                return r.to_owned();
            }
        }
    }
    o["status"]["reason"]
        .as_str()
        .or(o["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_owned()
}

/// A dotted `JSONPath` (`.spec.size`) as CRD printer columns use it.
fn json_path(o: &Value, path: &str) -> Value {
    let mut cur = o;
    for seg in path.trim_start_matches('.').split('.') {
        cur = &cur[seg];
    }
    cur.clone()
}

#[allow(clippy::too_many_lines)] // a table: one arm per kind
fn columns(rt: &ResourceType, crd: Option<&Value>) -> Vec<Column> {
    let name = col("Name", 0, |o| json!(meta_str(o, "name").unwrap_or("")));
    let mut cols = vec![name];
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Pod") => {
            cols.push(col("Ready", 0, |o| {
                let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
                let ready = o["status"]["containerStatuses"]
                    .as_array()
                    .map_or(0, |a| a.iter().filter(|c| c["ready"] == true).count());
                json!(format!("{ready}/{total}"))
            }));
            cols.push(col("Status", 0, |o| json!(pod_status(o))));
            cols.push(col("Restarts", 0, |o| {
                let n: i64 = o["status"]["containerStatuses"]
                    .as_array()
                    .map_or(0, |a| a.iter().map(|c| int(&c["restartCount"])).sum());
                json!(n)
            }));
            cols.push(age());
            cols.push(col("IP", 1, |o| {
                or_none(o["status"]["podIP"].as_str().unwrap_or("").to_owned())
            }));
            cols.push(col("Node", 1, |o| {
                or_none(o["spec"]["nodeName"].as_str().unwrap_or("").to_owned())
            }));
        }
        ("", "Event") => {
            // The real event printer: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.
            cols.clear();
            cols.push(col("Last Seen", 0, |o| {
                let last = o["lastTimestamp"]
                    .as_str()
                    .or_else(|| o["eventTime"].as_str())
                    .or_else(|| meta_str(o, "creationTimestamp"));
                json!(objects::human_age(last))
            }));
            cols.push(col("Type", 0, |o| json!(o["type"].as_str().unwrap_or(""))));
            cols.push(col("Reason", 0, |o| {
                json!(o["reason"].as_str().unwrap_or(""))
            }));
            cols.push(col("Object", 0, |o| {
                let i = &o["involvedObject"];
                json!(format!(
                    "{}/{}",
                    i["kind"].as_str().unwrap_or("").to_lowercase(),
                    i["name"].as_str().unwrap_or("")
                ))
            }));
            cols.push(col("Subobject", 1, |o| {
                json!(o["involvedObject"]["fieldPath"].as_str().unwrap_or(""))
            }));
            cols.push(col("Source", 1, |o| {
                let s = &o["source"];
                json!(match (s["component"].as_str(), s["host"].as_str()) {
                    (Some(c), Some(h)) => format!("{c}, {h}"),
                    (Some(c), None) => c.to_owned(),
                    _ => String::new(),
                })
            }));
            cols.push(col("Message", 0, |o| {
                json!(o["message"].as_str().unwrap_or(""))
            }));
            cols.push(col("First Seen", 1, |o| {
                json!(objects::human_age(o["firstTimestamp"].as_str()))
            }));
            cols.push(col("Count", 1, |o| json!(o["count"].as_i64().unwrap_or(1))));
            cols.push(col("Name", 1, |o| json!(meta_str(o, "name").unwrap_or(""))));
        }
        ("apps", "Deployment") => {
            cols.push(col("Ready", 0, |o| {
                json!(format!(
                    "{}/{}",
                    int(&o["status"]["readyReplicas"]),
                    o["spec"]["replicas"].as_i64().unwrap_or(1)
                ))
            }));
            cols.push(col("Up-to-date", 0, |o| {
                json!(int(&o["status"]["updatedReplicas"]))
            }));
            cols.push(col("Available", 0, |o| {
                json!(int(&o["status"]["availableReplicas"]))
            }));
            cols.push(age());
        }
        ("apps", "ReplicaSet" | "StatefulSet") => {
            cols.push(col("Desired", 0, |o| {
                json!(o["spec"]["replicas"].as_i64().unwrap_or(1))
            }));
            cols.push(col("Current", 0, |o| json!(int(&o["status"]["replicas"]))));
            cols.push(col("Ready", 0, |o| {
                json!(int(&o["status"]["readyReplicas"]))
            }));
            cols.push(age());
        }
        ("", "Service") => {
            cols.push(col("Type", 0, |o| {
                json!(o["spec"]["type"].as_str().unwrap_or("ClusterIP"))
            }));
            cols.push(col("Cluster-IP", 0, |o| {
                or_none(o["spec"]["clusterIP"].as_str().unwrap_or("").to_owned())
            }));
            cols.push(col("External-IP", 0, |_| json!("<none>")));
            cols.push(col("Port(s)", 0, |o| {
                let ports: Vec<String> = o["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let node = p["nodePort"]
                            .as_i64()
                            .map(|n| format!(":{n}"))
                            .unwrap_or_default();
                        format!(
                            "{}{node}/{}",
                            int(&p["port"]),
                            p["protocol"].as_str().unwrap_or("TCP")
                        )
                    })
                    .collect();
                or_none(ports.join(","))
            }));
            cols.push(age());
        }
        ("", "Namespace") => {
            cols.push(col("Status", 0, |o| {
                json!(o["status"]["phase"].as_str().unwrap_or("Active"))
            }));
            cols.push(age());
        }
        ("", "Node") => {
            cols.push(col("Status", 0, |o| {
                let ready = o["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                json!(if ready { "Ready" } else { "NotReady" })
            }));
            cols.push(col("Roles", 0, |o| {
                let roles: Vec<&str> = o["metadata"]["labels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
                    .collect();
                or_none(roles.join(","))
            }));
            cols.push(age());
            cols.push(col("Version", 0, |o| {
                json!(
                    o["status"]["nodeInfo"]["kubeletVersion"]
                        .as_str()
                        .unwrap_or("")
                )
            }));
        }
        _ => {
            let printer: Vec<Value> = crd
                .and_then(|c| c["spec"]["versions"].as_array())
                .and_then(|vs| vs.iter().find(|v| v["name"] == rt.version.as_str()))
                .and_then(|v| v["additionalPrinterColumns"].as_array())
                .cloned()
                .unwrap_or_default();
            for p in printer {
                let path = p["jsonPath"].as_str().unwrap_or("").to_owned();
                let mut c = col(
                    p["name"].as_str().unwrap_or(""),
                    u8::try_from(p["priority"].as_u64().unwrap_or(0)).unwrap_or(0),
                    move |o| {
                        let v = json_path(o, &path);
                        if v.is_null() { json!("") } else { v }
                    },
                );
                c.ty = match p["type"].as_str() {
                    Some("integer") => "integer",
                    Some("number") => "number",
                    Some("boolean") => "boolean",
                    _ => "string",
                };
                cols.push(c);
            }
            if !cols.iter().any(|c| c.name == "Age") {
                cols.push(age());
            }
        }
    }
    cols
}

/// Renders a list (or one object) as a `meta.k8s.io/v1` `Table`.
pub fn to_table(rt: &ResourceType, v: &Value, include: &str, crd: Option<&Value>) -> Value {
    let objects: Vec<&Value> =
        if v["kind"].as_str().is_some_and(|k| k.ends_with("List")) && v.get("items").is_some() {
            v["items"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        } else {
            vec![v]
        };
    let cols = columns(rt, crd);
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let cells: Vec<Value> = cols.iter().map(|c| (c.cell)(o)).collect();
            let mut row = json!({"cells": cells});
            match include {
                "None" => {}
                "Object" => row["object"] = (*o).clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    });
                }
            }
            row
        })
        .collect();
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.ty,
                "format": if c.name == "Name" { "name" } else { "" },
                "description": "",
                "priority": c.priority,
            })
        })
        .collect();
    let mut table = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": v["metadata"]["resourceVersion"]},
        "columnDefinitions": defs,
        "rows": rows,
    });
    if let Some(c) = v["metadata"].get("continue") {
        table["metadata"]["continue"] = c.clone();
    }
    table
}
