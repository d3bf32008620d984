//! The only place that decides *when* a probe runs: one driver task holds every check's next slot
//! in a heap and starts each probe at its slot, or up to [`COALESCE`] before it with the others
//! due by then (a check costs a heap entry and one shared record, not a task); first runs spread
//! over the interval by a stable hash of the check id, a global cap on probes in flight, at most
//! one probe of a check at a time, and missed slots skipped rather than replayed. Each outcome leaves with the check's `${NAME}` values taken out of its message.
//! A check's record shares the config's `Check` and holds a cancellation token only while a
//! probe of it is in flight, so 100,000 checks cost a few megabytes here.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Check, Config};
use crate::model::CheckId;
use crate::probe::{self, Outcome};

/// One probe result for the recorder: the check it belongs to and its outcome.
pub type Delivery = (CheckId, Outcome);

/// How early a probe may start to go with others: the driver wakes at most once per this span,
/// and the probes it starts together share the threads' wake-ups, instead of one wake-up per
/// probe when thousands of checks' slots are spread over every millisecond. Never late.
pub const COALESCE: Duration = Duration::from_millis(5);

/// Probes in flight at once, across all checks.
pub const MAX_IN_FLIGHT: usize = 512;

/// The checks being probed, by check id: started, stopped and restarted as the config changes,
/// all stopped when `token` is cancelled or the recorder is gone.
pub struct Probes {
    running: HashMap<CheckId, Arc<Slot>>,
    /// Checks for the driver to start scheduling.
    start: mpsc::UnboundedSender<Arc<Slot>>,
    driver: JoinSet<()>,
}

/// One check as the driver and its probe in flight share it.
struct Slot {
    /// The check as it was started, to tell a changed one.
    check: Arc<Check>,
    stop: Mutex<Stop>,
    /// [`IDLE`], [`BUSY`] or [`MISSED`].
    busy: AtomicU8,
    /// The slot missed while busy, in nanoseconds after the driver's epoch.
    missed: AtomicU64,
}

/// Whether a check was stopped, and the token of its probe in flight, if any: a token per
/// probe rather than per check, since only the probes in flight need one.
#[derive(Default)]
struct Stop {
    stopped: bool,
    probe: Option<CancellationToken>,
}

impl Slot {
    fn new(check: Arc<Check>) -> Slot {
        Slot {
            check,
            stop: Mutex::new(Stop::default()),
            busy: AtomicU8::new(IDLE),
            missed: AtomicU64::new(0),
        }
    }

    fn stop(&self) -> std::sync::MutexGuard<'_, Stop> {
        self.stop.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the check: no probe of it starts again, and the one in flight is cancelled.
    fn cancel(&self) {
        let mut stop = self.stop();
        stop.stopped = true;
        if let Some(probe) = stop.probe.take() {
            probe.cancel();
        }
    }

    fn is_stopped(&self) -> bool {
        self.stop().stopped
    }
}

/// No probe of the check in flight.
const IDLE: u8 = 0;
/// A probe in flight.
const BUSY: u8 = 1;
/// A probe in flight, and a slot came meanwhile: it runs, late, as soon as this probe ends.
const MISSED: u8 = 2;

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
    /// Starts probing every check of `config`; each probe's lateness goes to `lag`.
    pub fn spawn(
        config: &Config,
        out: mpsc::Sender<Delivery>,
        token: CancellationToken,
        lag: prometheus::Histogram,
    ) -> Probes {
        let (start, slots) = mpsc::unbounded_channel();
        let mut driver = JoinSet::new();
        driver.spawn(
            Driver {
                out,
                permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
                lag,
                epoch: Instant::now(),
                due: BinaryHeap::new(),
                in_flight: JoinSet::new(),
                token,
            }
            .run(slots),
        );
        let mut probes = Probes {
            running: HashMap::new(),
            start,
            driver,
        };
        probes.apply(config);
        probes
    }

    /// Brings the probed checks in line with `config`: starts added checks, stops removed ones
    /// and restarts changed ones; an unchanged check keeps its schedule.
    pub fn apply(&mut self, config: &Config) -> Changes {
        let mut changes = Changes::default();
        let wanted: HashMap<&CheckId, &Check> =
            config.checks.iter().map(|c| (&c.id, &**c)).collect();
        self.running.retain(|id, r| {
            let keep = wanted.get(id).is_some_and(|c| same(c, &r.check));
            if !keep {
                r.cancel();
                if wanted.contains_key(id) {
                    changes.changed.push(id.clone());
                } else {
                    changes.removed.push(id.clone());
                }
            }
            keep
        });
        drop(wanted);
        self.running
            .reserve(config.checks.len().saturating_sub(self.running.len()));
        for check in &config.checks {
            if self.running.contains_key(&check.id) {
                continue;
            }
            if !changes.changed.contains(&check.id) {
                changes.added.push(check.id.clone());
            }
            let slot = Arc::new(Slot::new(check.clone()));
            // Only fails once the driver is gone, at shutdown.
            let _ = self.start.send(slot.clone());
            self.running.insert(check.id.clone(), slot);
        }
        changes
    }

    /// Waits for the driver and every probe in flight to end (after `token` is cancelled); the
    /// outcome sender goes with them, so the recorder drains and returns.
    pub async fn join(mut self) {
        drop(self.start);
        while self.driver.join_next().await.is_some() {}
    }
}

/// A check's next slot, ordered by time alone.
struct Due {
    at: Instant,
    slot: Arc<Slot>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        self.at == other.at
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Due) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

/// The one task that starts every probe at its slot.
struct Driver {
    out: mpsc::Sender<Delivery>,
    permits: Arc<Semaphore>,
    lag: prometheus::Histogram,
    /// What [`Slot::missed`] counts from.
    epoch: Instant,
    /// Every running check's next slot, soonest first; a stopped check leaves at its next slot.
    due: BinaryHeap<Reverse<Due>>,
    in_flight: JoinSet<()>,
    /// The daemon's token: each probe's own is a child of it.
    token: CancellationToken,
}

impl Driver {
    async fn run(mut self, mut slots: mpsc::UnboundedReceiver<Arc<Slot>>) {
        let token = self.token.clone();
        let mut open = true;
        loop {
            let next = self.due.peek().map(|Reverse(d)| d.at);
            tokio::select! {
                biased;
                _ = token.cancelled() => break,
                slot = slots.recv(), if open => match slot {
                    Some(slot) => {
                        let at = Instant::now() + offset(&slot.check);
                        self.due.push(Reverse(Due { at, slot }));
                    }
                    None => open = false,
                },
                // Probes that ended are reaped here, in bulk: a branch per ended probe would
                // starve the timer at thousands of probes a second.
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    while self.in_flight.try_join_next().is_some() {}
                    self.start_due(Instant::now());
                }
            }
        }
        // Every probe in flight stops with its own token, a child of `token`.
        while self.in_flight.join_next().await.is_some() {}
    }

    /// Starts the probes whose slot has come or comes within [`COALESCE`], and schedules each
    /// check's next slot after that.
    fn start_due(&mut self, now: Instant) {
        let horizon = now + COALESCE;
        while self.due.peek().is_some_and(|Reverse(d)| d.at <= horizon) {
            let Some(Reverse(Due { at, slot })) = self.due.pop() else {
                break;
            };
            if slot.is_stopped() {
                continue;
            }
            self.due.push(Reverse(Due {
                at: next_slot(at, slot.check.interval, horizon),
                slot: slot.clone(),
            }));
            if !self.claim(&slot, at) {
                continue;
            }
            let until = {
                let mut stop = slot.stop();
                if stop.stopped {
                    continue;
                }
                stop.probe.insert(self.token.child_token()).clone()
            };
            let task = run_probe(
                slot.clone(),
                at,
                self.epoch,
                self.out.clone(),
                self.permits.clone(),
                self.lag.clone(),
            );
            self.in_flight.spawn(async move {
                until.run_until_cancelled(task).await;
            });
        }
    }

    /// Whether the slot at `at` may start a probe now; if one is still in flight, the slot is
    /// left for it to run when it ends.
    fn claim(&self, slot: &Slot, at: Instant) -> bool {
        let missed =
            u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        loop {
            match slot.busy.load(Ordering::Acquire) {
                IDLE => {
                    if slot
                        .busy
                        .compare_exchange(IDLE, BUSY, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return true;
                    }
                }
                BUSY => {
                    // Read by the probe in flight only once it sees MISSED, set after this.
                    slot.missed.store(missed, Ordering::Release);
                    if slot
                        .busy
                        .compare_exchange(BUSY, MISSED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return false;
                    }
                }
                // Already missed one: that first missed slot runs, as an interval skipping
                // missed ticks would.
                _ => return false,
            }
        }
    }
}

/// The slot after `at`, skipping those already past at `now`, on the same grid.
fn next_slot(at: Instant, interval: Duration, now: Instant) -> Instant {
    let next = at + interval;
    if next > now || interval.is_zero() {
        return next;
    }
    let behind = now.duration_since(at).as_nanos();
    let period = interval.as_nanos();
    let steps = u32::try_from(behind / period + 1).unwrap_or(u32::MAX);
    at + interval.saturating_mul(steps)
}

/// Probes the check of `slot` for its slot at `at`, then for the slot it missed meanwhile, if any.
async fn run_probe(
    slot: Arc<Slot>,
    mut at: Instant,
    epoch: Instant,
    out: mpsc::Sender<Delivery>,
    permits: Arc<Semaphore>,
    lag: prometheus::Histogram,
) {
    let check = &slot.check;
    loop {
        let Ok(permit) = permits.acquire().await else {
            return;
        };
        lag.observe(at.elapsed().as_secs_f64());
        // Boxed: a probe's state machine is some 20 KB, and only the probes in flight need one.
        let mut outcome = Box::pin(probe::run(&check.spec, &check.limits)).await;
        drop(permit);
        // Before anything stores, shows or logs it.
        if let Some(failure) = &mut outcome.failure {
            check.secrets.scrub(&mut failure.message);
        }
        if out.send((check.id.clone(), outcome)).await.is_err() {
            return;
        }
        {
            // Under the lock, so the driver stores the next probe's token only after this one's
            // is gone.
            let mut stop = slot.stop();
            if slot
                .busy
                .compare_exchange(BUSY, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                stop.probe = None;
                return;
            }
        }
        // A slot came while this probe ran: it runs now, late.
        let nanos = slot.missed.load(Ordering::Acquire);
        slot.busy.store(BUSY, Ordering::Release);
        at = epoch + Duration::from_nanos(nanos);
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

/// Where in its interval a check's first probe falls: stable across restarts, spread across checks.
pub fn offset(check: &Check) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    check.id.as_str().hash(&mut h);
    let period = u64::try_from(check.interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(h.finish() % period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_slot_skips_the_missed_ones_on_the_same_grid() {
        let at = Instant::now();
        let s = Duration::from_secs(10);
        assert_eq!(next_slot(at, s, at), at + s);
        assert_eq!(next_slot(at, s, at + Duration::from_secs(3)), at + s);
        assert_eq!(next_slot(at, s, at + s), at + s * 2);
        assert_eq!(next_slot(at, s, at + Duration::from_secs(25)), at + s * 3);
    }

    fn slot(id: &str) -> Arc<Slot> {
        let toml = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"x.db\"\n[[check]]\nid = \"{id}\"\nname = \"C\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\ninterval = \"10s\"\n"
        );
        let config = crate::config::parse(std::path::Path::new("t.toml"), &toml)
            .unwrap_or_else(|e| panic!("{e}"));
        Arc::new(Slot::new(config.checks[0].clone()))
    }

    #[tokio::test]
    async fn probes_due_within_the_coalescing_span_start_together_never_late() {
        let now = Instant::now();
        let lag =
            prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("lag", "lag")).unwrap();
        let mut driver = Driver {
            out: mpsc::channel(1).0,
            // No permit: the started probes wait and never touch the network.
            permits: Arc::new(Semaphore::new(0)),
            lag,
            epoch: now,
            due: BinaryHeap::new(),
            in_flight: JoinSet::new(),
            token: CancellationToken::new(),
        };
        let ms = Duration::from_millis;
        for (id, at) in [
            ("soon", now + ms(1)),
            ("edge", now + COALESCE),
            ("later", now + COALESCE + ms(1)),
        ] {
            driver.due.push(Reverse(Due { at, slot: slot(id) }));
        }
        driver.start_due(now);
        assert_eq!(driver.in_flight.len(), 2);
        let mut next: Vec<(String, Instant)> = std::iter::from_fn(|| driver.due.pop())
            .map(|Reverse(d)| (d.slot.check.id.as_str().to_string(), d.at))
            .collect();
        next.sort_by_key(|(_, at)| *at);
        let interval = Duration::from_secs(10);
        assert_eq!(
            next,
            [
                ("later".to_string(), now + COALESCE + ms(1)),
                ("soon".to_string(), now + ms(1) + interval),
                ("edge".to_string(), now + COALESCE + interval),
            ]
        );
    }
}
