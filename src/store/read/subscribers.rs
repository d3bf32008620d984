//! Reads of public email subscribers: the next confirmed ones for the fan-out, how far claimed
//! outbox rows were fanned out, the counts for the admin area and every row for the export.
//! Never writes; the writer owns every change to subscribers.

use super::{Reader, all};
use crate::clock::Timestamp;
use crate::notify::public::Scope;
use crate::store::Error;

/// A confirmed subscriber, as the fan-out needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipient {
    pub id: i64,
    pub address: String,
    /// `None` when the stored scope cannot be read: then nothing is sent to it.
    pub scope: Option<Scope>,
    pub created_at: Timestamp,
    pub confirmed_at: Timestamp,
}

/// A subscriber as exported: confirmed or still waiting for confirmation.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriberRow {
    pub address: String,
    /// As stored: `all` or the chosen checks and groups as JSON.
    pub scope: String,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

/// How many subscribers there are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubscriberCounts {
    pub confirmed: u64,
    /// Asked, not (yet) confirmed, and not expired.
    pub pending: u64,
}

/// Subscribers with one stored scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeCount {
    /// `None` when the stored scope cannot be read.
    pub scope: Option<Scope>,
    pub confirmed: u64,
    /// Asked, not (yet) confirmed, and not expired.
    pub pending: u64,
}

impl Reader {
    /// Subscribers counted by the scope they chose (awaiting confirmation: the scope they asked
    /// for), most first.
    pub async fn subscriber_scopes(&self, now: Timestamp) -> Result<Vec<ScopeCount>, Error> {
        self.with(move |c| {
            all(
                c,
                "SELECT CASE WHEN confirmed_at IS NULL THEN coalesce(pending_scope, scope) ELSE scope END AS s, count(confirmed_at),
                     count(CASE WHEN confirmed_at IS NULL AND confirm_expires >= ?1 THEN 1 END)
                 FROM subscribers GROUP BY s ORDER BY count(*) DESC, s",
                [now.0],
                |r| {
                    Ok(ScopeCount {
                        scope: Scope::from_stored(&r.get::<_, String>(0)?),
                        confirmed: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        pending: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    })
                },
            )
        })
        .await
    }

    /// At most `limit` subscribers after id `after`, in id order, confirmed by `confirmed_by`.
    pub async fn recipients(
        &self,
        after: i64,
        confirmed_by: Timestamp,
        limit: usize,
    ) -> Result<Vec<Recipient>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |c| {
            all(
                c,
                "SELECT id, address, scope, created_at, confirmed_at FROM subscribers
                 WHERE id > ?1 AND confirmed_at IS NOT NULL AND confirmed_at <= ?2
                 ORDER BY id LIMIT ?3",
                (after, confirmed_by.0, limit),
                |r| {
                    Ok(Recipient {
                        id: r.get(0)?,
                        address: r.get(1)?,
                        scope: Scope::from_stored(&r.get::<_, String>(2)?),
                        created_at: Timestamp(r.get(3)?),
                        confirmed_at: Timestamp(r.get(4)?),
                    })
                },
            )
        })
        .await
    }

    /// The last subscriber id every one of the outbox rows `ids` was fanned out to.
    pub async fn fanout_after(&self, ids: Vec<i64>) -> Result<i64, Error> {
        let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        self.with(move |c| {
            Ok(c.prepare_cached(
                "SELECT coalesce(min(fanout_after), 0) FROM outbox
                 WHERE id IN (SELECT value FROM json_each(?1))",
            )?
            .query_row([ids], |r| r.get(0))?)
        })
        .await
    }

    /// Confirmed subscribers, and those still to confirm before `now`.
    pub async fn subscriber_counts(&self, now: Timestamp) -> Result<SubscriberCounts, Error> {
        self.with(move |c| {
            Ok(c.prepare_cached(
                "SELECT count(confirmed_at),
                     count(CASE WHEN confirmed_at IS NULL AND confirm_expires >= ?1 THEN 1 END)
                 FROM subscribers",
            )?
            .query_row([now.0], |r| {
                Ok(SubscriberCounts {
                    confirmed: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    pending: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                })
            })?)
        })
        .await
    }

    /// Every subscriber, in the order they subscribed.
    pub async fn subscribers(&self) -> Result<Vec<SubscriberRow>, Error> {
        self.with(|c| {
            all(
                c,
                "SELECT address, scope, created_at, confirmed_at FROM subscribers ORDER BY id",
                [],
                |r| {
                    Ok(SubscriberRow {
                        address: r.get(0)?,
                        scope: r.get(1)?,
                        created_at: Timestamp(r.get(2)?),
                        confirmed_at: r.get::<_, Option<i64>>(3)?.map(Timestamp),
                    })
                },
            )
        })
        .await
    }
}
