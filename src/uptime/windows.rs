//! Uptime over spans of time: the fixed windows shown everywhere (24h, 7d, 30d, 90d) and the
//! plan for reading any range from hourly and daily rows. Pure; no I/O, no clock.

use std::ops::Range;

use super::{Deltas, Rollup};
use crate::clock::{DAY_MS, HOUR_MS, Timestamp};

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
        Rollup::total(map.iter().filter(|(k, _)| **k >= from).map(|(_, r)| r)).uptime()
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
    /// Plans to read `[from, to)` widened to whole hours from hourly rows alone, for what draws
    /// hours (the response-time chart): a whole day inside the range is not merged into one row.
    pub fn hourly(from: Timestamp, to: Timestamp) -> Cover {
        let (from, to) = (from.hour_start(), to.hour_ceil());
        Cover {
            from,
            to,
            days: from..from,
            hours: [from..to, to..to],
        }
    }

    /// Adds up the rows of `hours` and `days` that belong to this cover; the others are ignored.
    pub fn sum(&self, hours: &Deltas, days: &Deltas) -> Rollup {
        let days = days.iter().filter(|(start, _)| self.days.contains(start));
        let hours = hours
            .iter()
            .filter(|(start, _)| self.hours.iter().any(|h| h.contains(start)));
        Rollup::total(days.chain(hours).map(|(_, r)| r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// In the last hour of a UTC day the 24 hours before now hold that whole day: the chart's
    /// cover still reads each of its hours, where `cover` reads the day from its daily row.
    #[test]
    fn an_hourly_cover_reads_every_hour_even_when_a_whole_day_is_inside() {
        let now = Timestamp(2 * DAY_MS - 50 * MIN);
        let from = Timestamp(now.0 - DAY_MS);
        let merged = cover(from, now);
        assert_eq!(merged.days, Timestamp(DAY_MS)..Timestamp(2 * DAY_MS));
        let hourly = Cover::hourly(from, now);
        assert_eq!((hourly.from, hourly.to), (merged.from, merged.to));
        assert!(hourly.days.is_empty());
        assert_eq!(
            hourly.hours[0],
            Timestamp(DAY_MS - HOUR_MS)..Timestamp(2 * DAY_MS)
        );
        assert!(hourly.hours[1].is_empty());
        assert!(hourly.hours[0].contains(&now.hour_start()));
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
}
