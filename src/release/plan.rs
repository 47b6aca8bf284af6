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
