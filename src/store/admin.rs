//! The admin side of the writer: sessions, incident edits, timeline updates, false alarms and
//! one-off maintenance windows, each committed together with its line in the audit log.
//! Runs on the writer thread only.

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, Transaction, params};

use super::rows::{RollupTable, time_column};
use super::{Error, Severity};
use crate::clock::{HOUR_MS, Timestamp};
use crate::model::{Action, IncidentKind, IncidentStatus};
use crate::monitor::Bucket;

/// Who did what, written in the same transaction as the change.
#[derive(Clone, Debug)]
pub struct Audit {
    pub actor: String,
    pub action: Action,
    pub target: String,
    pub detail: String,
}

/// Fields of an incident an admin may change; `None` leaves one as it is.
#[derive(Clone, Debug, Default)]
pub struct IncidentEdit {
    pub title: Option<String>,
    pub severity: Option<Severity>,
    pub checks: Option<Vec<String>>,
    pub cause: Option<String>,
    pub postmortem: Option<String>,
    pub hold: Option<bool>,
    /// Marks or unmarks a false alarm in the same transaction as the rest of the edit.
    pub false_alarm: Option<bool>,
}

/// A one-off maintenance window as an admin plans it.
#[derive(Clone, Debug)]
pub struct MaintenanceEdit {
    pub title: String,
    pub body: String,
    pub checks: Vec<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// A change from the admin area; the writer answers the id of the row created or changed.
#[derive(Clone, Debug)]
pub enum AdminWrite {
    CreateSession {
        token_hash: String,
        user: String,
        csrf: String,
    },
    TouchSession {
        token_hash: String,
    },
    DeleteSession {
        token_hash: String,
    },
    /// A manual incident with its first timeline entry.
    CreateIncident {
        title: String,
        severity: Severity,
        checks: Vec<String>,
        status: IncidentStatus,
        body: String,
    },
    EditIncident {
        id: i64,
        edit: IncidentEdit,
    },
    /// A timeline entry; `resolved` also resolves the incident and lifts a hold.
    AddUpdate {
        id: i64,
        status: IncidentStatus,
        body: String,
    },
    /// Marks (or unmarks) a resolved incident as a false alarm, moving its time back to up.
    SetFalseAlarm {
        id: i64,
        false_alarm: bool,
    },
    CreateMaintenance(MaintenanceEdit),
    EditMaintenance {
        id: i64,
        edit: MaintenanceEdit,
    },
    CancelMaintenance {
        id: i64,
    },
    /// Puts a dead letter back in the outbox with a fresh deadline, if its destination is one
    /// of `destinations` (those configured, which have a lane to deliver it).
    RetryDelivery {
        id: i64,
        destinations: Vec<String>,
    },
}

/// Applies one admin change and returns the row it made or changed; the checks whose rollups
/// before the current hour and day it rewrote go to `past`.
pub(super) fn apply(
    tx: &Transaction,
    write: &AdminWrite,
    audit: Option<&Audit>,
    now: Timestamp,
    past: &mut HashSet<i64>,
) -> Result<i64, Error> {
    let id = match write {
        AdminWrite::CreateSession {
            token_hash,
            user,
            csrf,
        } => {
            tx.execute(
                "DELETE FROM admin_sessions WHERE last_seen_at < ?1",
                [now.0 - 30 * 86_400_000],
            )?;
            tx.execute(
                "INSERT INTO admin_sessions (token_hash, user, csrf, created_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![token_hash, user, csrf, now.0],
            )?;
            0
        }
        AdminWrite::TouchSession { token_hash } => {
            tx.execute(
                "UPDATE admin_sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
                params![token_hash, now.0],
            )?;
            0
        }
        AdminWrite::DeleteSession { token_hash } => {
            tx.execute(
                "DELETE FROM admin_sessions WHERE token_hash = ?1",
                [token_hash],
            )?;
            0
        }
        AdminWrite::CreateIncident {
            title,
            severity,
            checks,
            status,
            body,
        } => {
            tx.execute(
                "INSERT INTO incidents (check_id, kind, severity, title, started_at) VALUES (NULL, ?1, ?2, ?3, ?4)",
                params![IncidentKind::Manual.as_str(), severity.as_str(), title, now.0],
            )?;
            let id = tx.last_insert_rowid();
            set_checks(tx, id, checks)?;
            add_update(tx, id, now, *status, body, audit.map(|a| a.actor.as_str()))?;
            id
        }
        AdminWrite::EditIncident { id, edit } => {
            exists(tx, Record::Incident, *id)?;
            let e = edit;
            tx.execute(
                "UPDATE incidents SET title = coalesce(?2, title), severity = coalesce(?3, severity),
                     cause = coalesce(?4, cause), postmortem = coalesce(?5, postmortem),
                     hold = coalesce(?6, hold)
                 WHERE id = ?1",
                params![
                    id,
                    e.title,
                    e.severity.map(|s| s.as_str()),
                    e.cause,
                    e.postmortem,
                    e.hold
                ],
            )?;
            if let Some(checks) = &e.checks {
                set_checks(tx, *id, checks)?;
            }
            if let Some(false_alarm) = e.false_alarm {
                set_false_alarm(tx, *id, false_alarm, past)?;
            }
            *id
        }
        AdminWrite::AddUpdate { id, status, body } => {
            exists(tx, Record::Incident, *id)?;
            add_update(tx, *id, now, *status, body, audit.map(|a| a.actor.as_str()))?;
            if *status == IncidentStatus::Resolved {
                tx.execute(
                    "UPDATE incidents SET resolved_at = coalesce(resolved_at, ?2), hold = 0 WHERE id = ?1",
                    params![id, now.0],
                )?;
            }
            *id
        }
        AdminWrite::SetFalseAlarm { id, false_alarm } => {
            set_false_alarm(tx, *id, *false_alarm, past)?;
            *id
        }
        AdminWrite::CreateMaintenance(m) => {
            tx.execute(
                "INSERT INTO maintenance (title, body, starts_at, ends_at, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    m.title,
                    m.body,
                    m.starts_at.0,
                    m.ends_at.0,
                    now.0,
                    audit.map(|a| a.actor.as_str())
                ],
            )?;
            let id = tx.last_insert_rowid();
            set_maintenance_checks(tx, id, &m.checks)?;
            id
        }
        AdminWrite::EditMaintenance { id, edit: m } => {
            exists(tx, Record::Maintenance, *id)?;
            tx.execute(
                "UPDATE maintenance SET title = ?2, body = ?3, starts_at = ?4, ends_at = ?5, updated_at = ?6
                 WHERE id = ?1",
                params![id, m.title, m.body, m.starts_at.0, m.ends_at.0, now.0],
            )?;
            set_maintenance_checks(tx, *id, &m.checks)?;
            *id
        }
        AdminWrite::CancelMaintenance { id } => {
            exists(tx, Record::Maintenance, *id)?;
            tx.execute(
                "UPDATE maintenance SET cancelled = 1, updated_at = ?2 WHERE id = ?1",
                params![id, now.0],
            )?;
            *id
        }
        AdminWrite::RetryDelivery { id, destinations } => {
            exists(tx, Record::Outbox, *id)?;
            let names = serde_json::to_string(destinations).unwrap_or_else(|_| "[]".into());
            let n = tx.execute(
                "UPDATE outbox SET state = 'pending', created_at = ?2, due_at = ?2,
                     lease_until = NULL, batch = NULL
                 WHERE id = ?1 AND state = 'dead'
                   AND destination IN (SELECT value FROM json_each(?3))",
                params![id, now.0, names],
            )?;
            if n == 0 {
                return Err(Error::Refused(
                    "Only a dead letter to a configured destination can be retried.".into(),
                ));
            }
            *id
        }
    };
    if let Some(a) = audit {
        tx.execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now.0, a.actor, a.action.as_str(), a.target, a.detail],
        )?;
    }
    Ok(id)
}

/// A kind of row an admin edits by id; a closed set, so no string picks the table.
#[derive(Clone, Copy)]
enum Record {
    Incident,
    Maintenance,
    Outbox,
}

fn exists(tx: &Transaction, record: Record, id: i64) -> Result<(), Error> {
    let sql = match record {
        Record::Incident => "SELECT id FROM incidents WHERE id = ?1",
        Record::Maintenance => "SELECT id FROM maintenance WHERE id = ?1",
        Record::Outbox => "SELECT id FROM outbox WHERE id = ?1",
    };
    let found: Option<i64> = tx.query_row(sql, [id], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or(Error::NotFound)
}

/// Adds an entry to an incident's timeline; `author` is `None` for watchpost's own entries.
pub(super) fn add_update(
    tx: &Transaction,
    id: i64,
    at: Timestamp,
    status: IncidentStatus,
    body: &str,
    author: Option<&str>,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO incident_updates (incident_id, at, status, body, author) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, at.0, status.as_str(), body, author],
    )?;
    Ok(())
}

fn set_checks(tx: &Transaction, id: i64, checks: &[String]) -> Result<(), Error> {
    tx.execute("DELETE FROM incident_checks WHERE incident_id = ?1", [id])?;
    for slug in checks {
        tx.execute(
            "INSERT OR IGNORE INTO incident_checks (incident_id, check_slug) VALUES (?1, ?2)",
            params![id, slug],
        )?;
    }
    Ok(())
}

fn set_maintenance_checks(tx: &Transaction, id: i64, checks: &[String]) -> Result<(), Error> {
    tx.execute(
        "DELETE FROM maintenance_checks WHERE maintenance_id = ?1",
        [id],
    )?;
    for slug in checks {
        tx.execute(
            "INSERT OR IGNORE INTO maintenance_checks (maintenance_id, check_slug) VALUES (?1, ?2)",
            params![id, slug],
        )?;
    }
    Ok(())
}

/// Marks a resolved incident as a false alarm (or not) and moves its time between the outage
/// column and `up` in the rollups, hour by hour, never more than was counted there: the uptime
/// it subtracted is restored exactly, and unmarking takes it away again. Hours past `keep_hourly`
/// have no rows left, so an incident that old moves nothing. The check goes to `past`: its rows
/// before the current hour and day may have changed.
fn set_false_alarm(
    tx: &Transaction,
    id: i64,
    false_alarm: bool,
    past: &mut HashSet<i64>,
) -> Result<(), Error> {
    struct Found {
        check: Option<i64>,
        severity: String,
        start: i64,
        end: Option<i64>,
        was: bool,
    }
    let found = tx
        .query_row(
            "SELECT check_id, severity, started_at, resolved_at, false_alarm FROM incidents WHERE id = ?1",
            [id],
            |r| {
                Ok(Found {
                    check: r.get(0)?,
                    severity: r.get(1)?,
                    start: r.get(2)?,
                    end: r.get(3)?,
                    was: r.get::<_, i64>(4)? != 0,
                })
            },
        )
        .optional()?
        .ok_or(Error::NotFound)?;
    let Found {
        check,
        severity,
        start,
        end,
        was,
    } = found;
    let Some(end) = end else {
        return Err(Error::Refused(
            "an open incident cannot be a false alarm; it resolves by itself when the probes recover".into(),
        ));
    };
    if was == false_alarm {
        return Ok(());
    }
    tx.execute(
        "UPDATE incidents SET false_alarm = ?2 WHERE id = ?1",
        params![id, false_alarm],
    )?;
    let outage = match Severity::parse(&severity) {
        Some(Severity::Major | Severity::Critical) => Bucket::Down,
        Some(Severity::Minor) => Bucket::Degraded,
        _ => return Ok(()),
    };
    let Some(check) = check else { return Ok(()) };
    let (from, to) = if false_alarm {
        (outage, Bucket::Up)
    } else {
        (Bucket::Up, outage)
    };
    let (from, to) = (time_column(from), time_column(to));
    past.insert(check);
    let shift = |table: RollupTable, start: i64, ms: i64| {
        tx.execute(
            &format!(
                "UPDATE {} SET {from} = {from} - ?3, {to} = {to} + ?3 WHERE check_id = ?1 AND start = ?2",
                table.as_str()
            ),
            params![check, start, ms],
        )
    };
    let mark = super::fold::mark(tx)?;
    let mut days: HashMap<i64, i64> = HashMap::new();
    let mut at = start;
    while at < end {
        let hour = at.div_euclid(HOUR_MS) * HOUR_MS;
        let piece = (hour + HOUR_MS).min(end) - at;
        let have: i64 = tx
            .query_row(
                &format!("SELECT {from} FROM rollup_hour WHERE check_id = ?1 AND start = ?2"),
                params![check, hour],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let moved = piece.min(have.max(0));
        if moved > 0 {
            shift(RollupTable::Hour, hour, moved)?;
            // An hour not folded yet is added to its day by readers, and later by the fold.
            if hour < mark.0 {
                *days.entry(Timestamp(at).day_start().0).or_default() += moved;
            }
        }
        at = hour + HOUR_MS;
    }
    for (day, moved) in days {
        shift(RollupTable::Day, day, moved)?;
    }
    Ok(())
}
