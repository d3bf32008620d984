//! Public email subscribers on the writer thread: subscribing (double opt-in: a pending row with
//! the hash of a confirmation token that expires), confirming, unsubscribing, deleting by
//! address; the outbox row subscriber mail gets from a committed event (or the cancellation of
//! its undelivered rows at a false alarm); and the fan-out cursor the lane advances after each
//! mail a server accepted.
//!
//! Owns the subscribers table's writes (the writer's methods for them are in `writes`). Only
//! hashes of tokens reach it; it never sends mail, never sees a token and never decides who
//! hears of what: `notify::public` does.

use rusqlite::{OptionalExtension, Transaction, params};
use tokio::sync::oneshot;

use super::Error;
use crate::clock::Timestamp;
use crate::event::Event;
use crate::model::{CheckId, Impact};
use crate::notify::public::{self, Audience, PublicFacts, Scope};
use crate::notify::route::Outgoing;

/// A change to subscribers, answered after its commit.
pub enum SubscriberWrite {
    Subscribe {
        request: Subscription,
        reply: oneshot::Sender<Result<Subscribed, Error>>,
    },
    /// Confirms the subscription (or the change of scope) whose token hashes to `confirm_hash`;
    /// answers the scope now in force, or `None` for an unknown, used or expired token.
    Confirm {
        confirm_hash: String,
        now: Timestamp,
        reply: oneshot::Sender<Result<Option<Scope>, Error>>,
    },
    /// Deletes the subscriber whose unsubscribe token hashes to this; answers whether one was.
    Unsubscribe {
        unsubscribe_hash: String,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// Deletes the subscriber with this address (any case); answers whether one was.
    Delete {
        address: String,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// Records that every subscriber up to `after` has had the claimed rows `rows` (cancelled
    /// ones too: the cursor says who got what); answers which of them are still to deliver (a
    /// false alarm cancels its rows mid-way).
    Advance {
        rows: Vec<i64>,
        after: i64,
        lease_until: Timestamp,
        reply: oneshot::Sender<Result<Vec<i64>, Error>>,
    },
    /// The key unsubscribe tokens are derived from: `candidate` if there was none yet.
    Key {
        candidate: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, Error>>,
    },
}

/// A request to subscribe, with the hashes of the tokens made for it.
#[derive(Clone, Debug)]
pub struct Subscription {
    pub address: String,
    pub scope: Scope,
    pub confirm_hash: String,
    /// For a new subscriber: the hash of its unsubscribe token, derived from the address and
    /// `now`, which becomes its `created_at`.
    pub unsubscribe_hash: String,
    pub now: Timestamp,
    /// When the confirmation token stops working.
    pub expires: Timestamp,
}

/// What a request to subscribe found, and so which mail to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Subscribed {
    /// New or not yet confirmed: the confirmation token was stored; send it.
    Confirm,
    /// Already confirmed for this scope: nothing stored; say how to manage it.
    Already { created_at: Timestamp },
    /// Confirmed for `current`: the new scope waits for its confirmation token.
    Change {
        current: Scope,
        created_at: Timestamp,
    },
}

/// An answer to send once the batch's fate is known.
pub(super) enum Answer {
    Subscribed(oneshot::Sender<Result<Subscribed, Error>>, Subscribed),
    Confirmed(oneshot::Sender<Result<Option<Scope>, Error>>, Option<Scope>),
    Deleted(oneshot::Sender<Result<bool, Error>>, bool),
    Advanced(oneshot::Sender<Result<Vec<i64>, Error>>, Vec<i64>),
    Key(oneshot::Sender<Result<Vec<u8>, Error>>, Vec<u8>),
}

impl Answer {
    pub(super) fn send(self, committed: Result<(), &String>) {
        let fail = |e: &String| Error::Batch(e.clone());
        // A receiver that went away no longer cares.
        match self {
            Answer::Subscribed(tx, v) => drop(tx.send(committed.map(|_| v).map_err(fail))),
            Answer::Confirmed(tx, v) => drop(tx.send(committed.map(|_| v).map_err(fail))),
            Answer::Deleted(tx, v) => drop(tx.send(committed.map(|_| v).map_err(fail))),
            Answer::Advanced(tx, v) => drop(tx.send(committed.map(|_| v).map_err(fail))),
            Answer::Key(tx, v) => drop(tx.send(committed.map(|_| v).map_err(fail))),
        }
    }
}

pub(super) fn apply(tx: &Transaction, w: SubscriberWrite) -> Result<Answer, Error> {
    Ok(match w {
        SubscriberWrite::Subscribe { request, reply } => {
            Answer::Subscribed(reply, subscribe(tx, &request)?)
        }
        SubscriberWrite::Confirm {
            confirm_hash,
            now,
            reply,
        } => Answer::Confirmed(reply, confirm(tx, &confirm_hash, now)?),
        SubscriberWrite::Unsubscribe {
            unsubscribe_hash,
            reply,
        } => {
            let n = tx.execute(
                "DELETE FROM subscribers WHERE unsubscribe_hash = ?1",
                [unsubscribe_hash],
            )?;
            Answer::Deleted(reply, n > 0)
        }
        SubscriberWrite::Delete { address, reply } => {
            let n = tx.execute("DELETE FROM subscribers WHERE address = ?1", [address])?;
            Answer::Deleted(reply, n > 0)
        }
        SubscriberWrite::Advance {
            rows,
            after,
            lease_until,
            reply,
        } => Answer::Advanced(reply, advance(tx, &rows, after, lease_until)?),
        SubscriberWrite::Key { candidate, reply } => {
            tx.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES ('unsubscribe', ?1)",
                [candidate],
            )?;
            let key = tx.query_row(
                "SELECT value FROM secrets WHERE name = 'unsubscribe'",
                [],
                |r| r.get(0),
            )?;
            Answer::Key(reply, key)
        }
    })
}

/// Deletes the requests to subscribe whose confirmation expired before `now`: an address
/// nobody confirmed is not kept.
pub(super) fn prune(tx: &Transaction, now: Timestamp) -> Result<usize, Error> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM subscribers WHERE confirmed_at IS NULL AND confirm_expires < ?1",
        )?
        .execute([now.0])?)
}

fn subscribe(tx: &Transaction, s: &Subscription) -> Result<Subscribed, Error> {
    prune(tx, s.now)?;
    let scope = s.scope.to_stored();
    let found = tx
        .prepare_cached(
            "SELECT id, scope, confirmed_at IS NOT NULL, created_at FROM subscribers
             WHERE address = ?1",
        )?
        .query_row([&s.address], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let Some((id, current, confirmed, created)) = found else {
        tx.prepare_cached(
            "INSERT INTO subscribers (address, scope, confirm_hash, confirm_expires,
                 unsubscribe_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            s.address,
            scope,
            s.confirm_hash,
            s.expires.0,
            s.unsubscribe_hash,
            s.now.0
        ])?;
        return Ok(Subscribed::Confirm);
    };
    if !confirmed {
        // A new token replaces the one sent before; the scope is the latest asked for.
        tx.prepare_cached(
            "UPDATE subscribers SET scope = ?2, confirm_hash = ?3, confirm_expires = ?4
             WHERE id = ?1",
        )?
        .execute(params![id, scope, s.confirm_hash, s.expires.0])?;
        return Ok(Subscribed::Confirm);
    }
    let created_at = Timestamp(created);
    let current = Scope::from_stored(&current).unwrap_or_default();
    if current == s.scope {
        return Ok(Subscribed::Already { created_at });
    }
    tx.prepare_cached(
        "UPDATE subscribers SET pending_scope = ?2, confirm_hash = ?3, confirm_expires = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, scope, s.confirm_hash, s.expires.0])?;
    Ok(Subscribed::Change {
        current,
        created_at,
    })
}

fn confirm(tx: &Transaction, hash: &str, now: Timestamp) -> Result<Option<Scope>, Error> {
    let found = tx
        .prepare_cached(
            "SELECT id, coalesce(pending_scope, scope) FROM subscribers
             WHERE confirm_hash = ?1 AND confirm_expires >= ?2",
        )?
        .query_row(params![hash, now.0], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    let Some((id, scope)) = found else {
        return Ok(None);
    };
    tx.prepare_cached(
        "UPDATE subscribers SET scope = ?2, pending_scope = NULL, confirm_hash = NULL,
             confirm_expires = NULL, confirmed_at = coalesce(confirmed_at, ?3)
         WHERE id = ?1",
    )?
    .execute(params![id, scope, now.0])?;
    Ok(Scope::from_stored(&scope))
}

fn advance(
    tx: &Transaction,
    rows: &[i64],
    after: i64,
    lease_until: Timestamp,
) -> Result<Vec<i64>, Error> {
    let ids = serde_json::to_string(rows).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "UPDATE outbox SET fanout_after = max(fanout_after, ?2),
             lease_until = CASE WHEN state = 'pending'
                 THEN max(coalesce(lease_until, 0), ?3) ELSE lease_until END
         WHERE id IN (SELECT value FROM json_each(?1))",
    )?
    .execute(params![ids, after, lease_until.0])?;
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM outbox WHERE id IN (SELECT value FROM json_each(?1))
             AND state = 'pending' ORDER BY id",
    )?;
    let pending = stmt
        .query_map([ids], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(pending)
}

/// The subscriber row `event` makes (none for what the public does not hear of); a false
/// alarm cancels the undelivered rows of its incident instead.
pub(super) fn route(
    tx: &Transaction,
    audience: &Audience,
    event: &Event,
    now: Timestamp,
) -> Result<Option<Outgoing>, Error> {
    if let Event::FalseAlarm {
        id,
        false_alarm: true,
        ..
    } = event
    {
        let n = tx
            .prepare_cached(
                "UPDATE outbox SET state = 'cancelled', lease_until = NULL
                 WHERE destination = ?1 AND subject = ?2 AND state = 'pending'",
            )?
            .execute(params![public::DESTINATION, id.to_string()])?;
        if n > 0 {
            tracing::info!(
                incident = id,
                rows = n,
                "subscriber mail of a false alarm cancelled"
            );
        }
        return Ok(None);
    }
    let facts = match crate::notify::route::incident_of(event) {
        Some(id) => facts(tx, id)?,
        None => None,
    };
    let row = public::route(audience, event, facts.as_ref(), now);
    Ok(row.map(|r| Outgoing {
        destination: public::DESTINATION.into(),
        kind: r.kind,
        subject: r.subject,
        payload: r.payload,
        due: now,
    }))
}

/// What the public may know of incident `id`, read in the transaction that changed it.
fn facts(tx: &Transaction, id: i64) -> Result<Option<PublicFacts>, Error> {
    let found = tx
        .prepare_cached(
            "SELECT i.title, i.severity, i.started_at, i.false_alarm, c.slug
             FROM incidents i LEFT JOIN checks c ON c.id = i.check_id WHERE i.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    let Some((title, severity, started, false_alarm, slug)) = found else {
        return Ok(None);
    };
    let slugs = super::rows::incident_slugs(tx, id, slug)?;
    Ok(Some(PublicFacts {
        title,
        impact: Impact::parse(&severity).unwrap_or(Impact::Major),
        checks: slugs.iter().filter_map(|s| CheckId::new(s).ok()).collect(),
        started_at: Timestamp(started),
        false_alarm,
    }))
}

mod writes;

#[cfg(test)]
mod tests;
