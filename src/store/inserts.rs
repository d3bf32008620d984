//! The writer thread's row statements: raw results, rollup upserts (a batch's deltas folded by check
//! and hour, upserted in steps; daily rows only for hours already folded, see `fold.rs`), check registration,
//! automatic incidents and their evidence. Called only inside the writer's transaction; nothing
//! here commits, reads for the web, or decides what to write.

use std::collections::HashMap;
use std::sync::LazyLock;

use rusqlite::{CachedStatement, OptionalExtension, Transaction, params};

use super::admin::add_update;
use super::current::{CurrentRollups, Fresh, Times};
use super::rows::{self, RollupTable, rollup_adds, rollup_columns, rollup_values, status_code};
use super::stale;
use super::{CheckMeta, CheckRow, Error, Evidence, Severity};
use crate::clock::Timestamp;
use crate::model::{CheckId, IncidentKind, IncidentStatus};
use crate::probe::Outcome;
use crate::uptime::Rollup;

/// An automatic incident to open.
#[derive(Clone, Debug)]
pub struct IncidentOpen {
    pub check: i64,
    pub slug: CheckId,
    pub severity: Severity,
    pub title: String,
    pub started_at: Timestamp,
    /// The first entry of its timeline.
    pub note: String,
    pub evidence: Vec<Evidence>,
}

fn micros(d: Option<std::time::Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The statement [`insert_result`] runs, prepared once for a batch's results.
pub(super) fn results_statement<'a>(tx: &'a Transaction) -> Result<CachedStatement<'a>, Error> {
    Ok(tx.prepare_cached(
        "INSERT OR REPLACE INTO results (check_id, at, status, latency_us, code, reason, message,
             resolve_us, connect_us, tls_us, processing_us, transfer_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?)
}

/// Inserts a raw result with `stmt` from [`results_statement`].
pub(super) fn insert_result(
    stmt: &mut CachedStatement<'_>,
    check: i64,
    o: &Outcome,
) -> Result<(), Error> {
    stmt.execute(params![
        check,
        o.at.0,
        status_code(o.status),
        micros(Some(o.latency)),
        o.code,
        o.failure.as_ref().map(|f| f.reason.as_str()),
        o.failure.as_ref().map(|f| f.message.as_str()),
        micros(o.phases.resolve),
        micros(o.phases.connect),
        micros(o.phases.tls),
        micros(o.phases.processing),
        micros(o.phases.transfer),
    ])?;
    Ok(())
}

/// The statement [`upsert_rollup`] runs on `table`, prepared once for a batch's rollups.
pub(super) fn rollup_statement<'a>(
    tx: &'a Transaction,
    table: RollupTable,
) -> Result<CachedStatement<'a>, Error> {
    static HOUR: LazyLock<String> = LazyLock::new(|| upsert_sql(RollupTable::Hour));
    static DAY: LazyLock<String> = LazyLock::new(|| upsert_sql(RollupTable::Day));
    let sql = match table {
        RollupTable::Hour => &*HOUR,
        RollupTable::Day => &*DAY,
    };
    Ok(tx.prepare_cached(sql)?)
}

/// Adds `r` to the rollup row of `check` at `start`, with `stmt` from [`rollup_statement`], and
/// answers the row's times after it.
pub(super) fn upsert_rollup(
    stmt: &mut CachedStatement<'_>,
    check: i64,
    start: Timestamp,
    r: &Rollup,
) -> Result<Times, Error> {
    let values = [check, start.0].into_iter().chain(rollup_values(r));
    let times = stmt.query_row(rusqlite::params_from_iter(values), |row| {
        Times::from_row(row, 0, start)
    })?;
    Ok(times)
}

/// The upsert of a rollup row into `table`: every column added to what is there, except the
/// largest latency, which is the maximum of both.
fn upsert_sql(table: RollupTable) -> String {
    let columns = rollup_columns();
    let placeholders: Vec<String> = (1..=columns.len() + 2).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {} (check_id, start, {}) VALUES ({})
         ON CONFLICT (check_id, start) DO UPDATE SET {}
         RETURNING up_ms, degraded_ms, down_ms, maintenance_ms",
        table.as_str(),
        columns.join(", "),
        placeholders.join(", "),
        rollup_adds()
    )
}

pub(super) fn sync_checks(
    tx: &Transaction,
    checks: &[CheckMeta],
    now: Timestamp,
) -> Result<Vec<CheckRow>, Error> {
    tx.execute("UPDATE checks SET active = 0", [])?;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO checks (slug, name, grp, kind, active, first_seen) VALUES (?1, ?2, ?3, ?4, 1, ?5)
         ON CONFLICT (slug) DO UPDATE SET name = excluded.name, grp = excluded.grp,
             kind = excluded.kind, active = 1",
    )?;
    for c in checks {
        upsert.execute(params![c.slug, c.name, c.group, c.kind, now.0])?;
    }
    rows::checks(tx)
}

pub(super) fn open_incident(tx: &Transaction, open: &IncidentOpen) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO incidents (check_id, kind, severity, title, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            open.check,
            IncidentKind::Auto.as_str(),
            open.severity.as_str(),
            open.title,
            open.started_at.0
        ],
    )?;
    let id = tx.last_insert_rowid();
    for e in &open.evidence {
        insert_evidence(tx, id, e)?;
    }
    add_update(
        tx,
        id,
        open.started_at,
        IncidentStatus::Investigating,
        &open.note,
        None,
    )?;
    Ok(id)
}

pub(super) fn insert_evidence(tx: &Transaction, incident: i64, e: &Evidence) -> Result<(), Error> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO incident_evidence (incident_id, at, status, latency_us, code, reason, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    stmt.execute(params![
        incident,
        e.at.0,
        status_code(e.status),
        e.latency_us,
        e.code,
        e.reason.map(|r| r.as_str()),
        e.message,
    ])?;
    Ok(())
}

/// Rollup rows folded in memory before they are upserted: a batch with more (every check's
/// closing spans at shutdown, a backlog of many checks) is upserted in steps of about 2 MB.
pub(super) const FOLDED: usize = 4096;

/// Upserts the folded hourly rows, and the daily rows of those before the fold `mark` (see
/// `fold.rs`), and empties the map. The checks with a row of an hour or day already past go to
/// `fresh.past`, for the refresh to read them whole once committed. A check's daily row not
/// known to `current` is read once, so the refresh can add its current hour to it from memory.
pub(super) fn upsert_folded(
    tx: &Transaction,
    hours: &mut Folded,
    mark: Timestamp,
    current: &CurrentRollups,
    fresh: &mut Fresh,
) -> Result<(), Error> {
    let mut days = Folded::new();
    for ((check, start), delta) in hours.iter().filter(|((_, start), _)| *start < mark) {
        days.entry((*check, start.day_start()))
            .or_default()
            .add(delta);
    }
    let now = Timestamp::now();
    stale::before(&mut fresh.past, hours, now.hour_start());
    stale::before(&mut fresh.past, &days, now.day_start());
    let mut stmt = rollup_statement(tx, RollupTable::Day)?;
    for ((check, start), delta) in days.drain() {
        let times = upsert_rollup(&mut stmt, check, start, &delta)?;
        fresh.rows.push((RollupTable::Day, check, times));
    }
    let mut stmt = rollup_statement(tx, RollupTable::Hour)?;
    let mut day = None;
    for ((check, start), delta) in hours.drain() {
        let times = upsert_rollup(&mut stmt, check, start, &delta)?;
        fresh.rows.push((RollupTable::Hour, check, times));
        if start >= mark && !current.knows_day(check, start.day_start()) {
            let stmt = match &mut day {
                Some(stmt) => stmt,
                None => day.insert(day_times_statement(tx)?),
            };
            let times = day_times(stmt, check, start.day_start())?;
            fresh.rows.push((RollupTable::Day, check, times));
        }
    }
    Ok(())
}

fn day_times_statement<'a>(tx: &'a Transaction) -> Result<CachedStatement<'a>, Error> {
    Ok(tx.prepare_cached(
        "SELECT up_ms, degraded_ms, down_ms, maintenance_ms FROM rollup_day
         WHERE check_id = ?1 AND start = ?2",
    )?)
}

/// The times of a check's daily row, zero when it has none.
fn day_times(stmt: &mut CachedStatement<'_>, check: i64, start: Timestamp) -> Result<Times, Error> {
    let times = stmt
        .query_row(params![check, start.0], |row| {
            Times::from_row(row, 0, start)
        })
        .optional()?;
    Ok(times.unwrap_or(Times::zero(start)))
}

/// A batch's rollup deltas by check and bucket start.
pub(super) type Folded = HashMap<(i64, Timestamp), Rollup>;
