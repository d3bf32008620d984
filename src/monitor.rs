//! The per-check state machine: probe verdicts in, state changes and time attribution out.
//!
//! It damps flapping with the thresholds of [`Policy`], dates a change to the first probe of the
//! streak that caused it, and says which state each stretch of observed time belongs to, moving
//! time retroactively when a change is dated back. It does no I/O and never reads the clock.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::config::Policy;
use crate::probe::Status;

/// A check's state as shown to people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No verdict yet (just started, or stale).
    Unknown,
    Up,
    Degraded,
    Down,
    /// Inside a maintenance window: probed and recorded, but no incident and no uptime.
    Maintenance,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Degraded => "degraded",
            State::Down => "down",
            State::Maintenance => "maintenance",
        }
    }

    pub const ALL: [State; 5] = [
        State::Unknown,
        State::Up,
        State::Degraded,
        State::Down,
        State::Maintenance,
    ];

    /// The rollup column that time in this state is counted in; `None` for unknown (no data).
    pub fn bucket(self) -> Option<Bucket> {
        match self {
            State::Unknown => None,
            State::Up => Some(Bucket::Up),
            State::Degraded => Some(Bucket::Degraded),
            State::Down => Some(Bucket::Down),
            State::Maintenance => Some(Bucket::Maintenance),
        }
    }
}

/// The columns of observed time in a rollup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    Up,
    Degraded,
    Down,
    Maintenance,
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
    /// Start of the last probe accounted for.
    last_at: Option<Timestamp>,
    up: Streak,
    degraded: Streak,
    down: Streak,
    not_up: Streak,
    not_down: Streak,
}

impl Tracker {
    /// A tracker that starts in `state`, e.g. `Down` when an incident was open at shutdown.
    pub fn new(state: State) -> Tracker {
        Tracker {
            state,
            last_at: None,
            up: Streak::default(),
            degraded: Streak::default(),
            down: Streak::default(),
            not_up: Streak::default(),
            not_down: Streak::default(),
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

/// Time since the previous probe longer than this is a gap (no data), except for `interval`.
#[derive(Clone, Copy, Debug)]
pub struct Cadence {
    pub interval: Duration,
    pub gap_after: Duration,
}

/// Applies one probe verdict taken at `at` to a check's tracker.
pub fn apply(
    t: &Tracker,
    status: Status,
    at: Timestamp,
    policy: &Policy,
    cadence: &Cadence,
) -> Step {
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
    n.last_at = Some(t.last_at.map_or(at, |last| last.max(at)));
    n.up = t.up.extend(status == Status::Up, at);
    n.degraded = t.degraded.extend(status == Status::Degraded, at);
    n.down = t.down.extend(status == Status::Down, at);
    n.not_up = t.not_up.extend(status != Status::Up, at);
    n.not_down = t.not_down.extend(status != Status::Down, at);

    let fail = policy.failure_threshold.get();
    let success = policy.success_threshold.get();
    let next = match t.state {
        State::Unknown | State::Up => {
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
        State::Degraded => {
            if n.down.count >= fail {
                Some((State::Down, n.down.since))
            } else if n.up.count >= success {
                Some((State::Up, n.up.since))
            } else {
                None
            }
        }
        State::Down => {
            if n.not_down.count >= success {
                Some((State::Up, n.not_down.since))
            } else {
                None
            }
        }
        State::Maintenance => None,
    };

    let mut change = next.map(|(to, since)| Change {
        from: t.state,
        to,
        at: since,
    });
    // Recovering from down while still slow: down ends at the first good probe, and degraded
    // begins where the current run of degraded probes began.
    if let Some(c) = change
        .as_mut()
        .filter(|c| c.from == State::Down && status == Status::Degraded)
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
            let step = apply(&t, status, Timestamp(i as i64 * 10_000), policy, &CADENCE);
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
            let step = apply(&t, s, Timestamp(i as i64 * 10_000), &p, &CADENCE);
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

    #[test]
    fn a_gap_counts_one_interval_then_no_data() {
        let p = policy(3, 2);
        let t = apply(&Tracker::new(Up), Status::Up, Timestamp(0), &p, &CADENCE).tracker;
        let step = apply(&t, Status::Up, Timestamp(600_000), &p, &CADENCE);
        assert_eq!(step.spans[0].end, Timestamp(10_000));
    }
}
