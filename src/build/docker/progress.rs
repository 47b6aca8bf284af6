//! The classic builder's output, turned into one line per Dockerfile step
//! (name, cached or elapsed time) and, on failure, the failing step with the
//! last lines it printed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::build::BuildError;

/// Output lines kept per step for the failure report: enough to show a
/// compiler error or a failing command, short of a wall of text.
const TAIL_LINES: usize = 12;

/// Step labels are cut here so a long `RUN` stays on one line.
const LABEL_WIDTH: usize = 70;

/// A finished step, for the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDone {
    pub label: String,
    pub cached: bool,
    pub elapsed: Duration,
}

impl StepDone {
    /// The label without its `Step ` word, for the printer's verb column.
    pub fn short(&self) -> &str {
        self.label.strip_prefix("Step ").unwrap_or(&self.label)
    }
}

#[derive(Debug)]
struct Step {
    label: String,
    started: Instant,
    cached: bool,
}

/// Follows one build's output stream.
#[derive(Debug, Default)]
pub struct Progress {
    current: Option<Step>,
    tail: VecDeque<String>,
    pub steps: usize,
    pub cached: usize,
    pending: String,
}

impl Progress {
    /// Feeds a `stream` chunk (may hold several lines or part of one);
    /// returns the steps this chunk finished and the output lines it held.
    pub fn feed(&mut self, chunk: &str, now: Instant) -> (Vec<StepDone>, Vec<String>) {
        self.pending.push_str(chunk);
        let mut done = Vec::new();
        let mut output = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(rest) = line.strip_prefix("Step ") {
                done.extend(self.finish(now));
                let label = format!("Step {}", rest.replacen(" : ", " ", 1));
                self.current = Some(Step {
                    label: shorten(&label),
                    started: now,
                    cached: false,
                });
                self.steps += 1;
                self.tail.clear();
            } else if line.trim() == "---> Using cache" {
                if let Some(step) = &mut self.current {
                    step.cached = true;
                }
            } else if line.starts_with(" ---> ")
                || line.starts_with("Removing intermediate container")
                || line.starts_with("Successfully built")
                || line.starts_with("Successfully tagged")
            {
                // The builder's own bookkeeping, not the step's output.
            } else {
                if self.tail.len() == TAIL_LINES {
                    self.tail.pop_front();
                }
                self.tail.push_back(line.to_owned());
                output.push(line.to_owned());
            }
        }
        (done, output)
    }

    /// Ends the build: the last step, if any.
    pub fn finish(&mut self, now: Instant) -> Option<StepDone> {
        let step = self.current.take()?;
        if step.cached {
            self.cached += 1;
        }
        Some(StepDone {
            label: step.label,
            cached: step.cached,
            elapsed: now.saturating_duration_since(step.started),
        })
    }

    /// The label of the step that is running.
    pub fn current(&self) -> Option<&str> {
        self.current.as_ref().map(|s| s.label.as_str())
    }

    /// The error for a build that failed with `message`.
    pub fn failure(&mut self, message: &str) -> BuildError {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.tail.push_back(rest.trim_end().to_owned());
        }
        let step = self
            .current
            .as_ref()
            .map_or_else(|| "the Dockerfile".to_owned(), |s| s.label.clone());
        BuildError::Step {
            step,
            message: message.trim().to_owned(),
            lines: self
                .tail
                .iter()
                .filter(|l| !l.trim().is_empty())
                .cloned()
                .collect(),
        }
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_WIDTH {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(LABEL_WIDTH - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_cache_marks_and_failure_tail() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(1500);
        let mut p = Progress::default();
        let (done, out) = p.feed("Step 1/3 : FROM busybox:1.37\n ---> 1a2b\nStep 2/3 : COPY . /app\n ---> Using cache\n ---> 3c4d\nStep 3/3 : RUN echo hi && ex", t0);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].label, "Step 1/3 FROM busybox:1.37");
        assert!(!done[0].cached);
        let (done, out) = p.feed("it 3\n ---> Running in 99\nhi\nline two\n", t1);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].label, "Step 2/3 COPY . /app");
        assert!(done[0].cached);
        assert_eq!(out, ["hi", "line two"]);
        assert_eq!(p.current(), Some("Step 3/3 RUN echo hi && exit 3"));
        match p.failure("The command '/bin/sh -c echo hi && exit 3' returned a non-zero code: 3") {
            BuildError::Step {
                step,
                message,
                lines,
            } => {
                assert_eq!(step, "Step 3/3 RUN echo hi && exit 3");
                assert!(message.ends_with("code: 3"));
                assert_eq!(lines, ["hi", "line two"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tail_keeps_the_last_lines_only() {
        let mut p = Progress::default();
        let now = Instant::now();
        p.feed("Step 1/1 : RUN seq 100\n", now);
        let text = (1..=100).fold(String::new(), |mut s, n| {
            s.push_str(&n.to_string());
            s.push('\n');
            s
        });
        p.feed(&text, now);
        let BuildError::Step { lines, .. } = p.failure("boom") else {
            panic!("a step error")
        };
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.last().map(String::as_str), Some("100"));
        assert!(shorten(&"x".repeat(200)).chars().count() == LABEL_WIDTH);
    }
}
