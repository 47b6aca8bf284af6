//! Which pods may take new connections while files are synced on top of
//! the image. A container that restarts starts from the image and has
//! lost the synced files: until devloop has synced it again, it would
//! answer with old code. The forwards ask the gate before they pick a pod,
//! so a restarted container is re-synced before it gets traffic.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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

    /// Whether the pod `uid`, whose app container restarted `restarts`
    /// times, runs what the user saved.
    pub fn admits(&self, uid: &str, restarts: i32) -> bool {
        self.state.lock().map_or(true, |s| {
            !s.needed || s.holding.contains(&key(uid, restarts))
        })
    }
}

/// How a container instance is named in [`Gate`] and the sync state.
pub fn key(uid: &str, restarts: i32) -> String {
    format!("{uid}/{restarts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_container_waits_until_it_holds_the_synced_files() {
        let gate = Gate::new();
        assert!(gate.admits("u1", 0), "nothing synced: every pod answers");
        let holding: HashSet<String> = [key("u1", 0)].into();
        gate.set(true, &holding);
        assert!(gate.admits("u1", 0));
        assert!(!gate.admits("u1", 1), "restarted from the image");
        assert!(!gate.admits("u2", 0), "a new pod not synced yet");
        gate.set(false, &HashSet::new());
        assert!(gate.admits("u1", 1), "a rollout: the image has everything");
    }
}
