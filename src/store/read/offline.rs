//! Reads for the command line while the daemon may be running: a consistent copy of the whole
//! database (`watchpost backup`) and one check's results, days and incidents over a period
//! (`watchpost export`). Read-only connections only: a WAL reader never blocks the writer, and
//! the writer never blocks it. Never writes to the database.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use super::incidents::incidents_where;
use super::rollups::slug_days;
use super::{Reader, all};
use crate::clock::Timestamp;
use crate::store::fold;
use crate::store::rows::evidence_row;
use crate::store::schema::VERSION;
use crate::store::{Error, Evidence, IncidentRow};
use crate::uptime::Rollup;

/// What a finished backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backup {
    /// The copy's size in bytes.
    pub bytes: u64,
    /// Its schema version (`PRAGMA user_version`).
    pub schema: i64,
}

impl Reader {
    /// A reader of an existing watchpost database, without creating or migrating anything;
    /// refuses a missing file and one written by a newer watchpost. Blocking: call it outside
    /// the async runtime.
    pub fn open_existing(path: &Path) -> Result<Reader, Error> {
        if !path.is_file() {
            return Err(Error::Refused(format!(
                "no database at {}: check [storage] path in the config",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > VERSION {
            return Err(Error::TooNew {
                found,
                supported: VERSION,
            });
        }
        if found == 0 {
            return Err(Error::Refused(format!(
                "{} is not a watchpost database (schema version 0)",
                path.display()
            )));
        }
        give_to_owner(path);
        Ok(Reader::new(path))
    }

    /// Writes a consistent copy of the database to `to`, a file that must not exist yet, with
    /// `VACUUM INTO` on a read-only connection (the copy is one read transaction's view, compacted),
    /// then syncs it to disk and checks it with `PRAGMA integrity_check`.
    pub async fn backup(&self, to: PathBuf) -> Result<Backup, Error> {
        let target = to
            .to_str()
            .ok_or_else(|| Error::Refused(format!("{} is not valid UTF-8", to.display())))?
            .to_string();
        if to.exists() {
            return Err(Error::Refused(format!(
                "{} exists: back up to a new file",
                to.display()
            )));
        }
        self.with(move |c| {
            c.execute("VACUUM INTO ?1", [&target])?;
            let io = |source| Error::File {
                path: target.clone(),
                source,
            };
            let file = std::fs::File::open(&to).map_err(io)?;
            file.sync_all().map_err(io)?;
            let bytes = file.metadata().map_err(io)?.len();
            let copy = Connection::open_with_flags(&to, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let verdict: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if verdict != "ok" {
                return Err(Error::Refused(format!(
                    "the copy at {target} fails its integrity check: {verdict}"
                )));
            }
            let schema = copy.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok(Backup { bytes, schema })
        })
        .await
    }

    /// A check's raw results in `[from, to)`, oldest first (only those still kept: see `keep_raw`).
    pub async fn results_between(
        &self,
        slug: String,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Evidence>, Error> {
        self.with(move |c| {
            all(
                c,
                "SELECT at, status, latency_us, code, reason, message FROM results
                 WHERE check_id = (SELECT id FROM checks WHERE slug = ?1) AND at >= ?2 AND at < ?3
                 ORDER BY at",
                params![slug, from.0, to.0],
                evidence_row,
            )
        })
        .await
    }

    /// A check's daily rollups whose day starts in `[from, to)`, oldest first.
    pub async fn days_between(
        &self,
        slug: String,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, Rollup)>, Error> {
        self.with(move |c| {
            // One snapshot for the fold mark and the rows it says how to add up.
            let tx = c.unchecked_transaction()?;
            let mark = fold::mark(&tx)?;
            let days = slug_days(c, &slug, mark, &(from..to))?;
            tx.commit()?;
            let mut days: Vec<(Timestamp, Rollup)> = days.into_iter().collect();
            days.sort_unstable_by_key(|(start, _)| *start);
            Ok(days)
        })
        .await
    }

    /// The incidents that affected a check at some time in `[from, to)`, false alarms included,
    /// oldest first.
    pub async fn incidents_between_of(
        &self,
        slug: String,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<IncidentRow>, Error> {
        self.with(move |c| {
            incidents_where(
                c,
                "WHERE (k.slug = ?1 OR EXISTS (SELECT 1 FROM incident_checks c
                     WHERE c.incident_id = i.id AND c.check_slug = ?1))
                 AND i.started_at < ?3 AND (i.resolved_at IS NULL OR i.resolved_at >= ?2)
                 ORDER BY i.started_at, i.id",
                params![slug, from.0, to.0],
            )
        })
        .await
    }
}

/// A read-only connection creates the database's `-wal` and `-shm` files when they are missing,
/// owned by whoever runs the command: root, for a backup of the packaged daemon's database, and
/// then the daemon's own user could no longer open them. They are given to the database file's
/// owner; when that is not allowed, a warning says what to fix.
fn give_to_owner(db: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(owner) = std::fs::metadata(db) else {
        return;
    };
    for suffix in ["-wal", "-shm"] {
        let mut file = db.as_os_str().to_owned();
        file.push(suffix);
        let file = PathBuf::from(file);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if (meta.uid(), meta.gid()) == (owner.uid(), owner.gid()) {
            continue;
        }
        if let Err(e) = std::os::unix::fs::chown(&file, Some(owner.uid()), Some(owner.gid())) {
            tracing::warn!(
                "{}: {e}; give it to the owner of {} (uid {}) before the daemon next starts",
                file.display(),
                db.display(),
                owner.uid()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_backup_is_a_checked_copy_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("watchpost.db");
        let store = tokio::task::spawn_blocking({
            let db = db.clone();
            move || Store::open(&db)
        })
        .await
        .unwrap()
        .unwrap();
        let reader = Reader::open_existing(&db).unwrap();
        let to = dir.path().join("copy.db");
        let made = reader.backup(to.clone()).await.unwrap();
        assert_eq!(made.schema, VERSION);
        assert_eq!(made.bytes, std::fs::metadata(&to).unwrap().len());
        let again = reader.backup(to.clone()).await.unwrap_err();
        assert!(again.to_string().contains("exists"), "{again}");
        drop(reader);
        tokio::task::spawn_blocking(move || store.close())
            .await
            .unwrap();
        let missing = Reader::open_existing(&dir.path().join("none.db")).err();
        assert!(missing.is_some_and(|e| e.to_string().contains("no database at")));
    }

    /// A backup run as root of a database the daemon's own user owns leaves that user able to
    /// open the `-wal` and `-shm` files the read created.
    #[tokio::test]
    async fn files_a_read_creates_belong_to_the_database_owner() {
        use std::os::unix::fs::MetadataExt;
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("watchpost.db");
        let store = Store::open(&db).unwrap();
        store.close();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("watchpost.db{suffix}")));
        }
        let nobody = 65534;
        std::os::unix::fs::chown(&db, Some(nobody), Some(nobody)).unwrap();
        let reader = Reader::open_existing(&db).unwrap();
        reader.backup(dir.path().join("copy.db")).await.unwrap();
        for suffix in ["-wal", "-shm"] {
            let file = dir.path().join(format!("watchpost.db{suffix}"));
            let meta = std::fs::metadata(&file).unwrap();
            assert_eq!(
                (meta.uid(), meta.gid()),
                (nobody, nobody),
                "{}",
                file.display()
            );
        }
    }
}
