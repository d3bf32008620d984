//! How the checks add up for the pages and the Statuspage API: checks by group, a group's slug,
//! the worst state of a group, and the overall state of the whole page ([`Overall`]), decided
//! once here so the front page's banner and Statuspage's `status.indicator` cannot drift apart. It decides from
//! shown states only; it never words or renders anything.

use crate::clock::Timestamp;
use crate::config::Check;
use crate::monitor::State as CheckState;
use crate::snapshot::{CheckNow, Snapshot};

/// The state of the whole page, from the states its checks show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Overall {
    /// No check is configured.
    NoChecks,
    /// No check has a known state yet.
    Waiting,
    /// Every check with a known state is down.
    MajorOutage,
    /// Some checks are down, not all known ones.
    PartialOutage,
    /// Some checks are degraded, none down.
    Degraded,
    /// Some checks are in maintenance, none down or degraded; `unknown` when some others have
    /// no known state.
    Maintenance { unknown: bool },
    /// Every check with a known state is up; `unknown` when some others have none.
    Operational { unknown: bool },
}

impl Overall {
    /// Decides the page's state from its checks' shown states.
    pub(super) fn of(states: &[CheckState]) -> Overall {
        let count = |s| states.iter().filter(|&&x| x == s).count();
        let unknown = count(CheckState::Unknown);
        let known = states.len() - unknown;
        let down = count(CheckState::Down);
        if states.is_empty() {
            Overall::NoChecks
        } else if known == 0 {
            Overall::Waiting
        } else if down > 0 && down == known {
            Overall::MajorOutage
        } else if down > 0 {
            Overall::PartialOutage
        } else if count(CheckState::Degraded) > 0 {
            Overall::Degraded
        } else if count(CheckState::Maintenance) > 0 {
            Overall::Maintenance {
                unknown: unknown > 0,
            }
        } else {
            Overall::Operational {
                unknown: unknown > 0,
            }
        }
    }

    /// The state of every check in `snapshot`, as shown at `now`.
    pub(super) fn at(snapshot: &Snapshot, now: Timestamp) -> Overall {
        let states: Vec<CheckState> = snapshot
            .iter()
            .map(|(c, n)| n.shown_state(c, now))
            .collect();
        Overall::of(&states)
    }
}

/// How bad a state is, to find the worst: down, degraded, maintenance, unknown, up.
fn rank(s: CheckState) -> u8 {
    match s {
        CheckState::Down => 4,
        CheckState::Degraded => 3,
        CheckState::Maintenance => 2,
        CheckState::Unknown => 1,
        CheckState::Up => 0,
    }
}

/// The worst of some states: down, degraded, maintenance, unknown, up.
pub(super) fn worst(states: impl Iterator<Item = CheckState>) -> CheckState {
    states
        .max_by_key(|&s| rank(s))
        .unwrap_or(CheckState::Unknown)
}

/// A group's heading in numbers: its worst state and how many of its checks are in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) worst: CheckState,
    /// Checks in the worst state.
    pub(super) count: usize,
    pub(super) total: usize,
}

impl Tally {
    /// Counts a group's shown states.
    pub(super) fn of(states: &[CheckState]) -> Tally {
        let worst = worst(states.iter().copied());
        Tally {
            worst,
            count: states.iter().filter(|&&s| s == worst).count(),
            total: states.len(),
        }
    }
}

/// Checks by group, in the order groups first appear in the config.
pub(super) fn groups(snapshot: &Snapshot) -> Vec<(String, Vec<(&Check, &CheckNow)>)> {
    let mut out: Vec<(String, Vec<(&Check, &CheckNow)>)> = Vec::new();
    for (check, current) in snapshot.iter() {
        match out.iter_mut().find(|(g, _)| *g == check.group) {
            Some((_, members)) => members.push((check, current)),
            None => out.push((check.group.clone(), vec![(check, current)])),
        }
    }
    out
}

/// A name in an address: lowercase ASCII letters and digits, every other run of characters one
/// `-`; "unnamed" when nothing is left. Statuspage's group ids and the front page's group
/// routes are made of it.
pub(super) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(states: &[CheckState], expected: Overall) {
        assert_eq!(Overall::of(states), expected, "{states:?}");
    }

    #[test]
    fn the_page_reads_its_worst_checks() {
        use CheckState::*;
        check(&[], Overall::NoChecks);
        check(&[Unknown, Unknown], Overall::Waiting);
        check(&[Down, Down], Overall::MajorOutage);
        check(&[Down, Unknown], Overall::MajorOutage);
        check(&[Down, Up], Overall::PartialOutage);
        check(&[Degraded, Maintenance, Unknown], Overall::Degraded);
        check(&[Maintenance, Up], Overall::Maintenance { unknown: false });
        check(
            &[Maintenance, Unknown],
            Overall::Maintenance { unknown: true },
        );
        check(&[Up, Unknown], Overall::Operational { unknown: true });
        check(&[Up, Up], Overall::Operational { unknown: false });
    }

    #[test]
    fn the_worst_state_leads_a_group() {
        use CheckState::*;
        assert_eq!(worst([Up, Degraded, Unknown].into_iter()), Degraded);
        assert_eq!(worst([Up, Down, Maintenance].into_iter()), Down);
        assert_eq!(worst(std::iter::empty()), Unknown);
    }

    #[test]
    fn a_group_counts_its_checks_in_the_worst_state() {
        use CheckState::*;
        let tally = |states: &[CheckState]| {
            let t = Tally::of(states);
            (t.worst, t.count, t.total)
        };
        assert_eq!(tally(&[Up, Down, Up, Up, Up]), (Down, 1, 5));
        assert_eq!(tally(&[Degraded, Up, Degraded, Up, Up]), (Degraded, 2, 5));
        assert_eq!(tally(&[Up, Up, Up, Up, Up]), (Up, 5, 5));
        assert_eq!(tally(&[Up, Unknown]), (Unknown, 1, 2));
    }
}
