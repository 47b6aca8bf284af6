//! The loop against a fake pipeline on tokio's paused clock: concurrency,
//! cancellation with merged plans, failures that do not stop the loop,
//! reloads.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::output::{OutputFormat, Printer};
use crate::session::changeset::ChangeKind;

/// Records what ran; an iteration takes `took` and fails when a trigger
/// is named `broken`.
struct Fake {
    took: Duration,
    log: RefCell<Vec<String>>,
}

impl Pipeline for Fake {
    fn run<'a>(
        &'a self,
        app: &'a str,
        kind: Kind,
        plan: &Plan,
        _reporter: Reporter<'a>,
    ) -> Running<'a> {
        let paths = plan.paths();
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let line = format!("{app} {kind:?} [{}]", names.join(","));
        self.log.borrow_mut().push(format!("start {line}"));
        Box::pin(async move {
            tokio::time::sleep(self.took).await;
            self.log.borrow_mut().push(format!("done {line}"));
            if names.iter().any(|n| n == "broken") {
                return Err(Error::usage("syntax error", None));
            }
            Ok(Outcome::default())
        })
    }
}

fn app(name: &str) -> LoopApp<'static> {
    let prefix = format!("{name}/");
    LoopApp {
        name: name.to_owned(),
        plan: Box::new(move |changes: &ChangeSet| {
            let mine: Vec<PathBuf> = changes
                .iter()
                .filter(|(p, _)| p.starts_with(&prefix) || !p.to_string_lossy().contains('/'))
                .map(|(p, _)| p.to_owned())
                .collect();
            if mine.iter().any(|p| p == Path::new("devloop.toml")) {
                Plan::Reload
            } else if mine.is_empty() {
                Plan::Idle
            } else {
                Plan::Rebuild { trigger: mine }
            }
        }),
    }
}

fn batch(paths: &[&str]) -> ChangeSet {
    paths.iter().map(|p| (*p, ChangeKind::Modified)).collect()
}

fn printer() -> Printer {
    Printer::new(OutputFormat::Text, -1, false)
}

#[tokio::test(start_paused = true)]
async fn apps_start_together_and_a_change_mid_build_restarts_with_both() {
    let fake = Fake {
        took: Duration::from_secs(5),
        log: RefCell::new(Vec::new()),
    };
    let apps = [app("api"), app("web")];
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = printer();
    let stop = async {
        // Initial builds run 0-5 s; a change to api at 2 s cancels api's.
        tokio::time::sleep(Duration::from_secs(2)).await;
        tx.send(batch(&["api/a.py"])).expect("send");
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(batch(&["api/b.py"])).expect("send");
        tokio::time::sleep(Duration::from_secs(20)).await;
    };
    let exit = run(
        &printer,
        &apps,
        &fake,
        rx,
        Plan::Rebuild { trigger: vec![] },
        stop,
    )
    .await;
    assert_eq!(exit, Exit::Stopped);
    assert_eq!(
        fake.log.into_inner(),
        vec![
            "start api Initial []",
            "start web Initial []",
            // api's initial run is cancelled at 2.1 s, its replacement at
            // 3.1 s; the last one covers all three changes.
            "start api Rebuild [api/a.py]",
            "start api Rebuild [api/a.py,api/b.py]",
            "done web Initial []",
            "done api Rebuild [api/a.py,api/b.py]",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_iteration_keeps_the_loop_watching() {
    let fake = Fake {
        took: Duration::from_millis(500),
        log: RefCell::new(Vec::new()),
    };
    let apps = [app("api")];
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = printer();
    let stop = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(batch(&["broken"])).expect("send");
        tokio::time::sleep(Duration::from_secs(2)).await;
        tx.send(batch(&["api/fixed.py"])).expect("send");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let exit = run(
        &printer,
        &apps,
        &fake,
        rx,
        Plan::Redeploy { trigger: vec![] },
        stop,
    )
    .await;
    assert_eq!(exit, Exit::Stopped);
    assert_eq!(
        fake.log.into_inner(),
        vec![
            "start api Initial []",
            "done api Initial []",
            "start api Rebuild [broken]",
            "done api Rebuild [broken]",
            "start api Rebuild [api/fixed.py]",
            "done api Rebuild [api/fixed.py]",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn bursts_coalesce_and_devloop_toml_reloads() {
    let fake = Fake {
        took: Duration::from_millis(100),
        log: RefCell::new(Vec::new()),
    };
    let apps = [app("api")];
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = printer();
    let stop = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Three events 30 ms apart: one batch after the 100 ms quiet period.
        for p in ["api/a.py", "api/b.py", "api/c.py"] {
            tx.send(batch(&[p])).expect("send");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(batch(&["devloop.toml"])).expect("send");
        tokio::time::sleep(Duration::from_mins(1)).await;
    };
    let exit = run(
        &printer,
        &apps,
        &fake,
        rx,
        Plan::Redeploy { trigger: vec![] },
        stop,
    )
    .await;
    assert_eq!(
        exit,
        Exit::Reload {
            trigger: vec![PathBuf::from("devloop.toml")]
        }
    );
    assert_eq!(
        fake.log.into_inner(),
        vec![
            "start api Initial []",
            "done api Initial []",
            "start api Rebuild [api/a.py,api/b.py,api/c.py]",
            "done api Rebuild [api/a.py,api/b.py,api/c.py]",
        ]
    );
}
