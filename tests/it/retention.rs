//! Retention on a real SQLite file: a lowered `keep_raw` deletes weeks of raw results in small
//! batches and the file shrinks (incremental vacuum), rollups and incidents kept; hourly rollups
//! past `keep_hourly` go while daily ones and the recent hours stay; old finished
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
        facts: Default::default(),
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

/// A new store at `path` with checks "a" and "b" registered now: the store, now, their rows.
async fn two_checks(path: &std::path::Path) -> (Store, Timestamp, Vec<watchpost::store::CheckRow>) {
    let store = Store::open(path).unwrap();
    let now = Timestamp::now();
    let checks = store
        .writer
        .sync_checks(vec![meta("a"), meta("b")], now)
        .await
        .unwrap();
    (store, now, checks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lowered_keep_raw_shrinks_the_file_and_keeps_rollups_and_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let (store, now, checks) = two_checks(&path).await;
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
    let keep_hourly = Timestamp(now.0 - 90 * DAY_MS);
    assert_eq!(
        store.writer.prune(now, keep_hourly).await.unwrap().results,
        60_000
    );
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
async fn hourly_rollups_past_keep_hourly_go_and_daily_rows_and_recent_hours_stay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let (store, now, checks) = two_checks(&path).await;
    let ids: Vec<i64> = checks.iter().map(|c| c.id).collect();
    // Two days of results 100 days ago, and the last 30 hours, every 10 minutes.
    let old = now.0 - 100 * DAY_MS;
    let recent = now.0 - 30 * 3_600_000;
    for from in [old, recent] {
        for i in 0..(30 * 6) {
            for &check in &ids {
                let outcome = outcome(Timestamp(from + i * 600_000));
                store
                    .writer
                    .send(Write::Result { check, outcome })
                    .await
                    .unwrap();
            }
        }
    }
    store.writer.flush().await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let cutoff = now.0 - 90 * DAY_MS;
    let old_hours = one(
        &conn,
        &format!("SELECT count(*) FROM rollup_hour WHERE start < {cutoff}"),
    );
    assert!(old_hours >= 2 * 30, "{old_hours} old hourly rows");
    let days = "SELECT count(*), sum(probes_down), sum(down_ms) FROM rollup_day";
    let days_of = |conn: &rusqlite::Connection| {
        conn.query_row(days, [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap()
    };
    let days_before = days_of(&conn);
    // What the check page (its chart, from hourly rows) and the 24h window read.
    let last_day = watchpost::uptime::Cover::hourly(Timestamp(now.0 - DAY_MS), now);
    let read_recent = || async {
        let page = store
            .reader
            .rollups_in("a".into(), last_day.clone())
            .await
            .unwrap();
        let windows = store
            .reader
            .summarize_rollups(
                ids.iter()
                    .map(|&id| watchpost::store::RollupRead {
                        id,
                        hours_since: Timestamp(now.hour_start().0 - 23 * 3_600_000),
                        days_since: Timestamp(now.day_start().0 - 89 * DAY_MS),
                    })
                    .collect(),
                move |_, hours, days| watchpost::uptime::windows(hours, days, now),
            )
            .await
            .unwrap();
        let mut windows: Vec<_> = windows.into_iter().collect();
        windows.sort_by_key(|(id, _)| *id);
        (page, format!("{windows:?}"))
    };
    let before = read_recent().await;
    assert!(!before.0.0.is_empty(), "the last day has hourly rows");

    let pruned = store
        .writer
        .prune(Timestamp(now.0 - 30 * DAY_MS), Timestamp(cutoff))
        .await
        .unwrap();
    assert_eq!(pruned.hours as i64, old_hours);
    assert_eq!(
        one(
            &conn,
            &format!("SELECT count(*) FROM rollup_hour WHERE start < {cutoff}")
        ),
        0
    );
    assert!(one(&conn, "SELECT count(*) FROM rollup_hour") > 0);
    assert_eq!(days_of(&conn), days_before, "daily rows stay");
    assert_eq!(read_recent().await, before, "recent hours read the same");
    drop(conn);
    store.close();
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
    store
        .writer
        .prune(Timestamp(now), Timestamp(now - 90 * DAY_MS))
        .await
        .unwrap();
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
    // As a watchpost before migration 8 left it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE rollup_fold; PRAGMA auto_vacuum = NONE; VACUUM; PRAGMA user_version = 7;",
    )
    .unwrap();
    assert_eq!(one(&conn, "PRAGMA auto_vacuum"), 0);
    drop(conn);

    Store::open(&path).unwrap().close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(one(&conn, "PRAGMA auto_vacuum"), 2);
    assert_eq!(one(&conn, "PRAGMA user_version"), SCHEMA_VERSION);
}

/// A successful TCP probe, as most results are.
pub(crate) fn up(at: Timestamp) -> Arc<Outcome> {
    Arc::new(Outcome {
        at,
        status: Status::Up,
        failure: None,
        latency: Duration::from_micros(1234),
        code: None,
        phases: Phases::default(),
        tls: None,
        answers: None,
        facts: Default::default(),
    })
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The database's size (pages in use and free) as a reader sees it.
fn size_mb(path: &Path) -> (f64, f64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let page = one(&conn, "PRAGMA page_size") as f64 / 1_048_576.0;
    (
        one(&conn, "PRAGMA page_count") as f64 * page,
        one(&conn, "PRAGMA freelist_count") as f64 * page,
    )
}

/// Measurement, not a test (figures in BENCHMARKS.md): CHECKS checks every INTERVAL seconds
/// for DAYS simulated days through the real writer, pruned hourly with KEEP_RAW_DAYS and
/// KEEP_HOURLY_DAYS as the daemon does, the size printed each simulated day (a plateau shows
/// once DAYS passes both); then `keep_raw` lowered to nothing while results keep coming, and the
/// longest a result waited for its commit meanwhile.
/// `CHECKS=1000 INTERVAL=60 DAYS=6 KEEP_RAW_DAYS=1 KEEP_HOURLY_DAYS=2 cargo test --release
/// --test it -- --ignored --nocapture database_plateau`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it by hand"]
async fn database_plateau_and_prune_stall() {
    let (checks, interval, days, keep_days, keep_hourly_days) = (
        knob("CHECKS", 1000),
        knob("INTERVAL", 60),
        knob("DAYS", 4),
        knob("KEEP_RAW_DAYS", 2),
        knob("KEEP_HOURLY_DAYS", 90),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = Store::open(&path).unwrap();
    let metas: Vec<CheckMeta> = (0..checks).map(|i| meta(&format!("c{i}"))).collect();
    let ids: Vec<i64> = store
        .writer
        .sync_checks(metas, Timestamp::now())
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let hour = 3_600_000;
    let start = (Timestamp::now().0 - days as i64 * DAY_MS) / hour * hour;
    let per_hour = 3600 / interval.max(1);
    let began = std::time::Instant::now();
    for h in 0..days as i64 * 24 {
        for k in 0..per_hour as i64 {
            for (i, &check) in ids.iter().enumerate() {
                // Spread over the interval, as the scheduler's offsets do.
                let at = start + h * hour + k * interval as i64 * 1000 + i as i64 % 1000;
                let outcome = up(Timestamp(at));
                store
                    .writer
                    .send(Write::Result { check, outcome })
                    .await
                    .unwrap();
            }
        }
        let now = Timestamp(start + (h + 1) * hour);
        store
            .writer
            .prune(
                Timestamp(now.0 - keep_days as i64 * DAY_MS),
                Timestamp(now.0 - keep_hourly_days as i64 * DAY_MS),
            )
            .await
            .unwrap();
        if (h + 1) % 24 == 0 {
            store.writer.flush().await.unwrap();
            let (used, free) = size_mb(&path);
            println!(
                "day {:>3}: {used:8.1} MiB ({free:.1} free), {:.0} s",
                (h + 1) / 24,
                began.elapsed().as_secs_f64()
            );
        }
    }

    // keep_raw lowered to nothing: millions of rows go while a result is sent every 10 ms.
    let rows = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        one(&conn, "SELECT count(*) FROM results")
    };
    let writer = store.writer.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let check = ids[0];
    let probe = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        let mut at = Timestamp::now().0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            at += 1;
            let sent = std::time::Instant::now();
            writer
                .send(Write::Result {
                    check,
                    outcome: up(Timestamp(at)),
                })
                .await
                .unwrap();
            writer.flush().await.unwrap();
            worst = worst.max(sent.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        worst
    });
    let pruning = std::time::Instant::now();
    let end = Timestamp(start + days as i64 * DAY_MS);
    let pruned = store
        .writer
        .prune(end, Timestamp(end.0 - keep_hourly_days as i64 * DAY_MS))
        .await
        .unwrap()
        .results;
    let took = pruning.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = probe.await.unwrap();
    let (used, free) = size_mb(&path);
    println!(
        "prune of {pruned} rows (of {rows}) with vacuum: {:.1} s; longest wait of a result for its commit meanwhile: {:.0} ms; then {used:.1} MiB ({free:.1} free)",
        took.as_secs_f64(),
        worst.as_secs_f64() * 1000.0
    );
    store.close();
}
