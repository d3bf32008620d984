//! Reads of the notification outbox for metrics and the admin area: how much is waiting and for
//! how long, each destination's last attempt and dead letters, and the delivery log. Never
//! writes; the writer owns every change to the outbox.

use super::{Reader, all};
use crate::clock::Timestamp;
use crate::store::Error;

/// What the outbox holds that is not yet delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows pending, reminders not yet due included.
    pub pending: u64,
    /// When the oldest row that is already due was written.
    pub oldest_due: Option<Timestamp>,
}

impl Reader {
    /// The outbox's backlog as of `now`.
    pub async fn outbox_backlog(&self, now: Timestamp) -> Result<Backlog, Error> {
        self.with(move |c| {
            Ok(c.prepare_cached(
                "SELECT count(*), min(CASE WHEN due_at <= ?1 THEN created_at END)
                 FROM outbox WHERE state = 'pending'",
            )?
            .query_row([now.0], |r| {
                Ok(Backlog {
                    pending: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    oldest_due: r.get::<_, Option<i64>>(1)?.map(Timestamp),
                })
            })?)
        })
        .await
    }
}

/// One destination's outbox, as the admin area shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaneSummary {
    pub destination: String,
    pub pending: u64,
    /// When the oldest pending row was written (reminders not yet due included).
    pub oldest_pending: Option<Timestamp>,
    pub dead: u64,
    /// The latest attempt: when, and the row's state and error since.
    pub last_attempt: Option<(Timestamp, String, Option<String>)>,
}

/// One outbox row, as the delivery log shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub destination: String,
    /// The event's name (`incident.opened`, …).
    pub kind: String,
    /// The message as JSON.
    pub payload: String,
    pub attempts: u32,
    /// `pending`, `delivered`, `dead` or `cancelled`.
    pub state: String,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub attempted_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

impl Reader {
    /// Every destination that has rows in the outbox, by name.
    pub async fn lane_summaries(&self) -> Result<Vec<LaneSummary>, Error> {
        self.with(|c| {
            all(
                c,
                "SELECT destination,
                     count(CASE WHEN state = 'pending' THEN 1 END),
                     min(CASE WHEN state = 'pending' THEN created_at END),
                     count(CASE WHEN state = 'dead' THEN 1 END),
                     (SELECT attempted_at || ' ' || state || coalesce(' ' || last_error, '')
                      FROM outbox l WHERE l.destination = o.destination
                        AND l.attempted_at IS NOT NULL
                      ORDER BY l.attempted_at DESC, l.id DESC LIMIT 1)
                 FROM outbox o GROUP BY destination ORDER BY destination",
                [],
                |r| {
                    let last: Option<String> = r.get(4)?;
                    Ok(LaneSummary {
                        destination: r.get(0)?,
                        pending: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        oldest_pending: r.get::<_, Option<i64>>(2)?.map(Timestamp),
                        dead: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        last_attempt: last.as_deref().and_then(attempt),
                    })
                },
            )
        })
        .await
    }

    /// At most `limit` outbox rows, newest first, skipping the `skip` newest.
    pub async fn deliveries(&self, limit: usize, skip: usize) -> Result<Vec<DeliveryRow>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let skip = i64::try_from(skip).unwrap_or(i64::MAX);
        self.with(move |c| {
            all(
                c,
                "SELECT id, destination, kind, payload, attempts, state, last_error, created_at,
                     attempted_at, delivered_at
                 FROM outbox ORDER BY id DESC LIMIT ?1 OFFSET ?2",
                (limit, skip),
                |r| {
                    Ok(DeliveryRow {
                        id: r.get(0)?,
                        destination: r.get(1)?,
                        kind: r.get(2)?,
                        payload: r.get(3)?,
                        attempts: u32::try_from(r.get::<_, i64>(4)?).unwrap_or(u32::MAX),
                        state: r.get(5)?,
                        last_error: r.get(6)?,
                        created_at: Timestamp(r.get(7)?),
                        attempted_at: r.get::<_, Option<i64>>(8)?.map(Timestamp),
                        delivered_at: r.get::<_, Option<i64>>(9)?.map(Timestamp),
                    })
                },
            )
        })
        .await
    }
}

/// `"{at} {state}[ {error}]"` back into its parts.
fn attempt(text: &str) -> Option<(Timestamp, String, Option<String>)> {
    let (at, rest) = text.split_once(' ')?;
    let (state, error) = match rest.split_once(' ') {
        Some((s, e)) => (s, Some(e.to_string())),
        None => (rest, None),
    };
    Some((Timestamp(at.parse().ok()?), state.to_string(), error))
}
