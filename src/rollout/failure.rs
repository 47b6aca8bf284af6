//! What a rollout ends with when it does not succeed: a [`RolloutFailure`]
//! (the app's fault: exit 1) with its [`Reason`], or the cluster's error
//! (exit 2), gathered in [`RolloutError`].

use serde::Serialize;

use crate::cluster::ClusterError;

/// Why a rollout (or a hook Job) failed, as a user would name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// `ErrImagePull` / `ImagePullBackOff` / `InvalidImageName`.
    ImagePull,
    /// `CrashLoopBackOff` (or a container that exited for good).
    CrashLoop,
    /// The readiness probe kept failing.
    ReadinessProbe,
    /// `CreateContainerConfigError` / `CreateContainerError` /
    /// `RunContainerError` (e.g. `runAsNonRoot` with a named user).
    ContainerConfig,
    /// No node can take the pod.
    Unschedulable,
    /// `exec format error`: the image is built for another architecture.
    Architecture,
    /// The cluster refused to create pods (quota, admission).
    ReplicaFailure,
    /// A hook Job ran out of retries, or a hook Pod failed.
    JobFailed,
    /// devloop's deadline, or the Deployment's `progressDeadlineSeconds`.
    Deadline,
}

impl Reason {
    /// A stable, machine-readable name for `--output json`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::ImagePull => "rollout_image_pull",
            Reason::CrashLoop => "rollout_crash_loop",
            Reason::ReadinessProbe => "rollout_readiness_probe",
            Reason::ContainerConfig => "rollout_container_config",
            Reason::Unschedulable => "rollout_unschedulable",
            Reason::Architecture => "rollout_architecture",
            Reason::ReplicaFailure => "rollout_replica_failure",
            Reason::JobFailed => "rollout_job_failed",
            Reason::Deadline => "rollout_deadline",
        }
    }

    /// What to try next.
    pub fn hint(self) -> &'static str {
        match self {
            Reason::ImagePull => {
                "check the image name and tag, and that the cluster can reach the registry (a private registry needs imagePullSecrets)"
            }
            Reason::CrashLoop => {
                "the app exits soon after it starts; its last log lines are above (`kubectl logs --previous` shows more)"
            }
            Reason::ReadinessProbe => {
                "check that the probe's path and port are what the app serves, and that it starts within the probe's delay"
            }
            Reason::ContainerConfig => {
                "fix the pod's settings; for runAsNonRoot give the image a numeric USER (`USER 10001`)"
            }
            Reason::Unschedulable => {
                "lower the pod's resource requests or node selector, or give the cluster a node that fits"
            }
            Reason::Architecture => {
                "build the image for the node's platform (`docker build --platform linux/<node arch>`)"
            }
            Reason::ReplicaFailure => {
                "`kubectl describe replicaset` shows what the cluster refused"
            }
            Reason::JobFailed => {
                "the hook's last log lines are above; `kubectl describe job` (or pod) shows more"
            }
            Reason::Deadline => {
                "raise the rollout deadline if the app is just slow to start; `kubectl describe pod` shows what it waits for"
            }
        }
    }
}

/// A rollout that failed because of the app or its chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutFailure {
    pub reason: Reason,
    /// `Deployment/web` or `Job/migrate`.
    pub object: String,
    pub pod: Option<String>,
    pub container: Option<String>,
    /// One line: what went wrong.
    pub message: String,
    /// Lines under it: the image and registry's message, the last log
    /// lines, what the probe got, the previous version still serving.
    pub detail: Vec<String>,
}

impl std::fmt::Display for RolloutFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.object)?;
        if let Some(pod) = &self.pod {
            write!(f, ", pod {pod}")?;
        }
        if let Some(container) = &self.container {
            write!(f, ", container {container}")?;
        }
        write!(f, ": {}", self.message)?;
        for line in &self.detail {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}

/// Where a rollout stands after one look at the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Every new pod is available.
    Done,
    /// Still going; `what` says what it waits for ("1 of 2 new pods ready").
    Waiting {
        what: String,
    },
    Failed(Box<RolloutFailure>),
}

/// Why waiting for a rollout failed.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The app or chart is at fault (exit 1).
    #[error("rollout failed: {0}")]
    Failed(Box<RolloutFailure>),
    /// The cluster could not be asked (exit 2 unless it rejected the input).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl RolloutError {
    pub fn is_user(&self) -> bool {
        match self {
            RolloutError::Failed(_) => true,
            RolloutError::Cluster(err) => err.is_user(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            RolloutError::Failed(failure) => Some(failure.reason.hint().to_owned()),
            RolloutError::Cluster(err) => err.hint(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            RolloutError::Failed(failure) => failure.reason.code(),
            RolloutError::Cluster(err) => err.code(),
        }
    }

    /// The failure, when the app is at fault.
    pub fn failure(&self) -> Option<&RolloutFailure> {
        match self {
            RolloutError::Failed(failure) => Some(failure),
            RolloutError::Cluster(_) => None,
        }
    }
}
