//! Planned maintenance as the public routes announce it: how far ahead the page and the feeds
//! look, and when an occurrence of a recurring window counts as announced. One-off windows are
//! not its concern (the store knows when each was planned); it never reads the store.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::maintenance::{Schedule, Window};

/// How far ahead planned maintenance is announced on the page and in the feeds.
pub(super) const UPCOMING: Duration = Duration::from_secs(7 * 86_400);

/// The occurrences of recurring windows in progress at `now` or starting within `horizon`, each
/// with the time it was announced: when it came within `horizon`, and never after `now`.
pub(super) fn recurring(
    schedule: &Schedule,
    now: Timestamp,
    horizon: Duration,
) -> impl Iterator<Item = (Timestamp, Window)> {
    let ahead = horizon.as_millis() as i64;
    schedule
        .active(now)
        .into_iter()
        .chain(schedule.upcoming(now, horizon))
        .filter(|w| w.id.is_none())
        .map(move |w| (Timestamp(w.start.0 - ahead).min(now), w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::{Recurring, parse_cron};

    #[test]
    fn an_occurrence_is_announced_when_it_enters_the_horizon_never_later_than_now() {
        let now = Timestamp(1_800_000_000_000);
        let schedule = Schedule {
            // Every day at midnight UTC, for an hour.
            recurring: vec![Recurring {
                title: "Nightly".into(),
                body: String::new(),
                checks: Vec::new(),
                cron: parse_cron("0 0 0 * * *").unwrap(),
                duration: Duration::from_secs(3600),
            }],
            one_off: vec![Window {
                id: Some(1),
                title: "One-off".into(),
                body: String::new(),
                checks: Vec::new(),
                start: now.plus(Duration::from_secs(60)),
                end: now.plus(Duration::from_secs(120)),
            }],
        };
        let day = Duration::from_secs(86_400);
        let found: Vec<(Timestamp, Window)> = recurring(&schedule, now, 2 * day).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        for (announced, w) in &found {
            assert_eq!(w.id, None, "one-off windows are left out");
            assert_eq!(announced.0, w.start.0 - 2 * 86_400_000);
            assert!(*announced <= now);
        }
    }
}
