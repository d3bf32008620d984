//! The only place that decides *when* a probe runs: one task per check on its own interval,
//! first runs spread over the interval by a stable hash of the check id, a global cap on probes
//! in flight, and missed ticks skipped rather than replayed. Each outcome leaves with the check's
//! `${NAME}` values taken out of its message.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::{Check, Config};
use crate::model::CheckId;
use crate::probe::{self, Outcome};

/// One probe result for the recorder: the check it belongs to and its outcome.
pub type Delivery = (CheckId, Outcome);

/// Probes in flight at once, across all checks.
pub const MAX_IN_FLIGHT: usize = 512;

/// Starts one task per check; they stop when `token` is cancelled or the recorder is gone.
pub fn spawn(
    config: &Config,
    out: mpsc::Sender<Delivery>,
    token: CancellationToken,
) -> JoinSet<()> {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for check in &config.checks {
        let check = check.clone();
        let out = out.clone();
        let token = token.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            token
                .run_until_cancelled(run_check(check, out, permits))
                .await;
        });
    }
    tasks
}

async fn run_check(check: Check, out: mpsc::Sender<Delivery>, permits: Arc<Semaphore>) {
    let first = Instant::now() + offset(&check);
    let mut ticks = tokio::time::interval_at(first, check.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let Ok(permit) = permits.acquire().await else {
            return;
        };
        // Boxed: a probe's state machine is some 20 KB, and a check spends nearly all its time
        // waiting for the next tick, which should cost a thousand checks kilobytes, not 20 MB.
        let mut outcome = Box::pin(probe::run(&check.spec, &check.limits)).await;
        drop(permit);
        // Before anything stores, shows or logs it.
        if let Some(failure) = &mut outcome.failure {
            check.secrets.scrub(&mut failure.message);
        }
        if out.send((check.id.clone(), outcome)).await.is_err() {
            return;
        }
    }
}

/// Where in its interval a check's first probe falls: stable across restarts, spread across checks.
pub fn offset(check: &Check) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    check.id.as_str().hash(&mut h);
    let period = u64::try_from(check.interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(h.finish() % period)
}
