//! Reads of what the probes measured: hourly and daily rollups, summarized one check at a time
//! or read over a [`Cover`], and the raw results still kept. Never writes.

use std::collections::HashMap;
use std::ops::Range;

use rusqlite::{CachedStatement, Connection, params};

use super::{Reader, all};
use crate::clock::Timestamp;
use crate::store::fold;
use crate::store::rows::{RollupTable, evidence_row, rollup_row};
use crate::store::{Error, Evidence};
use crate::uptime::{Cover, Deltas};

/// Which rows of one check [`Reader::summarize_rollups`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupRead {
    pub id: i64,
    /// Hourly rows starting at or after this.
    pub hours_since: Timestamp,
    /// Daily rows starting at or after this.
    pub days_since: Timestamp,
}

impl Reader {
    /// Each check's hourly and daily rows from its `RollupRead`'s starts, turned into a `T` by
    /// `summarize` one check at a time on the blocking thread: a refresh of thousands of checks
    /// never holds more than one check's rows.
    pub async fn summarize_rollups<T, F>(
        &self,
        reads: Vec<RollupRead>,
        summarize: F,
    ) -> Result<HashMap<i64, T>, Error>
    where
        T: Send + 'static,
        F: Fn(&RollupRead, &Deltas, &Deltas) -> T + Send + 'static,
    {
        // A check asking only for its current hour and day gets them from what the writer
        // committed, when it knows both: no read.
        let current = self.inner.current.clone();
        self.with(move |c| {
            let since = |table: RollupTable| {
                c.prepare_cached(&format!(
                    "{} WHERE check_id = ?1 AND start >= ?2",
                    table.select()
                ))
            };
            let mut hourly = since(RollupTable::Hour)?;
            let mut daily = since(RollupTable::Day)?;
            let mut out = HashMap::with_capacity(reads.len());
            for read in reads {
                if let Some((hour, day)) = current.known(read.id, read.hours_since, read.days_since)
                {
                    let hours = Deltas::from([(hour.start, hour.rollup())]);
                    let days = Deltas::from([(day.start, day.rollup())]);
                    out.insert(read.id, summarize(&read, &hours, &days));
                    continue;
                }
                // One snapshot for the fold mark and the rows it says how to add up.
                let tx = c.unchecked_transaction()?;
                let mark = fold::mark(&tx)?;
                let mut hours = Deltas::new();
                read_into(
                    &mut hourly,
                    params![read.id, read.hours_since.0],
                    &mut hours,
                )?;
                let mut days = Deltas::new();
                read_into(&mut daily, params![read.id, read.days_since.0], &mut days)?;
                let unfolded = mark.max(read.days_since);
                if unfolded >= read.hours_since {
                    fold::add_unfolded(&hours, unfolded, &mut days);
                } else {
                    let mut more = Deltas::new();
                    read_into(&mut hourly, params![read.id, unfolded.0], &mut more)?;
                    fold::add_unfolded(&more, unfolded, &mut days);
                }
                tx.commit()?;
                out.insert(read.id, summarize(&read, &hours, &days));
            }
            Ok(out)
        })
        .await
    }

    /// One check's hourly and daily rows within `cover`, by bucket start; a day's row holds the
    /// hours not yet folded into it.
    pub async fn rollups_in(&self, slug: String, cover: Cover) -> Result<(Deltas, Deltas), Error> {
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            let mark = fold::mark(&tx)?;
            let hours = slug_rows(
                c,
                RollupTable::Hour,
                &slug,
                &[&cover.hours[0], &cover.hours[1]],
            )?;
            let days = slug_days(c, &slug, mark, &cover.days)?;
            tx.commit()?;
            Ok((hours, days))
        })
        .await
    }

    /// A check's raw results at or after `since`, newest first, at most `limit`.
    pub async fn results_since(
        &self,
        slug: String,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<Evidence>, Error> {
        self.with(move |c| {
            all(
                c,
                "SELECT at, status, latency_us, code, reason, message FROM results
                 WHERE check_id = (SELECT id FROM checks WHERE slug = ?1) AND at >= ?2
                 ORDER BY at DESC LIMIT ?3",
                params![slug, since.0, limit as i64],
                evidence_row,
            )
        })
        .await
    }

    /// The latest raw results of a check, newest first.
    pub async fn recent_results(&self, check: i64, limit: usize) -> Result<Vec<Evidence>, Error> {
        self.with(move |c| {
            all(
                c,
                "SELECT at, status, latency_us, code, reason, message FROM results
                 WHERE check_id = ?1 ORDER BY at DESC LIMIT ?2",
                params![check, limit as i64],
                evidence_row,
            )
        })
        .await
    }
}

/// The rows of `table` of check `slug` starting in `ranges`, by bucket start.
fn slug_rows(
    c: &Connection,
    table: RollupTable,
    slug: &str,
    ranges: &[&Range<Timestamp>],
) -> Result<Deltas, Error> {
    let mut stmt = c.prepare_cached(&format!(
        "{} WHERE check_id = (SELECT id FROM checks WHERE slug = ?1) AND start >= ?2 AND start < ?3",
        table.select()
    ))?;
    let mut out = Deltas::new();
    for range in ranges.iter().filter(|r| !r.is_empty()) {
        read_into(
            &mut stmt,
            params![slug, range.start.0, range.end.0],
            &mut out,
        )?;
    }
    Ok(out)
}

/// Check `slug`'s days starting in `days`: each its daily row with its hours at or after the fold
/// `mark` added (see `store/fold.rs`). Call inside the read transaction the mark was read in.
pub(super) fn slug_days(
    c: &Connection,
    slug: &str,
    mark: Timestamp,
    days: &Range<Timestamp>,
) -> Result<Deltas, Error> {
    let mut out = slug_rows(c, RollupTable::Day, slug, &[days])?;
    let unfolded = mark.max(days.start)..days.end;
    let hours = slug_rows(c, RollupTable::Hour, slug, &[&unfolded])?;
    fold::add_unfolded(&hours, unfolded.start, &mut out);
    Ok(out)
}

/// Adds the rollup rows `stmt` answers for `params` to `out`, by bucket start.
pub(super) fn read_into(
    stmt: &mut CachedStatement,
    params: impl rusqlite::Params,
    out: &mut Deltas,
) -> Result<(), Error> {
    let mut rows = stmt.query(params)?;
    while let Some(r) = rows.next()? {
        let (_, start, rollup) = rollup_row(r)?;
        out.insert(start, rollup);
    }
    Ok(())
}
