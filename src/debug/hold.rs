//! `--hold-while-attached`: an iteration of an app with a debugger attached
//! waits until the debugger detaches, then runs. It wraps the session's
//! pipeline, so the loop is unchanged: a change while holding cancels the
//! held iteration and starts a merged one, which holds again.

use std::collections::HashMap;

use tokio::sync::watch;

use crate::session::events::Kind;
use crate::session::pipeline::{Pipeline, Reporter, Running};
use crate::session::plan::Plan;

pub struct Hold<'p, P> {
    pub inner: &'p P,
    /// Open debugger connections, by app.
    pub attached: HashMap<String, watch::Receiver<usize>>,
}

impl<'p, P> Hold<'p, P> {
    pub fn new(inner: &'p P, attached: HashMap<String, watch::Receiver<usize>>) -> Self {
        Hold { inner, attached }
    }

    /// Holds nothing unless `hold` (`--hold-while-attached`).
    #[must_use]
    pub fn only_if(mut self, hold: bool) -> Self {
        if !hold {
            self.attached.clear();
        }
        self
    }
}

impl<P: Pipeline> Pipeline for Hold<'_, P> {
    fn run<'a>(
        &'a self,
        app: &'a str,
        kind: Kind,
        plan: &Plan,
        reporter: Reporter<'a>,
    ) -> Running<'a> {
        let inner = self.inner.run(app, kind, plan, reporter);
        let attached = self.attached.get(app).cloned();
        Box::pin(async move {
            if let Some(mut attached) = attached
                && kind != Kind::Initial
                && *attached.borrow() > 0
            {
                reporter.printer.status(
                    "Holding",
                    format_args!(
                        "{app}: a debugger is attached; the change waits until it detaches"
                    ),
                );
                // A closed channel means the forward is gone: nothing to wait for.
                let _ = attached.wait_for(|n| *n == 0).await;
            }
            inner.await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;
    use crate::output::Printer;
    use crate::session::pipeline::Outcome;

    struct Counting(Cell<u32>);

    impl Pipeline for Counting {
        fn run<'a>(&'a self, _: &'a str, _: Kind, _: &Plan, _: Reporter<'a>) -> Running<'a> {
            Box::pin(async move {
                self.0.set(self.0.get() + 1);
                Ok(Outcome::default())
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rebuild_waits_while_a_debugger_is_attached() {
        let printer = Printer::new(crate::output::OutputFormat::Json, 0, false);
        let inner = Counting(Cell::new(0));
        let (tx, rx) = watch::channel(1);
        let hold = Hold {
            inner: &inner,
            attached: HashMap::from([("web".to_owned(), rx)]),
        };
        let reporter = Reporter {
            printer: &printer,
            app: "web",
            iteration: 2,
        };
        let plan = Plan::Rebuild {
            trigger: Vec::new(),
        };
        let mut running = hold.run("web", Kind::Rebuild, &plan, reporter);
        let waited = tokio::time::timeout(Duration::from_mins(1), &mut running).await;
        assert!(waited.is_err(), "held while attached");
        assert_eq!(inner.0.get(), 0);
        tx.send_replace(0);
        running.await.expect("runs once detached");
        assert_eq!(inner.0.get(), 1);
        // The first deploy of a session never waits.
        tx.send_replace(1);
        hold.run("web", Kind::Initial, &plan, reporter)
            .await
            .expect("initial");
        assert_eq!(inner.0.get(), 2);
    }
}
