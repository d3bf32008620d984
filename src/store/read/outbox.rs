//! Reads of the notification outbox for metrics: how much is waiting and for how long. Never
//! writes; the writer owns every change to the outbox.

use super::Reader;
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
