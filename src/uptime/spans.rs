//! Observed time into rollups: a span of time in one state, split at hour boundaries and added
//! to the hourly deltas, and hours summed into days. Pure; no I/O, no clock.

use super::{Deltas, Rollup};
use crate::clock::{HOUR_MS, Timestamp};
use crate::monitor::Span;

/// Splits `span` at hour boundaries and adds it to `hours`; its days are the sum of its hours
/// ([`add_to_days`]).
pub fn add_span(span: &Span, hours: &mut Deltas) {
    let mut start = span.start;
    while start < span.end {
        let hour = start.hour_start();
        let end = Timestamp((hour.0 + HOUR_MS).min(span.end.0));
        let ms = end.0 - start.0;
        let row = hours.entry(hour).or_default();
        if let Some(b) = span.from {
            *row.column(b) -= ms;
        }
        if let Some(b) = span.to {
            *row.column(b) += ms;
        }
        start = end;
    }
}

/// Adds hourly rows into the days they belong to.
pub fn add_to_days<'a>(
    hours: impl IntoIterator<Item = (&'a Timestamp, &'a Rollup)>,
    days: &mut Deltas,
) {
    for (start, row) in hours {
        days.entry(start.day_start()).or_default().add(row);
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use super::*;
    use crate::clock::DAY_MS;
    use crate::config::Policy;
    use crate::monitor::{Bucket, Cadence, State, Tracker, apply};
    use crate::probe::Status;
    use crate::uptime::percent;

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
                add_span(span, &mut hours);
            }
            t = step.tracker;
        }
        add_to_days(&hours, &mut days);
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
        add_span(&span, &mut hours);
        add_to_days(&hours, &mut days);
        assert_eq!(days[&Timestamp(0)].down_ms, 30 * MIN);
        assert_eq!(days[&Timestamp(DAY_MS)].down_ms, 15 * MIN);
        assert_eq!(hours.len(), 2);
    }
}
