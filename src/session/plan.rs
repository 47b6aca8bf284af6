//! The decision: what a batch of changes needs for one app. A pure function of
//! the changes and the app's layout, table-tested.
//!
//! Order of precedence: devloop.toml changed -> reload the session; any source
//! in the build context that no sync rule covers -> rebuild (and redeploy);
//! chart or values files -> redeploy only; only files that sync rules cover ->
//! sync; anything else -> nothing. Sync only when every changed source file
//! matches a sync rule (Skaffold's rule), and never together with a redeploy:
//! new pods start from the image, which lacks the synced files.

use std::path::{Path, PathBuf};

use super::changeset::{ChangeKind, ChangeSet};

/// Where a synced file goes in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncFile {
    pub local: PathBuf,
    pub container: PathBuf,
    pub kind: ChangeKind,
}

/// What one app needs after a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Nothing this app cares about changed.
    Idle,
    /// devloop.toml changed, or file events were lost: reload the
    /// configuration and restart the session.
    Reload,
    /// Build a new image and deploy it; `trigger` is what caused it.
    Rebuild { trigger: Vec<PathBuf> },
    /// Render and apply the chart again with the current image.
    Redeploy { trigger: Vec<PathBuf> },
    /// Copy these files into the running containers.
    Sync { files: Vec<SyncFile> },
}

impl Plan {
    /// The plan that covers `self` and a `later` one, for a change that
    /// arrives while `self` runs: the run is cancelled and this one starts
    /// with both changes. A rebuild covers everything; a redeploy and a sync
    /// together need a rebuild (new pods start from the image).
    #[must_use]
    pub fn then(self, later: Plan) -> Plan {
        use Plan::{Idle, Rebuild, Redeploy, Reload, Sync};
        match (self, later) {
            (Reload, _) | (_, Reload) => Reload,
            (Idle, p) | (p, Idle) => p,
            (Sync { mut files }, Sync { files: more }) => {
                for file in more {
                    files.retain(|f| f.local != file.local);
                    files.push(file);
                }
                Sync { files }
            }
            (Redeploy { trigger: mut a }, Redeploy { trigger: b }) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Redeploy { trigger: a }
            }
            (a, b) => {
                let mut trigger = a.paths();
                trigger.extend(b.paths());
                trigger.sort();
                trigger.dedup();
                Rebuild { trigger }
            }
        }
    }

    /// The files that caused this plan.
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            Plan::Idle | Plan::Reload => Vec::new(),
            Plan::Rebuild { trigger } | Plan::Redeploy { trigger } => trigger.clone(),
            Plan::Sync { files } => files.iter().map(|f| f.local.clone()).collect(),
        }
    }
}

/// What the plan needs to know about one app.
pub struct AppLayout<'a> {
    /// devloop.toml, whose change reloads everything.
    pub config_file: Option<&'a Path>,
    /// The chart directory and the extra values files.
    pub chart: &'a Path,
    pub values: &'a [PathBuf],
    /// Whether a path is sent in the app's build context (inside the app
    /// directory and not excluded by .dockerignore).
    pub in_context: &'a dyn Fn(&Path) -> bool,
    /// The container path a sync rule maps a file to, if one does.
    pub sync_target: &'a dyn Fn(&Path) -> Option<PathBuf>,
}

/// Decides what `changes` need for the app laid out as `app`.
pub fn plan(changes: &ChangeSet, app: &AppLayout<'_>) -> Plan {
    // Events were lost: nothing can be ruled out, so start over from what is
    // on disk (content digests keep that cheap when little changed).
    if changes.needs_rescan() {
        return Plan::Reload;
    }
    let mut rebuild = Vec::new();
    let mut redeploy = Vec::new();
    let mut sync = Vec::new();
    for (path, kind) in changes.iter() {
        if app.config_file == Some(path) {
            return Plan::Reload;
        }
        if path.starts_with(app.chart) || app.values.iter().any(|v| v == path) {
            redeploy.push(path.to_owned());
        } else if (app.in_context)(path) {
            match (app.sync_target)(path) {
                Some(container) => sync.push(SyncFile {
                    local: path.to_owned(),
                    container,
                    kind,
                }),
                None => rebuild.push(path.to_owned()),
            }
        }
    }
    if !rebuild.is_empty() || (!sync.is_empty() && !redeploy.is_empty()) {
        rebuild.extend(sync.into_iter().map(|s| s.local));
        rebuild.extend(redeploy);
        rebuild.sort();
        return Plan::Rebuild { trigger: rebuild };
    }
    if !redeploy.is_empty() {
        return Plan::Redeploy { trigger: redeploy };
    }
    if !sync.is_empty() {
        return Plan::Sync { files: sync };
    }
    Plan::Idle
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChangeKind::{Created, Modified, Removed};

    fn layout_plan(changes: &[(&str, ChangeKind)]) -> Plan {
        let in_context = |p: &Path| {
            p.starts_with("/repo/app")
                && !p.starts_with("/repo/app/node_modules")
                && !p.ends_with("notes.md")
        };
        let sync_target = |p: &Path| {
            p.strip_prefix("/repo/app/src")
                .ok()
                .filter(|rel| rel.extension().is_some_and(|e| e == "py"))
                .map(|rel| Path::new("/app/src").join(rel))
        };
        let values = [PathBuf::from("/repo/app/values-dev.yaml")];
        let layout = AppLayout {
            config_file: Some(Path::new("/repo/devloop.toml")),
            chart: Path::new("/repo/app/chart"),
            values: &values,
            in_context: &in_context,
            sync_target: &sync_target,
        };
        let set: ChangeSet = changes.iter().map(|(p, k)| (*p, *k)).collect();
        plan(&set, &layout)
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn plans_by_table() {
        let cases: Vec<(&[(&str, ChangeKind)], Plan)> = vec![
            (&[], Plan::Idle),
            (&[("/repo/README.md", Modified)], Plan::Idle),
            (&[("/repo/app/notes.md", Modified)], Plan::Idle),
            (
                &[("/repo/app/node_modules/x/index.js", Created)],
                Plan::Idle,
            ),
            (
                &[
                    ("/repo/devloop.toml", Modified),
                    ("/repo/app/main.py", Modified),
                ],
                Plan::Reload,
            ),
            (
                &[("/repo/app/requirements.txt", Modified)],
                Plan::Rebuild {
                    trigger: paths(&["/repo/app/requirements.txt"]),
                },
            ),
            (
                &[("/repo/app/chart/values.yaml", Modified)],
                Plan::Redeploy {
                    trigger: paths(&["/repo/app/chart/values.yaml"]),
                },
            ),
            (
                &[("/repo/app/values-dev.yaml", Modified)],
                Plan::Redeploy {
                    trigger: paths(&["/repo/app/values-dev.yaml"]),
                },
            ),
            (
                &[
                    ("/repo/app/src/app.py", Modified),
                    ("/repo/app/src/old.py", Removed),
                ],
                Plan::Sync {
                    files: vec![
                        SyncFile {
                            local: "/repo/app/src/app.py".into(),
                            container: "/app/src/app.py".into(),
                            kind: Modified,
                        },
                        SyncFile {
                            local: "/repo/app/src/old.py".into(),
                            container: "/app/src/old.py".into(),
                            kind: Removed,
                        },
                    ],
                },
            ),
            // One file outside the sync rules: everything rebuilds (Skaffold's rule).
            (
                &[
                    ("/repo/app/src/app.py", Modified),
                    ("/repo/app/Dockerfile", Modified),
                ],
                Plan::Rebuild {
                    trigger: paths(&["/repo/app/Dockerfile", "/repo/app/src/app.py"]),
                },
            ),
            // Sync and a redeploy: new pods would lack the synced file.
            (
                &[
                    ("/repo/app/src/app.py", Modified),
                    ("/repo/app/chart/values.yaml", Modified),
                ],
                Plan::Rebuild {
                    trigger: paths(&["/repo/app/chart/values.yaml", "/repo/app/src/app.py"]),
                },
            ),
            // A file created and removed within the batch is no change at all.
            (
                &[
                    ("/repo/app/main.py", Created),
                    ("/repo/app/main.py", Removed),
                ],
                Plan::Idle,
            ),
        ];
        for (changes, want) in cases {
            assert_eq!(layout_plan(changes), want, "{changes:?}");
        }
    }

    #[test]
    fn a_change_during_a_run_merges_into_one_plan() {
        let sync = |p: &str| SyncFile {
            local: PathBuf::from(p),
            container: Path::new("/app").join(p),
            kind: Modified,
        };
        let rebuild = |l: &[&str]| Plan::Rebuild { trigger: paths(l) };
        let redeploy = |l: &[&str]| Plan::Redeploy { trigger: paths(l) };
        let cases = vec![
            (Plan::Idle, redeploy(&["v"]), redeploy(&["v"])),
            (rebuild(&["a"]), Plan::Idle, rebuild(&["a"])),
            (rebuild(&["b"]), rebuild(&["a", "b"]), rebuild(&["a", "b"])),
            (rebuild(&["a"]), redeploy(&["v"]), rebuild(&["a", "v"])),
            (redeploy(&["v"]), rebuild(&["a"]), rebuild(&["a", "v"])),
            (
                redeploy(&["w"]),
                redeploy(&["v", "w"]),
                redeploy(&["v", "w"]),
            ),
            (
                redeploy(&["v"]),
                Plan::Sync {
                    files: vec![sync("s")],
                },
                rebuild(&["s", "v"]),
            ),
            (
                Plan::Sync {
                    files: vec![sync("s"), sync("t")],
                },
                Plan::Sync {
                    files: vec![sync("s")],
                },
                Plan::Sync {
                    files: vec![sync("t"), sync("s")],
                },
            ),
            (rebuild(&["a"]), Plan::Reload, Plan::Reload),
        ];
        for (running, later, want) in cases {
            let got = running.clone().then(later.clone());
            assert_eq!(got, want, "{running:?} then {later:?}");
        }
    }

    #[test]
    fn lost_events_restart_the_session() {
        let in_context = |_: &Path| true;
        let sync_target = |_: &Path| None;
        let layout = AppLayout {
            config_file: None,
            chart: Path::new("/repo/app/chart"),
            values: &[],
            in_context: &in_context,
            sync_target: &sync_target,
        };
        let mut changes: ChangeSet = [("/repo/app/README.md", Modified)].into_iter().collect();
        changes.mark_rescan();
        assert_eq!(plan(&changes, &layout), Plan::Reload);
    }
}
