//! What the reader and the writer share about rows: the rollup tables and their column order,
//! the status codes, the mapping of a result or evidence row, and the check list both read.
//! Imports neither side, so they never import each other; never writes.

use std::sync::LazyLock;

use rusqlite::{Connection, Row};

use super::{CheckRow, Error, Evidence};
use crate::clock::Timestamp;
use crate::monitor::Bucket;
use crate::probe::{Reason, Status};
use crate::uptime::Rollup;

/// A rollup table; a closed set, so no string ever picks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RollupTable {
    Hour,
    Day,
}

impl RollupTable {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RollupTable::Hour => "rollup_hour",
            RollupTable::Day => "rollup_day",
        }
    }

    /// `SELECT check_id, start, <the rollup columns> FROM <this table>`, for a `WHERE` to follow;
    /// [`rollup_row`] maps what it selects.
    pub(super) fn select(self) -> &'static str {
        static HOUR: LazyLock<String> = LazyLock::new(|| select_sql(RollupTable::Hour));
        static DAY: LazyLock<String> = LazyLock::new(|| select_sql(RollupTable::Day));
        match self {
            RollupTable::Hour => &HOUR,
            RollupTable::Day => &DAY,
        }
    }
}

fn select_sql(table: RollupTable) -> String {
    format!(
        "SELECT check_id, start, {} FROM {}",
        rollup_columns().join(", "),
        table.as_str()
    )
}

/// The rollup column that holds a bucket's time.
pub(super) fn time_column(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Up => "up_ms",
        Bucket::Degraded => "degraded_ms",
        Bucket::Down => "down_ms",
        Bucket::Maintenance => "maintenance_ms",
    }
}

/// A rollup's columns after `check_id` and `start`, in the order of [`rollup_values`] and
/// [`rollup_row`].
pub(super) fn rollup_columns() -> Vec<String> {
    let times = [
        Bucket::Up,
        Bucket::Degraded,
        Bucket::Down,
        Bucket::Maintenance,
    ]
    .map(time_column);
    let named = [
        "probes_up",
        "probes_degraded",
        "probes_down",
        "latency_sum_us",
        "latency_max_us",
    ];
    let phases = [
        "resolve_us",
        "connect_us",
        "tls_us",
        "processing_us",
        "transfer_us",
        "phased",
    ];
    times
        .into_iter()
        .chain(named)
        .map(str::to_string)
        .chain((0..10).map(|i| format!("h{i}")))
        .chain(phases.into_iter().map(str::to_string))
        .chain((0..40).map(|i| format!("l{i}")))
        .collect()
}

/// `column = column + excluded.column` for each rollup column, the largest latency kept as the
/// maximum of both: how a delta (or a sum of hours) is added to a row in an upsert.
pub(super) fn rollup_adds() -> String {
    rollup_columns()
        .iter()
        .map(|c| match c.as_str() {
            "latency_max_us" => format!("{c} = max({c}, excluded.{c})"),
            _ => format!("{c} = {c} + excluded.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A rollup's values in [`rollup_columns`] order, for binding.
pub(super) fn rollup_values(r: &Rollup) -> impl Iterator<Item = i64> {
    [
        r.up_ms,
        r.degraded_ms,
        r.down_ms,
        r.maintenance_ms,
        r.probes_up,
        r.probes_degraded,
        r.probes_down,
        r.latency_sum_us,
        r.latency_max_us,
    ]
    .into_iter()
    .chain(r.histogram)
    .chain(r.phases_us)
    .chain([r.phased])
    .chain(r.latency)
}

/// A row selected with [`RollupTable::select`]: its check id, bucket start and rollup.
pub(super) fn rollup_row(r: &Row) -> rusqlite::Result<(i64, Timestamp, Rollup)> {
    let mut at = 2..;
    let mut next = || r.get::<_, i64>(at.next().unwrap_or_default());
    let mut rollup = Rollup {
        up_ms: next()?,
        degraded_ms: next()?,
        down_ms: next()?,
        maintenance_ms: next()?,
        probes_up: next()?,
        probes_degraded: next()?,
        probes_down: next()?,
        latency_sum_us: next()?,
        latency_max_us: next()?,
        ..Rollup::default()
    };
    for h in rollup.histogram.iter_mut() {
        *h = next()?;
    }
    for p in rollup.phases_us.iter_mut() {
        *p = next()?;
    }
    rollup.phased = next()?;
    for l in rollup.latency.iter_mut() {
        *l = next()?;
    }
    Ok((r.get(0)?, Timestamp(r.get(1)?), rollup))
}

/// A raw result or an incident's evidence, selected as
/// `at, status, latency_us, code, reason, message`.
pub(super) fn evidence_row(r: &Row) -> rusqlite::Result<Evidence> {
    Ok(Evidence {
        at: Timestamp(r.get(0)?),
        status: status_from(r.get(1)?),
        latency_us: r.get(2)?,
        code: r.get(3)?,
        reason: r
            .get::<_, Option<String>>(4)?
            .and_then(|s| Reason::parse(&s)),
        message: r.get(5)?,
    })
}

pub(super) fn status_code(s: Status) -> i64 {
    match s {
        Status::Up => 0,
        Status::Degraded => 1,
        Status::Down => 2,
    }
}

pub(super) fn status_from(code: i64) -> Status {
    match code {
        0 => Status::Up,
        1 => Status::Degraded,
        _ => Status::Down,
    }
}

/// Every check row: what the reader answers and what the writer's registration replies.
pub(super) fn checks(c: &Connection) -> Result<Vec<CheckRow>, Error> {
    let mut stmt =
        c.prepare_cached("SELECT id, slug, name, grp, kind, active FROM checks ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(CheckRow {
                id: r.get(0)?,
                slug: r.get(1)?,
                name: r.get(2)?,
                group: r.get(3)?,
                kind: r.get(4)?,
                active: r.get::<_, i64>(5)? != 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The checks an incident affects: its own check (`first`, for an automatic one), then those an
/// admin chose, each once.
pub(super) fn incident_slugs(
    c: &Connection,
    id: i64,
    first: Option<String>,
) -> rusqlite::Result<Vec<String>> {
    let mut slugs: Vec<String> = first.into_iter().collect();
    let mut stmt = c.prepare_cached(
        "SELECT check_slug FROM incident_checks WHERE incident_id = ?1 ORDER BY check_slug",
    )?;
    for s in stmt.query_map([id], |r| r.get::<_, String>(0))? {
        let s = s?;
        if !slugs.contains(&s) {
            slugs.push(s);
        }
    }
    Ok(slugs)
}
