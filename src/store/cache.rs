//! The write connection's page cache size: small while writes come at a monitor's pace, large
//! while a backlog is written. Never reads or writes rows.
//!
//! At a monitor's pace (a batch per linger, a few hundred results of thousands of checks) each
//! result lands on leaves of its own check that no cache of a few MB holds until its next result,
//! so a large cache is only resident memory. A backlog (results held while the disk was full, a
//! burst of thousands a second) comes in big batches of fewer checks, where a large cache keeps
//! the leaves one batch wrote for the next instead of reading them back.

use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The cache at a monitor's pace, in KiB: the B-trees' interior pages and a batch's own leaves.
pub(super) const SMALL_KIB: i64 = 4096;
/// The cache while a backlog is written, in KiB.
const LARGE_KIB: i64 = 16384;
/// A batch of at least this many writes is a backlog: a linger gathers this many only when
/// writes come at 20,000 a second or more.
const BACKLOG: usize = 4096;
/// How long the cache stays large after the last backlog batch, so a backlog that comes in
/// waves does not drop the pages it will write again.
const KEEP: Duration = Duration::from_secs(10);

/// Which cache size the writer's connection has, and when it last saw a backlog.
#[derive(Default)]
pub(super) struct PageCache {
    last_backlog: Option<Instant>,
    large: bool,
}

impl PageCache {
    /// Sizes the cache for a batch of `writes` about to be committed at `now`. A size that could
    /// not be set only costs memory or speed: it is logged and the batch goes on.
    pub(super) fn fit(&mut self, conn: &Connection, writes: usize, now: Instant) {
        if let Some(kib) = self.size_for(writes, now)
            && let Err(e) = conn.execute_batch(&format!("PRAGMA cache_size = -{kib};"))
        {
            tracing::warn!(error = %crate::logline::escaped(&e), kib, "the writer's page cache could not be resized");
        }
    }

    /// The cache size to set before a batch of `writes` at `now`, when it is not the one set.
    fn size_for(&mut self, writes: usize, now: Instant) -> Option<i64> {
        if writes >= BACKLOG {
            self.last_backlog = Some(now);
        }
        let large = self
            .last_backlog
            .is_some_and(|t| now.saturating_duration_since(t) < KEEP);
        if large == self.large {
            return None;
        }
        self.large = large;
        Some(if large { LARGE_KIB } else { SMALL_KIB })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backlog batch makes the cache large; it stays large for batches of any size until
    /// `KEEP` has passed without another, then is small again.
    #[test]
    fn large_while_a_backlog_is_written_small_again_after() {
        let mut cache = PageCache::default();
        let t0 = Instant::now();
        assert_eq!(cache.size_for(200, t0), None);
        assert_eq!(cache.size_for(BACKLOG, t0), Some(LARGE_KIB));
        assert_eq!(cache.size_for(BACKLOG * 2, t0), None);
        assert_eq!(cache.size_for(10, t0 + KEEP / 2), None);
        assert_eq!(cache.size_for(BACKLOG, t0 + KEEP), None);
        assert_eq!(cache.size_for(10, t0 + KEEP * 2 - KEEP / 10), None);
        assert_eq!(cache.size_for(10, t0 + KEEP * 2), Some(SMALL_KIB));
        assert_eq!(cache.size_for(10, t0 + KEEP * 3), None);
    }

    /// The size chosen is the one the connection then has.
    #[test]
    fn fit_sets_the_connections_cache_size() {
        let conn = Connection::open_in_memory().unwrap();
        let size =
            |c: &Connection| -> i64 { c.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap() };
        let mut cache = PageCache::default();
        let t0 = Instant::now();
        cache.fit(&conn, BACKLOG, t0);
        assert_eq!(size(&conn), -LARGE_KIB);
        cache.fit(&conn, 1, t0 + KEEP);
        assert_eq!(size(&conn), -SMALL_KIB);
    }
}
