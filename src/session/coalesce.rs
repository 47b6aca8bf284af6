//! Coalescing file events into batches: a batch closes after a quiet period
//! with no new event, or when it has been open for the cap, whichever is first.
//!
//! Pure state plus deadlines, so the session's select loop drives it and the
//! tests drive it with tokio's paused clock.

use std::time::Duration;

use tokio::time::Instant;

use super::changeset::ChangeSet;

/// How long no new event must arrive before a batch closes. Editors save by
/// writing a temp file and renaming it, a few milliseconds apart; formatters
/// and `git checkout` write files back to back with gaps well under 50 ms.
/// Tilt waits 200 ms; devloop's sync path aims at 0.5 s from save to answer,
/// so it waits half of that.
pub const QUIET: Duration = Duration::from_millis(100);

/// The longest a batch stays open while events keep coming, so a tool that
/// writes forever still gets an iteration. Long enough for a large checkout
/// to land as one batch (Tilt's cap is the same 10 s).
pub const CAP: Duration = Duration::from_secs(10);

/// Open batch state.
#[derive(Debug)]
pub struct Coalescer {
    quiet: Duration,
    cap: Duration,
    opened: Option<Instant>,
    last: Option<Instant>,
    pending: ChangeSet,
}

impl Default for Coalescer {
    fn default() -> Self {
        Coalescer::new(QUIET, CAP)
    }
}

impl Coalescer {
    pub fn new(quiet: Duration, cap: Duration) -> Self {
        Coalescer {
            quiet,
            cap,
            opened: None,
            last: None,
            pending: ChangeSet::new(),
        }
    }

    /// Adds events that arrived at `now`.
    pub fn add(&mut self, now: Instant, changes: ChangeSet) {
        if changes.is_empty() {
            return;
        }
        self.opened.get_or_insert(now);
        self.last = Some(now);
        self.pending.merge(changes);
    }

    /// When the open batch closes, if one is open.
    pub fn deadline(&self) -> Option<Instant> {
        let (opened, last) = (self.opened?, self.last?);
        Some((last + self.quiet).min(opened + self.cap))
    }

    /// The batch, if it has closed by `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<ChangeSet> {
        if self.deadline()? > now {
            return None;
        }
        self.opened = None;
        self.last = None;
        let batch = std::mem::take(&mut self.pending);
        (!batch.is_empty()).then_some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::changeset::ChangeKind;

    fn change(path: &str) -> ChangeSet {
        [(path, ChangeKind::Modified)].into_iter().collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_period_closes_the_batch() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        c.add(t0, change("a"));
        tokio::time::advance(Duration::from_millis(60)).await;
        c.add(Instant::now(), change("b"));
        assert_eq!(c.deadline(), Some(t0 + Duration::from_millis(160)));
        assert!(c.take_due(t0 + Duration::from_millis(159)).is_none());
        let batch = c.take_due(t0 + Duration::from_millis(160)).expect("closed");
        assert_eq!(batch.len(), 2);
        assert_eq!(c.deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_closes_a_batch_that_never_goes_quiet() {
        let mut c = Coalescer::default();
        let t0 = Instant::now();
        let mut batches = 0;
        // An event every 50 ms for 25 s: the quiet period never passes.
        for i in 0..500 {
            c.add(Instant::now(), change(&format!("f{i}")));
            tokio::time::advance(Duration::from_millis(50)).await;
            if c.take_due(Instant::now()).is_some() {
                batches += 1;
            }
        }
        assert_eq!(batches, 2, "closed at 10 s and 20 s");
        assert!(Instant::now() - t0 >= Duration::from_secs(25));
    }

    #[tokio::test(start_paused = true)]
    async fn empty_additions_open_nothing() {
        let mut c = Coalescer::default();
        c.add(Instant::now(), ChangeSet::new());
        assert_eq!(c.deadline(), None);
    }
}
