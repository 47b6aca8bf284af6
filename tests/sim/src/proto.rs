//! Decoding of Kubernetes protobuf request bodies for the kinds that
//! client-go's typed clients send as protobuf in devloop's world: Helm's
//! release `Secret`s, `kubectl create secret|configmap|namespace|
//! serviceaccount|deployment|job|service`, `kubectl expose`, and reviews
//! (`kubectl auth can-i|whoami`, answered from their kind alone). Only the
//! fields those commands set are mapped; other fields must be empty.
//! Responses are always JSON (clients accept it).

use base64::Engine as _;
use serde_json::{Map, Value, json};

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bytes,
    Bool,
    /// A non-pointer bool: `false` is omitted, as JSON's omitempty does.
    Flag,
    Int,
    Time,
    Msg(&'static [Field]),
    /// `IntOrString`: `{type, intVal, strVal}` as a JSON number or string.
    IntOrString,
    MapStr,
    MapBytes,
}

/// `(field number, JSON name, type, repeated)`.
type Field = (u32, &'static str, Ty, bool);

static OWNER_REFERENCE: &[Field] = &[
    (1, "kind", Ty::Str, false),
    (3, "name", Ty::Str, false),
    (4, "uid", Ty::Str, false),
    (5, "apiVersion", Ty::Str, false),
    (6, "controller", Ty::Bool, false),
    (7, "blockOwnerDeletion", Ty::Bool, false),
];

static OBJECT_META: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "generateName", Ty::Str, false),
    (3, "namespace", Ty::Str, false),
    (4, "selfLink", Ty::Str, false),
    (5, "uid", Ty::Str, false),
    (6, "resourceVersion", Ty::Str, false),
    (7, "generation", Ty::Int, false),
    (8, "creationTimestamp", Ty::Time, false),
    (9, "deletionTimestamp", Ty::Time, false),
    (10, "deletionGracePeriodSeconds", Ty::Int, false),
    (11, "labels", Ty::MapStr, false),
    (12, "annotations", Ty::MapStr, false),
    (13, "ownerReferences", Ty::Msg(OWNER_REFERENCE), true),
    (14, "finalizers", Ty::Str, true),
];

static LOCAL_OBJECT_REFERENCE: &[Field] = &[(1, "name", Ty::Str, false)];

static OBJECT_REFERENCE: &[Field] = &[
    (1, "kind", Ty::Str, false),
    (2, "namespace", Ty::Str, false),
    (3, "name", Ty::Str, false),
    (4, "uid", Ty::Str, false),
    (5, "apiVersion", Ty::Str, false),
    (6, "resourceVersion", Ty::Str, false),
    (7, "fieldPath", Ty::Str, false),
];

static SECRET: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "data", Ty::MapBytes, false),
    (3, "type", Ty::Str, false),
    (4, "stringData", Ty::MapStr, false),
    (5, "immutable", Ty::Bool, false),
];

static CONFIG_MAP: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "data", Ty::MapStr, false),
    (3, "binaryData", Ty::MapBytes, false),
    (4, "immutable", Ty::Bool, false),
];

static NAMESPACE_SPEC: &[Field] = &[(1, "finalizers", Ty::Str, true)];
static NAMESPACE_STATUS: &[Field] = &[(1, "phase", Ty::Str, false)];

static NAMESPACE: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(NAMESPACE_SPEC), false),
    (3, "status", Ty::Msg(NAMESPACE_STATUS), false),
];

static SERVICE_ACCOUNT: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "secrets", Ty::Msg(OBJECT_REFERENCE), true),
    (3, "imagePullSecrets", Ty::Msg(LOCAL_OBJECT_REFERENCE), true),
    (4, "automountServiceAccountToken", Ty::Bool, false),
];

static INT_OR_STRING: &[Field] = &[
    (1, "type", Ty::Int, false),
    (2, "intVal", Ty::Int, false),
    (3, "strVal", Ty::Str, false),
];

static LABEL_SELECTOR_REQUIREMENT: &[Field] = &[
    (1, "key", Ty::Str, false),
    (2, "operator", Ty::Str, false),
    (3, "values", Ty::Str, true),
];

static LABEL_SELECTOR: &[Field] = &[
    (1, "matchLabels", Ty::MapStr, false),
    (
        2,
        "matchExpressions",
        Ty::Msg(LABEL_SELECTOR_REQUIREMENT),
        true,
    ),
];

static CONTAINER_PORT: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "hostPort", Ty::Int, false),
    (3, "containerPort", Ty::Int, false),
    (4, "protocol", Ty::Str, false),
    (5, "hostIP", Ty::Str, false),
];

static ENV_VAR: &[Field] = &[(1, "name", Ty::Str, false), (2, "value", Ty::Str, false)];

static CONTAINER: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "image", Ty::Str, false),
    (3, "command", Ty::Str, true),
    (4, "args", Ty::Str, true),
    (5, "workingDir", Ty::Str, false),
    (6, "ports", Ty::Msg(CONTAINER_PORT), true),
    (7, "env", Ty::Msg(ENV_VAR), true),
    (13, "terminationMessagePath", Ty::Str, false),
    (14, "imagePullPolicy", Ty::Str, false),
    (16, "stdin", Ty::Flag, false),
    (17, "stdinOnce", Ty::Flag, false),
    (18, "tty", Ty::Flag, false),
    (20, "terminationMessagePolicy", Ty::Str, false),
];

static POD_SPEC: &[Field] = &[
    (2, "containers", Ty::Msg(CONTAINER), true),
    (3, "restartPolicy", Ty::Str, false),
    (4, "terminationGracePeriodSeconds", Ty::Int, false),
    (6, "dnsPolicy", Ty::Str, false),
    (7, "nodeSelector", Ty::MapStr, false),
    (8, "serviceAccountName", Ty::Str, false),
    (10, "nodeName", Ty::Str, false),
    (
        15,
        "imagePullSecrets",
        Ty::Msg(LOCAL_OBJECT_REFERENCE),
        true,
    ),
    (16, "hostname", Ty::Str, false),
    (17, "subdomain", Ty::Str, false),
    (19, "schedulerName", Ty::Str, false),
    (20, "initContainers", Ty::Msg(CONTAINER), true),
];

static POD: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(POD_SPEC), false),
];

static POD_TEMPLATE_SPEC: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(POD_SPEC), false),
];

static DEPLOYMENT_SPEC: &[Field] = &[
    (1, "replicas", Ty::Int, false),
    (2, "selector", Ty::Msg(LABEL_SELECTOR), false),
    (3, "template", Ty::Msg(POD_TEMPLATE_SPEC), false),
];

static DEPLOYMENT: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(DEPLOYMENT_SPEC), false),
];

static JOB_SPEC: &[Field] = &[
    (1, "parallelism", Ty::Int, false),
    (2, "completions", Ty::Int, false),
    (3, "activeDeadlineSeconds", Ty::Int, false),
    (6, "template", Ty::Msg(POD_TEMPLATE_SPEC), false),
    (7, "backoffLimit", Ty::Int, false),
];

static JOB: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(JOB_SPEC), false),
];

static SERVICE_PORT: &[Field] = &[
    (1, "name", Ty::Str, false),
    (2, "protocol", Ty::Str, false),
    (3, "port", Ty::Int, false),
    (4, "targetPort", Ty::IntOrString, false),
    (5, "nodePort", Ty::Int, false),
];

static SERVICE_SPEC: &[Field] = &[
    (1, "ports", Ty::Msg(SERVICE_PORT), true),
    (2, "selector", Ty::MapStr, false),
    (3, "clusterIP", Ty::Str, false),
    (4, "type", Ty::Str, false),
    (10, "externalName", Ty::Str, false),
];

static SERVICE: &[Field] = &[
    (1, "metadata", Ty::Msg(OBJECT_META), false),
    (2, "spec", Ty::Msg(SERVICE_SPEC), false),
];

static TYPE_META: &[Field] = &[
    (1, "apiVersion", Ty::Str, false),
    (2, "kind", Ty::Str, false),
];

static UNKNOWN: &[Field] = &[
    (1, "typeMeta", Ty::Msg(TYPE_META), false),
    (2, "raw", Ty::Bytes, false),
    (3, "contentEncoding", Ty::Str, false),
    (4, "contentType", Ty::Str, false),
];

static TIME: &[Field] = &[(1, "seconds", Ty::Int, false), (2, "nanos", Ty::Int, false)];

enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err("varint too long".to_owned())
}

fn fields(buf: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, String> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let number = u32::try_from(key >> 3).map_err(|_| "field number too large")?;
        match key & 7 {
            0 => out.push((number, Wire::Varint(varint(buf, &mut pos)?))),
            2 => {
                let len =
                    usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length too large")?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or("truncated field")?;
                out.push((number, Wire::Len(&buf[pos..end])));
                pos = end;
            }
            1 => pos += 8,
            5 => pos += 4,
            other => return Err(format!("unsupported wire type {other}")),
        }
    }
    Ok(out)
}

fn string(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".to_owned())
}

fn value(ty: Ty, wire: &Wire<'_>) -> Result<Value, String> {
    Ok(match (ty, wire) {
        (Ty::Str, Wire::Len(b)) => Value::String(string(b)?),
        (Ty::Bytes, Wire::Len(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Bool | Ty::Flag, Wire::Varint(v)) => Value::Bool(*v != 0),
        #[allow(clippy::cast_possible_wrap)]
        (Ty::Int, Wire::Varint(v)) => json!(*v as i64),
        (Ty::Time, Wire::Len(b)) => {
            let t = message(b, TIME)?;
            let secs = t.get("seconds").and_then(Value::as_i64).unwrap_or(0);
            let ts = jiff::Timestamp::from_second(secs).map_err(|e| e.to_string())?;
            Value::String(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        (Ty::Msg(schema), Wire::Len(b)) => Value::Object(message(b, schema)?),
        (Ty::IntOrString, Wire::Len(b)) => {
            let m = message(b, INT_OR_STRING)?;
            match m.get("strVal") {
                Some(s) if m.get("type").and_then(Value::as_i64) == Some(1) => s.clone(),
                _ => m.get("intVal").cloned().unwrap_or(json!(0)),
            }
        }
        _ => return Err("a field has an unexpected wire type".to_owned()),
    })
}

/// Zero, an empty string, or a message of nothing but empty fields.
fn is_empty(wire: &Wire<'_>) -> bool {
    match wire {
        Wire::Varint(v) => *v == 0,
        Wire::Len(b) => {
            b.is_empty() || fields(b).is_ok_and(|fs| fs.iter().all(|(_, w)| is_empty(w)))
        }
    }
}

fn message(buf: &[u8], schema: &[Field]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (number, wire) in fields(buf)? {
        let Some(&(_, name, ty, repeated)) = schema.iter().find(|f| f.0 == number) else {
            // Go writes every non-pointer field, set or not: fields the
            // simulator does not know are fine as long as they are empty.
            if is_empty(&wire) {
                continue;
            }
            return Err(format!("field {number} is not decoded by devloop-sim"));
        };
        match ty {
            Ty::MapStr | Ty::MapBytes => {
                let Wire::Len(entry) = wire else {
                    return Err(format!("map {name} is malformed"));
                };
                let (mut k, mut v) = (String::new(), Value::String(String::new()));
                for (n, w) in fields(entry)? {
                    match (n, &w) {
                        (1, Wire::Len(b)) => k = string(b)?,
                        (2, _) => {
                            v = value(
                                if matches!(ty, Ty::MapStr) {
                                    Ty::Str
                                } else {
                                    Ty::Bytes
                                },
                                &w,
                            )?;
                        }
                        _ => {}
                    }
                }
                let map = out.entry(name).or_insert_with(|| json!({}));
                map[k.as_str()] = v;
            }
            _ if repeated => {
                let v = value(ty, &wire)?;
                if let Some(a) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    a.push(v);
                }
            }
            _ => {
                // gogo-protobuf writes empty non-pointer fields; JSON omits them.
                let v = value(ty, &wire)?;
                let empty = match &v {
                    Value::String(s) => s.is_empty() || s.starts_with("1970-01-01T00:00:00"),
                    Value::Number(n) => n.as_i64() == Some(0),
                    Value::Bool(b) => matches!(ty, Ty::Flag) && !b,
                    Value::Object(m) => m.is_empty(),
                    _ => false,
                };
                if !empty {
                    out.insert(name.to_owned(), v);
                }
            }
        }
    }
    Ok(out)
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into Kubernetes JSON.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or("the protobuf body lacks the k8s envelope")?;
    let unknown = message(rest, UNKNOWN)?;
    let api_version = unknown["typeMeta"]["apiVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let kind = unknown["typeMeta"]["kind"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let schema = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => SECRET,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("v1", "Pod") => POD,
        ("v1", "Service") => SERVICE,
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("batch/v1", "Job") => JOB,
        // Reviews are answered from their kind alone (everything is allowed).
        ("authorization.k8s.io/v1" | "authentication.k8s.io/v1", _) => {
            return Ok(json!({"apiVersion": api_version, "kind": kind, "spec": {}}));
        }
        _ => {
            return Err(format!(
                "devloop-sim decodes protobuf only for Secret, ConfigMap, Namespace, ServiceAccount, Pod, Service, Deployment and Job, not {api_version} {kind}: send JSON"
            ));
        }
    };
    let raw = unknown["raw"].as_str().unwrap_or("");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|e| e.to_string())?;
    let mut obj = message(&raw, schema)?;
    obj.insert("apiVersion".into(), Value::String(api_version));
    obj.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_field(n: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from(n << 3 | 2).expect("small field")];
        out.push(u8::try_from(bytes.len()).expect("short"));
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_secret_envelope() {
        let label = [len_field(1, b"owner"), len_field(2, b"helm")].concat();
        let meta = [
            len_field(1, b"sh.helm.release.v1.demo.v1"),
            len_field(11, &label),
        ]
        .concat();
        let data = [len_field(1, b"release"), len_field(2, b"\x00\x01")].concat();
        let secret = [
            len_field(1, &meta),
            len_field(2, &data),
            len_field(3, b"helm.sh/release.v1"),
        ]
        .concat();
        let type_meta = [len_field(1, b"v1"), len_field(2, b"Secret")].concat();
        let body = [
            b"k8s\0".to_vec(),
            len_field(1, &type_meta),
            len_field(2, &secret),
        ]
        .concat();
        let v = decode(&body).expect("decodes");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "sh.helm.release.v1.demo.v1", "labels": {"owner": "helm"}},
                "data": {"release": "AAE="},
                "type": "helm.sh/release.v1",
            })
        );
    }
}
