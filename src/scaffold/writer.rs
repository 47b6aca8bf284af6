//! Applies a [`Plan`](super::plan): writes new files, leaves identical ones,
//! and never overwrites a user's file without `force`. `.vscode/launch.json`
//! is merged (devloop's own entries only), so it needs no `force`.

use std::path::Path;

use serde::Serialize;

use super::plan::{Action, Planned, launch_text};

/// What happened to one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Created,
    Overwritten,
    Updated,
    Unchanged,
    Skipped { reason: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub path: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Decides each outcome; writes only when `write` (else a dry run).
pub fn apply(
    root: &Path,
    plan: &[Planned],
    force: bool,
    write: bool,
) -> std::io::Result<Vec<Done>> {
    let mut done = Vec::new();
    for planned in plan {
        let path = root.join(&planned.path);
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (new, outcome) = match &planned.action {
            Action::Keep(reason) => (
                None,
                Outcome::Skipped {
                    reason: reason.clone(),
                },
            ),
            Action::Write(text) => match &current {
                None => (Some(text.clone()), Outcome::Created),
                Some(bytes) if bytes == text.as_bytes() => (None, Outcome::Unchanged),
                Some(_) if force => (Some(text.clone()), Outcome::Overwritten),
                Some(_) => (
                    None,
                    Outcome::Skipped {
                        reason: "exists and differs; --force overwrites it".to_owned(),
                    },
                ),
            },
            Action::Launch(entries) => {
                let text = current.as_deref().map(String::from_utf8_lossy);
                match launch_text(text.as_deref(), entries) {
                    Ok(new) if text.as_deref() == Some(new.as_str()) => (None, Outcome::Unchanged),
                    Ok(new) => {
                        let outcome = if current.is_some() {
                            Outcome::Updated
                        } else {
                            Outcome::Created
                        };
                        (Some(new), outcome)
                    }
                    Err(e) => (
                        None,
                        Outcome::Skipped {
                            reason: format!(
                                "not valid JSON with comments ({e}); fix it and run init again"
                            ),
                        },
                    ),
                }
            }
        };
        if let (true, Some(text)) = (write, new) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)?;
        }
        done.push(Done {
            path: planned.path.clone(),
            outcome,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_clobbers_without_force_and_is_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("user"), "mine").expect("write");
        let plan = vec![
            Planned {
                path: "a/new".into(),
                action: Action::Write("x".into()),
            },
            Planned {
                path: "user".into(),
                action: Action::Write("theirs".into()),
            },
        ];
        let first = apply(dir.path(), &plan, false, true).expect("apply");
        assert_eq!(first[0].outcome, Outcome::Created);
        assert!(matches!(first[1].outcome, Outcome::Skipped { .. }));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("user")).expect("read"),
            "mine"
        );
        let second = apply(dir.path(), &plan, false, true).expect("apply");
        assert_eq!(second[0].outcome, Outcome::Unchanged);
        let forced = apply(dir.path(), &plan, true, true).expect("apply");
        assert_eq!(forced[1].outcome, Outcome::Overwritten);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("user")).expect("read"),
            "theirs"
        );
        let dry = tempfile::tempdir().expect("tempdir");
        let outcomes = apply(dry.path(), &plan, false, false).expect("apply");
        assert_eq!(outcomes[0].outcome, Outcome::Created);
        assert!(!dry.path().join("a").exists());
    }
}
