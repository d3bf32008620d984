//! Reads for the web, the history refresher and start-up, on read-only connections kept in a
//! small pool and used from `spawn_blocking`, never on the async runtime. Never writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::{
    AuditRow, CheckRow, CheckTimes, Error, Evidence, IncidentDetail, IncidentFilter, IncidentRow,
    IncidentTimeline, PageTimes, Planned, ResultRow, SessionRow, Severity, UpdateRow, status_from,
};
use crate::clock::Timestamp;
use crate::config::CheckId;
use crate::maintenance::Window;
use crate::probe::Reason;
use crate::uptime::{Cover, Deltas, Rollup};

/// Idle read connections kept for reuse.
const POOL: usize = 4;

/// A handle for reads; cheap to clone.
#[derive(Clone)]
pub struct Reader {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Idle connections; the lock is held only to take or return one, never across a query.
    idle: Mutex<Vec<Connection>>,
}

impl Reader {
    pub(super) fn new(path: &Path) -> Reader {
        Reader {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Runs `f` on a pooled read-only connection on the blocking thread pool.
    async fn with<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    c.busy_timeout(std::time::Duration::from_secs(5))?;
                    c
                }
            };
            let result = f(&conn);
            let mut idle = inner.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < POOL {
                idle.push(conn);
            }
            result
        })
        .await?
    }

    /// Every check ever configured, active or not.
    pub async fn checks(&self) -> Result<Vec<CheckRow>, Error> {
        self.with(checks).await
    }

    /// Incidents still open, oldest first.
    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} WHERE i.resolved_at IS NULL AND i.false_alarm = 0 ORDER BY i.started_at"
            ))?;
            let rows = stmt.query_map([], incident_row)?.collect::<Result<_, _>>()?;
            Ok(rows)
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
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} WHERE i.false_alarm = 0 AND (?1 IS NULL OR k.slug = ?1
                     OR EXISTS (SELECT 1 FROM incident_checks c WHERE c.incident_id = i.id AND c.check_slug = ?1))
                 ORDER BY i.started_at DESC, i.id DESC LIMIT ?2"
            ))?;
            let rows = stmt
                .query_map(params![check, limit as i64], incident_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
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
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} WHERE i.false_alarm = 0 AND i.started_at >= ?1 AND i.started_at < ?2
                 ORDER BY i.started_at DESC, i.id DESC"
            ))?;
            let rows = stmt
                .query_map(params![from.0, to.0], incident_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Public incidents open at any time since `from` (still open, or resolved after it),
    /// oldest first: the bars' per-day incident lists.
    pub async fn incidents_since(&self, from: Timestamp) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} WHERE i.false_alarm = 0 AND (i.resolved_at IS NULL OR i.resolved_at >= ?1)
                 ORDER BY i.started_at, i.id"
            ))?;
            let rows = stmt
                .query_map(params![from.0], incident_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// One public incident (not a false alarm) with its evidence and timeline, newest first.
    pub async fn incident(&self, id: i64) -> Result<Option<IncidentDetail>, Error> {
        self.incident_where(id, false).await
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
            let evidence = c
                .prepare_cached(
                    "SELECT at, status, latency_us, code, reason, message FROM incident_evidence
                     WHERE incident_id = ?1 ORDER BY at DESC",
                )?
                .query_map([id], |r| {
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
                })?
                .collect::<Result<_, _>>()?;
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
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} WHERE i.false_alarm = 0 AND (?1 = 0 OR i.resolved_at IS NULL)
                 ORDER BY i.started_at DESC, i.id DESC LIMIT ?2"
            ))?;
            let incidents: Vec<IncidentRow> = stmt
                .query_map(params![open_only, limit as i64], incident_row)?
                .collect::<Result<_, _>>()?;
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

    /// When each check was created and last changed, and the newest incident update.
    pub async fn page_times(&self) -> Result<PageTimes, Error> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT k.slug, k.first_seen,
                        MAX(COALESCE(MAX(i.started_at), 0), COALESCE(MAX(i.resolved_at), 0))
                 FROM checks k LEFT JOIN incidents i ON i.check_id = k.id AND i.false_alarm = 0
                 GROUP BY k.id",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    let created = Timestamp(r.get(1)?);
                    let changed = Timestamp(r.get(2)?).max(created);
                    Ok((r.get(0)?, CheckTimes { created, changed }))
                })?
                .collect::<Result<_, _>>()?;
            let last_update = c
                .prepare_cached(
                    "SELECT MAX(u.at) FROM incident_updates u
                     JOIN incidents i ON i.id = u.incident_id WHERE i.false_alarm = 0",
                )?
                .query_row([], |r| r.get::<_, Option<i64>>(0))?
                .map(Timestamp);
            Ok(PageTimes {
                checks: rows,
                last_update,
            })
        })
        .await
    }

    /// Each check's hourly rows from `hours_since` and daily rows from `days_since`, turned into a
    /// `T` by `summarize` one check at a time on the blocking thread: a refresh of thousands of
    /// checks never holds more than one check's rows.
    pub async fn summarize_rollups<T, F>(
        &self,
        ids: Vec<i64>,
        hours_since: Timestamp,
        days_since: Timestamp,
        summarize: F,
    ) -> Result<HashMap<i64, T>, Error>
    where
        T: Send + 'static,
        F: Fn(&Deltas, &Deltas) -> T + Send + 'static,
    {
        self.with(move |c| {
            let mut hourly = c.prepare_cached(&format!(
                "{} FROM rollup_hour WHERE check_id = ?1 AND start >= ?2",
                *ROLLUP_SELECT
            ))?;
            let mut daily = c.prepare_cached(&format!(
                "{} FROM rollup_day WHERE check_id = ?1 AND start >= ?2",
                *ROLLUP_SELECT
            ))?;
            let read = |stmt: &mut rusqlite::CachedStatement, id: i64, since: Timestamp| {
                let mut rows = stmt.query(params![id, since.0])?;
                let mut map = Deltas::new();
                while let Some(r) = rows.next()? {
                    let (_, start, rollup) = rollup_row(r)?;
                    map.insert(start, rollup);
                }
                Ok::<_, Error>(map)
            };
            let mut out = HashMap::with_capacity(ids.len());
            for id in ids {
                let hours = read(&mut hourly, id, hours_since)?;
                let days = read(&mut daily, id, days_since)?;
                out.insert(id, summarize(&hours, &days));
            }
            Ok(out)
        })
        .await
    }

    /// One check's hourly and daily rows within `cover`, by bucket start.
    pub async fn rollups_in(&self, slug: String, cover: Cover) -> Result<(Deltas, Deltas), Error> {
        self.with(move |c| {
            let read = |table: &str, ranges: &[&std::ops::Range<Timestamp>]| {
                let mut stmt = c.prepare_cached(&format!(
                    "{} FROM {table} WHERE check_id = (SELECT id FROM checks WHERE slug = ?1)
                     AND start >= ?2 AND start < ?3",
                    *ROLLUP_SELECT
                ))?;
                let mut out = Deltas::new();
                for range in ranges.iter().filter(|r| !r.is_empty()) {
                    let mut rows = stmt.query(params![slug, range.start.0, range.end.0])?;
                    while let Some(r) = rows.next()? {
                        let (_, start, rollup) = rollup_row(r)?;
                        out.insert(start, rollup);
                    }
                }
                Ok::<_, Error>(out)
            };
            let hours = read("rollup_hour", &[&cover.hours[0], &cover.hours[1]])?;
            let days = read("rollup_day", &[&cover.days])?;
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
    ) -> Result<Vec<ResultRow>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT at, status, latency_us, code, reason, message FROM results
                 WHERE check_id = (SELECT id FROM checks WHERE slug = ?1) AND at >= ?2
                 ORDER BY at DESC LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![slug, since.0, limit as i64], result_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// One-off maintenance windows not cancelled that end after `since`, by start.
    pub async fn maintenance(&self, since: Timestamp) -> Result<Vec<Window>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.id, m.title, m.body, m.starts_at, m.ends_at, group_concat(k.check_slug, ' ')
                 FROM maintenance m LEFT JOIN maintenance_checks k ON k.maintenance_id = m.id
                 WHERE m.cancelled = 0 AND m.ends_at > ?1 GROUP BY m.id ORDER BY m.starts_at",
            )?;
            let rows = stmt
                .query_map([since.0], window_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// The admin session whose token hashes to `token_hash`.
    pub async fn session(&self, token_hash: String) -> Result<Option<SessionRow>, Error> {
        self.with(move |c| {
            Ok(c.prepare_cached(
                "SELECT user, csrf, created_at, last_seen_at FROM admin_sessions WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(SessionRow {
                    user: r.get(0)?,
                    csrf: r.get(1)?,
                    created_at: Timestamp(r.get(2)?),
                    last_seen_at: Timestamp(r.get(3)?),
                })
            })
            .optional()?)
        })
        .await
    }

    /// The newest lines of the audit log first.
    pub async fn audit(&self, limit: usize) -> Result<Vec<AuditRow>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(AuditRow {
                        at: Timestamp(r.get(0)?),
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        target: r.get(3)?,
                        detail: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Every incident for the admin area, false alarms included: open ones first, then newest.
    pub async fn admin_incidents(&self, limit: usize) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} ORDER BY i.resolved_at IS NOT NULL, i.started_at DESC LIMIT ?1"
            ))?;
            let rows = stmt
                .query_map([limit as i64], incident_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// One incident for the admin area, false alarm or not, with its timeline.
    pub async fn admin_incident(&self, id: i64) -> Result<Option<IncidentDetail>, Error> {
        self.incident_where(id, true).await
    }

    /// Marked false alarms of a check, for its page.
    pub async fn false_alarms(&self, check: String) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{INCIDENT_SELECT} WHERE i.false_alarm = 1 AND k.slug = ?1 ORDER BY i.started_at DESC"
            ))?;
            let rows = stmt.query_map([check], incident_row)?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Every one-off maintenance window, cancelled ones too (`cancelled` is the flag), newest first.
    pub async fn all_maintenance(&self, limit: usize) -> Result<Vec<(Window, bool)>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.id, m.title, m.body, m.starts_at, m.ends_at, group_concat(k.check_slug, ' '), m.cancelled
                 FROM maintenance m LEFT JOIN maintenance_checks k ON k.maintenance_id = m.id
                 GROUP BY m.id ORDER BY m.starts_at DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit as i64], |r| Ok((window_row(r)?, r.get::<_, i64>(6)? != 0)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// One-off windows, the latest-starting first, with when each was planned and last changed:
    /// what the feeds tell subscribers.
    pub async fn planned_maintenance(&self, limit: usize) -> Result<Vec<Planned>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.id, m.title, m.body, m.starts_at, m.ends_at, group_concat(k.check_slug, ' '),
                     m.cancelled, m.created_at, coalesce(m.updated_at, m.created_at)
                 FROM maintenance m LEFT JOIN maintenance_checks k ON k.maintenance_id = m.id
                 GROUP BY m.id ORDER BY m.starts_at DESC LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(Planned {
                        window: window_row(r)?,
                        cancelled: r.get::<_, i64>(6)? != 0,
                        created: Timestamp(r.get(7)?),
                        updated: Timestamp(r.get(8)?),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// The latest raw results of a check, newest first.
    pub async fn recent_results(&self, check: i64, limit: usize) -> Result<Vec<ResultRow>, Error> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT at, status, latency_us, code, reason, message FROM results
                 WHERE check_id = ?1 ORDER BY at DESC LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![check, limit as i64], result_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}

fn window_row(r: &Row) -> rusqlite::Result<Window> {
    let slugs: Option<String> = r.get(5)?;
    Ok(Window {
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
    })
}

fn result_row(r: &Row) -> rusqlite::Result<ResultRow> {
    Ok(ResultRow {
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

/// An incident's timeline, newest entry first.
fn updates(c: &Connection, incident: i64) -> Result<Vec<UpdateRow>, Error> {
    let rows = c
        .prepare_cached(
            "SELECT id, at, status, body, author FROM incident_updates
             WHERE incident_id = ?1 ORDER BY at DESC, id DESC",
        )?
        .query_map([incident], |r| {
            Ok(UpdateRow {
                id: r.get(0)?,
                at: Timestamp(r.get(1)?),
                status: r.get(2)?,
                body: r.get(3)?,
                author: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

const INCIDENT_SELECT: &str = "SELECT i.id, k.slug, i.kind, i.severity, i.title, i.started_at, i.resolved_at,
         i.cause, i.postmortem, i.hold, i.false_alarm,
         (SELECT u.status FROM incident_updates u WHERE u.incident_id = i.id ORDER BY u.at DESC, u.id DESC LIMIT 1),
         (SELECT group_concat(c.check_slug, ' ') FROM incident_checks c WHERE c.incident_id = i.id)
     FROM incidents i LEFT JOIN checks k ON k.id = i.check_id";

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
        auto: r.get::<_, String>(2)? == "auto",
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
            .unwrap_or_else(|| "investigating".to_string()),
        checks,
    })
}

/// `SELECT check_id, start, <the rollup columns> ` for a `FROM` to follow.
static ROLLUP_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT check_id, start, {}",
        super::writer::rollup_columns().join(", ")
    )
});

/// A rollup row selected with [`ROLLUP_SELECT`], columns in `rollup_columns` order.
fn rollup_row(r: &Row) -> rusqlite::Result<(i64, Timestamp, Rollup)> {
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

/// Every check row; shared by the reader and the writer's registration.
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
