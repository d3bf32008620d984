//! The writer's note of which checks had rollups of an hour or day already past written, so the
//! history refresher reads those checks whole again. Holds ids only; never touches the database.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::clock::Timestamp;
use crate::uptime::Rollup;

/// The checks whose rollups of a past hour or day were written since they were last taken: the
/// history refresher re-reads those whole and only the current hour and day of the others.
/// The only record of such rewrites: a refresh that missed events needs nothing more.
#[derive(Default)]
pub(super) struct StaleRollups(Mutex<HashSet<i64>>);

impl StaleRollups {
    /// Notes checks whose past rows a batch rewrote, once it is committed: a refresh that takes
    /// them from here on reads after the commit, and one that took them before is followed by
    /// another (the batch's events, or the timer).
    pub(super) fn note(&self, checks: HashSet<i64>) {
        if checks.is_empty() {
            return;
        }
        let mut stale = self.0.lock().unwrap_or_else(|e| e.into_inner());
        stale.extend(checks);
    }

    /// The checks noted since the last call.
    pub(super) fn take(&self) -> HashSet<i64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Adds to `past` the checks of `map` with a row before `current`.
pub(super) fn before(
    past: &mut HashSet<i64>,
    map: &HashMap<(i64, Timestamp), Rollup>,
    current: Timestamp,
) {
    past.extend(
        map.keys()
            .filter(|(_, start)| *start < current)
            .map(|(check, _)| *check),
    );
}
