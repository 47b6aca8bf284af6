//! A batch of file changes, with repeated events for one path merged into the
//! one change that matters for a plan.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What happened to a path over a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Modified,
    Removed,
}

/// The changed paths of a batch, sorted, each with its net change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    changes: BTreeMap<PathBuf, ChangeKind>,
    /// Events were lost (the kernel's inotify queue overflowed, as a large
    /// `git checkout` can make it): any file may have changed.
    rescan: bool,
}

impl ChangeSet {
    pub fn new() -> Self {
        ChangeSet::default()
    }

    /// Records one event; later events for the same path refine earlier ones:
    /// created-then-removed is nothing, removed-then-created is a modification.
    pub fn record(&mut self, path: impl Into<PathBuf>, kind: ChangeKind) {
        use ChangeKind::{Created, Modified, Removed};
        let path = path.into();
        let merged = match (self.changes.get(&path).copied(), kind) {
            (Some(Created), Removed) => None,
            (Some(Created), _) => Some(Created),
            (Some(Removed), Created | Modified) | (Some(Modified), Created) => Some(Modified),
            (_, k) => Some(k),
        };
        match merged {
            Some(k) => {
                self.changes.insert(path, k);
            }
            None => {
                self.changes.remove(&path);
            }
        }
    }

    /// Adds every change of `other`, in order, as if recorded after ours.
    pub fn merge(&mut self, other: ChangeSet) {
        self.rescan |= other.rescan;
        for (path, kind) in other.changes {
            self.record(path, kind);
        }
    }

    /// Records that events were lost, so the listed paths are not all that changed.
    pub fn mark_rescan(&mut self) {
        self.rescan = true;
    }

    /// Whether events were lost and everything must be looked at again.
    pub fn needs_rescan(&self) -> bool {
        self.rescan
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && !self.rescan
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Path, ChangeKind)> {
        self.changes.iter().map(|(p, k)| (p.as_path(), *k))
    }
}

impl<P: Into<PathBuf>> FromIterator<(P, ChangeKind)> for ChangeSet {
    fn from_iter<I: IntoIterator<Item = (P, ChangeKind)>>(iter: I) -> Self {
        let mut set = ChangeSet::new();
        for (path, kind) in iter {
            set.record(path, kind);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::ChangeKind::{Created, Modified, Removed};
    use super::*;

    #[test]
    fn events_for_one_path_merge_to_the_net_change() {
        let cases = [
            (vec![Created], Some(Created)),
            (vec![Created, Modified], Some(Created)),
            (vec![Created, Removed], None),
            (vec![Modified, Removed], Some(Removed)),
            (vec![Removed, Created], Some(Modified)),
            (vec![Modified, Modified], Some(Modified)),
            (vec![Created, Removed, Created], Some(Created)),
        ];
        for (events, want) in cases {
            let set: ChangeSet = events.iter().map(|k| ("a.py", *k)).collect();
            let got = set.iter().next().map(|(_, k)| k);
            assert_eq!(got, want, "{events:?}");
        }
    }

    #[test]
    fn a_lost_event_marks_the_whole_batch() {
        let mut batch = ChangeSet::new();
        let mut lost = ChangeSet::new();
        lost.mark_rescan();
        assert!(!lost.is_empty(), "a rescan alone is a change");
        batch.merge(lost);
        assert!(batch.needs_rescan());
    }

    #[test]
    fn merge_keeps_order() {
        let mut a: ChangeSet = [("x", Created)].into_iter().collect();
        let b: ChangeSet = [("x", Removed), ("y", Modified)].into_iter().collect();
        a.merge(b);
        assert_eq!(a.len(), 1);
        assert_eq!(a.iter().next(), Some((Path::new("y"), Modified)));
    }
}
