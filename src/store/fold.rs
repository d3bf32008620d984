//! The fold of hourly rollups into daily ones. A result or span of an hour not yet folded is
//! written to its hourly row alone; once its hour is over, the writer adds each hour's rows into
//! the days they belong to, in the transaction that moves the fold mark. So a result dirties two
//! rows (its raw row and its hour's), not three, and the database always holds the invariant
//! readers rely on:
//!
//! a day's figures = its daily row + its hourly rows starting at or after the mark.
//!
//! Time written to an hour before the mark (a span reaching back, an admin's correction) goes to
//! both rows. Nothing here decides when to fold (the writer does, at its first batch of probe
//! writes in each hour and when it stops) or reads for the web.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};

use super::Error;
use super::current::{Fresh, Times};
use super::rows::{RollupTable, rollup_adds, rollup_columns};
use crate::clock::{DAY_MS, HOUR_MS, Timestamp};
use crate::uptime::{Deltas, add_to_days};

/// The fold mark: every hourly row starting before it is in its daily row. A file from before
/// the mark (schema 8, read by `export` without migrating it) wrote every row to both: everything
/// is folded.
pub(super) fn mark(c: &Connection) -> Result<Timestamp, Error> {
    let mut stmt = match c.prepare_cached("SELECT days_through FROM rollup_fold WHERE id = 1") {
        Ok(stmt) => stmt,
        Err(e) if e.to_string().contains("no such table") => return Ok(Timestamp(i64::MAX)),
        Err(e) => return Err(e.into()),
    };
    let at = stmt.query_row([], |r| r.get(0)).optional()?;
    Ok(Timestamp(at.unwrap_or(0)))
}

/// Adds the hourly rows of `[from, to)` into their daily rows and moves the mark to `to`; the
/// daily rows it changed go into `fresh`. Called in the writer's transaction only.
fn fold(c: &Connection, from: Timestamp, to: Timestamp, fresh: &mut Fresh) -> Result<(), Error> {
    static SQL: LazyLock<String> = LazyLock::new(fold_sql);
    if from < to {
        let mut stmt = c.prepare_cached(&SQL)?;
        let mut rows = stmt.query(params![from.0, to.0])?;
        while let Some(r) = rows.next()? {
            let times = Times::from_row(r, 2, Timestamp(r.get(1)?))?;
            fresh.rows.push((RollupTable::Day, r.get(0)?, times));
        }
    }
    set_mark(c, to)?;
    fresh.through = Some(to);
    Ok(())
}

fn set_mark(c: &Connection, at: Timestamp) -> Result<(), Error> {
    c.prepare_cached(
        "INSERT INTO rollup_fold (id, days_through) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET days_through = excluded.days_through",
    )?
    .execute([at.0])?;
    Ok(())
}

/// Folds the hours before the current one that are not folded yet, when `probed` (`mark` is the
/// writer's note of the mark, `None` to read it); answers the mark, also left in `fresh`. Any
/// mark keeps the invariant; one at the current hour is the one that saves writes.
pub(super) fn advance(
    c: &Connection,
    mark: Option<Timestamp>,
    probed: bool,
    fresh: &mut Fresh,
) -> Result<Timestamp, Error> {
    let mark = match mark {
        Some(m) => m,
        None => self::mark(c)?,
    };
    let hour = Timestamp::now().hour_start();
    if !probed {
        fresh.through = Some(mark);
        return Ok(mark);
    }
    match hour.cmp(&mark) {
        std::cmp::Ordering::Greater => fold(c, mark, hour, fresh)?,
        // Folded ahead (by a clean stop within this hour, or a clock since set back): taken out
        // of the days again, or every result until then would be written to both rows.
        std::cmp::Ordering::Less => unfold(c, hour, mark, fresh)?,
        std::cmp::Ordering::Equal => fresh.through = Some(mark),
    }
    Ok(hour)
}

/// Takes the hourly rows of `[from, to)` out of their daily rows and moves the mark back to
/// `from`. A daily row's largest latency stays: the hours it came from are still in its day.
fn unfold(c: &Connection, from: Timestamp, to: Timestamp, fresh: &mut Fresh) -> Result<(), Error> {
    static SQL: LazyLock<String> = LazyLock::new(unfold_sql);
    c.prepare_cached(&SQL)?.execute(params![from.0, to.0])?;
    set_mark(c, from)?;
    // Any check's daily row may have changed: the refresh reads them again.
    fresh.forget = true;
    fresh.through = Some(from);
    Ok(())
}

/// Folds every hour so far, the current one included, into its day, when the writer stops: after
/// a clean stop the daily rows hold whole days for whoever reads the file. A start within the
/// same hour takes that hour out again (see [`advance`]).
pub(super) fn at_stop(conn: &mut Connection, mark: Option<Timestamp>) -> Result<(), Error> {
    let tx = conn.transaction()?;
    let mark = match mark {
        Some(m) => m,
        None => self::mark(&tx)?,
    };
    let to = Timestamp(Timestamp::now().hour_start().0 + HOUR_MS);
    if to > mark {
        fold(&tx, mark, to, &mut Fresh::default())?;
    }
    Ok(tx.commit()?)
}

/// One statement summing each check's hourly rows of `[?1, ?2)` by day into the daily rows.
fn fold_sql() -> String {
    let columns = rollup_columns();
    let sums: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "latency_max_us" => format!("max({c})"),
            _ => format!("sum({c})"),
        })
        .collect();
    format!(
        "INSERT INTO rollup_day (check_id, start, {columns})
         SELECT check_id, (start / {DAY_MS}) * {DAY_MS} AS day, {sums}
         FROM rollup_hour WHERE start >= ?1 AND start < ?2 GROUP BY check_id, day
         ON CONFLICT (check_id, start) DO UPDATE SET {updates}
         RETURNING check_id, start, up_ms, degraded_ms, down_ms, maintenance_ms",
        columns = columns.join(", "),
        sums = sums.join(", "),
        updates = rollup_adds(),
    )
}

/// One statement taking each check's hourly rows of `[?1, ?2)`, summed by day, out of the daily
/// rows.
fn unfold_sql() -> String {
    let columns = rollup_columns();
    let sums: Vec<String> = columns.iter().map(|c| format!("sum({c}) AS {c}")).collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| c.as_str() != "latency_max_us")
        .map(|c| format!("{c} = rollup_day.{c} - h.{c}"))
        .collect();
    format!(
        "UPDATE rollup_day SET {updates}
         FROM (SELECT check_id, (start / {DAY_MS}) * {DAY_MS} AS day, {sums}
               FROM rollup_hour WHERE start >= ?1 AND start < ?2 GROUP BY check_id, day) AS h
         WHERE rollup_day.check_id = h.check_id AND rollup_day.start = h.day",
        updates = updates.join(", "),
        sums = sums.join(", "),
    )
}

/// Adds to `days` the hourly rows of `hours` starting at or after `from`: with `from` at or past
/// the mark, those the daily rows do not hold yet.
pub(super) fn add_unfolded(hours: &Deltas, from: Timestamp, days: &mut Deltas) {
    add_to_days(hours.iter().filter(|(start, _)| **start >= from), days);
}
