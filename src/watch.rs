//! Watching app directories for changes: one non-recursive watch per directory
//! that is not ignored, so ignored trees (`node_modules`, `target`, `.git`) cost no
//! watch and no event; new directories are picked up as they appear.
//!
//! Raw events arrive from notify's full debouncer (which keeps creates, writes
//! and removes apart) and leave as [`ChangeSet`]s on a channel; batching them
//! into iterations is [`crate::session::coalesce`]'s job, deciding what they
//! mean is [`crate::session::plan`]'s.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::event::{ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, DebouncedEvent, new_debouncer};
use tokio::sync::mpsc;

use crate::session::changeset::{ChangeKind, ChangeSet};

/// notify's debounce timeout per path: short, since [`crate::session::coalesce`]
/// does the real batching; it only folds the several inotify events of one
/// write (open, modify, close) into one.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// Decides whether a path is ignored; `true` for a directory skips its tree.
pub type IgnoreFn = dyn Fn(&Path, bool) -> bool + Send + Sync;

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {source}")]
    Watch {
        path: String,
        #[source]
        source: notify::Error,
    },
    #[error("cannot start the file watcher: {0}")]
    Start(#[source] notify::Error),
}

type Debouncer = notify_debouncer_full::Debouncer<
    notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// A running watch; dropping it stops watching.
pub struct Watcher {
    _debouncer: Arc<Mutex<Option<Debouncer>>>,
    watched: usize,
}

impl Watcher {
    /// Number of directories watched at start.
    pub fn watched_dirs(&self) -> usize {
        self.watched
    }
}

/// Editor and OS litter that never means a change: vim swap and backup files,
/// emacs locks and autosaves, `JetBrains`' safe-write temp files, macOS metadata.
pub fn is_editor_temp(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name == "4913"
        || name == ".DS_Store"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || [
            ".swp",
            ".swx",
            ".swo",
            ".tmp",
            "___jb_tmp___",
            "___jb_old___",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Starts watching `roots`; changes arrive on the returned channel.
pub fn watch(
    roots: &[PathBuf],
    ignore: &Arc<IgnoreFn>,
) -> Result<(Watcher, mpsc::UnboundedReceiver<ChangeSet>), WatchError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let slot: Arc<Mutex<Option<Debouncer>>> = Arc::new(Mutex::new(None));
    let handler_slot = Arc::clone(&slot);
    let handler_ignore = Arc::clone(ignore);
    let handler_roots = roots.to_vec();
    let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else { return };
        let changes = translate(&events, &handler_roots, &*handler_ignore, &handler_slot);
        if !changes.is_empty() {
            // The receiver is gone only when the session ended.
            let _ = tx.send(changes);
        }
    })
    .map_err(WatchError::Start)?;
    let mut watched = 0;
    {
        let mut guard = slot
            .lock()
            .map_err(|_| WatchError::Start(notify::Error::generic("watcher lock poisoned")))?;
        let debouncer = guard.insert(debouncer);
        for root in roots {
            watched += watch_tree(debouncer, root, &**ignore, &mut |_| {})?;
        }
    }
    Ok((
        Watcher {
            _debouncer: slot,
            watched,
        },
        rx,
    ))
}

/// Adds a watch on `dir` and every directory under it that is not ignored;
/// `found` sees each file already there (for directories that appear later,
/// their files are changes too). Returns the number of directories watched.
fn watch_tree(
    debouncer: &mut Debouncer,
    dir: &Path,
    ignore: &IgnoreFn,
    found: &mut dyn FnMut(PathBuf),
) -> Result<usize, WatchError> {
    let mut count = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        match debouncer.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => count += 1,
            // Gone again before we got to it: nothing to watch.
            Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => continue,
            Err(source) => {
                return Err(WatchError::Watch {
                    path: dir.display().to_string(),
                    source,
                });
            }
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && path.file_name().is_some_and(|n| n == ".git") || ignore(&path, is_dir) {
                continue;
            }
            if is_dir {
                stack.push(path);
            } else if !is_editor_temp(&path) {
                found(path);
            }
        }
    }
    Ok(count)
}

fn is_ignored(path: &Path, is_dir: bool, ignore: &IgnoreFn) -> bool {
    path.components().any(|c| c.as_os_str() == ".git")
        || is_editor_temp(path)
        || ignore(path, is_dir)
}

/// Turns debounced events into changes, adding watches for new directories.
fn translate(
    events: &[DebouncedEvent],
    roots: &[PathBuf],
    ignore: &IgnoreFn,
    slot: &Mutex<Option<Debouncer>>,
) -> ChangeSet {
    let mut changes = ChangeSet::new();
    for event in events {
        if event.need_rescan() {
            // The kernel dropped events (its inotify queue holds 16384 by
            // default; a large checkout overflows it). Say so, and watch any
            // directory that appeared meanwhile.
            changes.mark_rescan();
            if let Ok(mut guard) = slot.lock()
                && let Some(debouncer) = guard.as_mut()
            {
                for root in roots {
                    let _ = watch_tree(debouncer, root, ignore, &mut |_| {});
                }
            }
            continue;
        }
        let kinds: Vec<(usize, ChangeKind)> = match event.kind {
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                vec![(0, ChangeKind::Created)]
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                vec![(0, ChangeKind::Removed)]
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                vec![(0, ChangeKind::Removed), (1, ChangeKind::Created)]
            }
            // Access and metadata-only changes (touch, chmod of atime) change
            // no content; the build context digest ignores them too.
            EventKind::Modify(ModifyKind::Metadata(_))
            | EventKind::Access(_)
            | EventKind::Other
            | EventKind::Any => vec![],
            EventKind::Modify(_) => vec![(0, ChangeKind::Modified)],
        };
        for (index, kind) in kinds {
            let Some(path) = event.paths.get(index) else {
                continue;
            };
            let is_dir = path.is_dir();
            if is_ignored(path, is_dir, ignore) {
                continue;
            }
            if is_dir {
                if kind == ChangeKind::Created {
                    // A new directory (mkdir -p, git checkout, an unpacked archive):
                    // watch it, and count the files that landed before the watch.
                    if let Ok(mut guard) = slot.lock()
                        && let Some(debouncer) = guard.as_mut()
                    {
                        let _ = watch_tree(debouncer, path, ignore, &mut |file| {
                            changes.record(file, ChangeKind::Created);
                        });
                    }
                }
                continue;
            }
            changes.record(path.clone(), kind);
        }
    }
    changes
}

#[cfg(test)]
mod tests;
