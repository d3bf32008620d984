//! Retention on the writer thread, one small step per call so probe results commit between
//! steps: raw results past `keep_raw`, hourly rollups past `keep_hourly`, old notification outbox
//! rows, and incremental vacuum so the file gives freed pages back. Daily rollups, incidents and
//! the audit log are never deleted here.
//!
//! Each function runs inside the writer's transaction and never commits or loops on its own;
//! `prune.rs` asks for the steps one at a time.

use rusqlite::{Transaction, params};

use super::Error;
use crate::clock::{DAY_MS, Timestamp};

/// Delivered and cancelled notifications are kept this long, for the record.
pub(super) const OUTBOX_KEEP_MS: i64 = 30 * DAY_MS;
/// Dead letters are kept this long: someone may still want to see what failed.
pub(super) const DEAD_KEEP_MS: i64 = 180 * DAY_MS;
/// Free pages kept for new rows rather than given back (4 MiB at 4 KiB pages): an hourly prune
/// frees about what the next hour fills again.
pub(super) const FREE_SLACK: i64 = 1024;

/// What one prune step (or a whole prune) deleted: raw results, hourly rollups and outbox rows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pruned {
    pub results: usize,
    pub hours: usize,
    pub outbox: usize,
}

/// Deletes at most `limit` raw results older than `before`, at most `limit` hourly rollups whose
/// hour starts before `hours_before`, and at most `limit` outbox rows finished long enough
/// before `now`.
pub(super) fn prune(
    tx: &Transaction,
    before: Timestamp,
    hours_before: Timestamp,
    now: Timestamp,
    limit: usize,
) -> Result<Pruned, Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let results = tx
        .prepare_cached(
            "DELETE FROM results WHERE (check_id, at) IN
                 (SELECT check_id, at FROM results WHERE at < ?1 ORDER BY at LIMIT ?2)",
        )?
        .execute(params![before.0, limit])?;
    let hours = tx
        .prepare_cached(
            "DELETE FROM rollup_hour WHERE (check_id, start) IN
                 (SELECT check_id, start FROM rollup_hour WHERE start < ?1 ORDER BY start LIMIT ?2)
             AND start < (SELECT days_through FROM rollup_fold)",
        )?
        .execute(params![hours_before.0, limit])?;
    let outbox = tx
        .prepare_cached(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
                 WHERE (state IN ('delivered', 'cancelled') AND created_at < ?1)
                    OR (state = 'dead' AND created_at < ?2)
                 LIMIT ?3)",
        )?
        .execute(params![now.0 - OUTBOX_KEEP_MS, now.0 - DEAD_KEEP_MS, limit])?;
    Ok(Pruned {
        results,
        hours,
        outbox,
    })
}

/// Gives at most `pages` free pages back to the file system (`PRAGMA incremental_vacuum`),
/// keeping [`FREE_SLACK`]; answers the free pages left beyond the slack.
pub(super) fn vacuum(tx: &Transaction, pages: i64) -> Result<i64, Error> {
    let free: i64 = tx.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let give = (free - FREE_SLACK).clamp(0, pages);
    if give > 0 {
        // Each step of this pragma frees one page: step it until it is done.
        let mut stmt = tx.prepare(&format!("PRAGMA incremental_vacuum({give})"))?;
        let mut rows = stmt.query([])?;
        while rows.next()?.is_some() {}
    }
    Ok((free - give - FREE_SLACK).max(0))
}
