//! The service manager's side of the daemon (systemd's sd_notify protocol): `READY=1` once the
//! page is served, `STATUS=` lines ("7 checks, 2 down"), `STOPPING=1`, and watchdog pings sent
//! only while probe results keep reaching the recorder and the writer keeps committing. Without
//! `NOTIFY_SOCKET` it sends nothing. It only reads the snapshot and asks the writer to flush:
//! it never decides anything about checks, and never restarts anything itself.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::clock::Timestamp;
use crate::config::Config;
use crate::model::State;
use crate::snapshot::Snapshot;
use crate::store::Writer;

/// How often the status line is refreshed when systemd asked for no watchdog.
const STATUS_EVERY: Duration = Duration::from_secs(10);
/// Added to the longest expected silence between two probe results before it counts as a stall.
const SLACK: Duration = Duration::from_secs(5);

/// Tells systemd the daemon is ready, then keeps its status line and watchdog fed until
/// `token` is cancelled, and says it is stopping. Returns at once without `NOTIFY_SOCKET`.
pub(crate) async fn supervise(
    mut snapshot: watch::Receiver<Arc<Snapshot>>,
    writer: Writer,
    token: CancellationToken,
) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    let watchdog = sd_notify::watchdog_enabled().filter(|d| !d.is_zero());
    let every = watchdog.map_or(STATUS_EVERY, |d| d / 2);
    let first = snapshot.borrow_and_update().clone();
    let mut liveness = Liveness::new(Instant::now(), quiet_allowed(&first.config));
    let status = status_line(&first, Timestamp::now());
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
    if watchdog.is_some() {
        send(&[NotifyState::Watchdog]);
    }
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stalled = false;
    loop {
        let flushed = tokio::select! {
            _ = token.cancelled() => break,
            _ = ticks.tick() => {
                tokio::select! {
                    _ = token.cancelled() => break,
                    r = tokio::time::timeout(every, writer.flush()) => matches!(r, Ok(Ok(()))),
                }
            }
        };
        let now = Instant::now();
        if snapshot.has_changed().unwrap_or(false) {
            // A reload may have changed the checks, and so the silence that is normal.
            liveness.quiet_allowed = quiet_allowed(&snapshot.borrow_and_update().config);
            liveness.heard(now);
        }
        match liveness.problem(now, flushed) {
            None => {
                let status = status_line(&snapshot.borrow(), Timestamp::now());
                send(&[NotifyState::Status(&status)]);
                if watchdog.is_some() {
                    send(&[NotifyState::Watchdog]);
                }
                if stalled {
                    tracing::info!("probe results and database commits are flowing again");
                }
                stalled = false;
            }
            Some(problem) => {
                send(&[NotifyState::Status(&problem)]);
                if !stalled {
                    tracing::warn!("{problem}; not pinging the systemd watchdog");
                }
                stalled = true;
            }
        }
    }
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Sends one message; a failure (systemd gone) is logged at debug level and otherwise ignored.
fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// "7 checks, 2 down": the checks whose state shown on the page at `now` is down.
pub(crate) fn status_line(snapshot: &Snapshot, now: Timestamp) -> String {
    let total = snapshot.config.checks.len();
    let down = snapshot
        .iter()
        .filter(|(check, c)| c.shown_state(check, now) == State::Down)
        .count();
    let noun = if total == 1 { "check" } else { "checks" };
    format!("{total} {noun}, {down} down")
}

/// The longest silence between two probe results that is normal for `config`: the shortest
/// interval plus its timeout (a check's first probe falls within one interval of the start),
/// plus some slack. `None` when there are no checks, and so nothing to hear.
pub(crate) fn quiet_allowed(config: &Config) -> Option<Duration> {
    config
        .checks
        .iter()
        .map(|c| c.interval + c.limits.timeout)
        .min()
        .map(|d| d + SLACK)
}

/// Whether the daemon is alive: a probe result reached the recorder recently enough (or none
/// is due), and the writer answered a flush.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Liveness {
    last_heard: Instant,
    quiet_allowed: Option<Duration>,
}

impl Liveness {
    pub(crate) fn new(start: Instant, quiet_allowed: Option<Duration>) -> Liveness {
        Liveness {
            last_heard: start,
            quiet_allowed,
        }
    }

    /// The recorder published a snapshot: it handled probe results.
    pub(crate) fn heard(&mut self, at: Instant) {
        self.last_heard = at;
    }

    /// What is wrong at `now`, if anything, given whether the last flush completed in time.
    pub(crate) fn problem(&self, now: Instant, flushed: bool) -> Option<String> {
        if !flushed {
            return Some("the database writer did not answer a flush in time".to_string());
        }
        let quiet = now.saturating_duration_since(self.last_heard);
        match self.quiet_allowed {
            Some(allowed) if quiet > allowed => Some(format!(
                "no probe result recorded for {} s (at most {} s expected)",
                quiet.as_secs(),
                allowed.as_secs()
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_longer_than_allowed_or_a_stuck_writer_is_a_problem() {
        let start = Instant::now();
        let mut live = Liveness::new(start, Some(Duration::from_secs(40)));
        assert_eq!(live.problem(start + Duration::from_secs(39), true), None);
        let late = live.problem(start + Duration::from_secs(41), true);
        assert!(late.is_some_and(|p| p.contains("no probe result recorded for 41 s")));
        live.heard(start + Duration::from_secs(41));
        assert_eq!(live.problem(start + Duration::from_secs(42), true), None);
        let stuck = live.problem(start + Duration::from_secs(42), false);
        assert!(stuck.is_some_and(|p| p.contains("writer")));
    }

    #[test]
    fn without_checks_silence_is_by_design() {
        let start = Instant::now();
        let live = Liveness::new(start, None);
        assert_eq!(
            live.problem(start + Duration::from_secs(86_400), true),
            None
        );
    }

    #[test]
    fn the_shortest_interval_and_its_timeout_set_the_silence_allowed() {
        let config = crate::config::parse(
            std::path::Path::new("t.toml"),
            "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\ninterval = \"5m\"\n\
             [[check]]\nid = \"b\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\ninterval = \"30s\"\ntimeout = \"10s\"\n",
        )
        .unwrap();
        assert_eq!(quiet_allowed(&config), Some(Duration::from_secs(45)));
        let snapshot = Snapshot::empty(Arc::new(config));
        assert_eq!(status_line(&snapshot, Timestamp::now()), "2 checks, 0 down");
    }
}
