//! Uptime arithmetic over rollups: per-hour and per-day figures, windows, and day cells.
//!
//! Uptime = 1 − down / (up + degraded + down): maintenance time is left out, and time without
//! data (watchpost not running, or no verdict yet) is in none of the columns, so it is out of
//! the denominator. Pure functions; no I/O, no clock.

use std::collections::HashMap;
use std::ops::Range;

use crate::clock::{DAY_MS, HOUR_MS, Timestamp};
use crate::monitor::{Bucket, Span};
use crate::probe::Status;

/// Upper bounds (ms) of the coarse latency buckets of rows written before schema 4; the last
/// bucket is unbounded. Read, no longer written.
pub const LATENCY_BOUNDS_MS: [i64; 9] = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/// Upper bounds (µs) of the latency buckets: 0.1 ms to 52 s in steps of √2, so a percentile read
/// from them is within a few percent of the truth; the last bucket (40 in all) is unbounded.
pub const FINE_BOUNDS_US: [i64; 39] = [
    100, 141, 200, 283, 400, 566, 800, 1131, 1600, 2263, 3200, 4525, 6400, 9051, 12800, 18102,
    25600, 36204, 51200, 72408, 102400, 144815, 204800, 289631, 409600, 579262, 819200, 1158524,
    1638400, 2317048, 3276800, 4634095, 6553600, 9268190, 13107200, 18536380, 26214400, 37072760,
    52428800,
];

/// One check's figures for one hour or one day; also used as a delta to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollup {
    pub up_ms: i64,
    pub degraded_ms: i64,
    pub down_ms: i64,
    pub maintenance_ms: i64,
    pub probes_up: i64,
    pub probes_degraded: i64,
    pub probes_down: i64,
    pub latency_sum_us: i64,
    pub latency_max_us: i64,
    /// Probe counts per bucket of [`LATENCY_BOUNDS_MS`], plus one for the rest: rows from
    /// before schema 4 only.
    pub histogram: [i64; 10],
    /// Probe counts per bucket of [`FINE_BOUNDS_US`], plus one for the rest.
    pub latency: [i64; 40],
    /// Sums of the phases in [`PHASES`] order, over the `phased` probes that timed any.
    pub phases_us: [i64; 5],
    pub phased: i64,
}

/// The phases a probe is timed in, in the order of [`Rollup::phases_us`].
pub const PHASES: [&str; 5] = ["resolve", "connect", "tls", "processing", "transfer"];

// By hand: `Default` is derived for arrays of at most 32 elements.
impl Default for Rollup {
    fn default() -> Rollup {
        Rollup {
            up_ms: 0,
            degraded_ms: 0,
            down_ms: 0,
            maintenance_ms: 0,
            probes_up: 0,
            probes_degraded: 0,
            probes_down: 0,
            latency_sum_us: 0,
            latency_max_us: 0,
            histogram: [0; 10],
            latency: [0; 40],
            phases_us: [0; 5],
            phased: 0,
        }
    }
}

impl Rollup {
    /// Time with a verdict, maintenance excluded: the denominator of uptime.
    pub fn observed_ms(&self) -> i64 {
        self.up_ms.max(0) + self.degraded_ms.max(0) + self.down_ms.max(0)
    }

    pub fn probes(&self) -> i64 {
        self.probes_up + self.probes_degraded + self.probes_down
    }

    /// Adds `other` to `self`, column by column (max for the latency maximum).
    pub fn add(&mut self, other: &Rollup) {
        self.up_ms += other.up_ms;
        self.degraded_ms += other.degraded_ms;
        self.down_ms += other.down_ms;
        self.maintenance_ms += other.maintenance_ms;
        self.probes_up += other.probes_up;
        self.probes_degraded += other.probes_degraded;
        self.probes_down += other.probes_down;
        self.latency_sum_us += other.latency_sum_us;
        self.latency_max_us = self.latency_max_us.max(other.latency_max_us);
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
        for (a, b) in self.latency.iter_mut().zip(other.latency) {
            *a += b;
        }
        for (a, b) in self.phases_us.iter_mut().zip(other.phases_us) {
            *a += b;
        }
        self.phased += other.phased;
    }

    /// Counts one probe's phases, if it timed any.
    pub fn count_phases(&mut self, phases: &crate::probe::Phases) {
        let all = [
            phases.resolve,
            phases.connect,
            phases.tls,
            phases.processing,
            phases.transfer,
        ];
        if all.iter().all(Option::is_none) {
            return;
        }
        for (sum, phase) in self.phases_us.iter_mut().zip(all) {
            *sum += phase.map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        }
        self.phased += 1;
    }

    /// The mean time of each phase, in [`PHASES`] order, over the probes that timed them.
    pub fn phase_means(&self) -> Option<[std::time::Duration; 5]> {
        (self.phased > 0).then(|| {
            self.phases_us
                .map(|sum| std::time::Duration::from_micros((sum / self.phased).max(0) as u64))
        })
    }

    fn column(&mut self, bucket: Bucket) -> &mut i64 {
        match bucket {
            Bucket::Up => &mut self.up_ms,
            Bucket::Degraded => &mut self.degraded_ms,
            Bucket::Down => &mut self.down_ms,
            Bucket::Maintenance => &mut self.maintenance_ms,
        }
    }

    /// Counts one probe: its verdict, its latency and its histogram bucket.
    pub fn count_probe(&mut self, status: Status, latency_us: i64) {
        match status {
            Status::Up => self.probes_up += 1,
            Status::Degraded => self.probes_degraded += 1,
            Status::Down => self.probes_down += 1,
        }
        self.latency_sum_us += latency_us;
        self.latency_max_us = self.latency_max_us.max(latency_us);
        let i = FINE_BOUNDS_US.partition_point(|&b| b <= latency_us);
        self.latency[i] += 1;
    }

    /// The latency below which a share `p` of the probes fell, estimated from the buckets
    /// (linear within a bucket, capped by the largest latency seen). Rows from before schema 4
    /// have only coarse buckets, which are used when there are no fine ones.
    pub fn percentile(&self, p: f64) -> Option<std::time::Duration> {
        let coarse = LATENCY_BOUNDS_MS.map(|ms| ms * 1000);
        let (counts, bounds): (&[i64], &[i64]) = if self.latency.iter().any(|&n| n > 0) {
            (&self.latency, &FINE_BOUNDS_US)
        } else {
            (&self.histogram, &coarse)
        };
        let total: i64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (p.clamp(0.0, 1.0) * total as f64).max(1.0);
        let mut below = 0i64;
        for (i, &n) in counts.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let lo = if i == 0 { 0 } else { bounds[i - 1] };
                let hi = bounds
                    .get(i)
                    .copied()
                    .unwrap_or(self.latency_max_us)
                    .min(self.latency_max_us.max(lo));
                let within = (rank - below as f64) / n as f64;
                let us = lo as f64 + within * (hi - lo).max(0) as f64;
                return Some(std::time::Duration::from_micros(us as u64));
            }
            below += n;
        }
        None
    }

    /// Uptime as a ratio in [0, 1]; `None` when nothing was observed.
    pub fn uptime(&self) -> Option<f64> {
        let observed = self.observed_ms();
        (observed > 0).then(|| 1.0 - self.down_ms.max(0) as f64 / observed as f64)
    }
}

/// Rollup deltas keyed by bucket start, for one granularity.
pub type Deltas = HashMap<Timestamp, Rollup>;

/// Splits `span` at hour boundaries and adds it to `hours` and `days`.
pub fn add_span(span: &Span, hours: &mut Deltas, days: &mut Deltas) {
    let mut start = span.start;
    while start < span.end {
        let hour = start.hour_start();
        let end = Timestamp((hour.0 + HOUR_MS).min(span.end.0));
        let ms = end.0 - start.0;
        for (key, map) in [(hour, &mut *hours), (start.day_start(), &mut *days)] {
            let row = map.entry(key).or_default();
            if let Some(b) = span.from {
                *row.column(b) -= ms;
            }
            if let Some(b) = span.to {
                *row.column(b) += ms;
            }
        }
        start = end;
    }
}

/// The colour of one day on the bar: the worst state seen that day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayLevel {
    NoData,
    Up,
    Degraded,
    /// Down, but for less than [`MAJOR_OUTAGE_MS`] that day.
    Partial,
    Down,
    Maintenance,
}

/// A day with at least this much downtime is a major outage on the bar; less is partial.
pub const MAJOR_OUTAGE_MS: i64 = 3_600_000;

impl DayLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DayLevel::NoData => "nodata",
            DayLevel::Up => "up",
            DayLevel::Degraded => "degraded",
            DayLevel::Partial => "partial",
            DayLevel::Down => "down",
            DayLevel::Maintenance => "maintenance",
        }
    }
}

/// One cell of the 90-day bar: 24 bytes, since a daemon keeps 90 per check.
#[derive(Clone, Copy, Debug)]
pub struct DayCell {
    pub day: Timestamp,
    /// Outage and observed time that day; a day has fewer than 2³² ms.
    pub down_ms: u32,
    pub observed_ms: u32,
    pub level: DayLevel,
}

/// Cells are equal when they read the same: same day, level and downtime, and the same uptime
/// to the hundredth of a percent shown. Today's cell changes its observed time with every probe,
/// and an unchanged bar is then kept instead of rebuilt.
impl PartialEq for DayCell {
    fn eq(&self, other: &DayCell) -> bool {
        let shown = |c: &DayCell| c.uptime().map(|u| (u * 10_000.0).floor() as i64);
        self.day == other.day
            && self.level == other.level
            && self.down_ms == other.down_ms
            && shown(self) == shown(other)
    }
}

impl DayCell {
    pub fn new(day: Timestamp, rollup: Option<&Rollup>) -> DayCell {
        let r = rollup.copied().unwrap_or_default();
        let level = if r.down_ms >= MAJOR_OUTAGE_MS {
            DayLevel::Down
        } else if r.down_ms > 0 {
            DayLevel::Partial
        } else if r.degraded_ms > 0 {
            DayLevel::Degraded
        } else if r.up_ms > 0 {
            DayLevel::Up
        } else if r.maintenance_ms > 0 {
            DayLevel::Maintenance
        } else {
            DayLevel::NoData
        };
        let clamp = |ms: i64| u32::try_from(ms.clamp(0, DAY_MS)).unwrap_or(u32::MAX);
        DayCell {
            day,
            level,
            down_ms: clamp(r.down_ms),
            observed_ms: clamp(r.observed_ms()),
        }
    }

    /// The day's uptime as a ratio; `None` when nothing was observed.
    pub fn uptime(&self) -> Option<f64> {
        (self.observed_ms > 0).then(|| {
            1.0 - f64::from(self.down_ms.min(self.observed_ms)) / f64::from(self.observed_ms)
        })
    }
}

/// The uptime windows shown everywhere, with their labels.
pub const WINDOWS: [(&str, i64); 4] = [
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
    ("90d", 90 * DAY_MS),
];

/// Uptime per window for one check: the 24 h window from hourly rows, the others from daily rows.
/// `hours` and `days` map bucket starts to rollups; `now` picks the windows' ends.
pub fn windows(hours: &Deltas, days: &Deltas, now: Timestamp) -> [Option<f64>; 4] {
    let sum = |map: &Deltas, from: Timestamp| {
        let mut total = Rollup::default();
        for (_, r) in map.iter().filter(|(k, _)| **k >= from) {
            total.add(r);
        }
        total.uptime()
    };
    let this_hour = now.hour_start();
    let today = now.day_start();
    [
        sum(hours, Timestamp(this_hour.0 - 23 * HOUR_MS)),
        sum(days, Timestamp(today.0 - 6 * DAY_MS)),
        sum(days, Timestamp(today.0 - 29 * DAY_MS)),
        sum(days, Timestamp(today.0 - 89 * DAY_MS)),
    ]
}

/// How an arbitrary range `[from, to)` is read from rollups: whole UTC days from daily rows, the
/// partial days at either end from hourly rows, so a long range reads few rows and nothing twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cover {
    /// The range actually covered: the asked one widened to whole hours, the finest rollup.
    pub from: Timestamp,
    pub to: Timestamp,
    /// Whole days, read from daily rows; empty when the range holds no whole day.
    pub days: Range<Timestamp>,
    /// The partial days before and after `days`, read from hourly rows.
    pub hours: [Range<Timestamp>; 2],
}

/// Plans how to read `[from, to)` from rollups (see [`Cover`]); expects `from < to`.
pub fn cover(from: Timestamp, to: Timestamp) -> Cover {
    let from = from.hour_start();
    let to = to.hour_ceil();
    let first_day = from.day_ceil();
    let last_day = to.day_start();
    if first_day < last_day {
        Cover {
            from,
            to,
            days: first_day..last_day,
            hours: [from..first_day, last_day..to],
        }
    } else {
        Cover {
            from,
            to,
            days: from..from,
            hours: [from..to, to..to],
        }
    }
}

impl Cover {
    /// Adds up the rows of `hours` and `days` that belong to this cover; the others are ignored.
    pub fn sum(&self, hours: &Deltas, days: &Deltas) -> Rollup {
        let mut total = Rollup::default();
        for (start, r) in days {
            if self.days.contains(start) {
                total.add(r);
            }
        }
        for (start, r) in hours {
            if self.hours.iter().any(|h| h.contains(start)) {
                total.add(r);
            }
        }
        total
    }
}

/// Formats an uptime ratio as people read it: `99.95%`, never rounding a loss up to 100%.
pub fn percent(ratio: Option<f64>) -> String {
    match ratio {
        None => "no data".to_string(),
        Some(r) if r >= 1.0 => "100%".to_string(),
        Some(r) => {
            let floored = (r * 10_000.0).floor() / 100.0;
            format!("{floored:.2}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::*;
    use crate::config::Policy;
    use crate::monitor::{Cadence, State, Tracker, apply};

    const MIN: i64 = 60_000;

    /// Runs a schedule of probes (minutes since midnight, verdict) through the state machine and
    /// the rollups, as the recorder does, and returns the daily and hourly deltas.
    fn replay(schedule: &[(i64, Status)]) -> (Deltas, Deltas) {
        let policy = Policy {
            failure_threshold: NonZeroU32::new(2).unwrap(),
            success_threshold: NonZeroU32::new(1).unwrap(),
        };
        let cadence = Cadence {
            interval: Duration::from_secs(60),
            gap_after: Duration::from_secs(150),
        };
        let (mut hours, mut days) = (Deltas::new(), Deltas::new());
        let mut t = Tracker::new(State::Unknown);
        for &(minute, status) in schedule {
            let step = apply(&t, status, Timestamp(minute * MIN), None, &policy, &cadence);
            for span in &step.spans {
                add_span(span, &mut hours, &mut days);
            }
            t = step.tracker;
        }
        (hours, days)
    }

    #[test]
    fn uptime_matches_a_hand_computed_schedule_with_a_gap() {
        use Status::{Down, Up};
        // Every minute from 00:00: up until 00:10, down at 00:10 and 00:11 (threshold 2, so the
        // outage starts at 00:10), up again from 00:12 (success threshold 1, so it ends at 00:12).
        // Then watchpost stops after the probe at 00:30 and starts again at 02:00: one interval
        // (00:30-00:31) is counted, the rest is no data. Probing resumes until 02:30.
        let mut schedule: Vec<(i64, Status)> = (0..=30)
            .map(|m| (m, if m == 10 || m == 11 { Down } else { Up }))
            .collect();
        schedule.extend((120..=150).map(|m| (m, Up)));
        let (hours, days) = replay(&schedule);

        let day = &days[&Timestamp(0)];
        assert_eq!(day.down_ms, 2 * MIN);
        // Observed: 00:00-00:31 and 02:00-02:30.
        assert_eq!(day.observed_ms(), 31 * MIN + 30 * MIN);
        assert_eq!(day.uptime(), Some(1.0 - 2.0 / 61.0));
        assert_eq!(hours[&Timestamp(0)].observed_ms(), 31 * MIN);
        assert_eq!(
            hours.get(&Timestamp(HOUR_MS)).map(|r| r.observed_ms()),
            None
        );
        assert_eq!(hours[&Timestamp(2 * HOUR_MS)].observed_ms(), 30 * MIN);
        assert_eq!(percent(day.uptime()), "96.72%");
    }

    #[test]
    fn a_span_across_midnight_is_split_between_days() {
        let span = Span {
            start: Timestamp(DAY_MS - 30 * MIN),
            end: Timestamp(DAY_MS + 15 * MIN),
            from: None,
            to: Some(Bucket::Down),
        };
        let (mut hours, mut days) = (Deltas::new(), Deltas::new());
        add_span(&span, &mut hours, &mut days);
        assert_eq!(days[&Timestamp(0)].down_ms, 30 * MIN);
        assert_eq!(days[&Timestamp(DAY_MS)].down_ms, 15 * MIN);
        assert_eq!(hours.len(), 2);
    }

    #[test]
    fn windows_leave_out_older_rows_and_days_without_data() {
        let now = Timestamp(100 * DAY_MS + 5 * HOUR_MS);
        let mut days = Deltas::new();
        let down_day = |down| Rollup {
            up_ms: DAY_MS - down,
            down_ms: down,
            ..Rollup::default()
        };
        days.insert(Timestamp(100 * DAY_MS), down_day(0));
        days.insert(Timestamp(95 * DAY_MS), down_day(DAY_MS / 10));
        days.insert(Timestamp(50 * DAY_MS), down_day(DAY_MS));
        let [_, d7, d30, d90] = windows(&Deltas::new(), &days, now);
        assert_eq!(d7, Some(1.0 - 0.1 / 2.0));
        assert_eq!(d30, d7);
        assert_eq!(d90, Some(1.0 - 1.1 / 3.0));
    }

    #[test]
    fn a_range_reads_whole_days_from_daily_rows_and_the_ends_from_hourly_rows() {
        let at = |day: i64, hour: i64| Timestamp(day * DAY_MS + hour * HOUR_MS);
        // From day 1 10:30 to day 4 04:10: widened to 10:00 and 05:00.
        let c = cover(
            Timestamp(at(1, 10).0 + 30 * MIN),
            Timestamp(at(4, 4).0 + 10 * MIN),
        );
        assert_eq!((c.from, c.to), (at(1, 10), at(4, 5)));
        assert_eq!(c.days, at(2, 0)..at(4, 0));
        assert_eq!(c.hours, [at(1, 10)..at(2, 0), at(4, 0)..at(4, 5)]);

        let row = |up_ms, down_ms| Rollup {
            up_ms,
            down_ms,
            ..Rollup::default()
        };
        let mut hours = Deltas::new();
        hours.insert(at(1, 9), row(0, HOUR_MS)); // before the range: ignored
        hours.insert(at(1, 10), row(HOUR_MS / 2, HOUR_MS / 2));
        hours.insert(at(1, 23), row(HOUR_MS, 0));
        hours.insert(at(2, 5), row(0, HOUR_MS)); // inside a whole day: the daily row counts
        hours.insert(at(4, 4), row(HOUR_MS, 0));
        hours.insert(at(4, 5), row(0, HOUR_MS)); // at `to`: ignored
        let mut days = Deltas::new();
        days.insert(at(1, 0), row(0, DAY_MS)); // a partial day: its hours count instead
        days.insert(at(2, 0), row(DAY_MS - HOUR_MS, HOUR_MS));
        days.insert(at(3, 0), row(DAY_MS, 0));
        days.insert(at(4, 0), row(0, DAY_MS)); // a partial day
        let total = c.sum(&hours, &days);
        assert_eq!(total.down_ms, HOUR_MS / 2 + HOUR_MS);
        assert_eq!(total.observed_ms(), 3 * HOUR_MS + 2 * DAY_MS);
        assert_eq!(
            total.uptime(),
            Some(1.0 - 1.5 / (3.0 + 48.0)),
            "1.5 h down out of 51 h observed"
        );
    }

    #[test]
    fn a_range_within_one_day_reads_only_hourly_rows() {
        let c = cover(Timestamp(DAY_MS + 5 * MIN), Timestamp(DAY_MS + 2 * HOUR_MS));
        assert_eq!(c.days, Timestamp(DAY_MS)..Timestamp(DAY_MS));
        assert_eq!(
            c.hours[0],
            Timestamp(DAY_MS)..Timestamp(DAY_MS + 2 * HOUR_MS)
        );
        // A range of exactly one whole day is read from its daily row.
        let day = cover(Timestamp(DAY_MS), Timestamp(2 * DAY_MS));
        assert_eq!(day.days, Timestamp(DAY_MS)..Timestamp(2 * DAY_MS));
        assert!(day.hours.iter().all(|h| h.is_empty()));
    }

    #[test]
    fn percent_never_rounds_a_loss_up_to_a_full_hundred() {
        assert_eq!(percent(Some(0.999_999)), "99.99%");
        assert_eq!(percent(Some(1.0)), "100%");
        assert_eq!(percent(None), "no data");
    }

    #[test]
    fn day_cells_are_equal_when_they_read_the_same() {
        let cell = |up_ms, down_ms| {
            let r = Rollup {
                up_ms,
                down_ms,
                ..Rollup::default()
            };
            DayCell::new(Timestamp(0), Some(&r))
        };
        assert_eq!(std::mem::size_of::<DayCell>(), 24);
        assert_eq!(cell(HOUR_MS, 0), cell(2 * HOUR_MS, 0), "100% both");
        assert_eq!(
            cell(HOUR_MS, 60_000),
            cell(HOUR_MS + 1, 60_000),
            "same hundredth"
        );
        assert_ne!(cell(HOUR_MS, 60_000), cell(2 * HOUR_MS, 60_000));
        assert_ne!(cell(HOUR_MS, 0), cell(0, 0), "no data is not up");
        assert_eq!(
            cell(HOUR_MS, 60_000).uptime(),
            Some(1.0 - 60_000.0 / (HOUR_MS + 60_000) as f64)
        );
    }

    #[test]
    fn phases_are_averaged_over_the_probes_that_timed_them() {
        use crate::probe::Phases;
        use std::time::Duration;
        let ms = |n| Some(Duration::from_millis(n));
        let mut r = Rollup::default();
        assert_eq!(r.phase_means(), None);
        r.count_phases(&Phases::default());
        assert_eq!(r.phased, 0, "a probe without phases is not counted");
        r.count_phases(&Phases {
            connect: ms(4),
            processing: ms(20),
            ..Phases::default()
        });
        let mut other = Rollup::default();
        other.count_phases(&Phases {
            resolve: ms(2),
            connect: ms(6),
            processing: ms(40),
            ..Phases::default()
        });
        r.add(&other);
        let means = r.phase_means().unwrap().map(|d| d.as_millis());
        assert_eq!(means, [1, 5, 0, 30, 0]);
    }

    #[test]
    fn percentiles_come_from_the_histogram_within_the_largest_seen() {
        let mut r = Rollup::default();
        for ms in [5, 6, 7, 8, 30, 40, 45, 120, 130, 900] {
            r.count_probe(Status::Up, ms * 1000);
        }
        let p50 = r.percentile(0.5).unwrap().as_millis();
        assert!((25..=50).contains(&p50), "{p50}");
        let p95 = r.percentile(0.95).unwrap().as_millis();
        assert!((500..=900).contains(&p95), "{p95}");
        assert_eq!(Rollup::default().percentile(0.5), None);
    }

    #[test]
    fn histogram_buckets_by_latency() {
        let mut r = Rollup::default();
        r.count_probe(Status::Up, 90);
        r.count_probe(Status::Up, 100);
        r.count_probe(Status::Up, 5_000);
        r.count_probe(Status::Down, 70_000_000);
        assert_eq!(r.latency[0], 1, "under 0.1 ms");
        assert_eq!(r.latency[1], 1, "0.1 ms starts the next bucket");
        assert_eq!(r.latency[12], 1, "4.525 to 6.4 ms");
        assert_eq!(r.latency[39], 1, "beyond the last bound");
        assert_eq!(r.histogram, [0; 10], "coarse buckets are no longer written");
        assert_eq!(r.latency_max_us, 70_000_000);
    }

    #[test]
    fn percentiles_are_close_to_the_truth_and_old_rows_still_read() {
        for ms in [0.3, 7.0, 120.0, 480.0, 2_600.0] {
            let mut r = Rollup::default();
            for k in 0..100 {
                // A spread of ±2 % around `ms`.
                let us = ms * 1000.0 * (0.98 + 0.0004 * f64::from(k));
                r.count_probe(Status::Up, us as i64);
            }
            let p50 = r.percentile(0.5).unwrap().as_secs_f64() * 1000.0;
            assert!((p50 - ms).abs() / ms < 0.12, "{ms} ms read as {p50}");
        }
        let old = Rollup {
            histogram: [0, 0, 0, 0, 4, 0, 0, 0, 0, 0],
            latency_max_us: 200_000,
            ..Rollup::default()
        };
        let p50 = old.percentile(0.5).unwrap().as_millis();
        assert!((100..=200).contains(&p50), "{p50}");
    }
}
