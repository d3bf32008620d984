//! `Writer::prune`: retention driven from the async side, one small step per write, so probe
//! results queued meanwhile commit between two steps and a prune of millions of rows never
//! stalls the writer. The steps themselves are `retention.rs`; this file holds no SQL.

use super::Error;
use super::retention::Pruned;
use super::writer::{Write, Writer};
use crate::clock::Timestamp;

/// Raw results deleted in one go when pruning, and the pause between two goes.
const PRUNE_BATCH: usize = 5_000;
const PRUNE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);
/// Free pages given back to the file system in one go after a prune (4 MiB at 4 KiB pages).
const VACUUM_STEP: i64 = 1024;

impl Writer {
    /// Deletes raw results older than `before`, hourly rollups older than `hours_before` and old
    /// outbox rows, in batches of [`PRUNE_BATCH`] with the writes queued meanwhile between them,
    /// then gives the freed pages back in steps of [`VACUUM_STEP`]; answers how many rows went.
    pub async fn prune(&self, before: Timestamp, hours_before: Timestamp) -> Result<Pruned, Error> {
        let mut total = Pruned::default();
        loop {
            let n = self
                .ask(|reply| Write::Prune {
                    before,
                    hours_before,
                    limit: PRUNE_BATCH,
                    reply,
                })
                .await??;
            total.results += n.results;
            total.hours += n.hours;
            total.outbox += n.outbox;
            if n.results < PRUNE_BATCH && n.hours < PRUNE_BATCH && n.outbox < PRUNE_BATCH {
                break;
            }
            // Let the probe results queued meanwhile go first: a prune of millions of rows is
            // many small deletes between result batches, never one long stall.
            tokio::time::sleep(PRUNE_PAUSE).await;
        }
        while self
            .ask(|reply| Write::Vacuum {
                pages: VACUUM_STEP,
                reply,
            })
            .await??
            > 0
        {
            tokio::time::sleep(PRUNE_PAUSE).await;
        }
        Ok(total)
    }
}
