//! How the writer gathers a batch: probe writes nobody waits for linger for more, so a commit
//! (and its WAL frames) carries many; a write someone waits for ends the gathering. Never writes
//! to the database.

use tokio::sync::mpsc;

/// Most writes committed in one transaction: the more results of a check one commit takes, the
/// fewer times its leaf pages are written.
pub(super) const BATCH: usize = 16384;
/// How long probe writes nobody waits for may gather before their commit: one commit (and its
/// WAL frames) per this, not one per result; a `kill -9` loses at most this much of them.
const LINGER: std::time::Duration = std::time::Duration::from_millis(200);
/// How often the queue is looked at while a batch gathers: a write someone waits for waits
/// at most this much longer. Parking until a sender wakes the thread instead measured 0.160-0.173
/// against 0.113-0.124 ms of daemon CPU per probe at 10,000 checks (BENCHMARKS.md, session 7).
const GATHER_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Adds what is queued to `batch` and, while all of it may linger (`may_linger`), what comes for up to
/// [`LINGER`]; stops within [`GATHER_POLL`] for a write someone waits for, a full batch or the
/// senders' going.
pub(super) fn gather<W>(
    rx: &mut mpsc::Receiver<W>,
    batch: &mut Vec<W>,
    may_linger: impl Fn(&W) -> bool,
) {
    let until = std::time::Instant::now() + LINGER;
    let mut lingering = batch.iter().all(&may_linger);
    loop {
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(w) => {
                    lingering &= may_linger(&w);
                    batch.push(w);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if !lingering || batch.len() >= BATCH || left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(GATHER_POLL));
    }
}
