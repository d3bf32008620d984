//! The writer's note of each check's newest hourly and daily rollup times as committed, so the
//! history refresh takes a check's current hour and day from memory instead of reading two rows
//! back per check. Holds four numbers per row; never touches the database.

use std::collections::HashMap;
use std::sync::Mutex;

use super::rows::RollupTable;
use crate::clock::Timestamp;
use crate::uptime::Rollup;

/// The time columns of one rollup row, as its upsert left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Times {
    pub start: Timestamp,
    pub up_ms: i64,
    pub degraded_ms: i64,
    pub down_ms: i64,
    pub maintenance_ms: i64,
}

impl Times {
    /// The row as a [`Rollup`] with only its times: what uptime and day cells are made of.
    pub(super) fn rollup(&self) -> Rollup {
        Rollup {
            up_ms: self.up_ms,
            degraded_ms: self.degraded_ms,
            down_ms: self.down_ms,
            maintenance_ms: self.maintenance_ms,
            ..Rollup::default()
        }
    }
}

/// What one batch's upserts left, kept until its commit is known.
#[derive(Default)]
pub(super) struct Fresh {
    pub rows: Vec<(RollupTable, i64, Times)>,
    /// An admin change committed with the batch may have rewritten any check's rows.
    pub forget: bool,
}

/// Each check's newest committed hourly and daily row times, by check row id.
#[derive(Default)]
pub(super) struct CurrentRollups(Mutex<HashMap<i64, [Option<Times>; 2]>>);

impl CurrentRollups {
    /// Takes in a committed batch's rows; after an admin change, every other check is forgotten
    /// first, so it is read from the database until its next upsert says its totals again.
    pub(super) fn committed(&self, fresh: Fresh) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if fresh.forget {
            map.clear();
        }
        for (table, check, times) in fresh.rows {
            let slot = &mut map.entry(check).or_default()[index(table)];
            // A clock stepped back may upsert an older row: the newest stays.
            if slot.is_none_or(|known| known.start <= times.start) {
                *slot = Some(times);
            }
        }
    }

    /// Check `id`'s rows of exactly the hour and the day starting at `hour` and `day`, when
    /// both are known: both rows' times.
    pub(super) fn known(&self, id: i64, hour: Timestamp, day: Timestamp) -> Option<(Times, Times)> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&id)? {
            [Some(h), Some(d)] if h.start == hour && d.start == day => Some((*h, *d)),
            _ => None,
        }
    }
}

fn index(table: RollupTable) -> usize {
    match table {
        RollupTable::Hour => 0,
        RollupTable::Day => 1,
    }
}
