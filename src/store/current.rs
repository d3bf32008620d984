//! The writer's note of each check's newest hourly and daily rollup times as committed, and of
//! the fold mark (see `fold.rs`), so the history refresh takes a check's current hour and day
//! from memory instead of reading rows back per check. Holds four numbers per row; never touches
//! the database.

use std::collections::{HashMap, HashSet};
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
    pub(super) fn zero(start: Timestamp) -> Times {
        Times {
            start,
            up_ms: 0,
            degraded_ms: 0,
            down_ms: 0,
            maintenance_ms: 0,
        }
    }

    /// The four time columns at `at..at + 4` of a selected row, as the row starting at `start`.
    pub(super) fn from_row(
        row: &rusqlite::Row,
        at: usize,
        start: Timestamp,
    ) -> rusqlite::Result<Times> {
        Ok(Times {
            start,
            up_ms: row.get(at)?,
            degraded_ms: row.get(at + 1)?,
            down_ms: row.get(at + 2)?,
            maintenance_ms: row.get(at + 3)?,
        })
    }

    /// These times with `other`'s added, at this start.
    fn plus(self, other: Times) -> Times {
        Times {
            start: self.start,
            up_ms: self.up_ms + other.up_ms,
            degraded_ms: self.degraded_ms + other.degraded_ms,
            down_ms: self.down_ms + other.down_ms,
            maintenance_ms: self.maintenance_ms + other.maintenance_ms,
        }
    }

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
    /// The fold mark the batch leaves.
    pub through: Option<Timestamp>,
    /// Checks whose rollups of an hour or day already past the batch wrote (see `stale.rs`).
    pub past: HashSet<i64>,
}

/// Each check's newest committed hourly and daily row times, by check row id, and the fold mark.
#[derive(Default)]
pub(super) struct CurrentRollups(Mutex<Known>);

#[derive(Default)]
struct Known {
    rows: HashMap<i64, [Option<Times>; 2]>,
    /// `None` until the writer's first commit.
    through: Option<Timestamp>,
}

impl CurrentRollups {
    /// Takes in a committed batch's rows; after an admin change, every other check is forgotten
    /// first, so it is read from the database until its next upsert says its totals again.
    pub(super) fn committed(&self, fresh: Fresh) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if fresh.forget {
            known.rows.clear();
        }
        if fresh.through.is_some() {
            known.through = fresh.through;
        }
        for (table, check, times) in fresh.rows {
            let slot = &mut known.rows.entry(check).or_default()[index(table)];
            // A clock stepped back may upsert an older row: the newest stays.
            if slot.is_none_or(|known| known.start <= times.start) {
                *slot = Some(times);
            }
        }
    }

    /// Check `id`'s times of exactly the hour and the day starting at `hour` and `day`, when
    /// both are known: the hour's row, and the day's row with the hours not folded into it yet.
    pub(super) fn known(&self, id: i64, hour: Timestamp, day: Timestamp) -> Option<(Times, Times)> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let through = known.through?;
        let [h, d] = known.rows.get(&id)?;
        let h = h.filter(|h| h.start == hour)?;
        let row = d.filter(|d| d.start == day);
        let day = match through.cmp(&hour) {
            // The daily row holds this hour too.
            std::cmp::Ordering::Greater => row?,
            // It holds the hours before this one: none in the day's first hour.
            std::cmp::Ordering::Equal => row.or((hour == day).then(|| Times::zero(day)))?.plus(h),
            // Hours before this one are not folded yet: read them.
            std::cmp::Ordering::Less => return None,
        };
        Some((h, day))
    }

    /// Whether check `id`'s daily row of `day` is known.
    pub(super) fn knows_day(&self, id: i64, day: Timestamp) -> bool {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known
            .rows
            .get(&id)
            .and_then(|[_, d]| *d)
            .is_some_and(|d| d.start == day)
    }
}

fn index(table: RollupTable) -> usize {
    match table {
        RollupTable::Hour => 0,
        RollupTable::Day => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{DAY_MS, HOUR_MS};

    fn times(start: i64, up_ms: i64) -> Times {
        Times {
            up_ms,
            ..Times::zero(Timestamp(start))
        }
    }

    fn current(through: i64, rows: Vec<(RollupTable, Times)>) -> CurrentRollups {
        let current = CurrentRollups::default();
        current.committed(Fresh {
            rows: rows.into_iter().map(|(t, times)| (t, 7, times)).collect(),
            through: Some(Timestamp(through)),
            ..Fresh::default()
        });
        current
    }

    #[test]
    fn the_day_is_its_row_and_the_hour_not_folded_into_it() {
        let day = 10 * DAY_MS;
        let hour = day + 5 * HOUR_MS;
        let (h, d) = (Timestamp(hour), Timestamp(day));
        let rows = || {
            vec![
                (RollupTable::Hour, times(hour, 30)),
                (RollupTable::Day, times(day, 100)),
            ]
        };
        // Folded up to this hour: the day row and this hour.
        let (_, today) = current(hour, rows()).known(7, h, d).unwrap();
        assert_eq!(today.up_ms, 130);
        // This hour folded too (a clean stop within it): the day row holds it.
        let (_, today) = current(hour + HOUR_MS, rows()).known(7, h, d).unwrap();
        assert_eq!(today.up_ms, 100);
        // An hour before this one not folded yet: not known.
        assert!(current(hour - HOUR_MS, rows()).known(7, h, d).is_none());
        // The day's first hour needs no daily row; a later one does.
        let first = vec![(RollupTable::Hour, times(day, 30))];
        let (_, today) = current(day, first).known(7, d, d).unwrap();
        assert_eq!(today.up_ms, 30);
        let later = vec![(RollupTable::Hour, times(hour, 30))];
        assert!(current(hour, later).known(7, h, d).is_none());
        // Nothing is known before the writer has said where the mark is.
        let unknown = CurrentRollups::default();
        unknown.committed(Fresh {
            rows: rows().into_iter().map(|(t, times)| (t, 7, times)).collect(),
            ..Fresh::default()
        });
        assert!(unknown.known(7, h, d).is_none());
    }
}
