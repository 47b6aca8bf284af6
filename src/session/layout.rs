//! What the session watches and how each app reads a batch: the app's build
//! context (through its `.dockerignore`), its chart and values files, and
//! devloop.toml. Directories no app cares about are not watched at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::changeset::ChangeSet;
use super::plan::{AppLayout, Plan, plan};
use crate::build::context::BuildContext;
use crate::config::AppConfig;
use crate::error::Result;
use crate::sync::gate::Gate;
use crate::sync::rules::Rules;

/// One app's files, as the watcher and the planner need them.
#[derive(Clone)]
pub struct AppFiles {
    pub name: String,
    pub root: PathBuf,
    pub context: BuildContext,
    pub chart: PathBuf,
    pub values: Vec<PathBuf>,
    /// Live-sync rules (empty: every source change rebuilds).
    pub sync: Arc<Rules>,
    /// How many rules, and where they come from (devloop.toml or a pack).
    pub sync_count: usize,
    pub sync_source: String,
    /// Which pods hold the synced files (written by sync, read by forwards).
    pub gate: Arc<Gate>,
}

impl AppFiles {
    /// The files of `app`, with its sync rules (devloop.toml's, else its
    /// pack's). With `debug`, rules that restart the app's process are left out: the
    /// debugger owns that process (a restart would drop the editor's
    /// session), so those files rebuild and the debugger re-attaches.
    pub fn new(app: &AppConfig, debug: bool) -> Result<AppFiles> {
        let (mut specs, source) =
            crate::sync::rules_for(app.sync.value.as_deref(), &app.path.value);
        if debug {
            specs.retain(|s| s.reload != crate::sync::rules::Reload::Restart);
        }
        let rules = Rules::compile(&specs)
            .map_err(|message| crate::error::Error::Internal(format!("{source}: {message}")))?;
        Ok(AppFiles {
            name: app.name.value.clone(),
            root: app.path.value.clone(),
            context: BuildContext::open(&app.path.value, "Dockerfile")?,
            chart: app.chart.value.clone(),
            values: app.values.value.clone(),
            sync: Arc::new(rules),
            sync_count: specs.len(),
            sync_source: source,
            gate: Gate::new(),
        })
    }

    /// Whether a change at `path` can matter to this app.
    fn cares(&self, path: &Path, is_dir: bool) -> bool {
        let anchors = [&self.root, &self.chart]
            .into_iter()
            .chain(self.values.iter());
        if is_dir && anchors.clone().any(|a| a.starts_with(path)) {
            return true; // an ancestor of something watched
        }
        if path.starts_with(&self.chart) || self.values.iter().any(|v| v == path) {
            return true;
        }
        if is_dir {
            path.starts_with(&self.root) && !self.context.skips_dir(path)
        } else {
            self.context.sends(path)
        }
    }

    /// The plan for `changes`: files that every one match a sync rule sync.
    pub fn plan(&self, config_file: Option<&Path>, changes: &ChangeSet) -> Plan {
        let in_context = |p: &Path| self.context.sends(p);
        let sync_target = |p: &Path| {
            let rel = p.strip_prefix(&self.root).ok()?;
            self.sync.target(rel).map(|t| t.container)
        };
        plan(
            changes,
            &AppLayout {
                config_file,
                chart: &self.chart,
                values: &self.values,
                in_context: &in_context,
                sync_target: &sync_target,
            },
        )
    }
}

/// The watcher's ignore rule: `.git` always; otherwise what no app (and not
/// devloop.toml) cares about.
pub fn ignored(apps: &[AppFiles], config_file: Option<&Path>, path: &Path, is_dir: bool) -> bool {
    if path.components().any(|c| c.as_os_str() == ".git") {
        return true;
    }
    if config_file == Some(path) {
        return false;
    }
    !apps.iter().any(|app| app.cares(path, is_dir))
}

/// The directories to watch: devloop.toml's, plus app directories and
/// charts outside it.
pub fn roots(config_root: &Path, apps: &[AppFiles]) -> Vec<PathBuf> {
    let mut roots = vec![config_root.to_owned()];
    for app in apps {
        for dir in [&app.root, &app.chart] {
            if !roots.iter().any(|r| dir.starts_with(r)) {
                roots.push(dir.clone());
            }
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::changeset::ChangeKind;

    #[test]
    fn only_what_an_app_sends_or_deploys_is_watched_and_planned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (path, text) in [
            ("api/Dockerfile", "FROM scratch\n"),
            ("api/.dockerignore", "node_modules\nchart\n*.md\n"),
            ("api/app.py", ""),
            ("api/chart/Chart.yaml", "name: api\n"),
            ("devloop.toml", ""),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let api = root.join("api");
        let apps = [AppFiles {
            name: "api".into(),
            root: api.clone(),
            context: BuildContext::open(&api, "Dockerfile").expect("context"),
            chart: api.join("chart"),
            values: vec![root.join("values-dev.yaml")],
            sync: Arc::new(
                Rules::compile(&[crate::sync::rules::RuleSpec {
                    src: "**/*.py".into(),
                    dest: "/app".into(),
                    reload: crate::sync::rules::Reload::Restart,
                }])
                .expect("rules"),
            ),
            sync_count: 1,
            sync_source: "test".into(),
            gate: Gate::new(),
        }];
        let config = root.join("devloop.toml");
        let ignored = |p: &Path, d| ignored(&apps, Some(&config), p, d);
        assert!(!ignored(&api.join("app.py"), false));
        assert!(!ignored(&api.join("src"), true));
        assert!(ignored(&api.join("node_modules"), true));
        assert!(ignored(&api.join("README.md"), false));
        assert!(!ignored(&api.join("chart/values.yaml"), false));
        assert!(!ignored(&api.join("chart"), true));
        assert!(!ignored(&root.join("values-dev.yaml"), false));
        assert!(!ignored(&config, false));
        assert!(ignored(&root.join("docs"), true));
        assert!(ignored(&root.join(".git"), true));
        assert!(ignored(&api.join(".git/index"), false));
        assert_eq!(roots(root, &apps), vec![root.to_owned()]);

        let plan = |paths: &[PathBuf]| {
            let set: ChangeSet = paths
                .iter()
                .map(|p| (p.clone(), ChangeKind::Modified))
                .collect();
            apps[0].plan(Some(&config), &set)
        };
        assert_eq!(
            plan(&[api.join("app.py")]),
            Plan::Sync {
                files: vec![crate::session::plan::SyncFile {
                    local: api.join("app.py"),
                    container: "/app/app.py".into(),
                    kind: ChangeKind::Modified,
                }]
            }
        );
        assert_eq!(
            plan(&[api.join("app.py"), api.join("Dockerfile")]),
            Plan::Rebuild {
                trigger: vec![api.join("Dockerfile"), api.join("app.py")]
            }
        );
        assert_eq!(
            plan(&[api.join("chart/values.yaml")]),
            Plan::Redeploy {
                trigger: vec![api.join("chart/values.yaml")]
            }
        );
        assert_eq!(plan(&[api.join("README.md")]), Plan::Idle);
        assert_eq!(plan(std::slice::from_ref(&config)), Plan::Reload);
    }
}
