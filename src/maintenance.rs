//! Maintenance windows: recurring ones from the config (a cron expression in UTC and a duration)
//! and one-off ones planned by admins. Answers which window covers a check at an instant, and
//! which windows are active or coming up. Pure apart from reading the cron expressions.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Timestamp;
use crate::model::CheckId;
use crate::monitor;

/// A recurring window from `[[maintenance]]`.
#[derive(Clone, Debug)]
pub struct Recurring {
    pub title: String,
    pub body: String,
    /// The checks it covers.
    pub checks: Vec<CheckId>,
    pub cron: croner::Cron,
    pub duration: Duration,
}

/// One window on the calendar: a one-off one, or an occurrence of a recurring one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The stored row of a one-off window; `None` for an occurrence of a recurring one.
    pub id: Option<i64>,
    pub title: String,
    pub body: String,
    pub checks: Vec<CheckId>,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    pub fn covers(&self, check: &CheckId, at: Timestamp) -> bool {
        self.start <= at && at < self.end && self.checks.contains(check)
    }

    pub fn span(&self) -> monitor::Window {
        monitor::Window {
            start: self.start,
            end: self.end,
        }
    }
}

/// Every window watchpost knows of.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    pub recurring: Vec<Recurring>,
    /// One-off windows that are not cancelled.
    pub one_off: Vec<Window>,
}

fn to_chrono(t: Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.0)
}

fn from_chrono(t: DateTime<Utc>) -> Timestamp {
    Timestamp(t.timestamp_millis())
}

impl Recurring {
    /// The occurrence of this window that contains `at`, if any.
    fn occurrence_at(&self, at: Timestamp) -> Option<Window> {
        let start = self
            .cron
            .find_previous_occurrence(&to_chrono(at)?, true)
            .ok()?;
        let start = from_chrono(start);
        let end = start.plus(self.duration);
        (at < end).then(|| self.window(start))
    }

    fn window(&self, start: Timestamp) -> Window {
        Window {
            id: None,
            title: self.title.clone(),
            body: self.body.clone(),
            checks: self.checks.clone(),
            start,
            end: start.plus(self.duration),
        }
    }

    /// Occurrences that start in `[from, until)`.
    fn occurrences(&self, from: Timestamp, until: Timestamp) -> Vec<Window> {
        let mut out = Vec::new();
        let Some(mut cursor) = to_chrono(from) else {
            return out;
        };
        let mut inclusive = true;
        while let Ok(next) = self.cron.find_next_occurrence(&cursor, inclusive) {
            let start = from_chrono(next);
            if start >= until || out.len() >= 100 {
                break;
            }
            out.push(self.window(start));
            cursor = next;
            inclusive = false;
        }
        out
    }
}

impl Schedule {
    /// The window covering `check` at `at`; the one ending last when several overlap.
    pub fn covering(&self, check: &CheckId, at: Timestamp) -> Option<Window> {
        let recurring = self
            .recurring
            .iter()
            .filter(|r| r.checks.contains(check))
            .filter_map(|r| r.occurrence_at(at));
        let one_off = self.one_off.iter().filter(|w| w.covers(check, at)).cloned();
        recurring.chain(one_off).max_by_key(|w| w.end)
    }

    /// Windows in progress at `now`.
    pub fn active(&self, now: Timestamp) -> Vec<Window> {
        let recurring = self.recurring.iter().filter_map(|r| r.occurrence_at(now));
        let one_off = self
            .one_off
            .iter()
            .filter(|w| w.start <= now && now < w.end)
            .cloned();
        let mut out: Vec<Window> = recurring.chain(one_off).collect();
        out.sort_by_key(|w| w.start);
        out
    }

    /// Windows starting after `now` and before `now + horizon`, soonest first.
    pub fn upcoming(&self, now: Timestamp, horizon: Duration) -> Vec<Window> {
        let until = now.plus(horizon);
        let mut out: Vec<Window> = self
            .recurring
            .iter()
            .flat_map(|r| r.occurrences(Timestamp(now.0 + 1), until))
            .chain(
                self.one_off
                    .iter()
                    .filter(|w| w.start > now && w.start < until)
                    .cloned(),
            )
            .collect();
        out.sort_by_key(|w| w.start);
        out
    }
}

/// One public update of a maintenance window, in Statuspage's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub at: Timestamp,
    /// `scheduled`, `in_progress`, `completed` (Statuspage's), or `cancelled`.
    pub status: &'static str,
    pub body: String,
}

/// The public updates of `w`, oldest first, as far as `now` has come: scheduled when it was
/// `planned` (with its description), in progress at its start, completed at its end; or
/// cancelled at `cancelled`. A window planned after it began is dated from its planning.
pub fn stages(
    w: &Window,
    planned: Timestamp,
    cancelled: Option<Timestamp>,
    now: Timestamp,
) -> Vec<Stage> {
    let stage = |at: Timestamp, status, body: &str| Stage {
        at: at.max(planned),
        status,
        body: body.to_string(),
    };
    let mut out = vec![stage(planned, "scheduled", &w.body)];
    match cancelled {
        Some(at) => out.push(stage(
            at,
            "cancelled",
            "This scheduled maintenance has been cancelled.",
        )),
        None => {
            if w.start <= now {
                out.push(stage(
                    w.start,
                    "in_progress",
                    "Scheduled maintenance is currently in progress.",
                ));
            }
            if w.end <= now {
                out.push(stage(
                    w.end,
                    "completed",
                    "The scheduled maintenance has been completed.",
                ));
            }
        }
    }
    out
}

/// Parses a cron expression with seconds (`0 0 2 * * Sun`) or without (`0 2 * * Sun`), in UTC.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CheckId {
        CheckId::new(s).unwrap()
    }

    /// 2026-11-22 is a Sunday.
    const SUNDAY: i64 = 1_795_305_600_000;
    const MIN: i64 = 60_000;

    #[test]
    fn a_window_is_scheduled_then_in_progress_then_completed_or_cancelled() {
        let w = &weekly().one_off[0];
        let planned = Timestamp(w.start.0 - 60 * MIN);
        let statuses = |now: i64, cancelled: Option<Timestamp>| {
            stages(w, planned, cancelled, Timestamp(now))
                .into_iter()
                .map(|s| (s.status, s.at.0))
                .collect::<Vec<_>>()
        };
        let (start, end) = (w.start.0, w.end.0);
        assert_eq!(statuses(start - 1, None), [("scheduled", planned.0)]);
        assert_eq!(
            statuses(start, None),
            [("scheduled", planned.0), ("in_progress", start)]
        );
        assert_eq!(
            statuses(end + 1, None),
            [
                ("scheduled", planned.0),
                ("in_progress", start),
                ("completed", end)
            ]
        );
        let at = Timestamp(start - MIN);
        assert_eq!(
            statuses(end + 1, Some(at)),
            [("scheduled", planned.0), ("cancelled", at.0)]
        );
        // Planned after it began: in progress from the planning, never before it.
        let late = stages(w, Timestamp(start + MIN), None, Timestamp(start + 2 * MIN));
        assert_eq!(late[1].at.0, start + MIN);
        assert_eq!(late[0].body, "Moving to new hardware");
    }

    fn weekly() -> Schedule {
        Schedule {
            recurring: vec![Recurring {
                title: "Weekly database upkeep".into(),
                body: String::new(),
                checks: vec![id("db")],
                cron: parse_cron("0 0 2 * * Sun").unwrap(),
                duration: Duration::from_secs(30 * 60),
            }],
            one_off: vec![Window {
                id: Some(7),
                title: "Migration".into(),
                body: "Moving to new hardware".into(),
                checks: vec![id("web")],
                start: Timestamp(SUNDAY + 600 * MIN),
                end: Timestamp(SUNDAY + 660 * MIN),
            }],
        }
    }

    #[test]
    fn a_cron_window_covers_its_checks_for_its_duration() {
        let s = weekly();
        let two_am = Timestamp(SUNDAY + 120 * MIN);
        let w = s
            .covering(&id("db"), Timestamp(two_am.0 + 10 * MIN))
            .unwrap();
        assert_eq!((w.start, w.end), (two_am, Timestamp(two_am.0 + 30 * MIN)));
        assert!(
            s.covering(&id("db"), Timestamp(two_am.0 + 30 * MIN))
                .is_none()
        );
        assert!(s.covering(&id("db"), Timestamp(two_am.0 - 1)).is_none());
        assert!(s.covering(&id("web"), Timestamp(two_am.0 + MIN)).is_none());
        assert_eq!(
            s.covering(&id("web"), Timestamp(SUNDAY + 630 * MIN))
                .unwrap()
                .id,
            Some(7)
        );
    }

    #[test]
    fn upcoming_lists_occurrences_and_one_offs_in_order() {
        let s = weekly();
        let ups = s.upcoming(Timestamp(SUNDAY), Duration::from_secs(8 * 86_400));
        let starts: Vec<i64> = ups.iter().map(|w| (w.start.0 - SUNDAY) / MIN).collect();
        assert_eq!(starts, vec![120, 600, 120 + 7 * 1440]);
        assert_eq!(s.active(Timestamp(SUNDAY + 125 * MIN)).len(), 1);
    }

    #[test]
    fn five_field_cron_is_accepted_and_nonsense_is_refused() {
        assert!(parse_cron("30 2 * * Sun").is_ok());
        assert!(parse_cron("every sunday").is_err());
    }
}
