//! Whether the database can be written, and the probe results held in memory meanwhile: set
//! from the writer's health at each scrape. Decides nothing.

use prometheus::{IntCounter, IntGauge, Registry};

/// The store's health series.
pub(super) struct StoreSeries {
    writable: IntGauge,
    held: IntGauge,
    dropped: IntCounter,
}

impl StoreSeries {
    pub(super) fn register(registry: &Registry) -> Result<StoreSeries, prometheus::Error> {
        let s = StoreSeries {
            writable: IntGauge::new(
                "watchpost_store_writable",
                "Whether the last write to the database committed (1) or the storage failed (0)",
            )?,
            held: IntGauge::new(
                "watchpost_store_held_writes",
                "Writes held in memory until the database can be written again",
            )?,
            dropped: IntCounter::new(
                "watchpost_store_dropped_writes_total",
                "Writes dropped, oldest first, because the memory queue for an unwritable database was full",
            )?,
        };
        registry.register(Box::new(s.writable.clone()))?;
        registry.register(Box::new(s.held.clone()))?;
        registry.register(Box::new(s.dropped.clone()))?;
        s.writable.set(1);
        Ok(s)
    }

    pub(super) fn set(&self, writable: bool, held: u64, dropped: u64) {
        self.writable.set(i64::from(writable));
        self.held.set(i64::try_from(held).unwrap_or(i64::MAX));
        self.dropped
            .inc_by(dropped.saturating_sub(self.dropped.get()));
    }
}
