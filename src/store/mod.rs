//! Storage: the only module with SQL. One writer thread owns the write connection and commits in
//! batches; readers use their own read-only connections off the async runtime.
//!
//! The API is narrow and typed (rows in, rows out) so that a PostgreSQL backend can sit behind it
//! without touching probes, the state machine or the web layer.

mod admin;
mod cache;
mod certs;
mod current;
mod deliveries;
mod fold;
mod gather;
mod health;
mod inserts;
mod outbox;
mod prune;
mod read;
mod replies;
mod retention;
mod rows;
mod schema;
mod stale;
mod subscribers;
mod watch;
mod writer;

use std::path::Path;

use crate::clock::Timestamp;
use crate::probe::{Reason, Status};

pub use admin::{AdminWrite, Audit, IncidentEdit, MaintenanceEdit};
pub use certs::CertNotice;
pub use health::{Fault, HELD_MAX, Health};
pub use inserts::IncidentOpen;
pub use outbox::{Claim, Finish, Lane, OutboxRow, OutboxWrite, Routed};
pub use read::{
    Backlog, Backup, DeliveryRow, LaneSummary, Reader, Recipient, RollupRead, ScopeCount,
    SubscriberCounts, SubscriberRow,
};
pub use retention::Pruned;
pub use schema::VERSION as SCHEMA_VERSION;
pub use subscribers::{Subscribed, SubscriberWrite, Subscription};
pub use writer::{Announce, Write, Writer};

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the database has schema version {found}, newer than this watchpost supports ({supported})"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("the write was not committed: {0}")]
    Batch(String),
    #[error("no such record")]
    NotFound,
    #[error("{0}")]
    Refused(String),
    #[error("the storage writer has stopped")]
    WriterGone,
    #[error("reading the database: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the database {path} is damaged ({detail}). Stop watchpost, move the file aside, and copy \
         your latest backup (made with `watchpost backup PATH`) in its place; or move it aside \
         alone to start with an empty database"
    )]
    Corrupt { path: String, detail: String },
    #[error("creating {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// An open database: the writer handle, a reader, and the writer and checking threads to end
/// at shutdown.
pub struct Store {
    pub writer: Writer,
    pub reader: Reader,
    thread: std::thread::JoinHandle<()>,
    check: Option<Checking>,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `path`, and starts the writer.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut conn = rusqlite::Connection::open(path)?;
        schema::check_start(&conn, path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        let (writer, thread) = writer::spawn(conn);
        let check = check_in_background(path, writer.health().clone());
        Ok(Store {
            reader: Reader::sharing(path, writer.stale.clone(), writer.current.clone()),
            writer,
            thread,
            check,
        })
    }

    /// Waits for the writer to commit everything queued; every `Writer` clone must be dropped
    /// first, or this waits for them. A full check still running is stopped first, so that the
    /// writer's connection is the last one and its close checkpoints the WAL into the file.
    pub fn close(self) {
        if let Some(check) = self.check {
            check.stop();
        }
        drop(self.writer);
        if self.thread.join().is_err() {
            tracing::error!("the storage writer thread panicked");
        }
    }
}

/// The full check's thread, and how to interrupt its connection.
struct Checking {
    thread: std::thread::JoinHandle<()>,
    /// `None` until its connection is open; `stopped` once the store closes.
    interrupt: std::sync::Arc<std::sync::Mutex<Stop>>,
}

#[derive(Default)]
struct Stop {
    stopped: bool,
    handle: Option<rusqlite::InterruptHandle>,
}

impl Checking {
    /// Interrupts the check and waits for its thread, which then holds no connection.
    fn stop(self) {
        if let Ok(mut stop) = self.interrupt.lock() {
            stop.stopped = true;
            if let Some(handle) = &stop.handle {
                handle.interrupt();
            }
        }
        if self.thread.join().is_err() {
            tracing::error!("the database's checking thread panicked");
        }
    }
}

/// Reads every page of the file once (`PRAGMA quick_check`) on a thread of its own, after the
/// cheap check at start: damage found is logged and reported in `health` (`/healthz`).
fn check_in_background(path: &Path, health: Health) -> Option<Checking> {
    let path = path.to_path_buf();
    let interrupt = std::sync::Arc::new(std::sync::Mutex::new(Stop::default()));
    let shared = interrupt.clone();
    let spawned = std::thread::Builder::new()
        .name("watchpost-check".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let checked = rusqlite::Connection::open_with_flags(&path, flags)
                .map_err(Error::from)
                .and_then(|conn| {
                    let Ok(mut stop) = shared.lock() else {
                        return Ok(());
                    };
                    if stop.stopped {
                        return Ok(());
                    }
                    stop.handle = Some(conn.get_interrupt_handle());
                    drop(stop);
                    conn.busy_timeout(std::time::Duration::from_secs(5))?;
                    schema::check_whole(&conn, &path)
                });
            match checked {
                Ok(()) => {
                    tracing::debug!(took = ?started.elapsed(), "the database's pages all read back");
                }
                Err(e @ Error::Corrupt { .. }) => {
                    tracing::error!(error = %crate::logline::escaped(&e), "the full check after start found damage");
                    health.damaged(&e);
                }
                Err(Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)))
                    if f.code == rusqlite::ErrorCode::OperationInterrupted =>
                {
                    tracing::debug!("the full check was stopped by the shutdown");
                }
                Err(e) => {
                    tracing::warn!(error = %crate::logline::escaped(&e), "the database could not be checked whole");
                }
            }
        });
    match spawned {
        Ok(thread) => Some(Checking { thread, interrupt }),
        Err(e) => {
            tracing::warn!(error = %e, "the database is not checked whole: no thread for it");
            None
        }
    }
}

/// A check as the store knows it: the config's slug mapped to a row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub group: String,
    pub kind: String,
    pub active: bool,
}

/// What the store needs to know of a configured check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckMeta {
    pub slug: String,
    pub name: String,
    pub group: String,
    pub kind: String,
}

pub use crate::model::Impact as Severity;

/// An incident row.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRow {
    pub id: i64,
    /// The check's slug, for automatic incidents.
    pub check: Option<String>,
    pub auto: bool,
    pub severity: Severity,
    pub title: String,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// The affected checks' slugs: the check of an automatic incident, or those an admin chose.
    pub checks: Vec<String>,
    /// The status of the latest timeline entry.
    pub status: crate::model::IncidentStatus,
    pub cause: Option<String>,
    pub postmortem: Option<String>,
    /// An admin keeps it open (in monitoring) after the probes recovered.
    pub hold: bool,
    /// Marked a false alarm: hidden from the public and not counted as an outage.
    pub false_alarm: bool,
}

/// A one-off maintenance window with its history, for the feeds.
#[derive(Clone, Debug)]
pub struct Planned {
    pub window: crate::maintenance::Window,
    pub cancelled: bool,
    pub created: Timestamp,
    /// The last edit or cancellation; `created` when there was none.
    pub updated: Timestamp,
}

/// An admin session, found by the hash of its cookie token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub user: String,
    pub csrf: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// A probe result as stored: a raw result, or one kept as evidence of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub at: Timestamp,
    pub status: Status,
    pub latency_us: i64,
    pub code: Option<u16>,
    pub reason: Option<Reason>,
    pub message: Option<String>,
}

/// One entry of an incident's timeline; `author` is `None` for watchpost's own entries.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRow {
    pub id: i64,
    pub at: Timestamp,
    pub status: crate::model::IncidentStatus,
    pub body: String,
    pub author: Option<String>,
}

/// An incident with everything its page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentDetail {
    pub incident: IncidentRow,
    pub evidence: Vec<Evidence>,
    pub updates: Vec<UpdateRow>,
}

/// An incident with its timeline (newest entry first), as feeds and the Statuspage API list them.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentTimeline {
    pub incident: IncidentRow,
    pub updates: Vec<UpdateRow>,
}

/// Which incidents to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentFilter {
    /// All of them, newest first.
    All,
    /// Those not yet resolved, newest first.
    Open,
}

/// The times the Statuspage API derives `created_at` and `updated_at` from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageTimes {
    /// Every check ever configured, by slug.
    pub checks: std::collections::HashMap<String, CheckTimes>,
    /// The newest entry on any incident's timeline.
    pub last_update: Option<Timestamp>,
}

/// When a check was first configured, and when its state last changed as far as incidents tell
/// (the latest start or end of one of its incidents; its creation when it never had one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckTimes {
    pub created: Timestamp,
    pub changed: Timestamp,
}
