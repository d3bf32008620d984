//! What the metrics may learn of the writer: its queue's length and each batch's size and
//! commit time. Reading them never keeps the writer alive nor touches the database.

use std::time::Duration;

use super::Writer;

/// Told the writes and the time of each batch the writer commits.
pub(super) type OnCommit = std::sync::OnceLock<Box<dyn Fn(usize, Duration) + Send + Sync>>;

impl Writer {
    /// Calls `hook` with the writes and time of each batch committed from now on (set once).
    pub fn on_commit(&self, hook: Box<dyn Fn(usize, Duration) + Send + Sync>) {
        let _ = self.committed.set(hook);
    }

    /// The number of writes waiting, readable later without keeping the writer alive.
    pub fn depth(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let weak = self.tx.downgrade();
        move || {
            weak.upgrade()
                .map_or(0, |tx| tx.max_capacity() - tx.capacity())
        }
    }
}
