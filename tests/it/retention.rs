//! Retention on a real SQLite file: a lowered `keep_raw` deletes weeks of raw results in small
//! batches and the file shrinks (incremental vacuum), rollups and incidents kept; old finished
//! notifications go, dead letters stay longer; a database made before incremental vacuum is
//! migrated to it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use watchpost::clock::{DAY_MS, Timestamp};
use watchpost::probe::{Failure, Outcome, Phases, Reason, Status};
use watchpost::store::{CheckMeta, IncidentOpen, SCHEMA_VERSION, Severity, Store, Write};

fn outcome(at: Timestamp) -> Arc<Outcome> {
    Arc::new(Outcome {
        at,
        status: Status::Down,
        failure: Some(Failure {
            reason: Reason::Refused,
            message: "connection refused by 192.0.2.1:443 ".repeat(6),
        }),
        latency: Duration::from_millis(12),
        code: None,
        phases: Phases::default(),
        tls: None,
        answers: None,
    })
}

fn meta(slug: &str) -> CheckMeta {
    CheckMeta {
        slug: slug.into(),
        name: slug.into(),
        group: String::new(),
        kind: "tcp".into(),
    }
}

/// The main file's size once the WAL is checkpointed into it (every other connection closed).
fn checkpointed_size(path: &Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    std::fs::metadata(path).unwrap().len()
}

fn one(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_keep_raw_shrinks_the_file_and_keeps_rollups_and_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = Store::open(&path).unwrap();
    let now = Timestamp::now();
    let checks = store
        .writer
        .sync_checks(vec![meta("a"), meta("b")], now)
        .await
        .unwrap();
    let old = now.0 - 20 * DAY_MS;
    for i in 0..60_000 {
        let check = checks[i % 2].id;
        let at = Timestamp(old + i as i64 * 1000);
        let outcome = outcome(at);
        store
            .writer
            .send(Write::Result { check, outcome })
            .await
            .unwrap();
    }
    let incident = store
        .writer
        .open_incident(IncidentOpen {
            check: checks[0].id,
            slug: watchpost::model::CheckId::new("a").unwrap(),
            severity: Severity::Major,
            title: "a is down".into(),
            started_at: Timestamp(old),
            note: "down".into(),
            evidence: Vec::new(),
        })
        .await
        .unwrap();
    store.close();
    let before = checkpointed_size(&path);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.writer.prune(now).await.unwrap(), 60_000);
    store.close();
    let after = checkpointed_size(&path);
    assert!(after * 3 < before, "{before} bytes before, {after} after");

    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(one(&conn, "SELECT count(*) FROM results"), 0);
    assert_eq!(
        one(&conn, "SELECT sum(probes_down) FROM rollup_day"),
        60_000,
        "rollups stay"
    );
    assert_eq!(one(&conn, "SELECT max(id) FROM incidents"), incident);
    assert_eq!(one(&conn, "PRAGMA auto_vacuum"), 2, "incremental");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_notifications_go_after_30_days_and_dead_letters_after_180() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = Store::open(&path).unwrap();
    let now = Timestamp::now().0;
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (key, state, age_days) in [
        ("delivered-old", "delivered", 40),
        ("delivered-new", "delivered", 10),
        ("cancelled-old", "cancelled", 40),
        ("pending-old", "pending", 40),
        ("dead-old", "dead", 40),
        ("dead-ancient", "dead", 200),
    ] {
        conn.execute(
            "INSERT INTO outbox (key, destination, kind, subject, n, payload, created_at, due_at, state)
             VALUES (?1, 'ops', 'opened', 's', 1, '{}', ?2, ?2, ?3)",
            rusqlite::params![key, now - age_days * DAY_MS, state],
        )
        .unwrap();
    }
    store.writer.prune(Timestamp(now)).await.unwrap();
    let mut kept: Vec<String> = conn
        .prepare("SELECT key FROM outbox ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    kept.sort();
    assert_eq!(kept, ["dead-old", "delivered-new", "pending-old"]);
    drop(conn);
    store.close();
}

#[test]
fn a_database_made_before_incremental_vacuum_is_migrated_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    Store::open(&path).unwrap().close();
    // As a watchpost before migration 7 left it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA auto_vacuum = NONE; VACUUM; PRAGMA user_version = 6;")
        .unwrap();
    assert_eq!(one(&conn, "PRAGMA auto_vacuum"), 0);
    drop(conn);

    Store::open(&path).unwrap().close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(one(&conn, "PRAGMA auto_vacuum"), 2);
    assert_eq!(one(&conn, "PRAGMA user_version"), SCHEMA_VERSION);
}
