//! The SQLite schema and its forward-only migrations, versioned by `PRAGMA user_version`.

use rusqlite::Connection;

use super::Error;

/// Each entry moves the schema from version `i` to `i + 1`; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: checks, raw results, rollups, incidents with evidence and a shared timeline.
    "
    CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        grp TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        first_seen INTEGER NOT NULL
    );
    CREATE TABLE results (
        check_id INTEGER NOT NULL REFERENCES checks(id),
        at INTEGER NOT NULL,
        status INTEGER NOT NULL,
        latency_us INTEGER NOT NULL,
        code INTEGER,
        reason TEXT,
        message TEXT,
        resolve_us INTEGER,
        connect_us INTEGER,
        tls_us INTEGER,
        processing_us INTEGER,
        transfer_us INTEGER,
        PRIMARY KEY (check_id, at)
    ) WITHOUT ROWID;
    CREATE INDEX results_at ON results(at);
    CREATE TABLE rollup_hour (
        check_id INTEGER NOT NULL REFERENCES checks(id),
        start INTEGER NOT NULL,
        up_ms INTEGER NOT NULL DEFAULT 0,
        degraded_ms INTEGER NOT NULL DEFAULT 0,
        down_ms INTEGER NOT NULL DEFAULT 0,
        maintenance_ms INTEGER NOT NULL DEFAULT 0,
        probes_up INTEGER NOT NULL DEFAULT 0,
        probes_degraded INTEGER NOT NULL DEFAULT 0,
        probes_down INTEGER NOT NULL DEFAULT 0,
        latency_sum_us INTEGER NOT NULL DEFAULT 0,
        latency_max_us INTEGER NOT NULL DEFAULT 0,
        h0 INTEGER NOT NULL DEFAULT 0,
        h1 INTEGER NOT NULL DEFAULT 0,
        h2 INTEGER NOT NULL DEFAULT 0,
        h3 INTEGER NOT NULL DEFAULT 0,
        h4 INTEGER NOT NULL DEFAULT 0,
        h5 INTEGER NOT NULL DEFAULT 0,
        h6 INTEGER NOT NULL DEFAULT 0,
        h7 INTEGER NOT NULL DEFAULT 0,
        h8 INTEGER NOT NULL DEFAULT 0,
        h9 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (check_id, start)
    ) WITHOUT ROWID;
    CREATE TABLE rollup_day (
        check_id INTEGER NOT NULL REFERENCES checks(id),
        start INTEGER NOT NULL,
        up_ms INTEGER NOT NULL DEFAULT 0,
        degraded_ms INTEGER NOT NULL DEFAULT 0,
        down_ms INTEGER NOT NULL DEFAULT 0,
        maintenance_ms INTEGER NOT NULL DEFAULT 0,
        probes_up INTEGER NOT NULL DEFAULT 0,
        probes_degraded INTEGER NOT NULL DEFAULT 0,
        probes_down INTEGER NOT NULL DEFAULT 0,
        latency_sum_us INTEGER NOT NULL DEFAULT 0,
        latency_max_us INTEGER NOT NULL DEFAULT 0,
        h0 INTEGER NOT NULL DEFAULT 0,
        h1 INTEGER NOT NULL DEFAULT 0,
        h2 INTEGER NOT NULL DEFAULT 0,
        h3 INTEGER NOT NULL DEFAULT 0,
        h4 INTEGER NOT NULL DEFAULT 0,
        h5 INTEGER NOT NULL DEFAULT 0,
        h6 INTEGER NOT NULL DEFAULT 0,
        h7 INTEGER NOT NULL DEFAULT 0,
        h8 INTEGER NOT NULL DEFAULT 0,
        h9 INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (check_id, start)
    ) WITHOUT ROWID;
    CREATE INDEX rollup_day_start ON rollup_day(start);
    CREATE INDEX rollup_hour_start ON rollup_hour(start);
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        check_id INTEGER REFERENCES checks(id),
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        resolved_at INTEGER,
        cause TEXT,
        postmortem TEXT,
        false_alarm INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX incidents_started ON incidents(started_at);
    CREATE INDEX incidents_check ON incidents(check_id, started_at);
    CREATE TABLE incident_evidence (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at INTEGER NOT NULL,
        status INTEGER NOT NULL,
        latency_us INTEGER NOT NULL,
        code INTEGER,
        reason TEXT,
        message TEXT
    );
    CREATE INDEX incident_evidence_incident ON incident_evidence(incident_id, at);
    CREATE TABLE incident_updates (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at INTEGER NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL,
        author TEXT
    );
    CREATE INDEX incident_updates_incident ON incident_updates(incident_id, at);
    ",
    // 2: one-off maintenance windows planned by admins.
    "
    CREATE TABLE maintenance (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        cancelled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        created_by TEXT
    );
    CREATE INDEX maintenance_ends ON maintenance(ends_at);
    CREATE TABLE maintenance_checks (
        maintenance_id INTEGER NOT NULL REFERENCES maintenance(id),
        check_slug TEXT NOT NULL,
        PRIMARY KEY (maintenance_id, check_slug)
    ) WITHOUT ROWID;
    ",
    // 3: the admin side: sessions, the audit log, affected checks of manual incidents, holds.
    "
    CREATE TABLE admin_sessions (
        token_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE incident_checks (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        check_slug TEXT NOT NULL,
        PRIMARY KEY (incident_id, check_slug)
    ) WITHOUT ROWID;
    ALTER TABLE incidents ADD COLUMN hold INTEGER NOT NULL DEFAULT 0;
    ",
    // 4: sums of each probe phase, for the stacked response-time chart; latency buckets l0..l39
    // a factor √2 apart (`uptime::FINE_BOUNDS_US`), replacing h0..h9 for new rows; when a
    // maintenance window was last edited or cancelled, for the feeds.
    "
    ALTER TABLE maintenance ADD COLUMN updated_at INTEGER;
    ALTER TABLE rollup_hour ADD COLUMN resolve_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN connect_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN tls_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN processing_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN transfer_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN phased INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN resolve_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN connect_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN tls_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN processing_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN transfer_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN phased INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l0 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l1 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l2 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l3 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l4 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l5 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l6 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l7 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l8 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l9 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l10 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l11 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l12 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l13 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l14 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l15 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l16 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l17 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l18 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l19 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l20 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l21 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l22 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l23 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l24 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l25 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l26 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l27 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l28 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l29 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l30 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l31 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l32 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l33 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l34 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l35 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l36 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l37 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l38 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_hour ADD COLUMN l39 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l0 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l1 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l2 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l3 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l4 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l5 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l6 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l7 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l8 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l9 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l10 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l11 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l12 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l13 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l14 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l15 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l16 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l17 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l18 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l19 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l20 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l21 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l22 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l23 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l24 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l25 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l26 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l27 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l28 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l29 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l30 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l31 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l32 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l33 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l34 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l35 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l36 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l37 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l38 INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE rollup_day ADD COLUMN l39 INTEGER NOT NULL DEFAULT 0;
    ",
    // 5: the notification outbox: one row per event and destination, written in the transaction
    // that commits the event, delivered in id order per destination under a lease.
    "
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        n INTEGER NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        delivered_at INTEGER,
        lease_until INTEGER,
        batch INTEGER
    );
    CREATE INDEX outbox_lane ON outbox(destination, state, id);
    CREATE INDEX outbox_subject ON outbox(subject, kind, destination);
    CREATE INDEX outbox_batch ON outbox(batch);
    ",
    // 6: public email subscribers (only hashes of their tokens), the key their unsubscribe
    // tokens are derived from, and how far an outbox row has been fanned out to them: every
    // subscriber up to `fanout_after` (in id order) has had it.
    "
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL COLLATE NOCASE UNIQUE,
        scope TEXT NOT NULL,
        pending_scope TEXT,
        confirm_hash TEXT UNIQUE,
        confirm_expires INTEGER,
        unsubscribe_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        confirmed_at INTEGER
    );
    CREATE INDEX subscribers_unconfirmed ON subscribers(confirm_expires)
        WHERE confirmed_at IS NULL;
    CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE outbox ADD COLUMN fanout_after INTEGER NOT NULL DEFAULT 0;
    ",
    // 7: certificate expiry notices: each threshold announced once per certificate and check;
    // when each outbox row was last tried, for the admin area.
    "
    ALTER TABLE outbox ADD COLUMN attempted_at INTEGER;
    CREATE TABLE cert_notices (
        check_slug TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        days INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        noticed_at INTEGER NOT NULL,
        PRIMARY KEY (check_slug, fingerprint, days)
    ) WITHOUT ROWID;
    ",
    // 8: incremental vacuum, so the file shrinks after pruning. Done by
    // `incremental_vacuum_on` before this (empty) step: it needs a VACUUM, outside a transaction.
    "",
    // 9: the fold mark (see `fold.rs`): hourly rows before it are in their daily rows. Until
    // now every row was written to both, so the mark starts past the newest hour.
    "
    CREATE TABLE rollup_fold (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        days_through INTEGER NOT NULL
    );
    INSERT INTO rollup_fold (id, days_through)
        SELECT 1, coalesce(max(start) + 3600000, 0) FROM rollup_hour;
    ",
];

/// The migration that turns incremental vacuum on.
const INCREMENTAL_VACUUM: usize = 8;

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Sets the write connection's pragmas.
///
/// `synchronous = NORMAL` in WAL mode syncs at checkpoints, not at each commit: a process crash
/// (`kill -9`) loses nothing committed, a power cut may lose the last commits, never the file.
/// The page cache starts small (4 MB, [`super::cache`] makes it large while a backlog is
/// written); a checkpoint every 4,096 WAL pages (not 1,000) copies a page rewritten by several
/// batches once.
pub(super) fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA wal_autocheckpoint = 4096;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{};",
        super::cache::SMALL_KIB
    ))?;
    Ok(())
}

/// Turns on incremental vacuum in a file made without it: one full rewrite (`VACUUM`), which
/// needs as much free disk as the file. Without the room, the file works as before and never
/// shrinks; watchpost says so and goes on.
fn incremental_vacuum_on(conn: &Connection) -> Result<(), Error> {
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    if mode == 2 {
        return Ok(());
    }
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")?;
    tracing::info!("rewriting the database once so that it can shrink after pruning (VACUUM)");
    if let Err(e) = conn.execute_batch("VACUUM") {
        tracing::warn!(error = %crate::logline::escaped(&e), "the database could not be rewritten (is the disk short of room?); it works as before but will not shrink");
    }
    Ok(())
}

/// Tables that grow with history: at start only their root and end pages are read, the rest
/// by [`check_whole`] in the background.
const LARGE: &[&str] = &["results", "rollup_hour", "rollup_day"];

/// Refuses a damaged database file at start, cheaply: the header and the schema, every small
/// table with its indexes (`PRAGMA quick_check(TABLE)`), and the first and last pages of the
/// large ones' b-trees. Reads a few pages of a big file; the full check follows in the background.
pub(super) fn check_start(conn: &Connection, path: &std::path::Path) -> Result<(), Error> {
    let schema = rows(conn, "SELECT name FROM sqlite_schema WHERE type = 'table'");
    let tables = verdict(schema, path, false)?;
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let found = if LARGE.contains(&table.as_str()) {
            [
                format!("SELECT count(*) FROM (SELECT 1 FROM \"{quoted}\" ORDER BY check_id LIMIT 1)"),
                format!("SELECT count(*) FROM (SELECT 1 FROM \"{quoted}\" ORDER BY check_id DESC LIMIT 1)"),
            ]
            .iter()
            .try_for_each(|sql| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(drop))
            .map(|()| vec!["ok".to_string()])
        } else {
            rows(conn, &format!("PRAGMA quick_check(\"{quoted}\")"))
        };
        verdict(found, path, true)?;
    }
    Ok(())
}

/// Refuses a damaged database file (`PRAGMA quick_check`, which reads every page once), naming
/// the file and the way back. Seconds on a file of gigabytes: run off the start-up path.
pub(super) fn check_whole(conn: &Connection, path: &std::path::Path) -> Result<(), Error> {
    verdict(rows(conn, "PRAGMA quick_check(5)"), path, true).map(drop)
}

fn rows(conn: &Connection, sql: &str) -> Result<Vec<String>, rusqlite::Error> {
    conn.prepare(sql).and_then(|mut stmt| {
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()
    })
}

/// A check's rows as a verdict: `ok` alone (when `is_check`) or any rows read without a sign of
/// damage pass; an error saying the file is malformed is [`Error::Corrupt`].
fn verdict(
    found: Result<Vec<String>, rusqlite::Error>,
    path: &std::path::Path,
    is_check: bool,
) -> Result<Vec<String>, Error> {
    let corrupt = |detail: String| Error::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    match found {
        Ok(rows) if !is_check || (rows.len() == 1 && rows[0] == "ok") => Ok(rows),
        Ok(rows) => Err(corrupt(rows.join("; "))),
        Err(rusqlite::Error::SqliteFailure(f, msg))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            Err(corrupt(msg.unwrap_or_else(|| f.to_string())))
        }
        Err(e) => Err(e.into()),
    }
}

/// Brings the schema up to [`VERSION`], refusing a database written by a newer watchpost.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > VERSION {
        return Err(Error::TooNew {
            found: current,
            supported: VERSION,
        });
    }
    if current == 0 {
        // Before the first table: a new file needs no rewrite.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        if i + 1 == INCREMENTAL_VACUUM {
            incremental_vacuum_on(conn)?;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
