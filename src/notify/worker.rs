//! The delivery worker: one lane (a task) per destination, so a slow or failing destination never
//! delays the others. A lane claims its due rows from the outbox under a lease, formats them as
//! one message, sends it, and records the outcome through the writer: delivered, retried later
//! with exponential backoff and jitter, or dead-lettered past the deadline.
//!
//! At least once: a row is marked delivered only after the receiver's 2xx, so a crash between the
//! two sends it again (with the same `webhook-id`); a delivered row is never sent again. The
//! worker never writes SQL and never decides what to say: `route` and `format` do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::format::{self, Batch, Item};
use super::message::Message;
use super::send::Sender;
use crate::clock::Timestamp;
use crate::config::{Config, Destination, Timing};
use crate::event::Event;
use crate::metrics::Metrics;
use crate::store::{Claim, Error as StoreError, Finish, Lane, OutboxRow, Reader, Writer};

/// How long claimed rows are ours: well past a delivery's own time limit.
const LEASE: Duration = Duration::from_secs(60);
/// The longest a lane sleeps without looking at the outbox.
const LOOK_EVERY: Duration = Duration::from_secs(60);
/// How often the backlog metrics are refreshed when nothing happens.
const BACKLOG_EVERY: Duration = Duration::from_secs(15);
/// The least time between two reads of the backlog, however busy the outbox.
const BACKLOG_GAP: Duration = Duration::from_millis(500);

/// What the worker needs from the rest of the daemon.
pub struct Worker {
    /// The config in force: a reload that changes `[[notify]]`, `[smtp]`, `[notifications]` or
    /// `public_url` restarts the lanes, once their deliveries in flight are recorded.
    pub config: watch::Receiver<Arc<Config>>,
    pub writer: Writer,
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    /// Committed events: each wakes the lanes, whose rows were written in the same commit.
    pub events: broadcast::Receiver<Event>,
    /// The address the daemon listens on, for links when `public_url` is unset.
    pub bound: SocketAddr,
}

/// The result label of `watchpost_notifications_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Failed,
    Dead,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Dead => "dead",
        }
    }
}

/// What every lane shares.
struct Shared {
    timing: Timing,
    sender: Sender,
    writer: Writer,
    metrics: Arc<Metrics>,
    base: Url,
    /// Rung by a lane after each outcome, so the backlog metrics follow.
    finished: Arc<Notify>,
}

/// The lanes of one configuration.
struct Lanes {
    shared: Option<Arc<Shared>>,
    /// Rung by a lane after each outcome, so the backlog metrics follow.
    finished: Arc<Notify>,
    wakes: Vec<Arc<Notify>>,
    tasks: JoinSet<()>,
    stop: CancellationToken,
}

impl Worker {
    /// Delivers until `token` is cancelled; a delivery in flight then finishes and is recorded
    /// before this returns, so its row is not sent again at the next start.
    pub async fn run(mut self, token: CancellationToken) {
        let mut watching = true;
        loop {
            let config = self.config.borrow_and_update().clone();
            let mut lanes = self.start(&config, &token);
            let restart = self.dispatch(&lanes, &config, &token, &mut watching).await;
            lanes.stop.cancel();
            while lanes.tasks.join_next().await.is_some() {}
            if !restart {
                return;
            }
            tracing::info!("notification settings changed: destinations restarted");
        }
    }

    /// A lane per destination of `config`; none when there is none or no way to send.
    fn start(&self, config: &Config, token: &CancellationToken) -> Lanes {
        let mut lanes = Lanes {
            shared: None,
            wakes: Vec::new(),
            tasks: JoinSet::new(),
            stop: token.child_token(),
            finished: Arc::new(Notify::new()),
        };
        let notify = &config.notify;
        if notify.destinations.is_empty() {
            return lanes;
        }
        let sender = match Sender::new(notify) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "notifications cannot be sent; they stay in the outbox");
                return lanes;
            }
        };
        let shared = Arc::new(Shared {
            timing: notify.timing,
            sender,
            writer: self.writer.clone(),
            metrics: self.metrics.clone(),
            base: super::base_url(&config.server, self.bound),
            finished: lanes.finished.clone(),
        });
        for d in &notify.destinations {
            for o in [Outcome::Delivered, Outcome::Failed, Outcome::Dead] {
                shared.metrics.count_notifications(&d.name, o.as_str(), 0);
            }
            let wake = Arc::new(Notify::new());
            lanes.wakes.push(wake.clone());
            let lane = lane(shared.clone(), d.clone(), wake, lanes.stop.clone());
            lanes.tasks.spawn(lane);
        }
        lanes.shared = Some(shared);
        lanes
    }

    /// Wakes the lanes on every committed event and keeps the backlog metrics current, until
    /// `token` is cancelled (false) or the notification settings change (true).
    async fn dispatch(
        &mut self,
        lanes: &Lanes,
        config: &Config,
        token: &CancellationToken,
        watching: &mut bool,
    ) -> bool {
        // The backlog is read again after changes, at most once per BACKLOG_GAP, and every
        // BACKLOG_EVERY so the oldest row's age keeps growing while it waits.
        let mut stale = lanes.shared.is_some();
        let mut read_at = tokio::time::Instant::now();
        loop {
            if stale && read_at.elapsed() >= BACKLOG_GAP {
                refresh_backlog(&self.reader, &self.metrics).await;
                read_at = tokio::time::Instant::now();
                stale = false;
            }
            let nap = if stale {
                BACKLOG_GAP.saturating_sub(read_at.elapsed())
            } else {
                BACKLOG_EVERY
            };
            tokio::select! {
                _ = token.cancelled() => return false,
                changed = self.config.changed(), if *watching => {
                    if changed.is_err() {
                        *watching = false;
                        continue;
                    }
                    let new = self.config.borrow().clone();
                    if new.notify != config.notify || new.server.public_url != config.server.public_url {
                        return true;
                    }
                }
                e = self.events.recv() => {
                    if matches!(e, Err(broadcast::error::RecvError::Closed)) {
                        return false;
                    }
                    lanes.wakes.iter().for_each(|w| w.notify_one());
                    stale = lanes.shared.is_some();
                }
                _ = lanes.finished.notified() => stale = true,
                _ = tokio::time::sleep(nap), if lanes.shared.is_some() => stale = true,
            }
        }
    }
}

async fn refresh_backlog(reader: &Reader, metrics: &Metrics) {
    let now = Timestamp::now();
    match reader.outbox_backlog(now).await {
        Ok(b) => {
            let oldest = b.oldest_due.map_or(0.0, |t| now.since(t).as_secs_f64());
            metrics.set_outbox(b.pending, oldest);
        }
        Err(e) => tracing::debug!(error = %e, "reading the outbox backlog failed"),
    }
}

/// One destination's deliveries, in id order, until `token` is cancelled.
async fn lane(shared: Arc<Shared>, dest: Destination, wake: Arc<Notify>, token: CancellationToken) {
    loop {
        if token.is_cancelled() {
            return;
        }
        let now = Timestamp::now();
        let claim = shared
            .writer
            .claim(Lane {
                destination: dest.name.clone(),
                now,
                lease: LEASE,
                group_window: dest.group_window,
            })
            .await;
        let until = match claim {
            Ok(Claim::Batch(rows)) => {
                if deliver(&shared, &dest, rows).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Claim::Wait(t)) => Some(t),
            Ok(Claim::Idle) => None,
            Err(StoreError::WriterGone) => return,
            Err(e) => {
                tracing::warn!(destination = %dest.name, error = %e, "claiming notifications failed");
                Some(now.plus(Duration::from_secs(1)))
            }
        };
        let nap = until.map_or(LOOK_EVERY, |t| t.since(now)).min(LOOK_EVERY);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

/// Sends one claimed batch and records the outcome; `Err` only when the writer is gone.
async fn deliver(shared: &Shared, dest: &Destination, rows: Vec<OutboxRow>) -> Result<(), ()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let id = first.key.clone();
    let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
    let oldest = rows
        .iter()
        .map(|r| r.created_at)
        .min()
        .unwrap_or(first.created_at);
    let mut items = Vec::new();
    let mut unreadable = Vec::new();
    for r in &rows {
        match serde_json::from_str::<Message>(&r.payload) {
            Ok(message) => items.push(Item {
                key: r.key.clone(),
                message,
            }),
            Err(e) => unreadable.push((r.id, e.to_string())),
        }
    }
    for (row, e) in unreadable {
        tracing::error!(destination = %dest.name, row, error = %e, "an outbox row cannot be read; dead-lettered");
        let error = format!("unreadable payload: {e}");
        finish(shared, dest, vec![row], Finish::Dead { error }).await?;
    }
    let ids: Vec<i64> = rows
        .iter()
        .filter(|r| items.iter().any(|i| i.key == r.key))
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let now = Timestamp::now();
    let batch = Batch {
        id: &id,
        items: &items,
        now,
        base: &shared.base,
    };
    let out = format::render(&dest.target, &batch);
    let result = shared.sender.send(&dest.target, &id, out).await;
    let outcome = match result {
        Ok(said) => {
            tracing::info!(destination = %dest.name, id = %id, notifications = ids.len(), said = %said, "notification delivered");
            Finish::Delivered
        }
        Err(e) => {
            let error = e.to_string();
            let now = Timestamp::now();
            if e.is_permanent() || now.since(oldest) >= shared.timing.give_up_after {
                tracing::error!(destination = %dest.name, id = %id, attempts, error = %error, "notification dead-lettered: it will not be sent");
                Finish::Dead { error }
            } else {
                let at = now.plus(backoff(attempts, &shared.timing, jitter()));
                tracing::warn!(destination = %dest.name, id = %id, attempts, error = %error, retry_at = %at.rfc3339(), "notification not delivered; will retry");
                Finish::Retry { error, at }
            }
        }
    };
    finish(shared, dest, ids, outcome).await
}

async fn finish(
    shared: &Shared,
    dest: &Destination,
    ids: Vec<i64>,
    outcome: Finish,
) -> Result<(), ()> {
    let label = match outcome {
        Finish::Delivered => Outcome::Delivered,
        Finish::Retry { .. } => Outcome::Failed,
        Finish::Dead { .. } => Outcome::Dead,
    };
    let n = ids.len() as u64;
    match shared.writer.finish(ids, Timestamp::now(), outcome).await {
        Ok(()) => {
            shared
                .metrics
                .count_notifications(&dest.name, label.as_str(), n);
            shared.finished.notify_one();
            Ok(())
        }
        Err(e) => {
            // The lease runs out and the rows are sent again: at least once.
            tracing::error!(destination = %dest.name, error = %e, "recording a delivery failed");
            Err(())
        }
    }
}

/// The wait before attempt `attempts + 1`: `retry_first` doubling per failure up to
/// `retry_max`, scaled by `jitter` in [0, 1) into its upper half, so retries of many rows spread.
pub(crate) fn backoff(attempts: u32, timing: &Timing, jitter: f64) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let full = timing
        .retry_first
        .saturating_mul(factor)
        .min(timing.retry_max);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A number in [0, 1) from the system's random source (0.5 if it fails).
pub(crate) fn jitter() -> f64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    match ring::rand::SystemRandom::new().fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_in_the_upper_half() {
        let t = Timing::default();
        let secs = |n, j| backoff(n, &t, j).as_secs_f64();
        assert_eq!(secs(1, 1.0), 5.0);
        assert_eq!(secs(1, 0.0), 2.5);
        assert_eq!(secs(2, 1.0), 10.0);
        assert_eq!(secs(8, 1.0), 600.0, "5 s × 128 is capped at 10 min");
        assert_eq!(secs(200, 1.0), 600.0);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
