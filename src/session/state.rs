//! Where a running `devloop up` tells `devloop status` about itself: a small
//! JSON file per repository under `$XDG_STATE_HOME/devloop` (default
//! `~/.local/state/devloop`), removed when the session ends.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::build::context::hex;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionState {
    pub pid: u32,
    pub started: String,
    pub context: String,
    pub apps: Vec<AppState>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppState {
    pub name: String,
    pub namespace: String,
    /// `127.0.0.1:8080 -> 8080`, once forwards run.
    pub forwards: Vec<String>,
    /// Live sync, for apps with sync rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
}

/// What live sync has put on top of the deployed image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncStatus {
    /// The app's sync rules.
    pub rules: usize,
    /// Files that differ from the image (copied or removed by syncs).
    pub files: usize,
    /// Running pods that hold them.
    pub pods: usize,
    /// When the last sync landed.
    pub last: Option<String>,
    /// Why sync is off until the next rebuild.
    pub disabled: Option<String>,
}

/// Updates one app's sync status in the state file (if the session's).
pub fn update_sync(path: &Path, app: &str, sync: SyncStatus) {
    let Some(mut state) = read(path) else {
        return;
    };
    if state.pid != std::process::id() {
        return;
    }
    if let Some(entry) = state.apps.iter_mut().find(|a| a.name == app) {
        entry.sync = Some(sync);
    }
    let _ = write(path, &state);
}

/// The state file of the repository rooted at `root`.
pub fn path(root: &Path, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let id = hex(&Sha256::digest(root.as_os_str().as_encoded_bytes()));
    crate::context::state_dir(env).join(format!("up-{}.json", &id[..16]))
}

/// Writes the state atomically (a temp file renamed over it).
pub fn write(path: &Path, state: &SessionState) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The state of a session that still runs (its process exists).
pub fn read(path: &Path) -> Option<SessionState> {
    let text = std::fs::read_to_string(path).ok()?;
    let state: SessionState = serde_json::from_str(&text).ok()?;
    Path::new(&format!("/proc/{}", state.pid))
        .exists()
        .then_some(state)
}

/// Removes the file at the end of a session (if it is still ours).
pub fn remove(path: &Path) {
    if read(path).is_some_and(|s| s.pid == std::process::id()) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_file_is_read_only_while_its_process_lives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().to_string_lossy().into_owned();
        let path = path(Path::new("/repo"), &|k| (k == "HOME").then(|| home.clone()));
        assert!(path.starts_with(dir.path().join(".local/state/devloop")));
        let mut state = SessionState {
            pid: std::process::id(),
            started: "2026-11-27T12:00:00Z".into(),
            context: "kind-dev".into(),
            apps: vec![AppState {
                name: "web".into(),
                namespace: "web-dev".into(),
                forwards: vec![],
                sync: None,
            }],
        };
        write(&path, &state).expect("write");
        assert_eq!(read(&path), Some(state.clone()));
        state.pid = u32::MAX - 1;
        write(&path, &state).expect("write");
        assert_eq!(read(&path), None, "a dead session is not reported");
        remove(&path);
        assert!(path.exists(), "not ours to remove");
    }
}
