//! The history refresher: reads the rollups of the last 90 days into uptime figures and day
//! cells, publishes them for the web, and sets the uptime metrics. It runs on a timer and
//! whenever an incident changes; pages never read rollups themselves. Bars that read the same
//! are one shared bar (most checks' 90 days are all up), so a refresh of 10,000 checks holds a
//! few hundred bars, not 10,000.
//!
//! What a check's rows said before the current hour and day is kept between refreshes, so a
//! refresh reads only the rows that can have changed; a check is read whole when it is new, when
//! the writer rewrote one of its past rows (a span reaching back, a false alarm), and at a change
//! of day. Events only say when to refresh, so a burst that overflows their channel costs no more.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::clock::{DAY_MS, HOUR_MS, Timestamp};
use crate::config::Config;
use crate::event::Event;
use crate::metrics::Metrics;
use crate::snapshot::{BarIncident, CheckHistory, DayBar, History, Snapshot};
use crate::store::{Reader, RollupRead};
use crate::uptime::{DayCell, Deltas, Rollup, WINDOWS, windows};

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
    /// What each check's rows said before the last refresh's hour and day, by row id.
    pub kept: Kept,
}

/// What the last refresh kept for the next one: each check's past, and the configured checks'
/// row ids.
#[derive(Default)]
pub struct Kept {
    pasts: HashMap<i64, Past>,
    ids: Ids,
}

/// The row ids of one config's checks, in its order: read from the store once per config, not
/// once per refresh (a check's row id never changes, and a reload registers its checks before
/// the snapshot carries its config).
#[derive(Default)]
struct Ids {
    /// The config they were read for; weak, so an old config is not kept alive, and its
    /// allocation not reused by another one that would seem the same.
    config: Weak<Config>,
    rows: Vec<Option<i64>>,
}

impl Ids {
    /// Whether these are `config`'s ids, every check's known.
    fn fit(&self, config: &Arc<Config>) -> bool {
        std::ptr::eq(self.config.as_ptr(), Arc::as_ptr(config))
            && self.rows.iter().all(Option::is_some)
    }

    /// Reads `config`'s checks' row ids.
    async fn read(reader: &Reader, config: &Arc<Config>) -> Result<Ids, crate::store::Error> {
        let rows = reader.checks().await?;
        let ids: HashMap<&str, i64> = rows.iter().map(|r| (r.slug.as_str(), r.id)).collect();
        Ok(Ids {
            config: Arc::downgrade(config),
            rows: config
                .checks
                .iter()
                .map(|c| ids.get(c.id.as_str()).copied())
                .collect(),
        })
    }
}

/// Waits for a committed change that touches history, or for a sign that some were missed;
/// never, once the writer is gone. Which checks' past rows were rewritten the writer notes
/// itself (`Reader::take_stale_rollups`), so a missed event costs a refresh like any other, not
/// a read of every check's 90 days: at start-up 10,000 checks coming up overflow the channel
/// every half second, and each whole read of them took two seconds of CPU.
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

/// Takes every event already waiting, so that a burst (10,000 checks coming up at start, many
/// failing at once) is one refresh rather than one per event.
fn drain(events: &mut broadcast::Receiver<Event>) {
    while !matches!(
        events.try_recv(),
        Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
    ) {}
}

impl Refresher {
    /// Refreshes until `token` is cancelled.
    pub async fn run(mut self, token: CancellationToken) {
        let mut whole = true;
        loop {
            if let Err(e) = self.refresh(Timestamp::now(), whole).await {
                tracing::warn!(error = %crate::logline::escaped(&e), "refreshing uptime history failed");
            }
            whole = false;
            tokio::select! {
                _ = token.cancelled() => return,
                () = changed(&mut self.events) => {}
                _ = tokio::time::sleep(REFRESH) => {}
            };
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(SPACING) => {}
            }
            drain(&mut self.events);
        }
    }

    /// Reads the rollups and publishes the history as of `now`: every check's 90 days when
    /// `whole`, else only what can have changed since the last refresh.
    pub async fn refresh(
        &mut self,
        now: Timestamp,
        whole: bool,
    ) -> Result<(), crate::store::Error> {
        let snapshot = self.snapshot.borrow().clone();
        let today = now.day_start();
        let this_hour = now.hour_start();
        let first_day = Timestamp(today.0 - (DAYS - 1) * DAY_MS);
        let first_hour = Timestamp(this_hour.0 - 23 * HOUR_MS);
        // Taken first: a row rewritten from here on is read again by the next refresh. A failed
        // refresh leaves nothing kept, so the next reads everything.
        let stale = self.reader.take_stale_rollups();
        let mut kept = std::mem::take(&mut self.kept.pasts);
        if whole {
            kept.clear();
        }
        let ids = match std::mem::take(&mut self.kept.ids) {
            ids if ids.fit(&snapshot.config) => ids,
            _ => Ids::read(&self.reader, &snapshot.config).await?,
        };
        let reads: Vec<RollupRead> = ids
            .rows
            .iter()
            .flatten()
            .map(|&id| {
                let past = kept.get(&id).filter(|_| !stale.contains(&id));
                RollupRead {
                    id,
                    hours_since: match past {
                        Some(p) if p.hour == this_hour => this_hour,
                        _ => first_hour,
                    },
                    days_since: match past {
                        Some(p) if p.day == today => today,
                        _ => first_day,
                    },
                }
            })
            .collect();
        // Per check: uptime per window and the day cells, from that check's rows alone, each bar
        // shared with the checks whose bar reads the same as soon as it is read.
        // The kept pasts are updated in place as each check is read: one map of them, never a
        // second one beside it, and the summaries carry only what the history needs.
        kept.reserve(reads.len().saturating_sub(kept.len()));
        let kept = Arc::new(Mutex::new(kept));
        let pasts = kept.clone();
        let shared = Arc::new(Mutex::new(Bars::default()));
        let bars = shared.clone();
        let mut summaries = self
            .reader
            .summarize_rollups(reads, move |read, hours, days| {
                let mut pasts = pasts.lock().unwrap_or_else(|e| e.into_inner());
                let (uptime, hours, days, cells) =
                    summarize_since(read, pasts.get(&read.id), hours, days, now);
                let bar = match cells {
                    Cells::Same(bar) => bar,
                    Cells::New(days) => {
                        bars.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .share(DayBar {
                                days,
                                incidents: Vec::new(),
                            })
                    }
                };
                let past = Past {
                    hour: this_hour,
                    day: today,
                    hours,
                    days,
                    bar: bar.clone(),
                };
                pasts.insert(read.id, past);
                (uptime, bar)
            })
            .await?;
        let mut kept = std::mem::take(&mut *kept.lock().unwrap_or_else(|e| e.into_inner()));
        kept.retain(|id, _| summaries.contains_key(id));
        self.kept.pasts = kept;
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
            checks: HashMap::with_capacity(snapshot.config.checks.len()),
        };
        let mut bars = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
        for (check, id) in snapshot.config.checks.iter().zip(&ids.rows) {
            let (uptime, bar) = id.and_then(|id| summaries.remove(&id)).unwrap_or_else(|| {
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
                Some(before) if Arc::ptr_eq(&before.bar, &bar) || before.bar == bar => {
                    before.bar.clone()
                }
                _ => bar,
            };
            history
                .checks
                .insert(check.id.clone(), CheckHistory { uptime, bar });
        }
        self.history.send_replace(Arc::new(history));
        self.kept.ids = ids;
        Ok(())
    }
}

/// What a check's rows said before the hour and day of a refresh.
struct Past {
    /// The refresh's hour and day.
    hour: Timestamp,
    day: Timestamp,
    /// The hourly rows of the 24 h window before `hour`.
    hours: Time,
    /// The daily rows of the 7, 30 and 90 day windows before `day`.
    days: [Time; 3],
    /// The bar as of then, without incidents: its cells before `day` stay.
    bar: Arc<DayBar>,
}

/// The part of rollups uptime is computed from, added up.
#[derive(Clone, Copy, Default)]
struct Time {
    up_ms: i64,
    degraded_ms: i64,
    down_ms: i64,
}

impl Time {
    fn of<'a>(rows: impl Iterator<Item = &'a Rollup>) -> Time {
        rows.fold(Time::default(), |t, r| Time {
            up_ms: t.up_ms + r.up_ms,
            degraded_ms: t.degraded_ms + r.degraded_ms,
            down_ms: t.down_ms + r.down_ms,
        })
    }

    /// Uptime over these rows and `more`, as [`Rollup::uptime`] gives it over all of them.
    fn uptime_with(self, more: Time) -> Option<f64> {
        Rollup {
            up_ms: self.up_ms + more.up_ms,
            degraded_ms: self.degraded_ms + more.degraded_ms,
            down_ms: self.down_ms + more.down_ms,
            ..Rollup::default()
        }
        .uptime()
    }
}

/// A check's day cells as a refresh found them.
enum Cells {
    /// They read as the kept bar does (only today's cell can have changed, and it reads the
    /// same): that bar, neither rebuilt nor hashed again.
    Same(Arc<DayBar>),
    New(Vec<DayCell>),
}

/// One check's uptime per window, its rows before the current hour and before today, and its
/// day cells as of `now`, from the rows `read` asked for and, where `read` starts at the current
/// hour or day, from what was kept of its past.
fn summarize_since(
    read: &RollupRead,
    past: Option<&Past>,
    hours: &Deltas,
    days: &Deltas,
    now: Timestamp,
) -> ([Option<f64>; 4], Time, [Time; 3], Cells) {
    let (this_hour, today) = (now.hour_start(), now.day_start());
    let first_hour = Timestamp(this_hour.0 - 23 * HOUR_MS);
    let first_day = Timestamp(today.0 - (DAYS - 1) * DAY_MS);
    let rows_in = |rows: &Deltas, from: Timestamp, to: Option<Timestamp>| {
        Time::of(
            rows.iter()
                .filter(|(k, _)| from <= **k && to.is_none_or(|to| **k < to))
                .map(|(_, r)| r),
        )
    };
    let kept_hours = past.filter(|_| read.hours_since == this_hour);
    let kept_days = past.filter(|_| read.days_since == today);
    let before_hour =
        kept_hours.map_or_else(|| rows_in(hours, first_hour, Some(this_hour)), |p| p.hours);
    let before_today = kept_days.map_or_else(
        || {
            [WINDOWS[1].1, WINDOWS[2].1, WINDOWS[3].1]
                .map(|span| rows_in(days, Timestamp(today.0 + DAY_MS - span), Some(today)))
        },
        |p| p.days,
    );
    let (hour_now, day_now) = (rows_in(hours, this_hour, None), rows_in(days, today, None));
    let uptime = [
        before_hour.uptime_with(hour_now),
        before_today[0].uptime_with(day_now),
        before_today[1].uptime_with(day_now),
        before_today[2].uptime_with(day_now),
    ];
    let cells = match kept_days {
        Some(p) => {
            let cell = DayCell::new(today, days.get(&today));
            match p.bar.days.last() {
                Some(last) if last.day == today && *last == cell => Cells::Same(p.bar.clone()),
                _ => Cells::New(
                    p.bar
                        .days
                        .iter()
                        .take(DAYS as usize - 1)
                        .copied()
                        .chain(std::iter::once(cell))
                        .collect(),
                ),
            }
        }
        None => Cells::New(summarize(hours, days, first_day, now).1),
    };
    (uptime, before_hour, before_today, cells)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of changes is taken at once, one refresh for all of them, missed ones included.
    #[test]
    fn a_burst_of_events_is_drained_at_once() {
        let (tx, mut rx) = broadcast::channel(4);
        let changed = |i: i64| Event::CheckChanged {
            check: crate::model::CheckId::new(&format!("c{i}")).unwrap(),
            from: crate::model::State::Unknown,
            to: crate::model::State::Up,
            at: Timestamp(i),
        };
        for i in 0..3 {
            tx.send(changed(i)).unwrap();
        }
        drain(&mut rx);
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
        // More than the channel holds: the miss is taken too, with what is still there.
        for i in 0..10 {
            tx.send(changed(i)).unwrap();
        }
        drain(&mut rx);
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
    }

    /// A timed refresh whose today's cell reads as the kept bar's does keeps that very bar; one
    /// whose today's cell changed gets new cells, the past ones as kept.
    #[test]
    fn an_unchanged_day_keeps_the_bar_a_changed_one_rebuilds_it() {
        let now = Timestamp(1_800_000_000_000);
        let (this_hour, today) = (now.hour_start(), now.day_start());
        let first_day = Timestamp(today.0 - (DAYS - 1) * DAY_MS);
        let mut up = Rollup::default();
        up.count_probe(crate::probe::Status::Up, 1_000);
        up.up_ms = 60_000;
        let days = Deltas::from([(today, up)]);
        let (_, cells) = summarize(&Deltas::new(), &days, first_day, now);
        let past = Past {
            hour: this_hour,
            day: today,
            hours: Time::default(),
            days: [Time::default(); 3],
            bar: Arc::new(DayBar {
                days: cells,
                incidents: Vec::new(),
            }),
        };
        let read = RollupRead {
            id: 1,
            hours_since: this_hour,
            days_since: today,
        };
        let Cells::Same(bar) = summarize_since(&read, Some(&past), &Deltas::new(), &days, now).3
        else {
            panic!("an unchanged day rebuilt the bar");
        };
        assert!(Arc::ptr_eq(&bar, &past.bar));

        let mut down = up;
        down.down_ms = 3_600_000;
        let changed = Deltas::from([(today, down)]);
        let Cells::New(cells) =
            summarize_since(&read, Some(&past), &Deltas::new(), &changed, now).3
        else {
            panic!("a changed day kept the old bar");
        };
        assert_eq!(cells.len(), DAYS as usize);
        assert_eq!(
            cells[..DAYS as usize - 1],
            past.bar.days[..DAYS as usize - 1]
        );
        assert_eq!(cells.last(), Some(&DayCell::new(today, Some(&down))));
        assert_ne!(cells.last(), past.bar.days.last());
    }
}
