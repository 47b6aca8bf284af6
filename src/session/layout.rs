//! What the session watches and how each app reads a batch: the app's build
//! context (through its `.dockerignore`), its chart and values files, and
//! devloop.toml. Directories no app cares about are not watched at all.

use std::path::{Path, PathBuf};

use super::changeset::ChangeSet;
use super::plan::{AppLayout, Plan, plan};
use crate::build::context::BuildContext;

/// One app's files, as the watcher and the planner need them.
#[derive(Clone)]
pub struct AppFiles {
    pub name: String,
    pub root: PathBuf,
    pub context: BuildContext,
    pub chart: PathBuf,
    pub values: Vec<PathBuf>,
}

impl AppFiles {
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

    /// The plan for `changes` (sync rules come with live sync; until then
    /// every source change rebuilds).
    pub fn plan(&self, config_file: Option<&Path>, changes: &ChangeSet) -> Plan {
        let in_context = |p: &Path| self.context.sends(p);
        let no_sync = |_: &Path| None;
        plan(
            changes,
            &AppLayout {
                config_file,
                chart: &self.chart,
                values: &self.values,
                in_context: &in_context,
                sync_target: &no_sync,
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
            Plan::Rebuild {
                trigger: vec![api.join("app.py")]
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
