//! Whether the database can be written, as the writer thread found it, and the probe results it
//! holds in memory meanwhile: a bounded queue, oldest dropped (and counted) past its size; and
//! whether the full check run after start found the file damaged.
//!
//! The writer and that check alone change this state; `/healthz`, the admin banner and the
//! metrics read it. It never touches SQLite.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use super::Error;
use crate::clock::Timestamp;

/// Writes held in memory while the database cannot be written; past this the oldest is dropped.
/// At 1,000 checks every 60 s that is some 50 minutes of probes (a result and its span each);
/// a held result is its probe's outcome, whose texts are capped excerpts.
pub const HELD_MAX: usize = 100_000;

/// Why the database cannot be written, since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub since: Timestamp,
    pub error: String,
}

/// The writer's health, shared: cheap to clone.
#[derive(Clone, Default)]
pub struct Health(Arc<Inner>);

#[derive(Default)]
struct Inner {
    fault: Mutex<Option<Fault>>,
    damage: Mutex<Option<Fault>>,
    held: AtomicU64,
    dropped: AtomicU64,
}

impl Health {
    /// The fault in force, `None` while writes commit.
    pub fn fault(&self) -> Option<Fault> {
        self.0
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The damage the full check after start found in the database file; it stays until restart.
    pub fn damage(&self) -> Option<Fault> {
        self.0
            .damage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records what the full check after start found wrong with the file.
    pub(super) fn damaged(&self, error: &Error) {
        *self.0.damage.lock().unwrap_or_else(PoisonError::into_inner) = Some(Fault {
            since: Timestamp::now(),
            error: error.to_string(),
        });
    }

    /// Writes held in memory, waiting for the database.
    pub fn held(&self) -> u64 {
        self.0.held.load(Ordering::Relaxed)
    }

    /// Writes dropped since start because the memory queue was full.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Records a failed commit; answers whether the database was healthy until now.
    pub(super) fn failed(&self, error: &Error) -> bool {
        let mut fault = self.0.fault.lock().unwrap_or_else(PoisonError::into_inner);
        let first = fault.is_none();
        let since = fault.as_ref().map_or_else(Timestamp::now, |f| f.since);
        *fault = Some(Fault {
            since,
            error: error.to_string(),
        });
        first
    }

    /// Records a commit; answers the fault that ended with it, if any.
    pub(super) fn committed(&self) -> Option<Fault> {
        self.0
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Whether a failed commit is a fault of the storage that may go away by itself (disk full, a
/// file too big, a read-only or vanished file, an I/O error, a lock held too long), so the
/// batch's writes are worth holding and retrying.
pub(super) fn is_storage_fault(e: &Error) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            C::DiskFull
                | C::ReadOnly
                | C::CannotOpen
                | C::SystemIoFailure
                | C::DatabaseBusy
                | C::DatabaseLocked
                | C::PermissionDenied
        ),
        _ => false,
    }
}

/// Writes waiting for the database, oldest first, at most [`HELD_MAX`].
pub(super) struct Held<W> {
    writes: VecDeque<W>,
}

impl<W> Default for Held<W> {
    fn default() -> Held<W> {
        Held {
            writes: VecDeque::new(),
        }
    }
}

impl<W> Held<W> {
    pub(super) fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Holds `w`; when full, drops the oldest write and counts it.
    pub(super) fn push(&mut self, w: W, health: &Health) {
        if self.writes.len() >= HELD_MAX {
            self.writes.pop_front();
            health.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.writes.push_back(w);
        health
            .0
            .held
            .store(self.writes.len() as u64, Ordering::Relaxed);
    }

    /// Everything held, oldest first, leaving the queue empty.
    pub(super) fn take(&mut self, health: &Health) -> Vec<W> {
        health.0.held.store(0, Ordering::Relaxed);
        self.writes.drain(..).collect()
    }
}

/// How long the writer waits between two tries while the storage fails.
pub(super) const RETRY: std::time::Duration = std::time::Duration::from_secs(1);
/// Tries for the held writes once every sender is gone (at shutdown).
pub(super) const FINAL_TRIES: u32 = 3;

/// Takes writes from `rx` into `held` for `wait`; answers whether the queue is still open.
pub(super) fn hold_for<W>(
    rx: &mut mpsc::Receiver<W>,
    held: &mut Held<W>,
    health: &Health,
    wait: std::time::Duration,
) -> bool {
    let until = std::time::Instant::now() + wait;
    loop {
        match rx.try_recv() {
            Ok(w) => held.push(w, health),
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
            Err(mpsc::error::TryRecvError::Empty) => {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return true;
                }
                std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
            }
        }
    }
}
