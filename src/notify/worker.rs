//! The delivery worker: one lane (a task) per destination, so a slow or failing destination never
//! delays the others. A lane claims its due rows from the outbox under a lease, formats them as
//! one message, sends it, and records the outcome through the writer: delivered, retried later
//! with exponential backoff and jitter, or dead-lettered past the deadline.
//!
//! At least once: a row is marked delivered only after the receiver's 2xx, so a crash between the
//! two sends it again (with the same `webhook-id`); a delivered row is never sent again. The
//! worker never writes SQL and never decides what to say: `route` and `format` do.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::format::{self, Batch, Item};
use super::message::Message;
use super::send::Sender;
use crate::clock::Timestamp;
use crate::config::{Destination, Timing};
use crate::event::Event;
use crate::metrics::Metrics;
use crate::store::{Claim, Error as StoreError, Finish, Lane, OutboxRow, Reader, Writer};

/// How long claimed rows are ours: well past a delivery's own time limit.
const LEASE: Duration = Duration::from_secs(60);
/// The longest a lane sleeps without looking at the outbox.
const LOOK_EVERY: Duration = Duration::from_secs(60);
/// How often the backlog metrics are refreshed when nothing happens.
const BACKLOG_EVERY: Duration = Duration::from_secs(15);

/// What the worker needs from the rest of the daemon.
pub struct Worker {
    pub destinations: Vec<Destination>,
    pub timing: Timing,
    pub sender: Sender,
    pub writer: Writer,
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    /// Committed events: each wakes the lanes, whose rows were written in the same commit.
    pub events: broadcast::Receiver<Event>,
    /// The status page, for links.
    pub base: Url,
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
    finished: Notify,
}

impl Worker {
    /// Delivers until `token` is cancelled; a delivery in flight then finishes and is recorded
    /// before this returns, so its row is not sent again at the next start.
    pub async fn run(self, token: CancellationToken) {
        let Worker {
            destinations,
            timing,
            sender,
            writer,
            reader,
            metrics,
            mut events,
            base,
        } = self;
        let shared = Arc::new(Shared {
            timing,
            sender,
            writer,
            metrics,
            base,
            finished: Notify::new(),
        });
        let mut lanes = JoinSet::new();
        let mut wakes = Vec::new();
        for d in destinations {
            for o in [Outcome::Delivered, Outcome::Failed, Outcome::Dead] {
                shared.metrics.count_notifications(&d.name, o.as_str(), 0);
            }
            let wake = Arc::new(Notify::new());
            wakes.push(wake.clone());
            lanes.spawn(lane(shared.clone(), d, wake, token.clone()));
        }
        loop {
            refresh_backlog(&reader, &shared.metrics).await;
            tokio::select! {
                _ = token.cancelled() => break,
                e = events.recv() => {
                    if matches!(e, Err(broadcast::error::RecvError::Closed)) {
                        break;
                    }
                    wakes.iter().for_each(|w| w.notify_one());
                }
                _ = shared.finished.notified() => {}
                _ = tokio::time::sleep(BACKLOG_EVERY) => {}
            }
        }
        while lanes.join_next().await.is_some() {}
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
