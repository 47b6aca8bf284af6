//! The decisions about a release's history, as pure functions over what the
//! store read: which revisions Helm's `--history-max` prunes before a new
//! one is written, and what `rollback [REV]` re-applies under which number.

use k8s_openapi::jiff::Timestamp;

use super::ReleaseError;
use super::record::{APPLY_METHOD, Info, Release, Status, go_time};

/// The revisions to delete before writing a new one, so that with it at
/// most `history_max` remain (0 keeps all): Helm's `removeLeastRecent(name,
/// max-1)`, oldest first, never the newest `deployed` revision (what a
/// rollback or the next upgrade builds on).
pub fn prune_plan(history: &[(u32, Status)], history_max: usize) -> Vec<u32> {
    if history_max == 0 {
        return Vec::new();
    }
    let keep = history_max - 1;
    if history.len() <= keep {
        return Vec::new();
    }
    let mut sorted: Vec<(u32, Status)> = history.to_vec();
    sorted.sort_by_key(|(v, _)| *v);
    let last_deployed = sorted
        .iter()
        .rev()
        .find(|(_, s)| *s == Status::Deployed)
        .map(|(v, _)| *v);
    let mut delete = Vec::new();
    for (version, _) in &sorted {
        if sorted.len() - delete.len() == keep {
            break;
        }
        if Some(*version) != last_deployed {
            delete.push(*version);
        }
    }
    delete
}

/// Which revision a deploy writes, as Helm's `upgrade --install` decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployPlan {
    /// The new revision's number.
    pub version: u32,
    /// No revision exists yet: Helm's install (else an upgrade).
    pub install: bool,
    /// Carried from the release's history; `None` on install.
    pub first_deployed: Option<String>,
}

impl DeployPlan {
    /// The status the revision is written with before applying.
    pub fn pending(&self) -> Status {
        if self.install {
            Status::PendingInstall
        } else {
            Status::PendingUpgrade
        }
    }

    /// Helm's description while applying.
    pub fn pending_description(&self) -> &'static str {
        if self.install {
            "Initial install underway"
        } else {
            "Preparing upgrade"
        }
    }

    /// Helm's description once deployed.
    pub fn complete_description(&self) -> &'static str {
        if self.install {
            "Install complete"
        } else {
            "Upgrade complete"
        }
    }

    /// Helm's description of a failed install or upgrade.
    pub fn failed_description(&self, name: &str, error: &str) -> String {
        if self.install {
            format!("Release {name:?} failed: {error}")
        } else {
            format!("Upgrade {name:?} failed: {error}")
        }
    }
}

/// The next deploy of a release with `history`: an install when there is
/// none, else an upgrade numbered after the newest revision. Refused while a
/// revision is pending, as Helm refuses (its only lock against two
/// concurrent deploys).
pub fn deploy_plan(name: &str, history: &[Release]) -> Result<DeployPlan, ReleaseError> {
    let Some(last) = history.iter().max_by_key(|r| r.version) else {
        return Ok(DeployPlan {
            version: 1,
            install: true,
            first_deployed: None,
        });
    };
    if last.status().is_pending() {
        return Err(ReleaseError::Pending {
            name: name.to_owned(),
            version: last.version,
            status: last.status(),
        });
    }
    let first_deployed = history
        .iter()
        .filter(|r| r.status() == Status::Deployed)
        .max_by_key(|r| r.version)
        .unwrap_or(last)
        .info
        .as_ref()
        .and_then(|i| i.first_deployed.clone());
    Ok(DeployPlan {
        version: last.version + 1,
        install: false,
        first_deployed,
    })
}

/// What a rollback does: re-apply `record` (already numbered and marked
/// `pending-rollback`, as Helm writes it before applying).
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackPlan {
    /// The new revision: the target's chart, values, manifest and hooks.
    pub record: Release,
    /// The revision rolled back to.
    pub target: u32,
    /// The newest revision before the rollback.
    pub current: u32,
}

/// Helm's `prepareRollback`: `target` defaults to the revision before the
/// newest (not the last deployed: Helm's rule); the new revision is the
/// newest plus one, `Rollback to N`, first-deployed time carried on.
pub fn rollback_plan(
    name: &str,
    namespace: &str,
    history: &[Release],
    target: Option<u32>,
    now: Timestamp,
) -> Result<RollbackPlan, ReleaseError> {
    let current =
        history
            .iter()
            .max_by_key(|r| r.version)
            .ok_or_else(|| ReleaseError::NotFound {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
            })?;
    let target = target.unwrap_or(current.version.saturating_sub(1));
    let previous = history
        .iter()
        .find(|r| r.version == target && target > 0)
        .ok_or_else(|| ReleaseError::NoRevision {
            name: name.to_owned(),
            version: target,
        })?;
    let record = Release {
        name: name.to_owned(),
        info: Some(Info {
            first_deployed: current.info.as_ref().and_then(|i| i.first_deployed.clone()),
            last_deployed: Some(go_time(now)),
            deleted: None,
            description: format!("Rollback to {target}"),
            status: Status::PendingRollback,
            notes: previous
                .info
                .as_ref()
                .map(|i| i.notes.clone())
                .unwrap_or_default(),
            extra: serde_json::Map::new(),
        }),
        chart: previous.chart.clone(),
        config: previous.config.clone(),
        manifest: previous.manifest.clone(),
        hooks: previous.hooks.clone(),
        version: current.version + 1,
        namespace: current.namespace.clone(),
        apply_method: APPLY_METHOD.to_owned(),
        labels: previous.labels.clone(),
        extra: serde_json::Map::new(),
    };
    Ok(RollbackPlan {
        record,
        target,
        current: current.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use Status::{Deployed as D, Failed as F, PendingUpgrade as P, Superseded as S};

    #[test]
    fn prune_table() {
        // (history, history_max, versions deleted before the next write)
        type Case = (&'static [(u32, Status)], usize, &'static [u32]);
        let cases: &[Case] = &[
            (&[], 10, &[]),
            (&[(1, S), (2, D)], 0, &[]),
            (&[(1, S), (2, D)], 3, &[]),
            // 10 kept: the 11th write first drops the oldest.
            (
                &[
                    (1, S),
                    (2, S),
                    (3, S),
                    (4, S),
                    (5, S),
                    (6, S),
                    (7, S),
                    (8, S),
                    (9, S),
                    (10, D),
                ],
                10,
                &[1],
            ),
            // Order of the input does not matter; oldest go first.
            (&[(5, D), (3, S), (4, S)], 2, &[3, 4]),
            // The newest deployed revision survives even when oldest.
            (&[(1, D), (2, F), (3, F), (4, F)], 2, &[2, 3, 4]),
            (&[(1, S), (2, D), (3, F), (4, P)], 1, &[1, 3, 4]),
            // No deployed revision: plain oldest-first.
            (&[(1, F), (2, F), (3, F)], 2, &[1, 2]),
            // history_max 1: only the new revision remains (and the deployed one).
            (&[(7, S), (8, D)], 1, &[7]),
        ];
        for (history, max, want) in cases {
            assert_eq!(prune_plan(history, *max), *want, "{history:?} max {max}");
        }
    }

    fn rev(version: u32, status: Status, manifest: &str) -> Release {
        Release {
            name: "web".to_owned(),
            version,
            namespace: "web-dev".to_owned(),
            manifest: manifest.to_owned(),
            info: Some(Info {
                first_deployed: Some("2026-01-01T00:00:00Z".to_owned()),
                status,
                notes: format!("notes {version}"),
                ..Info::default()
            }),
            apply_method: "ssa".to_owned(),
            ..Release::default()
        }
    }

    #[test]
    fn rollback_defaults_to_the_revision_before_the_newest() {
        let history = [rev(1, S, "m1"), rev(2, S, "m2"), rev(3, F, "m3")];
        let now: Timestamp = "2026-11-27T12:00:00.5Z".parse().expect("time");
        let plan = rollback_plan("web", "web-dev", &history, None, now).expect("plan");
        assert_eq!((plan.target, plan.current, plan.record.version), (2, 3, 4));
        assert_eq!(plan.record.manifest, "m2");
        assert_eq!(plan.record.status(), Status::PendingRollback);
        assert_eq!(plan.record.description(), "Rollback to 2");
        assert_eq!(plan.record.apply_method, APPLY_METHOD);
        let info = plan.record.info.as_ref().expect("info");
        assert_eq!(info.notes, "notes 2");
        assert_eq!(info.first_deployed.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(
            info.last_deployed.as_deref(),
            Some("2026-11-27T12:00:00.5Z")
        );

        let plan = rollback_plan("web", "web-dev", &history, Some(1), now).expect("plan");
        assert_eq!(
            (
                plan.target,
                plan.record.version,
                plan.record.manifest.as_str()
            ),
            (1, 4, "m1")
        );
    }

    #[test]
    fn deploy_plan_installs_upgrades_and_respects_helms_lock() {
        let plan = deploy_plan("web", &[]).expect("install");
        assert_eq!(
            plan,
            DeployPlan {
                version: 1,
                install: true,
                first_deployed: None
            }
        );
        assert_eq!(plan.pending(), Status::PendingInstall);
        assert_eq!(plan.pending_description(), "Initial install underway");
        assert_eq!(plan.complete_description(), "Install complete");
        assert_eq!(
            plan.failed_description("web", "boom"),
            "Release \"web\" failed: boom"
        );

        let history = [rev(1, S, "m1"), rev(3, F, "m3"), rev(2, D, "m2")];
        let plan = deploy_plan("web", &history).expect("upgrade");
        assert_eq!((plan.version, plan.install), (4, false));
        assert_eq!(plan.first_deployed.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(plan.pending(), Status::PendingUpgrade);
        assert_eq!(plan.pending_description(), "Preparing upgrade");
        assert_eq!(
            plan.failed_description("web", "timed out"),
            "Upgrade \"web\" failed: timed out"
        );

        for pending in [P, Status::PendingInstall, Status::PendingRollback] {
            let history = [rev(1, D, "m1"), rev(2, pending, "m2")];
            let err = deploy_plan("web", &history).expect_err("locked");
            assert_eq!(
                err.to_string(),
                format!("release web has an operation in progress (revision 2 is {pending})")
            );
        }
    }

    #[test]
    fn rollback_refuses_missing_revisions() {
        let now = Timestamp::UNIX_EPOCH;
        let err = rollback_plan("web", "ns", &[], None, now).expect_err("no history");
        assert!(matches!(err, ReleaseError::NotFound { .. }), "{err}");
        let only = [rev(1, D, "m1")];
        let err = rollback_plan("web", "ns", &only, None, now).expect_err("nothing before 1");
        assert_eq!(err.to_string(), "release web has no revision 0");
        // Pruned revisions cannot be rolled back to.
        let pruned = [rev(4, S, "m4"), rev(5, D, "m5")];
        let err = rollback_plan("web", "ns", &pruned, Some(2), now).expect_err("pruned");
        assert_eq!(err.to_string(), "release web has no revision 2");
    }
}
