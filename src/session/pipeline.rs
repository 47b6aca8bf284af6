//! The stages one iteration runs for one app, behind a trait so the loop is
//! tested with a fake and run with the real build/render/apply/rollout.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::events::{self, Event, Kind, Stage};
use super::plan::Plan;
use crate::error::Error;
use crate::output::Printer;

/// What a finished iteration produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The image reference now deployed, when the iteration built one.
    pub image: Option<String>,
}

/// An iteration in flight: not `Send` and not `'static`, because the loop
/// polls it in its own task and drops it to cancel.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + 'a>>;

/// Runs iterations for the session's apps.
pub trait Pipeline {
    /// Starts the iteration `kind` of `app` for `plan`; stages report through
    /// `reporter` as they finish. Dropping the future cancels the iteration,
    /// and with it the engine's build.
    fn run<'a>(
        &'a self,
        app: &'a str,
        kind: Kind,
        plan: &Plan,
        reporter: Reporter<'a>,
    ) -> Running<'a>;
}

/// Tells the user (and the JSON stream) about one iteration's stages.
#[derive(Clone, Copy)]
pub struct Reporter<'a> {
    pub printer: &'a Printer,
    pub app: &'a str,
    pub iteration: u64,
}

impl Reporter<'_> {
    /// A stage finished after `took`: `Built web 2.1s` (plus `detail`).
    pub fn stage(&self, stage: Stage, took: Duration, detail: Option<String>) {
        self.line(stage, took, detail.as_deref());
        self.event(stage, took, detail);
    }

    /// Only the JSON event, for stages that print their own lines (the
    /// builder's `Built` and `Pushed`).
    pub fn event(&self, stage: Stage, took: Duration, detail: Option<String>) {
        events::emit(
            self.printer,
            &Event::StageFinished {
                app: self.app.to_owned(),
                iteration: self.iteration,
                stage,
                duration_ms: events::millis(took),
                detail,
            },
        );
    }

    fn line(&self, stage: Stage, took: Duration, detail: Option<&str>) {
        self.printer.status(
            stage.verb(),
            format_args!(
                "{} {:.1}s{}",
                self.app,
                took.as_secs_f64(),
                detail.map(|d| format!(" ({d})")).unwrap_or_default()
            ),
        );
    }
}
