//! The history refresher: reads the rollups of the last 90 days into uptime figures and day
//! cells, publishes them for the web, and sets the uptime metrics. It runs on a timer and
//! whenever an incident changes; pages never read rollups themselves. Bars that read the same
//! are one shared bar (most checks' 90 days are all up), so a refresh of 10,000 checks holds a
//! few hundred bars, not 10,000.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::{DAY_MS, HOUR_MS, Timestamp};
use crate::event::Event;
use crate::metrics::Metrics;
use crate::snapshot::{BarIncident, CheckHistory, DayBar, History, Snapshot};
use crate::store::Reader;
use crate::uptime::{DayCell, Deltas, WINDOWS, windows};

/// How often history is refreshed without an incident change.
pub const REFRESH: Duration = Duration::from_secs(10);
/// The least time between two refreshes: incident changes that come in a burst (many checks
/// failing at once) are read together.
pub const SPACING: Duration = Duration::from_millis(500);
/// Days on the uptime bar.
pub const DAYS: i64 = 90;

/// Handles the refresher reads from and writes to.
pub struct Refresher {
    pub reader: Reader,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub history: watch::Sender<Arc<History>>,
    pub metrics: Arc<Metrics>,
    /// Committed changes: one that touches history is read at once.
    pub events: broadcast::Receiver<Event>,
}

/// Waits for a committed change that touches history; never, once the writer is gone.
async fn changed(events: &mut broadcast::Receiver<Event>) {
    loop {
        match events.recv().await {
            Ok(e) if e.touches_history() => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

impl Refresher {
    /// Refreshes until `token` is cancelled.
    pub async fn run(mut self, token: CancellationToken) {
        loop {
            if let Err(e) = self.refresh(Timestamp::now()).await {
                tracing::warn!(error = %crate::logline::escaped(&e), "refreshing uptime history failed");
            }
            tokio::select! {
                _ = token.cancelled() => return,
                _ = changed(&mut self.events) => {}
                _ = tokio::time::sleep(REFRESH) => {}
            }
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(SPACING) => {}
            }
        }
    }

    /// Reads the rollups once and publishes the history as of `now`.
    pub async fn refresh(&self, now: Timestamp) -> Result<(), crate::store::Error> {
        let snapshot = self.snapshot.borrow().clone();
        let today = now.day_start();
        let first_day = Timestamp(today.0 - (DAYS - 1) * DAY_MS);
        let rows = self.reader.checks().await?;
        let ids: HashMap<&str, i64> = rows.iter().map(|r| (r.slug.as_str(), r.id)).collect();
        let wanted = snapshot
            .config
            .checks
            .iter()
            .filter_map(|c| ids.get(c.id.as_str()).copied())
            .collect();
        // Per check: uptime per window and the day cells, from that check's rows alone, each bar
        // shared with the checks whose bar reads the same as soon as it is read.
        let shared = Arc::new(Mutex::new(Bars::default()));
        let bars = shared.clone();
        let mut summaries = self
            .reader
            .summarize_rollups(
                wanted,
                Timestamp(now.hour_start().0 - 23 * HOUR_MS),
                first_day,
                move |hours, days| {
                    let (uptime, days) = summarize(hours, days, first_day, now);
                    let bar = DayBar {
                        days,
                        incidents: Vec::new(),
                    };
                    let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
                    (uptime, bars.share(bar))
                },
            )
            .await?;
        let mut incidents: HashMap<String, Vec<BarIncident>> = HashMap::new();
        let touched = self.reader.incidents_since(first_day).await?;
        // Manual incidents count too: the metric is every incident the public sees as open.
        let open = touched.iter().filter(|i| i.resolved_at.is_none()).count();
        self.metrics.set_incidents_open(open);
        for i in touched {
            for slug in &i.checks {
                incidents
                    .entry(slug.clone())
                    .or_default()
                    .push(BarIncident {
                        id: i.id,
                        title: i.title.clone(),
                        started_at: i.started_at,
                        resolved_at: i.resolved_at,
                    });
            }
        }
        let previous = self.history.borrow().clone();
        let mut history = History {
            computed_at: now,
            checks: HashMap::new(),
        };
        let mut bars = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
        for check in &snapshot.config.checks {
            let (uptime, bar) = ids
                .get(check.id.as_str())
                .and_then(|id| summaries.remove(id))
                .unwrap_or_else(|| {
                    let (uptime, days) = summarize(&Deltas::new(), &Deltas::new(), first_day, now);
                    let bar = DayBar {
                        days,
                        incidents: Vec::new(),
                    };
                    (uptime, bars.share(bar))
                });
            for ((label, _), ratio) in WINDOWS.iter().zip(uptime) {
                self.metrics.set_uptime(check, label, ratio);
            }
            let bar = match incidents.remove(check.id.as_str()) {
                Some(incidents) => bars.share(DayBar {
                    days: bar.days.clone(),
                    incidents,
                }),
                None => bar,
            };
            let bar = match previous.checks.get(check.id.as_str()) {
                Some(before) if before.bar == bar => before.bar.clone(),
                _ => bar,
            };
            history
                .checks
                .insert(check.id.to_string(), CheckHistory { uptime, bar });
        }
        self.history.send_replace(Arc::new(history));
        Ok(())
    }
}

/// One check's uptime per window and its day cells from `first_day` on, from its rollups.
fn summarize(
    hours: &Deltas,
    days: &Deltas,
    first_day: Timestamp,
    now: Timestamp,
) -> ([Option<f64>; 4], Vec<DayCell>) {
    let cells = (0..DAYS)
        .map(|i| {
            let day = Timestamp(first_day.0 + i * DAY_MS);
            DayCell::new(day, days.get(&day))
        })
        .collect();
    (windows(hours, days, now), cells)
}

/// The bars of one refresh, one per distinct reading.
#[derive(Default)]
struct Bars {
    by_hash: HashMap<u64, Vec<Arc<DayBar>>>,
}

impl Bars {
    /// The shared bar that reads as `bar` does.
    fn share(&mut self, bar: DayBar) -> Arc<DayBar> {
        let same = self.by_hash.entry(shown_hash(&bar)).or_default();
        if let Some(known) = same.iter().find(|b| ***b == bar) {
            return known.clone();
        }
        let bar = Arc::new(bar);
        same.push(bar.clone());
        bar
    }
}

/// A hash of what a bar shows, the same for bars that compare equal.
fn shown_hash(bar: &DayBar) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for c in &bar.days {
        c.day.0.hash(&mut h);
        c.down_ms.hash(&mut h);
        c.level.as_str().hash(&mut h);
        c.uptime()
            .map(|u| (u * 10_000.0).floor() as i64)
            .hash(&mut h);
    }
    for i in &bar.incidents {
        i.id.hash(&mut h);
    }
    h.finish()
}
