//! Which pods may take new connections while files are synced on top of
//! the image. A container that restarts starts from the image and has
//! lost the synced files: until devloop has synced it again, it would
//! answer with old code. The forwards ask the gate before they pick a pod,
//! so a restarted container is re-synced before it gets traffic.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod;

/// Shared by an app's sync state (which writes it) and its forwards (which
/// read it).
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Files differ from the image: only pods holding them may answer.
    needed: bool,
    /// `uid/restartCount` of the app containers that hold every sync.
    holding: HashSet<String>,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    /// After a sync (`needed`: something differs from the image) or a
    /// rollout (nothing does).
    pub fn set(&self, needed: bool, holding: &HashSet<String>) {
        if let Ok(mut state) = self.state.lock() {
            state.needed = needed;
            state.holding.clone_from(holding);
        }
    }

    /// Whether the pod whose app container is `instance` ([`instance`])
    /// runs what the user saved.
    pub fn admits(&self, instance: Option<&str>) -> bool {
        self.state.lock().map_or(true, |s| {
            !s.needed || instance.is_some_and(|i| s.holding.contains(i))
        })
    }
}

/// The instance of a pod's app container (its first, in devloop's charts)
/// as [`Gate`] and the sync state name it: `uid/restartCount`, which
/// changes when the container restarts from the image. `None` before the
/// container has a status.
pub fn instance(pod: &Pod) -> Option<String> {
    let main = &pod.spec.as_ref()?.containers.first()?.name;
    let status = pod
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| &c.name == main)?;
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    Some(key(uid, status.restart_count))
}

fn key(uid: &str, restarts: i32) -> String {
    format!("{uid}/{restarts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_container_waits_until_it_holds_the_synced_files() {
        let gate = Gate::new();
        let (u1, u1_restarted, u2) = (key("u1", 0), key("u1", 1), key("u2", 0));
        assert!(gate.admits(Some(&u1)), "nothing synced: every pod answers");
        let holding: HashSet<String> = [u1.clone()].into();
        gate.set(true, &holding);
        assert!(gate.admits(Some(&u1)));
        assert!(
            !gate.admits(Some(&u1_restarted)),
            "restarted from the image"
        );
        assert!(!gate.admits(Some(&u2)), "a new pod not synced yet");
        assert!(!gate.admits(None), "no container status yet");
        gate.set(false, &HashSet::new());
        assert!(
            gate.admits(Some(&u1_restarted)),
            "a rollout: the image has everything"
        );
    }
}
