//! Every series watchpost exports, and the text exposition of `/metrics`.
//!
//! Per-check series (`checks.rs`) use blackbox_exporter's names, types and help so its
//! dashboards and alerts work unchanged, plus `watchpost_*` series for states, uptime and
//! counts; they are one small row per check, written by hand at scrape time. The daemon-wide
//! series (reloads, notifications, schedule lag, the store's queue and commits) use the
//! `prometheus` crate; process series come from `/proc` (`process.rs`). Nothing here decides
//! anything.

mod checks;
mod labels;
mod process;
mod rows;
mod store;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::config::Check;
use crate::model::CheckId;
use crate::monitor::State;
use crate::probe::{Outcome, Reason};

/// A queue's current length, read at scrape time without keeping the queue alive.
pub type Depth = Box<dyn Fn() -> usize + Send + Sync>;

/// Every metric watchpost exports.
pub struct Metrics {
    registry: Registry,
    checks: Mutex<checks::Table>,
    sources: Mutex<Sources>,
    incidents_open: IntGauge,
    reload_ok: IntGauge,
    reload_at: Gauge,
    schedule_lag: Histogram,
    store_batch: Histogram,
    store_commit: Histogram,
    notifications: Notifications,
    store: store::StoreSeries,
}

/// Checks per piece of a family: about 100 KB of text, and the table's lock held for that long.
const ROWS_PER_PIECE: usize = 512;

/// The `/metrics` text, one piece at a time (see [`Metrics::exposition`]).
pub struct Exposition {
    head: Option<String>,
    metrics: Arc<Metrics>,
    cursor: Cursor,
}

impl Iterator for Exposition {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if let Some(head) = self.head.take() {
            return Some(head);
        }
        let mut out = String::new();
        self.cursor
            .write_next(&self.metrics, &mut out)
            .then_some(out)
    }
}

/// Where the per-check text resumes: a family of [`checks::FAMILIES`] (the sources and the
/// process after the last), and the check after which its rows go on.
#[derive(Default)]
struct Cursor {
    family: usize,
    after: Option<CheckId>,
}

impl Cursor {
    /// Appends the next piece; false once everything was written. The table's lock is held for
    /// one piece, so the recorder waits at most that long.
    fn write_next(&mut self, metrics: &Metrics, out: &mut String) -> bool {
        match checks::FAMILIES.get(self.family) {
            Some(family) => {
                self.after =
                    metrics
                        .table()
                        .write(family, self.after.as_ref(), ROWS_PER_PIECE, out);
                if self.after.is_none() {
                    self.family += 1;
                }
                true
            }
            None if self.family == checks::FAMILIES.len() => {
                metrics.write_sources(out);
                process::write(out);
                self.family += 1;
                true
            }
            None => false,
        }
    }
}

/// What is read at scrape time: queue lengths and the database files.
#[derive(Default)]
struct Sources {
    recorder_queue: Option<Depth>,
    store_queue: Option<Depth>,
    database: Option<PathBuf>,
}

/// The outbox's series: deliveries by destination and result, and the backlog.
struct Notifications {
    total: IntCounterVec,
    pending: IntGauge,
    oldest: Gauge,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let build = IntGaugeVec::new(
            Opts::new(
                "watchpost_build_info",
                "A metric with a constant '1' value labeled by the version of watchpost",
            ),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        registry.register(Box::new(build))?;
        let m = Metrics {
            checks: Mutex::new(checks::Table::default()),
            sources: Mutex::new(Sources::default()),
            incidents_open: IntGauge::new(
                "watchpost_incidents_open",
                "Incidents currently open, declared or automatic",
            )?,
            reload_ok: IntGauge::new(
                "watchpost_config_last_reload_successful",
                "Whether the last config load or reload succeeded (1) or was refused (0)",
            )?,
            reload_at: Gauge::new(
                "watchpost_config_last_reload_success_timestamp_seconds",
                "When the config in force was loaded, in Unix seconds",
            )?,
            schedule_lag: Histogram::with_opts(
                HistogramOpts::new(
                    "watchpost_schedule_lag_seconds",
                    "How late each probe started against its slot in the check's interval",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )?,
            store_batch: Histogram::with_opts(
                HistogramOpts::new(
                    "watchpost_store_batch_writes",
                    "Writes committed together in one transaction of the store's writer",
                )
                .buckets(vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
                ]),
            )?,
            store_commit: Histogram::with_opts(
                HistogramOpts::new(
                    "watchpost_store_commit_seconds",
                    "Time the store's writer took to apply and commit one batch",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                ]),
            )?,
            notifications: Notifications {
                total: IntCounterVec::new(
                    Opts::new(
                        "watchpost_notifications_total",
                        "Notifications by destination and result (delivered, failed attempt, dead-lettered)",
                    ),
                    &["destination", "result"],
                )?,
                pending: IntGauge::new(
                    "watchpost_outbox_pending",
                    "Notifications in the outbox not yet delivered (reminders not yet due included)",
                )?,
                oldest: Gauge::new(
                    "watchpost_outbox_oldest_seconds",
                    "Age of the oldest notification that is due and not yet delivered",
                )?,
            },
            store: store::StoreSeries::register(&registry)?,
            registry,
        };
        m.registry.register(Box::new(m.incidents_open.clone()))?;
        m.registry.register(Box::new(m.schedule_lag.clone()))?;
        m.registry.register(Box::new(m.store_batch.clone()))?;
        m.registry.register(Box::new(m.store_commit.clone()))?;
        m.registry.register(Box::new(m.reload_ok.clone()))?;
        m.registry.register(Box::new(m.reload_at.clone()))?;
        m.registry
            .register(Box::new(m.notifications.total.clone()))?;
        m.registry
            .register(Box::new(m.notifications.pending.clone()))?;
        m.registry
            .register(Box::new(m.notifications.oldest.clone()))?;
        m.reloaded(true, crate::clock::Timestamp::now());
        Ok(m)
    }

    /// Sets the store's series from the writer's health (read at each scrape).
    pub fn set_store(&self, writable: bool, held: u64, dropped: u64) {
        self.store.set(writable, held, dropped);
    }

    fn table(&self) -> std::sync::MutexGuard<'_, checks::Table> {
        // A panic while holding the lock leaves plain numbers behind: still worth serving.
        self.checks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one probe of `check`.
    pub fn observe(&self, check: &Check, o: &Outcome) {
        self.table().observe(check, o);
    }

    /// Counts a probe of `check` whose result was skipped as no data.
    pub fn skipped(&self, check: &Check, reason: Reason) {
        self.table().skipped(check, reason);
    }

    /// Sets the one-hot state series of `check` (and takes its group, which a reload may change).
    pub fn set_state(&self, check: &Check, state: State) {
        self.table().set_state(check, state);
    }

    /// Sets the uptime of `check` over `window`; a window without data has no series.
    pub fn set_uptime(&self, check: &Check, window: &str, ratio: Option<f64>) {
        self.table().set_uptime(check, window, ratio);
    }

    /// Removes every series of `check`, which the config no longer has (or probes differently).
    pub fn forget(&self, check: &Check) {
        self.table().forget(check);
    }

    /// The number of checks with series, for tests and benchmarks.
    pub fn checks(&self) -> usize {
        self.table().len()
    }

    /// The histogram of probe start lateness, for the scheduler to observe into.
    pub fn schedule_lag(&self) -> Histogram {
        self.schedule_lag.clone()
    }

    /// Records a batch of `writes` the store's writer committed in `took`.
    pub fn store_committed(&self, writes: usize, took: Duration) {
        // The time first: whoever sees a batch counted sees its commit time too.
        self.store_commit.observe(took.as_secs_f64());
        self.store_batch.observe(writes as f64);
    }

    /// Reads the recorder's and the store's queue lengths at each scrape.
    pub fn watch_queues(&self, recorder: Depth, store: Depth) {
        let mut s = self.sources();
        s.recorder_queue = Some(recorder);
        s.store_queue = Some(store);
    }

    /// Reports the size of the database at `path` (its WAL included) at each scrape.
    pub fn watch_database(&self, path: PathBuf) {
        self.sources().database = Some(path);
    }

    /// Records a config load or reload at `at`: a refused one leaves the success time as it was.
    pub fn reloaded(&self, ok: bool, at: crate::clock::Timestamp) {
        self.reload_ok.set(i64::from(ok));
        if ok {
            self.reload_at.set(at.0 as f64 / 1000.0);
        }
    }

    pub fn set_incidents_open(&self, n: usize) {
        self.incidents_open
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Counts `n` notifications to `destination` with `result` (delivered, failed or dead).
    pub fn count_notifications(&self, destination: &str, result: &str, n: u64) {
        self.notifications
            .total
            .with_label_values(&[destination, result])
            .inc_by(n);
    }

    /// Sets the outbox backlog: rows pending and the age of the oldest due one.
    pub fn set_outbox(&self, pending: u64, oldest_seconds: f64) {
        let n = &self.notifications;
        n.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        n.oldest.set(oldest_seconds);
    }

    /// The Prometheus text exposition (format 0.0.4), whole: for tests and benchmarks; `/metrics`
    /// sends [`Metrics::exposition`]'s pieces instead.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = self.head()?;
        let mut cursor = Cursor::default();
        while cursor.write_next(self, &mut out) {}
        Ok(out)
    }

    /// The same text as [`Metrics::render`] in pieces of at most [`ROWS_PER_PIECE`] checks of
    /// one family, each written when it is taken, so a scrape of 10,000 checks never holds its
    /// tens of megabytes at once. The registry's series are gathered now: an error is known
    /// before anything is sent.
    pub fn exposition(self: &Arc<Self>) -> Result<Exposition, prometheus::Error> {
        Ok(Exposition {
            head: Some(self.head()?),
            metrics: Arc::clone(self),
            cursor: Cursor::default(),
        })
    }

    /// The daemon-wide series of the registry: the first piece.
    fn head(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    fn write_sources(&self, out: &mut String) {
        use std::fmt::Write as _;
        let s = self.sources();
        let mut gauge = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        if let Some(depth) = &s.recorder_queue {
            gauge(
                "watchpost_recorder_queue_length",
                "Probe outcomes waiting for the recorder",
                depth() as u64,
            );
        }
        if let Some(depth) = &s.store_queue {
            gauge(
                "watchpost_store_queue_length",
                "Writes waiting for the store's writer",
                depth() as u64,
            );
        }
        if let Some(path) = &s.database {
            let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
            let mut wal = path.clone().into_os_string();
            wal.push("-wal");
            gauge(
                "watchpost_database_size_bytes",
                "Size of the SQLite database file and its write-ahead log",
                size(path) + size(std::path::Path::new(&wal)),
            );
        }
    }
}
