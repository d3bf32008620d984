//! Reads for the web, the history refresher and start-up, on read-only connections kept in a
//! small pool and used from `spawn_blocking`, never on the async runtime. Never writes.
//!
//! This file owns the [`Reader`] and its pool; the queries are split by what they read:
//! incidents, rollups and results, maintenance windows, the admin area's sessions and audit,
//! the notification outbox's backlog, and public subscribers.

mod admin;
mod incidents;
mod maintenance;
mod offline;
mod outbox;
mod rollups;
mod subscribers;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, Params, Row};

use super::current::CurrentRollups;
use super::stale::StaleRollups;
use super::{CheckRow, Error, rows};

pub use offline::Backup;
pub use outbox::{Backlog, DeliveryRow, LaneSummary};
pub use rollups::RollupRead;
pub use subscribers::{Recipient, ScopeCount, SubscriberCounts, SubscriberRow};

/// Idle read connections kept for reuse.
const POOL: usize = 4;
/// Each read connection's page cache, in KiB (SQLite's default is 2 MB): enough for the
/// B-trees' interior pages; the leaves a refresh walks are read once and would only stay
/// resident, up to [`POOL`] times over.
const CACHE_KIB: i64 = 512;

/// A handle for reads; cheap to clone.
#[derive(Clone)]
pub struct Reader {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Idle connections; the lock is held only to take or return one, never across a query.
    idle: Mutex<Vec<Connection>>,
    /// The writer's note of checks with past rollups rewritten; its own, never filled, when
    /// opened without this process's writer.
    stale: Arc<StaleRollups>,
    /// The writer's newest committed rollup times per check; empty without this process's writer.
    current: Arc<CurrentRollups>,
}

impl Reader {
    pub(in crate::store) fn new(path: &Path) -> Reader {
        Reader::sharing(path, Arc::default(), Arc::default())
    }

    /// A reader that hears from this process's writer which checks' past rollups it rewrote.
    pub(in crate::store) fn sharing(
        path: &Path,
        stale: Arc<StaleRollups>,
        current: Arc<CurrentRollups>,
    ) -> Reader {
        Reader {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                stale,
                current,
            }),
        }
    }

    /// The checks (by row id) whose rollups of an hour or day already past were written since
    /// the last call: a cached reading of their past is out of date.
    pub fn take_stale_rollups(&self) -> HashSet<i64> {
        self.inner.stale.take()
    }

    /// Runs `f` on a pooled read-only connection on the blocking thread pool.
    async fn with<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    c.busy_timeout(std::time::Duration::from_secs(5))?;
                    c.execute_batch(&format!("PRAGMA cache_size = -{CACHE_KIB};"))?;
                    c
                }
            };
            let result = f(&conn);
            let mut idle = inner.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < POOL {
                idle.push(conn);
            }
            result
        })
        .await?
    }

    /// Every check ever configured, active or not.
    pub async fn checks(&self) -> Result<Vec<CheckRow>, Error> {
        self.with(rows::checks).await
    }
}

/// Runs a cached query and maps every row it answers.
fn all<T>(
    c: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, Error> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params, map)?.collect::<Result<_, _>>()?;
    Ok(rows)
}
