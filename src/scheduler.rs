//! The only place that decides *when* a probe runs: one task per check on its own interval,
//! first runs spread over the interval by a stable hash of the check id, a global cap on probes
//! in flight, and missed ticks skipped rather than replayed. Each outcome leaves with the check's
//! `${NAME}` values taken out of its message.

use std::collections::HashMap;
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

/// The running probe tasks, one per check, by check id: started, stopped and restarted as the
/// config changes, all stopped when `token` is cancelled or the recorder is gone.
pub struct Probes {
    running: HashMap<CheckId, Running>,
    tasks: JoinSet<()>,
    out: mpsc::Sender<Delivery>,
    permits: Arc<Semaphore>,
    token: CancellationToken,
    /// How late each probe starts against its slot.
    lag: prometheus::Histogram,
}

struct Running {
    /// The check as it was started, to tell a changed one.
    check: Check,
    stop: CancellationToken,
}

/// What [`Probes::apply`] did, by check id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<CheckId>,
    pub removed: Vec<CheckId>,
    pub changed: Vec<CheckId>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

impl Probes {
    /// Starts one task per check of `config`; each probe's lateness goes to `lag`.
    pub fn spawn(
        config: &Config,
        out: mpsc::Sender<Delivery>,
        token: CancellationToken,
        lag: prometheus::Histogram,
    ) -> Probes {
        let mut probes = Probes {
            running: HashMap::new(),
            tasks: JoinSet::new(),
            out,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            token,
            lag,
        };
        probes.apply(config);
        probes
    }

    /// Brings the running tasks in line with `config`: starts added checks, stops removed ones
    /// and restarts changed ones; an unchanged check keeps its task and its schedule.
    pub fn apply(&mut self, config: &Config) -> Changes {
        let mut changes = Changes::default();
        let wanted: HashMap<&CheckId, &Check> = config.checks.iter().map(|c| (&c.id, c)).collect();
        self.running.retain(|id, r| {
            let keep = wanted.get(id).is_some_and(|c| same(c, &r.check));
            if !keep {
                r.stop.cancel();
                if wanted.contains_key(id) {
                    changes.changed.push(id.clone());
                } else {
                    changes.removed.push(id.clone());
                }
            }
            keep
        });
        for check in &config.checks {
            if self.running.contains_key(&check.id) {
                continue;
            }
            if !changes.changed.contains(&check.id) {
                changes.added.push(check.id.clone());
            }
            let stop = self.token.child_token();
            let task = run_check(
                check.clone(),
                self.out.clone(),
                self.permits.clone(),
                self.lag.clone(),
            );
            let until = stop.clone();
            self.tasks.spawn(async move {
                until.run_until_cancelled(task).await;
            });
            self.running.insert(
                check.id.clone(),
                Running {
                    check: check.clone(),
                    stop,
                },
            );
        }
        changes
    }

    /// Waits for every task to end (after `token` is cancelled); the outcome sender goes with
    /// them, so the recorder drains and returns.
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Whether two configs of a check probe the same thing the same way (display fields aside).
pub fn same(a: &Check, b: &Check) -> bool {
    // The specs hold compiled regexes and JSON paths, which have no equality; their debug
    // forms carry their sources, so they compare what the config said.
    a.interval == b.interval
        && a.limits == b.limits
        && format!("{:?}", a.spec) == format!("{:?}", b.spec)
}

async fn run_check(
    check: Check,
    out: mpsc::Sender<Delivery>,
    permits: Arc<Semaphore>,
    lag: prometheus::Histogram,
) {
    let first = Instant::now() + offset(&check);
    let mut ticks = tokio::time::interval_at(first, check.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let slot = ticks.tick().await;
        let Ok(permit) = permits.acquire().await else {
            return;
        };
        lag.observe(slot.elapsed().as_secs_f64());
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
