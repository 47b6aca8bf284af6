//! One app's live sync: which files differ from the deployed image, which
//! pods hold them, and pushing them there.
//!
//! Before a build, the synced files on disk are stamped (the baseline: what
//! the image will hold). A sync pushes the batch to pods that already hold
//! every earlier sync, and everything that differs from the baseline to
//! pods that hold none (new pods, restarted containers: a container restart
//! starts again from the image), so the first sync after a rollout and the
//! re-sync after a restart reconcile the whole difference. A rebuild resets
//! it all.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::gate::Gate;
use super::rules::{Reload, Rules};
use super::supervise;
use super::transport::{self, Container, Copy, SyncError};
use crate::build::context::BuildContext;
use crate::session::changeset::ChangeKind;
use crate::session::plan::SyncFile;
use crate::session::pods::{Pods, PodsRx};
use crate::session::state::SyncStatus;

/// A file's size and modification time: enough to tell an edit.
type Stamp = (u64, Option<SystemTime>);

/// What one sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Synced {
    pub pods: usize,
    pub copied: usize,
    pub removed: usize,
    pub reloads: Vec<String>,
}

pub struct AppSync {
    namespace: String,
    /// The release's pods, as the session's pod watch last saw them: where
    /// syncs go, without a pod list per sync.
    pods: PodsRx,
    context: BuildContext,
    pub rules: Rules,
    rule_count: usize,
    baseline: BTreeMap<PathBuf, Stamp>,
    /// The image the pods run, once one is deployed.
    image: Option<String>,
    /// Pods (uid and restart count) that hold every sync since the image.
    holding: HashSet<String>,
    /// Why sync is off for the deployed image.
    disabled: Option<String>,
    files: usize,
    last: Option<String>,
    /// What the forwards read: which pods hold the synced files.
    gate: Arc<Gate>,
}

/// A set of changes for one pod.
struct Batch {
    copies: Vec<Copy>,
    removed: Vec<PathBuf>,
    rules: Vec<usize>,
}

impl AppSync {
    pub fn new(
        namespace: &str,
        pods: PodsRx,
        context: BuildContext,
        rules: Rules,
        rule_count: usize,
        gate: Arc<Gate>,
    ) -> AppSync {
        AppSync {
            namespace: namespace.to_owned(),
            pods,
            context,
            rules,
            rule_count,
            baseline: BTreeMap::new(),
            image: None,
            holding: HashSet::new(),
            disabled: None,
            files: 0,
            last: None,
            gate,
        }
    }

    /// Stamps the synced files before a build reads them.
    pub fn snapshot(&mut self) {
        self.baseline = self.walk();
    }

    /// A rebuild deployed `image`: nothing is synced on top of it.
    pub fn rolled_out(&mut self, image: &str) {
        self.image = Some(image.to_owned());
        self.holding.clear();
        self.files = 0;
        self.gate.set(false, &self.holding);
    }

    /// Why a sync cannot run now (a rebuild is needed instead).
    pub fn blocked(&self) -> Option<String> {
        if self.image.is_none() {
            return Some("no image is deployed yet".to_owned());
        }
        self.disabled.clone()
    }

    /// Sync off after `err`, until the Dockerfile changes: images built from
    /// the same Dockerfile lack `tar` or a writable destination alike.
    pub fn disable(&mut self, err: &SyncError) {
        self.disabled = Some(err.to_string());
    }

    /// The Dockerfile changed: the next image may sync.
    pub fn enable(&mut self) {
        self.disabled = None;
    }

    /// Pushes `files` (a plan's batch) to every running pod of the release.
    pub async fn sync(
        &mut self,
        client: &kube::Client,
        files: &[SyncFile],
    ) -> Result<Synced, SyncError> {
        let batch = self.batch(files);
        self.push_all(client, Some(&batch)).await
    }

    /// Pushes the whole difference to running pods that lack it (new pods,
    /// restarted containers). Nothing to do: `Ok(None)`, at no API cost.
    pub async fn reconcile(&mut self, client: &kube::Client) -> Result<Option<Synced>, SyncError> {
        if self.blocked().is_some() || self.files == 0 {
            return Ok(None);
        }
        let pods = self.running_pods();
        if pods.iter().all(|(key, _)| self.holding.contains(key)) {
            return Ok(None);
        }
        self.push_all(client, None).await.map(Some)
    }

    async fn push_all(
        &mut self,
        client: &kube::Client,
        batch: Option<&Batch>,
    ) -> Result<Synced, SyncError> {
        let pods = self.running_pods();
        let full = self.difference();
        self.files = full.copies.len() + full.removed.len();
        let mut synced = Synced::default();
        let mut holding = HashSet::new();
        for (key, target) in pods {
            let send = if !self.holding.contains(&key) {
                &full
            } else if let Some(batch) = batch {
                batch
            } else {
                holding.insert(key);
                continue;
            };
            transport::push(client, &target, &send.copies, &send.removed).await?;
            for reload in self.rules.reloads(&send.rules) {
                let command = match &reload {
                    Reload::None => continue,
                    Reload::Restart => supervise::restart_command(),
                    Reload::Exec(c) => c.clone(),
                };
                match transport::run(client, &target, command).await {
                    Err(SyncError::Exec { pod, message })
                        if reload == Reload::Restart && message.contains("exit 126") =>
                    {
                        return Err(SyncError::NoSupervisor { pod });
                    }
                    other => other?,
                }
                if !synced.reloads.contains(&reload.to_string()) {
                    synced.reloads.push(reload.to_string());
                }
            }
            synced.pods += 1;
            synced.copied = synced.copied.max(send.copies.len());
            synced.removed = synced.removed.max(send.removed.len());
            holding.insert(key);
        }
        self.holding = holding;
        self.gate.set(self.files > 0, &self.holding);
        self.last = Some(k8s_openapi::jiff::Timestamp::now().to_string());
        Ok(synced)
    }

    /// What `devloop status` shows.
    pub fn status(&self) -> SyncStatus {
        SyncStatus {
            rules: self.rule_count,
            files: self.files,
            pods: self.holding.len(),
            last: self.last.clone(),
            disabled: self.disabled.clone(),
        }
    }

    fn batch(&self, files: &[SyncFile]) -> Batch {
        let mut batch = Batch {
            copies: Vec::new(),
            removed: Vec::new(),
            rules: Vec::new(),
        };
        for file in files {
            if let Some(rule) = self.rule_of(&file.local) {
                batch.rules.push(rule);
            }
            if file.kind == ChangeKind::Removed {
                batch.removed.push(file.container.clone());
            } else {
                batch.copies.push(Copy {
                    local: file.local.clone(),
                    container: file.container.clone(),
                });
            }
        }
        batch
    }

    /// Every synced file that differs from the baseline, and the baseline's
    /// files that are gone.
    fn difference(&self) -> Batch {
        let now = self.walk();
        let mut batch = Batch {
            copies: Vec::new(),
            removed: Vec::new(),
            rules: Vec::new(),
        };
        for (path, stamp) in &now {
            if self.baseline.get(path) != Some(stamp)
                && let Some(target) = self.target(path)
            {
                batch.rules.push(target.rule);
                batch.copies.push(Copy {
                    local: path.clone(),
                    container: target.container,
                });
            }
        }
        for path in self.baseline.keys().filter(|p| !now.contains_key(*p)) {
            if let Some(target) = self.target(path) {
                batch.rules.push(target.rule);
                batch.removed.push(target.container);
            }
        }
        batch
    }

    fn target(&self, path: &Path) -> Option<super::rules::Target> {
        let rel = path.strip_prefix(&self.context.root).ok()?;
        self.rules.target(rel)
    }

    fn rule_of(&self, path: &Path) -> Option<usize> {
        self.target(path).map(|t| t.rule)
    }

    /// The files the rules sync, with their stamps.
    fn walk(&self) -> BTreeMap<PathBuf, Stamp> {
        let mut out = BTreeMap::new();
        let mut dirs = vec![self.context.root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if !self.context.skips_dir(&path) {
                        dirs.push(path);
                    }
                } else if self.context.sends(&path)
                    && self.target(&path).is_some()
                    && let Ok(meta) = entry.metadata()
                {
                    out.insert(path, (meta.len(), meta.modified().ok()));
                }
            }
        }
        out
    }

    /// Pods of the release whose app container runs: (identity, target).
    /// The identity changes when the container restarts.
    /// The running app containers of the release, keyed by instance.
    fn running_pods(&self) -> Vec<(String, Container)> {
        targets(&self.namespace, &self.pods.borrow())
    }
}

/// The pods a sync goes to: not terminating, app container running.
fn targets(namespace: &str, pods: &Pods) -> Vec<(String, Container)> {
    pods.pods
        .values()
        .filter(|pod| !pod.terminating && pod.main_running())
        .filter_map(|pod| {
            Some((
                pod.instance.clone()?,
                Container {
                    namespace: namespace.to_owned(),
                    pod: pod.name.clone(),
                    container: pod.main.clone()?,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::rules::RuleSpec;

    #[test]
    fn the_difference_from_the_image_is_what_changed_since_the_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (path, text) in [
            ("Dockerfile", "FROM scratch\n"),
            (".dockerignore", "venv\n"),
            ("a.py", "a = 1\n"),
            ("b.py", "b = 1\n"),
            ("pkg/d.py", "d = 1\n"),
            ("venv/lib.py", "ignored\n"),
            ("requirements.txt", ""),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let specs = [RuleSpec {
            src: "**/*.py".into(),
            dest: "/app".into(),
            reload: Reload::Restart,
        }];
        let (_pods, rx) = tokio::sync::watch::channel(std::sync::Arc::default());
        let mut sync = AppSync::new(
            "ns",
            rx,
            BuildContext::open(root, "Dockerfile").expect("context"),
            Rules::compile(&specs).expect("rules"),
            1,
            Gate::new(),
        );
        assert!(sync.blocked().is_some(), "no image yet");
        sync.snapshot();
        sync.rolled_out("web:1");
        assert_eq!(sync.blocked(), None);
        assert_eq!(
            sync.baseline.keys().cloned().collect::<Vec<_>>(),
            vec![root.join("a.py"), root.join("b.py"), root.join("pkg/d.py")],
            "synced files only, not the ignored ones"
        );
        std::fs::write(root.join("a.py"), "a = 22\n").expect("edit");
        std::fs::remove_file(root.join("b.py")).expect("delete");
        std::fs::write(root.join("pkg/c.py"), "c = 1\n").expect("new");
        std::fs::write(root.join("requirements.txt"), "flask\n").expect("edit");
        let diff = sync.difference();
        let copies: Vec<_> = diff.copies.iter().map(|c| c.container.clone()).collect();
        assert_eq!(
            copies,
            vec![PathBuf::from("/app/a.py"), PathBuf::from("/app/pkg/c.py")]
        );
        assert_eq!(diff.removed, vec![PathBuf::from("/app/b.py")]);
        assert_eq!(sync.rules.reloads(&diff.rules), vec![Reload::Restart]);

        sync.disable(&SyncError::NoTar);
        assert_eq!(
            sync.blocked().as_deref(),
            Some("image has no tar: sync disabled")
        );
        sync.rolled_out("web:2");
        assert!(
            sync.blocked().is_some(),
            "a rebuild alone does not bring tar"
        );
        sync.enable();
        assert_eq!(sync.blocked(), None);
    }

    #[test]
    fn syncs_go_to_running_app_containers_of_pods_that_stay() {
        use crate::session::pods::{ContainerView, PodView};
        let pod = |name: &str, terminating: bool, running: bool, instance: Option<&str>| PodView {
            name: name.to_owned(),
            instance: instance.map(str::to_owned),
            created: None,
            ready: running,
            terminating,
            template: None,
            main: Some("app".to_owned()),
            containers: vec![
                ContainerView {
                    name: "sidecar".to_owned(),
                    running: true,
                    restarts: 0,
                },
                ContainerView {
                    name: "app".to_owned(),
                    running,
                    restarts: 0,
                },
            ],
        };
        let pods = Pods {
            pods: [
                pod("new", false, true, Some("u1/0")),
                pod("leaving", true, true, Some("u2/0")),
                pod("crashed", false, false, Some("u3/1")),
                pod("starting", false, true, None),
            ]
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect(),
            api_ok: true,
        };
        let found = targets("ns", &pods);
        assert_eq!(found.len(), 1, "{found:?}");
        let (instance, target) = &found[0];
        assert_eq!(instance, "u1/0");
        assert_eq!(
            (
                target.namespace.as_str(),
                target.pod.as_str(),
                target.container.as_str()
            ),
            ("ns", "new", "app"),
            "the pod's own container, not the sidecar"
        );
    }
}
