//! Incident reads: lists for the public pages, feeds and admin area, one incident with its
//! evidence and timeline, and the times the Statuspage API derives from incidents. Never writes.

use rusqlite::{Connection, OptionalExtension, Params, Row, params};

use super::{Reader, all};
use crate::clock::Timestamp;
use crate::model::{IncidentKind, IncidentStatus};
use crate::store::rows::evidence_row;
use crate::store::{
    CheckTimes, Error, IncidentDetail, IncidentFilter, IncidentRow, IncidentTimeline, PageTimes,
    Severity, UpdateRow,
};

impl Reader {
    /// Incidents still open, oldest first.
    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, Error> {
        self.with(|c| {
            incidents_where(
                c,
                "WHERE i.resolved_at IS NULL AND i.false_alarm = 0 ORDER BY i.started_at",
                [],
            )
        })
        .await
    }

    /// The newest incidents first, at most `limit`, optionally of one check.
    pub async fn incidents(
        &self,
        check: Option<String>,
        limit: usize,
    ) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            incidents_where(
                c,
                "WHERE i.false_alarm = 0 AND (?1 IS NULL OR k.slug = ?1
                     OR EXISTS (SELECT 1 FROM incident_checks c WHERE c.incident_id = i.id AND c.check_slug = ?1))
                 ORDER BY i.started_at DESC, i.id DESC LIMIT ?2",
                params![check, limit as i64],
            )
        })
        .await
    }

    /// Public incidents that started in `[from, to)`, newest first.
    pub async fn incidents_between(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            incidents_where(
                c,
                "WHERE i.false_alarm = 0 AND i.started_at >= ?1 AND i.started_at < ?2
                 ORDER BY i.started_at DESC, i.id DESC",
                params![from.0, to.0],
            )
        })
        .await
    }

    /// Public incidents open at any time since `from` (still open, or resolved after it),
    /// oldest first: the bars' per-day incident lists.
    pub async fn incidents_since(&self, from: Timestamp) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            incidents_where(
                c,
                "WHERE i.false_alarm = 0 AND (i.resolved_at IS NULL OR i.resolved_at >= ?1)
                 ORDER BY i.started_at, i.id",
                params![from.0],
            )
        })
        .await
    }

    /// One public incident (not a false alarm) with its evidence and timeline, newest first.
    pub async fn incident(&self, id: i64) -> Result<Option<IncidentDetail>, Error> {
        self.incident_where(id, false).await
    }

    /// One incident for the admin area, false alarm or not, with its timeline.
    pub async fn admin_incident(&self, id: i64) -> Result<Option<IncidentDetail>, Error> {
        self.incident_where(id, true).await
    }

    async fn incident_where(
        &self,
        id: i64,
        false_alarms: bool,
    ) -> Result<Option<IncidentDetail>, Error> {
        self.with(move |c| {
            let Some(incident) = c
                .prepare_cached(&format!(
                    "{INCIDENT_SELECT} WHERE i.id = ?1 AND (?2 OR i.false_alarm = 0)"
                ))?
                .query_row(params![id, false_alarms], incident_row)
                .optional()?
            else {
                return Ok(None);
            };
            let evidence = all(
                c,
                "SELECT at, status, latency_us, code, reason, message FROM incident_evidence
                     WHERE incident_id = ?1 ORDER BY at DESC",
                [id],
                evidence_row,
            )?;
            let updates = updates(c, id)?;
            Ok(Some(IncidentDetail {
                incident,
                evidence,
                updates,
            }))
        })
        .await
    }

    /// The newest incidents, at most `limit`, each with its timeline.
    pub async fn timelines(
        &self,
        filter: IncidentFilter,
        limit: usize,
    ) -> Result<Vec<IncidentTimeline>, Error> {
        self.with(move |c| {
            let open_only = filter == IncidentFilter::Open;
            let incidents = incidents_where(
                c,
                "WHERE i.false_alarm = 0 AND (?1 = 0 OR i.resolved_at IS NULL)
                 ORDER BY i.started_at DESC, i.id DESC LIMIT ?2",
                params![open_only, limit as i64],
            )?;
            incidents
                .into_iter()
                .map(|incident| {
                    let updates = updates(c, incident.id)?;
                    Ok(IncidentTimeline { incident, updates })
                })
                .collect()
        })
        .await
    }

    /// Every incident for the admin area, false alarms included: open ones first, then newest.
    pub async fn admin_incidents(&self, limit: usize) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            incidents_where(
                c,
                "ORDER BY i.resolved_at IS NOT NULL, i.started_at DESC LIMIT ?1",
                [limit as i64],
            )
        })
        .await
    }

    /// Marked false alarms of a check, for its page.
    pub async fn false_alarms(&self, check: String) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            incidents_where(
                c,
                "WHERE i.false_alarm = 1 AND k.slug = ?1 ORDER BY i.started_at DESC",
                [check],
            )
        })
        .await
    }

    /// When each check was created and last changed, and the newest incident update.
    pub async fn page_times(&self) -> Result<PageTimes, Error> {
        self.with(|c| {
            let checks = all(
                c,
                "SELECT k.slug, k.first_seen,
                        MAX(COALESCE(MAX(i.started_at), 0), COALESCE(MAX(i.resolved_at), 0))
                 FROM checks k LEFT JOIN incidents i ON i.check_id = k.id AND i.false_alarm = 0
                 GROUP BY k.id",
                [],
                |r| {
                    let created = Timestamp(r.get(1)?);
                    let changed = Timestamp(r.get(2)?).max(created);
                    Ok((r.get(0)?, CheckTimes { created, changed }))
                },
            )?
            .into_iter()
            .collect();
            let last_update = c
                .prepare_cached(
                    "SELECT MAX(u.at) FROM incident_updates u
                     JOIN incidents i ON i.id = u.incident_id WHERE i.false_alarm = 0",
                )?
                .query_row([], |r| r.get::<_, Option<i64>>(0))?
                .map(Timestamp);
            Ok(PageTimes {
                checks,
                last_update,
            })
        })
        .await
    }
}

/// An incident's timeline, newest entry first.
fn updates(c: &Connection, incident: i64) -> Result<Vec<UpdateRow>, Error> {
    all(
        c,
        "SELECT id, at, status, body, author FROM incident_updates
             WHERE incident_id = ?1 ORDER BY at DESC, id DESC",
        [incident],
        |r| {
            Ok(UpdateRow {
                id: r.get(0)?,
                at: Timestamp(r.get(1)?),
                status: IncidentStatus::parse(&r.get::<_, String>(2)?)
                    .unwrap_or(IncidentStatus::Investigating),
                body: r.get(3)?,
                author: r.get(4)?,
            })
        },
    )
}

const INCIDENT_SELECT: &str = "SELECT i.id, k.slug, i.kind, i.severity, i.title, i.started_at, i.resolved_at,
         i.cause, i.postmortem, i.hold, i.false_alarm,
         (SELECT u.status FROM incident_updates u WHERE u.incident_id = i.id ORDER BY u.at DESC, u.id DESC LIMIT 1),
         (SELECT group_concat(c.check_slug, ' ') FROM incident_checks c WHERE c.incident_id = i.id)
     FROM incidents i LEFT JOIN checks k ON k.id = i.check_id";

/// The incidents [`INCIDENT_SELECT`] finds with `tail` (its `WHERE`, `ORDER BY` and `LIMIT`).
pub(super) fn incidents_where(
    c: &Connection,
    tail: &str,
    params: impl Params,
) -> Result<Vec<IncidentRow>, Error> {
    all(
        c,
        &format!("{INCIDENT_SELECT} {tail}"),
        params,
        incident_row,
    )
}

fn incident_row(r: &Row) -> rusqlite::Result<IncidentRow> {
    let check: Option<String> = r.get(1)?;
    let listed: Option<String> = r.get(12)?;
    let checks = match (&check, listed) {
        (Some(slug), _) => vec![slug.clone()],
        (None, Some(list)) => list.split(' ').map(str::to_string).collect(),
        (None, None) => Vec::new(),
    };
    Ok(IncidentRow {
        id: r.get(0)?,
        check,
        auto: IncidentKind::parse(&r.get::<_, String>(2)?) == Some(IncidentKind::Auto),
        severity: Severity::parse(&r.get::<_, String>(3)?).unwrap_or(Severity::Major),
        title: r.get(4)?,
        started_at: Timestamp(r.get(5)?),
        resolved_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
        cause: r.get(7)?,
        postmortem: r.get(8)?,
        hold: r.get::<_, i64>(9)? != 0,
        false_alarm: r.get::<_, i64>(10)? != 0,
        status: r
            .get::<_, Option<String>>(11)?
            .and_then(|s| IncidentStatus::parse(&s))
            .unwrap_or(IncidentStatus::Investigating),
        checks,
    })
}
