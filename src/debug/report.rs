//! Telling the user when a debugger attaches to an app and detaches: an
//! `Attached`/`Detached` line and a `debugger_connection` event, from the
//! count of open connections on the app's debugger forward.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::watch;

use crate::output::Printer;
use crate::session::events::{self, Event};

/// How long no connection must stay open before the debugger counts as
/// detached: debuggers reconnect at once (VS Code's JavaScript debugger asks
/// `/json/list` on one connection, then opens the WebSocket on another).
const DETACH_AFTER: Duration = Duration::from_secs(1);

/// Reports every app's attaches and detaches; never returns.
pub async fn report(
    printer: &Printer,
    attached: impl IntoIterator<Item = (String, watch::Receiver<usize>)>,
) {
    join_all(
        attached
            .into_iter()
            .map(|(app, rx)| watch_app(rx, move |state| say(printer, &app, state))),
    )
    .await;
    // The forwards are gone (the session ends): nothing more to say.
    std::future::pending::<()>().await;
}

/// Calls `say` with `attached` and `detached` as the app's forward gains its
/// first connection and, [`DETACH_AFTER`] after its last closed, loses it.
/// Returns when the forward is gone.
async fn watch_app(mut rx: watch::Receiver<usize>, say: impl Fn(&'static str)) {
    loop {
        if rx.wait_for(|n| *n > 0).await.is_err() {
            return;
        }
        say("attached");
        loop {
            if rx.wait_for(|n| *n == 0).await.is_err() {
                return;
            }
            match tokio::time::timeout(DETACH_AFTER, rx.wait_for(|n| *n > 0)).await {
                // Back within the grace time: still the same attach.
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return,
                Err(_) => break,
            }
        }
        say("detached");
    }
}

fn say(printer: &Printer, app: &str, state: &str) {
    let verb = if state == "attached" {
        "Attached"
    } else {
        "Detached"
    };
    printer.status(verb, format_args!("{app}: a debugger {state}"));
    events::emit(
        printer,
        &Event::DebuggerConnection {
            app: app.to_owned(),
            state: state.to_owned(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The states reported while `steps` (a connection count, then a pause
    /// in ms) play out on the forward, which then goes away.
    async fn reported(steps: &[(usize, u64)]) -> Vec<&'static str> {
        let (tx, rx) = watch::channel(0usize);
        let seen = std::sync::Mutex::new(Vec::new());
        let play = async {
            for (count, pause) in steps {
                tx.send_replace(*count);
                tokio::time::sleep(Duration::from_millis(*pause)).await;
            }
            drop(tx);
        };
        tokio::join!(
            watch_app(rx, |state| seen.lock().expect("lock").push(state)),
            play
        );
        seen.into_inner().expect("lock")
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_reconnect_is_one_attach() {
        assert_eq!(
            reported(&[(1, 100), (0, 200), (1, 5000), (0, 3000)]).await,
            ["attached", "detached"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_session_of_a_debugger_is_reported_and_nothing_without_one() {
        assert_eq!(reported(&[(0, 5000)]).await, Vec::<&str>::new());
        assert_eq!(
            reported(&[(1, 500), (2, 500), (0, 2000), (1, 500), (0, 1500)]).await,
            ["attached", "detached", "attached", "detached"]
        );
        // The forward went away while attached: no detach is made up.
        assert_eq!(reported(&[(1, 500)]).await, ["attached"]);
    }
}
