//! The API server's bridge between client-side `kubectl apply` (the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation) and
//! server-side apply, for the field manager `kubectl` only:
//! - conflicts on fields the annotation lists are allowed (the apply is
//!   forced), so `kubectl apply --server-side` after `kubectl apply` does not
//!   conflict with `kubectl-client-side-apply` (`lastAppliedManager`);
//! - when the object has the annotation, an apply rewrites it to the
//!   applied configuration (`lastAppliedUpdater`).

use serde_json::Value;

use super::fieldset::{self, Set};
use super::ssa::{self, Conflict};

pub const ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn last_applied(obj: &Value) -> Option<&str> {
    obj["metadata"]["annotations"][ANNOTATION].as_str()
}

/// The annotation's value for an applied configuration: its JSON without
/// the annotation itself.
fn build(config: &Value) -> String {
    let mut c = config.clone();
    if let Some(a) = c
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        a.remove(ANNOTATION);
    }
    c.to_string()
}

/// `ssa::apply` with the last-applied bridge for the manager `kubectl`.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    subresource: Option<&str>,
) -> Result<Value, Vec<Conflict>> {
    let first = ssa::apply(live, config, manager, api_version, force, subresource);
    let mut obj = match first {
        Err(conflicts) if manager == "kubectl" => {
            let allowed: Option<Set> = live
                .and_then(last_applied)
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .map(|la| fieldset::values(&la, subresource).into_keys().collect());
            match allowed {
                Some(allowed) if conflicts.iter().all(|c| allowed.contains(&c.path)) => {
                    ssa::apply(live, config, manager, api_version, true, subresource)?
                }
                Some(allowed) => {
                    return Err(conflicts
                        .into_iter()
                        .filter(|c| !allowed.contains(&c.path))
                        .collect());
                }
                None => return Err(conflicts),
            }
        }
        other => other?,
    };
    if manager == "kubectl" && last_applied(&obj).is_some() {
        obj["metadata"]["annotations"][ANNOTATION] = Value::String(build(config));
    }
    Ok(obj)
}
