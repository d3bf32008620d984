//! The answers of the writer's batch: each write someone waits for gets one once the batch's
//! commit succeeded or failed. It never writes or reads the database.

use tokio::sync::oneshot;

use super::retention::Pruned;
use super::{CheckRow, Error, outbox, subscribers};

/// A reply to send once the batch's fate is known.
pub(super) enum Reply {
    Checks(oneshot::Sender<Result<Vec<CheckRow>, Error>>, Vec<CheckRow>),
    Opened(oneshot::Sender<Result<i64, Error>>, i64),
    Resolved(oneshot::Sender<Result<(), Error>>),
    Pruned(oneshot::Sender<Result<Pruned, Error>>, Pruned),
    Vacuumed(oneshot::Sender<Result<i64, Error>>, i64),
    Noticed(oneshot::Sender<Result<bool, Error>>, bool),
    Flushed(oneshot::Sender<()>),
    Outbox(outbox::Answer),
    Subscribers(subscribers::Answer),
}

impl Reply {
    pub(super) fn send(self, committed: Result<(), String>) {
        let fail = |e: &String| Error::Batch(e.clone());
        // A receiver that went away no longer cares; nothing to do.
        match self {
            Reply::Checks(tx, rows) => {
                drop(tx.send(committed.as_ref().map(|_| rows).map_err(fail)))
            }
            Reply::Opened(tx, id) => drop(tx.send(committed.as_ref().map(|_| id).map_err(fail))),
            Reply::Resolved(tx) => drop(tx.send(committed.as_ref().map(|_| ()).map_err(fail))),
            Reply::Pruned(tx, n) => drop(tx.send(committed.as_ref().map(|_| n).map_err(fail))),
            Reply::Noticed(tx, new) => drop(tx.send(committed.as_ref().map(|_| new).map_err(fail))),
            Reply::Vacuumed(tx, n) => drop(tx.send(committed.as_ref().map(|_| n).map_err(fail))),
            Reply::Flushed(tx) => drop(tx.send(())),
            Reply::Outbox(answer) => answer.send(committed.as_ref().map(|_| ())),
            Reply::Subscribers(answer) => answer.send(committed.as_ref().map(|_| ())),
        }
    }
}
