//! The loop of `devloop up`: file changes in, iterations out, one owner.
//!
//! Batches from the watcher are coalesced ([`Coalescer`]), planned per app
//! ([`plan::plan`]) and handed to the app's slot. Each app runs at most one
//! iteration at a time; apps run concurrently (their futures are polled
//! here, so nothing needs to be `Send` or `'static`). A change for an app
//! whose iteration is running cancels it (drops the future, which stops the
//! engine's build) and starts one plan covering both changes. A failed
//! iteration is reported and the loop keeps watching; the last good version
//! keeps serving.

use std::future::Future;
use std::path::PathBuf;
use std::task::Poll;
use std::time::Instant;

use tokio::sync::mpsc;

use super::changeset::ChangeSet;
use super::coalesce::Coalescer;
use super::events::{self, Event, Kind};
use super::pipeline::{Outcome, Pipeline, Reporter, Running};
use super::plan::Plan;
use crate::error::Error;
use crate::output::Printer;

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// The stop future fired (Ctrl-C) or the watcher went away.
    Stopped,
    /// devloop.toml changed or events were lost: reload and start over.
    Reload { trigger: Vec<PathBuf> },
}

/// One app as the loop sees it: its name and how it plans a batch.
pub struct LoopApp<'a> {
    pub name: String,
    pub plan: Box<dyn Fn(&ChangeSet) -> Plan + 'a>,
}

struct Slot<'a> {
    running: Option<(Plan, u64, Instant, Running<'a>)>,
    pending: Option<Plan>,
    iterations: u64,
}

/// Runs the loop until `stop` fires or a reload is needed. Every app starts
/// with an initial iteration (`initial`, e.g. a rebuild).
pub async fn run<'a, P: Pipeline>(
    printer: &'a Printer,
    apps: &'a [LoopApp<'a>],
    pipeline: &'a P,
    mut changes: mpsc::UnboundedReceiver<ChangeSet>,
    initial: Plan,
    stop: impl Future<Output = ()>,
) -> Exit {
    let mut slots: Vec<Slot<'a>> = apps
        .iter()
        .map(|_| Slot {
            running: None,
            pending: Some(initial.clone()),
            iterations: 0,
        })
        .collect();
    let mut coalescer = Coalescer::default();
    tokio::pin!(stop);
    loop {
        for (app, slot) in apps.iter().zip(&mut slots) {
            start_pending(printer, app, slot, pipeline);
        }
        let due = coalescer.deadline();
        tokio::select! {
            () = &mut stop => return Exit::Stopped,
            batch = changes.recv() => match batch {
                Some(batch) => coalescer.add(tokio::time::Instant::now(), batch),
                None => return Exit::Stopped,
            },
            () = sleep_until(due) => {
                if let Some(batch) = coalescer.take_due(tokio::time::Instant::now())
                    && let Some(exit) = dispatch(printer, apps, &mut slots, &batch)
                {
                    return exit;
                }
            }
            (index, result) = next_finished(&mut slots) => {
                finish(printer, &apps[index].name, &mut slots[index], result);
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Plans `batch` for every app; queues (and cancels) per app.
fn dispatch(
    printer: &Printer,
    apps: &[LoopApp<'_>],
    slots: &mut [Slot<'_>],
    batch: &ChangeSet,
) -> Option<Exit> {
    for (app, slot) in apps.iter().zip(slots.iter_mut()) {
        let plan = (app.plan)(batch);
        match plan {
            Plan::Idle => {}
            Plan::Reload => {
                return Some(Exit::Reload {
                    trigger: batch.iter().map(|(p, _)| p.to_owned()).collect(),
                });
            }
            plan => {
                let mut merged = slot.pending.take().unwrap_or(Plan::Idle);
                if let Some((running, iteration, _, _)) = slot.running.take() {
                    // Dropping the future cancels the iteration.
                    printer.status(
                        "Cancelled",
                        format_args!("{} #{iteration}: files changed meanwhile", app.name),
                    );
                    events::emit(
                        printer,
                        &Event::IterationCancelled {
                            app: app.name.clone(),
                            iteration,
                            by: plan.paths(),
                        },
                    );
                    merged = running.then(merged);
                }
                slot.pending = Some(merged.then(plan));
            }
        }
    }
    None
}

fn start_pending<'a, P: Pipeline>(
    printer: &'a Printer,
    app: &'a LoopApp<'a>,
    slot: &mut Slot<'a>,
    pipeline: &'a P,
) {
    if slot.running.is_some() {
        return;
    }
    let Some(plan) = slot.pending.take() else {
        return;
    };
    slot.iterations += 1;
    let iteration = slot.iterations;
    let kind = match (&plan, iteration) {
        (_, 1) => Kind::Initial,
        (Plan::Redeploy { .. }, _) => Kind::Redeploy,
        (Plan::Sync { .. }, _) => Kind::Sync,
        _ => Kind::Rebuild,
    };
    let trigger = plan.paths();
    if iteration > 1 {
        printer.status(
            "Changed",
            format_args!("{}: {}", app.name, describe(&trigger)),
        );
    }
    events::emit(
        printer,
        &Event::IterationStarted {
            app: app.name.clone(),
            iteration,
            kind,
            trigger,
        },
    );
    let reporter = Reporter {
        printer,
        app: &app.name,
        iteration,
    };
    let future = pipeline.run(&app.name, kind, &plan, reporter);
    slot.running = Some((plan, iteration, Instant::now(), future));
}

/// `src/app.py` or `src/app.py and 4 more`.
fn describe(paths: &[PathBuf]) -> String {
    match paths {
        [] => "start".to_owned(),
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} and {} more", first.display(), rest.len()),
    }
}

/// The first running iteration that finishes.
async fn next_finished(slots: &mut [Slot<'_>]) -> (usize, Result<Outcome, Error>) {
    std::future::poll_fn(|cx| {
        for (index, slot) in slots.iter_mut().enumerate() {
            if let Some((_, _, _, future)) = &mut slot.running
                && let Poll::Ready(result) = future.as_mut().poll(cx)
            {
                return Poll::Ready((index, result));
            }
        }
        Poll::Pending
    })
    .await
}

fn finish(printer: &Printer, app: &str, slot: &mut Slot<'_>, result: Result<Outcome, Error>) {
    let Some((_, iteration, started, _)) = slot.running.take() else {
        return;
    };
    let took = started.elapsed();
    match result {
        Ok(outcome) => {
            printer.status(
                "Ready",
                format_args!("{app} #{iteration} in {:.1}s", took.as_secs_f64()),
            );
            events::emit(
                printer,
                &Event::IterationFinished {
                    app: app.to_owned(),
                    iteration,
                    duration_ms: events::millis(took),
                    image: outcome.image,
                },
            );
        }
        Err(err) => {
            // The error with its hint; the previous version keeps serving.
            printer.error(&err);
            printer.status(
                "Watching",
                format_args!("{app}: the previous version keeps serving"),
            );
            events::emit(
                printer,
                &Event::IterationFailed {
                    app: app.to_owned(),
                    iteration,
                    duration_ms: events::millis(took),
                    code: err.code().to_owned(),
                    message: err.to_string(),
                    hint: err.hint(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests;
