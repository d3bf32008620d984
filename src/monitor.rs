//! The per-check state machine: probe verdicts in, state changes and time attribution out.
//!
//! It damps flapping with the thresholds of [`Policy`], dates a change to the first probe of the
//! streak that caused it, and says which state each stretch of observed time belongs to, moving
//! time retroactively when a change is dated back. It does no I/O and never reads the clock.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::model::Status;
pub use crate::model::{Bucket, State};

/// The thresholds that damp flapping and the latency that counts as degraded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive down (or degraded) probes before the state changes.
    pub failure_threshold: NonZeroU32,
    /// Consecutive better probes before the state changes back.
    pub success_threshold: NonZeroU32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            failure_threshold: NonZeroU32::new(3).expect("3 is not zero"),
            success_threshold: NonZeroU32::new(2).expect("2 is not zero"),
        }
    }
}

/// A stretch of observed time to count in `to` (and to take out of `from`, when re-dated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Timestamp,
    pub end: Timestamp,
    pub from: Option<Bucket>,
    pub to: Option<Bucket>,
}

/// A change of state, dated to the first probe of the streak that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub from: State,
    pub to: State,
    pub at: Timestamp,
}

/// A run of consecutive probes of one class, and when it began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Streak {
    count: u32,
    since: Timestamp,
}

impl Streak {
    fn extend(self, matches: bool, at: Timestamp) -> Streak {
        match (matches, self.count) {
            (false, _) => Streak::default(),
            (true, 0) => Streak {
                count: 1,
                since: at,
            },
            (true, n) => Streak {
                count: n.saturating_add(1),
                since: self.since,
            },
        }
    }
}

/// Everything the state machine remembers about one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracker {
    pub state: State,
    /// The first probe of this run: no change is dated, and no time counted, before it.
    first_at: Option<Timestamp>,
    /// Start of the last probe accounted for.
    last_at: Option<Timestamp>,
    up: Streak,
    degraded: Streak,
    down: Streak,
    not_up: Streak,
    not_down: Streak,
    /// No change is dated before this: the end of the last maintenance window.
    not_before: Option<Timestamp>,
    /// The end of the maintenance window the check is in.
    window_end: Option<Timestamp>,
}

impl Tracker {
    /// A tracker that starts in `state`, e.g. `Down` when an incident was open at shutdown.
    pub fn new(state: State) -> Tracker {
        Tracker {
            state,
            first_at: None,
            last_at: None,
            up: Streak::default(),
            degraded: Streak::default(),
            down: Streak::default(),
            not_up: Streak::default(),
            not_down: Streak::default(),
            not_before: None,
            window_end: None,
        }
    }

    pub fn last_at(&self) -> Option<Timestamp> {
        self.last_at
    }
}

/// What one probe did to a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub tracker: Tracker,
    pub change: Option<Change>,
    /// Observed time to count, in order: the stretch since the previous probe, then any re-dating.
    pub spans: Vec<Span>,
}

/// A maintenance window covering a probe: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Time since the previous probe longer than this is a gap (no data), except for `interval`.
#[derive(Clone, Copy, Debug)]
pub struct Cadence {
    pub interval: Duration,
    pub gap_after: Duration,
}

/// Applies one probe verdict taken at `at`, inside `window` when a maintenance window covers it.
pub fn apply(
    t: &Tracker,
    status: Status,
    at: Timestamp,
    window: Option<Window>,
    policy: &Policy,
    cadence: &Cadence,
) -> Step {
    // A wall clock stepped back (NTP) must not date a change before the probes already
    // counted: until it catches up, probes count as taken at the last one (and no time passes).
    let at = t.last_at.map_or(at, |last| last.max(at));
    let mut spans = Vec::new();
    if let Some(last) = t.last_at.filter(|&last| last < at) {
        let end = if at.since(last) > cadence.gap_after {
            last.plus(cadence.interval).min(at)
        } else {
            at
        };
        spans.push(Span {
            start: last,
            end,
            from: None,
            to: t.state.bucket(),
        });
    }

    let mut n = *t;
    n.first_at = Some(t.first_at.map_or(at, |first| first.min(at)));
    n.last_at = Some(t.last_at.map_or(at, |last| last.max(at)));
    n.up = t.up.extend(status == Status::Up, at);
    n.degraded = t.degraded.extend(status == Status::Degraded, at);
    n.down = t.down.extend(status == Status::Down, at);
    n.not_up = t.not_up.extend(status != Status::Up, at);
    n.not_down = t.not_down.extend(status != Status::Down, at);

    let fail = policy.failure_threshold.get();
    let success = policy.success_threshold.get();
    let next = match (t.state, window) {
        (State::Maintenance, Some(w)) => {
            n.window_end = Some(w.end);
            None
        }
        // Entering a window: from its start, or from the last probe if it started before that;
        // on the first probe of a run, from that probe (nothing before it was observed).
        (_, Some(w)) => {
            n.window_end = Some(w.end);
            let since = t.last_at.map_or(at, |last| w.start.max(last)).min(at);
            Some((State::Maintenance, since))
        }
        // Leaving a window: what the probes say now, dated no earlier than the window's end.
        (State::Maintenance, None) => {
            let end = t.window_end.unwrap_or(at).min(at);
            n.window_end = None;
            n.not_before = Some(end);
            let state = if n.down.count >= fail {
                State::Down
            } else if n.not_up.count >= fail {
                State::Degraded
            } else {
                // Failures below the threshold change nothing, as they would while up.
                State::Up
            };
            Some((state, end))
        }
        (State::Unknown | State::Up, None) => {
            if n.down.count >= fail {
                Some((State::Down, n.down.since))
            } else if n.not_up.count >= fail {
                Some((State::Degraded, n.not_up.since))
            } else if t.state == State::Unknown && status == Status::Up {
                Some((State::Up, at))
            } else {
                None
            }
        }
        (State::Degraded, None) => {
            if n.down.count >= fail {
                Some((State::Down, n.down.since))
            } else if n.up.count >= success {
                Some((State::Up, n.up.since))
            } else {
                None
            }
        }
        (State::Down, None) => {
            if n.not_down.count >= success {
                Some((State::Up, n.not_down.since))
            } else {
                None
            }
        }
    };

    let first = n.first_at.unwrap_or(at);
    let mut change = next.map(|(to, since)| Change {
        from: t.state,
        to,
        at: n.not_before.map_or(since, |nb| since.max(nb)).max(first),
    });
    // Recovering from down while still slow: down ends at the first good probe, and degraded
    // begins where the current run of degraded probes began.
    if let Some(c) = change
        .as_mut()
        .filter(|c| c.from == State::Down && c.to == State::Up && status == Status::Degraded)
    {
        c.to = State::Degraded;
    }
    if let Some(c) = change {
        n.state = c.to;
        if c.at < at {
            spans.push(Span {
                start: c.at,
                end: at,
                from: c.from.bucket(),
                to: c.to.bucket(),
            });
        }
    }
    Step {
        tracker: n,
        change,
        spans,
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn policy(fail: u32, success: u32) -> Policy {
        Policy {
            failure_threshold: NonZeroU32::new(fail).unwrap(),
            success_threshold: NonZeroU32::new(success).unwrap(),
        }
    }

    const CADENCE: Cadence = Cadence {
        interval: Duration::from_secs(10),
        gap_after: Duration::from_secs(30),
    };

    /// Feeds `probes` (one letter each: u, d, x for up, degraded, down) 10 s apart and returns
    /// every change as (from, to, at-in-seconds).
    fn run(start: State, probes: &str, policy: &Policy) -> (State, Vec<(State, State, i64)>) {
        let mut t = Tracker::new(start);
        let mut changes = Vec::new();
        for (i, c) in probes.chars().enumerate() {
            let status = match c {
                'u' => Status::Up,
                'd' => Status::Degraded,
                'x' => Status::Down,
                other => panic!("unknown probe letter {other}"),
            };
            let step = apply(
                &t,
                status,
                Timestamp(i as i64 * 10_000),
                None,
                policy,
                &CADENCE,
            );
            if let Some(c) = step.change {
                changes.push((c.from, c.to, c.at.0 / 1000));
            }
            t = step.tracker;
        }
        (t.state, changes)
    }

    use State::{Degraded, Down, Unknown, Up};

    #[test]
    fn first_up_probe_makes_a_new_check_up_at_once() {
        assert_eq!(
            run(Unknown, "u", &policy(3, 2)),
            (Up, vec![(Unknown, Up, 0)])
        );
    }

    #[test]
    fn down_after_threshold_dated_to_first_failure() {
        let (state, changes) = run(Unknown, "uuxxx", &policy(3, 2));
        assert_eq!(state, Down);
        assert_eq!(changes[1], (Up, Down, 20));
    }

    #[test]
    fn short_failures_below_threshold_change_nothing() {
        assert_eq!(run(Up, "xxuxxu", &policy(3, 2)), (Up, vec![]));
    }

    #[test]
    fn recovery_needs_success_threshold_and_is_dated_to_first_good_probe() {
        let (state, changes) = run(Down, "xuxuu", &policy(3, 2));
        assert_eq!(state, Up);
        assert_eq!(changes, vec![(Down, Up, 30)]);
    }

    #[test]
    fn slow_probes_make_degraded_and_down_escalates() {
        let (state, changes) = run(Up, "dddxxxuu", &policy(3, 2));
        assert_eq!(state, Up);
        assert_eq!(
            changes,
            vec![(Up, Degraded, 0), (Degraded, Down, 30), (Down, Up, 60)]
        );
    }

    #[test]
    fn recovering_while_slow_goes_to_degraded() {
        let (state, changes) = run(Down, "dd", &policy(3, 2));
        assert_eq!(state, Degraded);
        assert_eq!(changes, vec![(Down, Degraded, 0)]);
    }

    #[test]
    fn redated_change_moves_the_time_already_counted() {
        let p = policy(2, 1);
        let mut t = Tracker::new(Up);
        let mut spans = Vec::new();
        for (i, s) in [Status::Up, Status::Down, Status::Down]
            .into_iter()
            .enumerate()
        {
            let step = apply(&t, s, Timestamp(i as i64 * 10_000), None, &p, &CADENCE);
            spans.extend(step.spans);
            t = step.tracker;
        }
        let b = |s: State| s.bucket();
        assert_eq!(
            spans,
            vec![
                Span {
                    start: Timestamp(0),
                    end: Timestamp(10_000),
                    from: None,
                    to: b(Up)
                },
                Span {
                    start: Timestamp(10_000),
                    end: Timestamp(20_000),
                    from: None,
                    to: b(Up)
                },
                Span {
                    start: Timestamp(10_000),
                    end: Timestamp(20_000),
                    from: b(Up),
                    to: b(Down)
                },
            ]
        );
    }

    /// Like `run`, with a maintenance window over `[from, to)` seconds.
    fn run_with_window(
        start: State,
        probes: &str,
        window: (i64, i64),
        policy: &Policy,
    ) -> (State, Vec<(State, State, i64)>, Vec<Span>) {
        let mut t = Tracker::new(start);
        let (mut changes, mut spans) = (Vec::new(), Vec::new());
        let w = Window {
            start: Timestamp(window.0 * 1000),
            end: Timestamp(window.1 * 1000),
        };
        for (i, c) in probes.chars().enumerate() {
            let status = match c {
                'u' => Status::Up,
                'd' => Status::Degraded,
                _ => Status::Down,
            };
            let at = Timestamp(i as i64 * 10_000);
            let inside = (w.start <= at && at < w.end).then_some(w);
            let step = apply(&t, status, at, inside, policy, &CADENCE);
            changes.extend(step.change.map(|c| (c.from, c.to, c.at.0 / 1000)));
            spans.extend(step.spans);
            t = step.tracker;
        }
        (t.state, changes, spans)
    }

    #[test]
    fn failures_inside_a_window_open_nothing_and_continuing_ones_are_dated_to_its_end() {
        // Window [15 s, 45 s): probes at 20, 30, 40 are inside; the target fails from 20 on.
        let (state, changes, spans) = run_with_window(Up, "uuxxxxx", (15, 45), &policy(3, 2));
        assert_eq!(state, Down);
        assert_eq!(
            changes,
            vec![(Up, State::Maintenance, 15), (State::Maintenance, Down, 45)]
        );
        let maintenance: i64 = spans
            .iter()
            .map(|s| {
                let ms = s.end.0 - s.start.0;
                (if s.to == Some(Bucket::Maintenance) {
                    ms
                } else {
                    0
                }) - (if s.from == Some(Bucket::Maintenance) {
                    ms
                } else {
                    0
                })
            })
            .sum();
        assert_eq!(
            maintenance, 30_000,
            "exactly the window counts as maintenance"
        );
    }

    #[test]
    fn a_window_ending_on_a_healthy_target_goes_back_up_at_its_end() {
        let (state, changes, _) = run_with_window(Up, "uxxuu", (5, 25), &policy(2, 2));
        assert_eq!(state, Up);
        assert_eq!(
            changes,
            vec![(Up, State::Maintenance, 5), (State::Maintenance, Up, 25)]
        );
    }

    #[test]
    fn a_short_failure_after_a_window_needs_the_threshold_and_is_not_dated_into_it() {
        // Inside [5, 25): up at 10 and 20; after it: down at 30, 40, 50 → down from 30.
        let (state, changes, _) = run_with_window(Up, "uuuxxx", (5, 25), &policy(3, 2));
        assert_eq!(state, Down);
        assert_eq!(changes.last(), Some(&(Up, Down, 30)));
    }

    /// Regression: a window planned from 1970 dated the first probe's change to 1970, and the
    /// re-dated span counted 57 years of maintenance for a check watched for minutes.
    #[test]
    fn a_window_that_started_long_ago_counts_from_the_first_probe_only() {
        let p = policy(3, 2);
        let w = Window {
            start: Timestamp(0),
            end: Timestamp(2_000_000_000_000),
        };
        let first = Timestamp(1_800_000_000_000);
        let mut t = Tracker::new(Unknown);
        let mut spans = Vec::new();
        for i in 0..3 {
            let at = Timestamp(first.0 + i * 10_000);
            let step = apply(&t, Status::Up, at, Some(w), &p, &CADENCE);
            if i == 0 {
                assert_eq!(step.change.map(|c| c.at), Some(first));
            }
            spans.extend(step.spans);
            t = step.tracker;
        }
        assert_eq!(t.state, State::Maintenance);
        assert!(spans.iter().all(|s| s.start >= first), "{spans:?}");
        let counted: i64 = spans.iter().map(|s| s.end.0 - s.start.0).sum();
        assert_eq!(counted, 20_000);
    }

    #[test]
    fn a_gap_counts_one_interval_then_no_data() {
        let p = policy(3, 2);
        let t = apply(
            &Tracker::new(Up),
            Status::Up,
            Timestamp(0),
            None,
            &p,
            &CADENCE,
        )
        .tracker;
        let step = apply(&t, Status::Up, Timestamp(600_000), None, &p, &CADENCE);
        assert_eq!(step.spans[0].end, Timestamp(10_000));
    }

    #[test]
    fn a_wall_clock_step_back_or_forward_makes_no_false_downtime_nor_a_change_out_of_order() {
        const HOUR: i64 = 3_600_000;
        let p = policy(3, 2);
        let mut t = Tracker::new(Up);
        let mut changes = Vec::new();
        let mut down_ms = 0;
        let probes = [
            (0, Status::Up),
            (10_000, Status::Up),
            (20_000, Status::Up),
            // NTP steps the clock back three hours; the target goes down.
            (20_000 - 3 * HOUR + 10_000, Status::Down),
            (20_000 - 3 * HOUR + 20_000, Status::Down),
            (20_000 - 3 * HOUR + 30_000, Status::Down),
            // Then five hours forward; the target is back.
            (20_000 + 5 * HOUR, Status::Up),
            (20_000 + 5 * HOUR + 10_000, Status::Up),
        ];
        for (at, status) in probes {
            let step = apply(&t, status, Timestamp(at), None, &p, &CADENCE);
            for s in &step.spans {
                assert!(s.end >= s.start, "{s:?}");
                let ms = s.end.0 - s.start.0;
                if s.to == Some(Bucket::Down) {
                    down_ms += ms;
                }
                if s.from == Some(Bucket::Down) {
                    down_ms -= ms;
                }
            }
            changes.extend(step.change.map(|c| (c.from, c.to, c.at.0)));
            t = step.tracker;
        }
        assert_eq!(
            changes,
            vec![(Up, Down, 20_000), (Down, Up, 20_000 + 5 * HOUR)],
            "dated in order, never before the last probe counted"
        );
        assert_eq!(
            down_ms, 10_000,
            "the step forward counts one interval, not five hours, of downtime"
        );
    }
}
