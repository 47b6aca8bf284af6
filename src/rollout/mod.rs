//! Waiting for what deploy applied to come up: a Deployment's rollout
//! ([`wait()`]) and a hook Job's or hook Pod's run ([`job::wait_job`],
//! [`job::wait_pod`]).
//!
//! The verdicts are pure functions of what kube-rs watchers see
//! ([`diagnose::diagnose`] for a Deployment, [`pod::health`] for one pod,
//! [`job::job_progress`] for a Job); [`wait`] and [`job`] only watch, fetch
//! the last log lines of a crashed container and keep the deadline. A
//! failure names the pod, the container and the reason as a user would
//! (`ImagePullBackOff` with the registry's message, `CrashLoopBackOff` with
//! the exit code and the last 20 log lines, a failing readiness probe with
//! what it got, ...). Nothing here rolls back: the previous `ReplicaSet`
//! keeps serving because the Deployment controller never scales it down
//! below `maxUnavailable` while the new pods are not available.
//!
//! This module does not apply anything (deploy does) and does not decide the
//! order of hooks (deploy's hook runner calls [`job::wait_job`] and
//! [`job::wait_pod`]).

pub mod diagnose;
pub mod failure;
pub mod job;
mod logs;
pub mod pod;
pub mod wait;
mod watch;

use std::collections::BTreeMap;
use std::time::Duration;

pub use failure::{Progress, Reason, RolloutError, RolloutFailure};
pub use job::{wait_job, wait_pod};
pub use wait::wait;

/// How long a rollout may take by default (issue #13: 2 minutes).
pub const DEFAULT_DEADLINE: Duration = Duration::from_mins(2);

/// How long a running container may fail its readiness probe before the
/// rollout fails. 20 s covers the dev-fast charts' start (readiness every
/// 1 s; interpreted apps start in a few seconds) with room for a loaded
/// machine, and still fails well before the 2-minute deadline.
pub const DEFAULT_PROBE_GRACE: Duration = Duration::from_secs(20);

/// How a wait behaves.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// The whole wait's limit.
    pub deadline: Duration,
    /// See [`DEFAULT_PROBE_GRACE`].
    pub probe_grace: Duration,
    /// Platforms (`linux/arm64`) of images devloop built, by the reference
    /// the manifests use: lets an architecture mismatch name both sides.
    pub image_platforms: BTreeMap<String, String>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            deadline: DEFAULT_DEADLINE,
            probe_grace: DEFAULT_PROBE_GRACE,
            image_platforms: BTreeMap::new(),
        }
    }
}

/// What a wait reports while it goes on (to drive the `Deploying` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// `Deployment/web` or `Job/migrate`.
    pub object: String,
    /// What it waits for, or `available` when this object is done.
    pub what: String,
    pub done: bool,
}
