//! The writer's note of which checks had rollups of an hour or day already past written, so the
//! history refresher reads those checks whole again. Holds ids only; never touches the database.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::clock::Timestamp;
use crate::uptime::Rollup;

/// The checks whose rollups of a past hour or day were written since they were last taken: the
/// history refresher re-reads those whole and only the current hour and day of the others.
#[derive(Default)]
pub(super) struct StaleRollups(Mutex<HashSet<i64>>);

impl StaleRollups {
    /// Notes the checks of `map` with a row before `current`.
    pub(super) fn mark(&self, map: &HashMap<(i64, Timestamp), Rollup>, current: Timestamp) {
        let mut stale = self.0.lock().unwrap_or_else(|e| e.into_inner());
        stale.extend(
            map.keys()
                .filter(|(_, start)| *start < current)
                .map(|(check, _)| *check),
        );
    }

    /// The checks noted since the last call.
    pub(super) fn take(&self) -> HashSet<i64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
