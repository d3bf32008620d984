//! Reads of one-off maintenance windows: those still to come for the pages, and every window
//! with its history for the admin area and the feeds. Never writes.

use rusqlite::{Connection, Params, Row};

use super::{Reader, all};
use crate::clock::Timestamp;
use crate::config::CheckId;
use crate::maintenance::Window;
use crate::store::{Error, Planned};

impl Reader {
    /// One-off maintenance windows not cancelled that end after `since`, by start.
    pub async fn maintenance(&self, since: Timestamp) -> Result<Vec<Window>, Error> {
        self.with(move |c| {
            let planned = planned_where(
                c,
                "WHERE m.cancelled = 0 AND m.ends_at > ?1 GROUP BY m.id ORDER BY m.starts_at",
                [since.0],
            )?;
            Ok(planned.into_iter().map(|p| p.window).collect())
        })
        .await
    }

    /// Every one-off maintenance window, cancelled ones too (`cancelled` is the flag), newest first.
    pub async fn all_maintenance(&self, limit: usize) -> Result<Vec<(Window, bool)>, Error> {
        let planned = self.planned_maintenance(limit).await?;
        Ok(planned
            .into_iter()
            .map(|p| (p.window, p.cancelled))
            .collect())
    }

    /// One-off windows, the latest-starting first, with when each was planned and last changed:
    /// what the feeds tell subscribers.
    pub async fn planned_maintenance(&self, limit: usize) -> Result<Vec<Planned>, Error> {
        self.with(move |c| {
            planned_where(
                c,
                "GROUP BY m.id ORDER BY m.starts_at DESC LIMIT ?1",
                [limit as i64],
            )
        })
        .await
    }
}

/// The windows found with `tail` (its `WHERE`, `GROUP BY m.id`, `ORDER BY` and `LIMIT`).
fn planned_where(c: &Connection, tail: &str, params: impl Params) -> Result<Vec<Planned>, Error> {
    all(
        c,
        &format!(
            "SELECT m.id, m.title, m.body, m.starts_at, m.ends_at, group_concat(k.check_slug, ' '),
                 m.cancelled, m.created_at, coalesce(m.updated_at, m.created_at)
             FROM maintenance m LEFT JOIN maintenance_checks k ON k.maintenance_id = m.id
             {tail}"
        ),
        params,
        planned_row,
    )
}

fn planned_row(r: &Row) -> rusqlite::Result<Planned> {
    let slugs: Option<String> = r.get(5)?;
    let window = Window {
        id: Some(r.get(0)?),
        title: r.get(1)?,
        body: r.get(2)?,
        start: Timestamp(r.get(3)?),
        end: Timestamp(r.get(4)?),
        checks: slugs
            .unwrap_or_default()
            .split(' ')
            .filter_map(|s| CheckId::new(s).ok())
            .collect(),
    };
    Ok(Planned {
        window,
        cancelled: r.get::<_, i64>(6)? != 0,
        created: Timestamp(r.get(7)?),
        updated: Timestamp(r.get(8)?),
    })
}
