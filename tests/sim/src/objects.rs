//! Object semantics shared by the HTTP layer and the simulator's own
//! writers: metadata as the real server fills it, errors as `Status`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::registry::ResourceType;

/// An API error, rendered as a `Status` object.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, rt: &ResourceType, name: &str) -> ApiError {
        self.details = Some(json!({"name": name, "group": rt.group, "kind": rt.plural}));
        self
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.qualified()),
        )
        .with_details(rt, name)
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.qualified()),
        )
        .with_details(rt, name)
    }

    pub fn conflict(rt: &ResourceType, name: &str, why: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                rt.qualified()
            ),
        )
        .with_details(rt, name)
    }

    pub fn stale(rt: &ResourceType, name: &str) -> ApiError {
        Self::conflict(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn invalid(rt: &ResourceType, name: &str, field: &str, why: &str) -> ApiError {
        let mut e = ApiError::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {field}: {why}", rt.kind),
        );
        e.details = Some(json!({
            "name": name, "group": rt.group, "kind": rt.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": why, "field": field}],
        }));
        e
    }

    pub fn forbidden(rt: &ResourceType, name: &str, why: &str) -> ApiError {
        ApiError::new(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", rt.qualified()),
        )
        .with_details(rt, name)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    pub fn status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
}

/// Now, to the second (jiff without its `std` feature has no clock).
fn now_timestamp() -> jiff::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Now, as Kubernetes timestamps are written.
pub fn now() -> String {
    now_timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A random-enough u64 (std's hasher keys are random per process).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

pub fn uid() -> String {
    let (a, b) = (random_u64(), random_u64());
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The 5-character suffix `generateName` gets.
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = random_u64();
    (0..5)
        .map(|_| {
            #[allow(clippy::cast_possible_truncation)]
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// DNS-1123 subdomain, as most object names must be.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

pub fn meta(obj: &Value) -> &Value {
    &obj["metadata"]
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}

/// Does this type track `metadata.generation` (types with a spec)?
pub fn has_generation(rt: &ResourceType) -> bool {
    rt.custom
        || (!rt.group.is_empty()
            && !matches!(
                rt.group.as_str(),
                "rbac.authorization.k8s.io"
                    | "coordination.k8s.io"
                    | "discovery.k8s.io"
                    | "events.k8s.io"
            ))
        || rt.kind == "ReplicationController"
}

/// Records `manager`'s write in `managedFields` as the real server does
/// (see `apply::fieldset::record_update`): on create it owns every field it
/// set; on update it gains the fields it changed (taken from other
/// managers), and fields that are gone leave every set. An `Apply` has
/// computed its entry already (`apply::ssa`) and is left as it is.
pub fn record_manager(
    obj: &mut Value,
    writer: (&str, &str),
    api_version: &str,
    subresource: Option<&str>,
    old: Option<&Value>,
) {
    if writer.1 != "Apply" {
        crate::apply::fieldset::record_update(obj, writer, api_version, subresource, old);
    }
}

/// The object without the fields that never count as a change.
pub fn comparable(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    v
}

/// Everything but metadata and status (a change bumps `generation`).
pub fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
    }
    v
}

/// "5s", "3m20s", "2d": Kubernetes' human durations.
pub fn human_age(created: Option<&str>) -> String {
    let Some(ts) = created.and_then(|c| c.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".to_owned();
    };
    let secs = now_timestamp().duration_since(ts).as_secs().max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        if secs % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", secs % 60)
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        format!("{h}h{}m", m % 60)
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        format!("{d}d{}h", h % 24)
    } else {
        format!("{d}d")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uids_have_the_real_shapes() {
        assert!(valid_name("web-1.example"));
        assert!(!valid_name("Web"));
        assert!(!valid_name("-a"));
        assert!(!valid_name(""));
        let u = uid();
        assert_eq!(u.len(), 36, "{u}");
        assert_ne!(uid(), uid());
        assert_eq!(name_suffix().len(), 5);
    }

    #[test]
    fn updates_move_changed_fields_to_their_manager() {
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a"}, "data": {"k": "v", "j": "w"}});
        record_manager(&mut obj, ("create", "Update"), "v1", None, None);
        let old = obj.clone();
        obj["metadata"]["labels"] = json!({"x": "1"});
        obj["data"]["k"] = json!("v2");
        obj["data"].as_object_mut().expect("data").remove("j");
        record_manager(&mut obj, ("label", "Update"), "v1", None, Some(&old));
        let entries = obj["metadata"]["managedFields"]
            .as_array()
            .expect("entries");
        // The creator keeps the data map it added (`.`), not its keys.
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[0]["manager"], "create");
        assert_eq!(entries[0]["fieldsV1"], json!({"f:data": {}}));
        assert_eq!(entries[1]["manager"], "label");
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({"f:data": {"f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
        );
    }
}
