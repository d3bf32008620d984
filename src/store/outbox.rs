//! The notification outbox, on the writer thread: rows written from the events of each committed
//! batch (routed by `notify::route`, in the same transaction), claimed under a lease one
//! destination at a time in id order, and finished as delivered, to retry, or dead.
//!
//! Owns the outbox table's SQL and the idempotency keys. It never sends anything and never
//! decides whether a delivery failed: the worker says so.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, params};
use tokio::sync::oneshot;

use super::Error;
use crate::clock::Timestamp;
use crate::event::Event;
use crate::model::{CheckId, Impact};
use crate::notify::message::What;
use crate::notify::route::{self, FirstFailure, IncidentFacts, Outgoing, Routing};

/// Rows sent as one message at most; more wait for the next.
const MAX_BATCH: i64 = 50;

/// A write to the outbox, answered after its commit.
pub enum OutboxWrite {
    /// Sets the destinations events are routed to and dead-letters rows for destinations no
    /// longer configured; at start, also frees every lease. Answers how many rows were
    /// dead-lettered.
    Route {
        routing: Arc<Routing>,
        when: Routed,
        reply: oneshot::Sender<Result<usize, Error>>,
    },
    /// Claims the next rows of one destination.
    Claim {
        lane: Lane,
        reply: oneshot::Sender<Result<Claim, Error>>,
    },
    /// Records what became of claimed rows.
    Finish {
        ids: Vec<i64>,
        now: Timestamp,
        outcome: Finish,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

/// When routing is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routed {
    /// The daemon starts: one node, so whoever held a lease is gone.
    Start,
    /// The config was reloaded: the running lanes keep their leases.
    Reload,
}

/// One destination's turn to claim.
#[derive(Clone, Debug)]
pub struct Lane {
    pub destination: String,
    pub now: Timestamp,
    /// How long the claimed rows are ours before another worker may take them.
    pub lease: Duration,
    /// New rows wait this long after the first became due, to go out together.
    pub group_window: Duration,
}

/// What a claim found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Rows to deliver now, as one message, in id order. The same rows come back until they
    /// are finished, so a retry (or a restart) sends the same message again.
    Batch(Vec<OutboxRow>),
    /// Nothing to do before this instant (a retry, a grouping window, a reminder, a lease).
    Wait(Timestamp),
    /// Nothing pending at all.
    Idle,
}

/// A claimed row.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    /// `{event}:{incident or window}:{n}:{destination}`, unique.
    pub key: String,
    /// The [`Message`](crate::notify::Message) as JSON.
    pub payload: String,
    pub created_at: Timestamp,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What became of a delivery.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    Delivered,
    /// Failed; try again at `at`.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Failed for the last time.
    Dead {
        error: String,
    },
}

/// An answer to send once the batch's fate is known.
pub(super) enum Answer {
    Routed(oneshot::Sender<Result<usize, Error>>, usize),
    Claimed(oneshot::Sender<Result<Claim, Error>>, Claim),
    Finished(oneshot::Sender<Result<(), Error>>),
}

impl Answer {
    pub(super) fn send(self, committed: Result<(), &String>) {
        let fail = |e: &String| Error::Batch(e.clone());
        // A receiver that went away no longer cares.
        match self {
            Answer::Routed(tx, n) => drop(tx.send(committed.map(|_| n).map_err(fail))),
            Answer::Claimed(tx, c) => drop(tx.send(committed.map(|_| c).map_err(fail))),
            Answer::Finished(tx) => drop(tx.send(committed.map_err(fail))),
        }
    }
}

/// The writer's outbox state: where events go.
#[derive(Default)]
pub(super) struct Outbox {
    routing: Option<Arc<Routing>>,
}

impl Outbox {
    pub(super) fn apply(&mut self, tx: &Transaction, w: OutboxWrite) -> Result<Answer, Error> {
        Ok(match w {
            OutboxWrite::Route {
                routing,
                when,
                reply,
            } => {
                if when == Routed::Start {
                    tx.execute(
                        "UPDATE outbox SET lease_until = NULL
                         WHERE state = 'pending' AND lease_until IS NOT NULL",
                        [],
                    )?;
                }
                let n = set_routing(tx, &routing)?;
                self.routing = Some(routing);
                Answer::Routed(reply, n)
            }
            OutboxWrite::Claim { lane, reply } => Answer::Claimed(reply, claim(tx, &lane)?),
            OutboxWrite::Finish {
                ids,
                now,
                outcome,
                reply,
            } => {
                finish(tx, self.routing.as_deref(), &ids, now, &outcome)?;
                Answer::Finished(reply)
            }
        })
    }

    /// Writes the rows `happened` makes, in the transaction that commits them.
    pub(super) fn enqueue(
        &self,
        tx: &Transaction,
        happened: &[Event],
        now: Timestamp,
    ) -> Result<(), Error> {
        let Some(routing) = self.routing.as_deref() else {
            return Ok(());
        };
        for event in happened {
            let incident = route::incident_of(event);
            let facts = incident.map(|id| facts(tx, id)).transpose()?.flatten();
            for row in route::route(routing, event, facts.as_ref(), now) {
                insert(tx, &row, now)?;
            }
            if let Some(audience) = routing.public()
                && let Some(row) = super::subscribers::route(tx, audience, event, now)?
            {
                insert(tx, &row, now)?;
            }
            if let (Some(id), Some(f)) = (incident, &facts)
                && f.resolved
            {
                tx.execute(
                    "UPDATE outbox SET state = 'cancelled', lease_until = NULL
                     WHERE subject = ?1 AND kind = ?2 AND state = 'pending'",
                    params![id.to_string(), What::Reminder.as_str()],
                )?;
            }
        }
        Ok(())
    }
}

fn set_routing(tx: &Transaction, routing: &Routing) -> Result<usize, Error> {
    let names: Vec<&str> = routing.names().collect();
    let names = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
    let reminding: Vec<&str> = routing
        .names()
        .filter(|n| routing.remind_every(n).is_some())
        .collect();
    let reminding = serde_json::to_string(&reminding).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "UPDATE outbox SET state = 'cancelled'
         WHERE state = 'pending' AND kind = ?1 AND batch IS NULL
           AND destination NOT IN (SELECT value FROM json_each(?2))",
        params![What::Reminder.as_str(), reminding],
    )?;
    let dead = tx.execute(
        "UPDATE outbox SET state = 'dead', last_error = 'the destination is no longer configured'
         WHERE state = 'pending' AND destination NOT IN (SELECT value FROM json_each(?1))",
        [names],
    )?;
    if dead > 0 {
        tracing::warn!(
            rows = dead,
            "notifications for destinations no longer configured were dead-lettered"
        );
    }
    Ok(dead)
}

/// Writes one row with the next number for its event, subject and destination.
fn insert(tx: &Transaction, o: &Outgoing, now: Timestamp) -> Result<(), Error> {
    let n: i64 = tx
        .prepare_cached(
            "SELECT coalesce(max(n), 0) + 1 FROM outbox
             WHERE subject = ?1 AND kind = ?2 AND destination = ?3",
        )?
        .query_row(params![o.subject, o.kind, o.destination], |r| r.get(0))?;
    let key = format!("{}:{}:{n}:{}", o.kind, o.subject, o.destination);
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (key, destination, kind, subject, n, payload, created_at, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        key,
        o.destination,
        o.kind,
        o.subject,
        n,
        o.payload,
        now.0,
        o.due.0
    ])?;
    Ok(())
}

/// What routing needs to know of incident `id`, read in the transaction that changed it.
fn facts(tx: &Transaction, id: i64) -> Result<Option<IncidentFacts>, Error> {
    let found = tx
        .prepare_cached(
            "SELECT i.title, i.severity, i.started_at, i.resolved_at, c.slug
             FROM incidents i LEFT JOIN checks c ON c.id = i.check_id WHERE i.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    let Some((title, severity, started, resolved, slug)) = found else {
        return Ok(None);
    };
    let slugs = super::rows::incident_slugs(tx, id, slug)?;
    let first_failure = tx
        .prepare_cached(
            "SELECT at, code, latency_us, message FROM incident_evidence
             WHERE incident_id = ?1 ORDER BY at LIMIT 1",
        )?
        .query_row([id], |r| {
            Ok(FirstFailure {
                at: Timestamp(r.get(0)?),
                code: r.get(1)?,
                latency: Duration::from_micros(u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0)),
                message: r.get(3)?,
            })
        })
        .optional()?;
    Ok(Some(IncidentFacts {
        title,
        impact: Impact::parse(&severity).unwrap_or(Impact::Major),
        checks: slugs.iter().filter_map(|s| CheckId::new(s).ok()).collect(),
        started_at: Timestamp(started),
        resolved: resolved.is_some(),
        first_failure,
    }))
}

/// The head of the lane: the oldest pending row that is due, being retried, or already claimed.
/// Later rows wait behind it, so a destination hears of things in the order they happened.
fn claim(tx: &Transaction, lane: &Lane) -> Result<Claim, Error> {
    let now = lane.now.0;
    let head = tx
        .prepare_cached(
            "SELECT id, due_at, batch, lease_until FROM outbox
             WHERE destination = ?1 AND state = 'pending'
               AND (due_at <= ?2 OR attempts > 0 OR batch IS NOT NULL)
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![lane.destination, now], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    let Some((head, due, batch, lease)) = head else {
        let next: Option<i64> = tx
            .prepare_cached(
                "SELECT min(due_at) FROM outbox WHERE destination = ?1 AND state = 'pending'",
            )?
            .query_row([&lane.destination], |r| r.get(0))?;
        return Ok(next.map_or(Claim::Idle, |t| Claim::Wait(Timestamp(t))));
    };
    if let Some(until) = lease.filter(|&l| l > now) {
        return Ok(Claim::Wait(Timestamp(until)));
    }
    if due > now {
        return Ok(Claim::Wait(Timestamp(due)));
    }
    let batch = match batch {
        Some(b) => b,
        None => {
            let ready = Timestamp(due).plus(lane.group_window);
            if ready.0 > now {
                return Ok(Claim::Wait(ready));
            }
            tx.prepare_cached(
                "UPDATE outbox SET batch = ?2 WHERE id IN (
                     SELECT id FROM outbox
                     WHERE destination = ?1 AND state = 'pending' AND batch IS NULL AND due_at <= ?3
                     ORDER BY id LIMIT ?4)",
            )?
            .execute(params![lane.destination, head, now, MAX_BATCH])?;
            head
        }
    };
    let until = lane.now.plus(lane.lease).0;
    tx.prepare_cached("UPDATE outbox SET lease_until = ?2 WHERE batch = ?1 AND state = 'pending'")?
        .execute(params![batch, until])?;
    let mut stmt = tx.prepare_cached(
        "SELECT id, key, payload, created_at, attempts FROM outbox
         WHERE batch = ?1 AND state = 'pending' ORDER BY id",
    )?;
    let rows = stmt
        .query_map([batch], |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                key: r.get(1)?,
                payload: r.get(2)?,
                created_at: Timestamp(r.get(3)?),
                attempts: u32::try_from(r.get::<_, i64>(4)?).unwrap_or(u32::MAX),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Claim::Batch(rows))
}

fn finish(
    tx: &Transaction,
    routing: Option<&Routing>,
    ids: &[i64],
    now: Timestamp,
    outcome: &Finish,
) -> Result<(), Error> {
    for &id in ids {
        let changed = match outcome {
            Finish::Delivered => tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'delivered', delivered_at = ?2, attempts = attempts + 1,
                         lease_until = NULL, last_error = NULL, attempted_at = ?2
                     WHERE id = ?1 AND state = 'pending'",
                )?
                .execute(params![id, now.0])?,
            Finish::Retry { error, at } => tx
                .prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, due_at = ?3,
                         lease_until = NULL, attempted_at = ?4
                     WHERE id = ?1 AND state = 'pending'",
                )?
                .execute(params![id, error, at.0, now.0])?,
            Finish::Dead { error } => tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2,
                         lease_until = NULL, attempted_at = ?3
                     WHERE id = ?1 AND state = 'pending'",
                )?
                .execute(params![id, error, now.0])?,
        };
        if changed == 1
            && *outcome == Finish::Delivered
            && let Some(routing) = routing
        {
            remind_again(tx, routing, id, now)?;
        }
    }
    Ok(())
}

/// After reminder row `id` was delivered, schedules the next one while its incident is open.
fn remind_again(tx: &Transaction, routing: &Routing, id: i64, now: Timestamp) -> Result<(), Error> {
    let row = tx
        .prepare_cached(
            "SELECT destination, subject, n, payload FROM outbox WHERE id = ?1 AND kind = ?2",
        )?
        .query_row(params![id, What::Reminder.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    let Some((destination, subject, n, payload)) = row else {
        return Ok(());
    };
    let Some(every) = routing.remind_every(&destination) else {
        return Ok(());
    };
    let open: bool = tx
        .prepare_cached("SELECT resolved_at IS NULL FROM incidents WHERE id = ?1")?
        .query_row([subject.parse::<i64>().unwrap_or(-1)], |r| r.get(0))
        .optional()?
        .unwrap_or(false);
    if !open {
        return Ok(());
    }
    let next = u32::try_from(n + 1).unwrap_or(u32::MAX);
    let row = Outgoing {
        destination,
        kind: What::Reminder.as_str(),
        subject,
        payload,
        due: now.plus(route::reminder_gap(every, next)),
    };
    insert(tx, &row, now)
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
