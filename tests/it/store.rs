//! The store on a real SQLite file: migrations on reopen, pruning of raw results with rollups
//! kept, and the durability of a clean stop by SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use watchpost::clock::{DAY_MS, Timestamp};
use watchpost::monitor::{Bucket, Span};
use watchpost::probe::{Outcome, Phases, Status};
use watchpost::store::{CheckMeta, RollupRead, SCHEMA_VERSION, Store, Write};

fn outcome(at: Timestamp) -> Arc<Outcome> {
    Arc::new(Outcome {
        at,
        status: Status::Up,
        failure: None,
        latency: Duration::from_millis(12),
        code: Some(200),
        phases: Phases::default(),
        tls: None,
        answers: None,
        facts: Default::default(),
    })
}

/// TCP check number `i`, as registering it names it: `c{i}`.
fn tcp_check(i: usize) -> CheckMeta {
    CheckMeta {
        slug: format!("c{i}"),
        name: format!("Check {i}"),
        group: String::new(),
        kind: "tcp".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_deletes_old_raw_results_and_keeps_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/watchpost.db");
    let store = Store::open(&path).unwrap();
    let meta = CheckMeta {
        slug: "web".into(),
        name: "Web".into(),
        group: String::new(),
        kind: "http".into(),
    };
    let now = Timestamp::now();
    let rows = store
        .writer
        .sync_checks(vec![meta.clone()], now)
        .await
        .unwrap();
    let check = rows[0].id;
    let old = Timestamp(now.0 - 40 * DAY_MS);
    for at in [old, Timestamp(old.0 + 60_000), now] {
        store
            .writer
            .send(Write::Result {
                check,
                outcome: outcome(at),
            })
            .await
            .unwrap();
    }
    let span = Span {
        start: old,
        end: Timestamp(old.0 + 60_000),
        from: None,
        to: Some(Bucket::Up),
    };
    store
        .writer
        .send(Write::Spans {
            check,
            spans: vec![span],
        })
        .await
        .unwrap();
    let pruned = store
        .writer
        .prune(
            Timestamp(now.0 - 30 * DAY_MS),
            Timestamp(now.0 - 90 * DAY_MS),
        )
        .await
        .unwrap()
        .results;
    assert_eq!(pruned, 2);
    let recent = store.reader.recent_results(check, 10).await.unwrap();
    assert_eq!(recent.len(), 1);
    let day = old.day_start();
    let kept = store
        .reader
        .summarize_rollups(
            vec![RollupRead {
                id: check,
                hours_since: Timestamp(0),
                days_since: Timestamp(0),
            }],
            move |_, _, days| days.get(&day).copied(),
        )
        .await
        .unwrap();
    let kept = kept[&check].expect("the day's rollup");
    assert_eq!(kept.up_ms, 60_000, "the rollup of the pruned day stays");
    assert_eq!(kept.probes_up, 2);
    store.close();

    // Reopening migrates nothing twice and keeps the check's identity.
    let store = Store::open(&path).unwrap();
    let again = store.writer.sync_checks(vec![meta], now).await.unwrap();
    assert_eq!(again[0].id, check);
    store.close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_database_from_a_newer_watchpost_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert!(
        err.to_string()
            .contains("newer than this watchpost supports"),
        "{err}"
    );
}

#[test]
fn sigterm_stops_the_daemon_cleanly_with_every_result_committed() {
    let dir = tempfile::tempdir().unwrap();
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("watchpost.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = \"w.db\"\n[[check]]\nid = \"t\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\ninterval = \"50ms\"\ntimeout = \"40ms\"\n",
            target.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(["run", "--config", config.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it serves, then let it probe a little.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(400));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("stopped"), "{log}");
    let conn = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
    let (results, counted): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM results), (SELECT sum(probes_up + probes_degraded + probes_down) FROM rollup_day)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(results >= 3, "{results}");
    assert_eq!(results, counted, "every result is in the rollups");
}

/// Regression: raw results past `keep_raw` were deleted in one statement (3.6 million rows at
/// 10,000 checks), with every probe result queued behind it. Now they go in batches, and results
/// written meanwhile are committed between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_goes_in_batches_with_results_committed_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.db")).unwrap();
    let meta = CheckMeta {
        slug: "web".into(),
        name: "Web".into(),
        group: String::new(),
        kind: "http".into(),
    };
    let now = Timestamp::now();
    let check = store.writer.sync_checks(vec![meta], now).await.unwrap()[0].id;
    let old = now.0 - 40 * DAY_MS;
    for i in 0..12_345 {
        let outcome = outcome(Timestamp(old + i));
        store
            .writer
            .send(Write::Result { check, outcome })
            .await
            .unwrap();
    }
    store.writer.flush().await.unwrap();
    let writer = store.writer.clone();
    let pruning = tokio::spawn(async move {
        writer
            .prune(Timestamp(now.0 - DAY_MS), Timestamp(now.0 - 90 * DAY_MS))
            .await
            .map(|n| n.results)
    });
    // A result sent while the prune runs is written and kept.
    store
        .writer
        .send(Write::Result {
            check,
            outcome: outcome(now),
        })
        .await
        .unwrap();
    assert_eq!(pruning.await.unwrap().unwrap(), 12_345);
    let recent = store.reader.recent_results(check, 10).await.unwrap();
    assert_eq!(recent.len(), 1, "only the new result is left");
    store.close();
}

/// The writer folds a batch's results per check and hour (and day) before its upserts: over
/// batches of every size and across an hour and a day boundary, each rollup row still counts
/// exactly the raw results in its bucket (probes by status, latency sum and maximum).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_folded_per_batch_equal_the_raw_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fold.db");
    let store = Store::open(&path).unwrap();
    let metas = (0..3).map(tcp_check).collect();
    let now = Timestamp::now();
    let rows = store.writer.sync_checks(metas, now).await.unwrap();
    // From 22:30 UTC two days ago, one result a minute per check for three hours.
    let start = now.day_start().0 - 2 * DAY_MS + 22 * 3_600_000 + 30 * 60_000;
    let mut n = 0u64;
    for chunk in [1usize, 7, 60, 300] {
        for _ in 0..chunk {
            let minute = n / 3;
            let status = match n % 5 {
                0 => Status::Down,
                3 => Status::Degraded,
                _ => Status::Up,
            };
            let outcome = Arc::new(Outcome {
                status,
                latency: Duration::from_micros(100 + (n * 7919) % 5000),
                ..(*outcome(Timestamp(start + minute as i64 * 60_000))).clone()
            });
            let check = rows[(n % 3) as usize].id;
            store
                .writer
                .send(Write::Result { check, outcome })
                .await
                .unwrap();
            n += 1;
        }
        store.writer.flush().await.unwrap();
    }
    store.close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (table, width) in [("rollup_hour", 3_600_000i64), ("rollup_day", DAY_MS)] {
        let sql = format!(
            "SELECT count(*) FROM (
                 SELECT check_id, at / {width} * {width} AS start, sum(status = 0) AS up,
                        sum(status = 1) AS degraded, sum(status = 2) AS down,
                        sum(latency_us) AS total, max(latency_us) AS most
                 FROM results GROUP BY check_id, start) r
             FULL JOIN {table} t USING (check_id, start)
             WHERE r.up IS NOT t.probes_up OR r.degraded IS NOT t.probes_degraded
                OR r.down IS NOT t.probes_down OR r.total IS NOT t.latency_sum_us
                OR r.most IS NOT t.latency_max_us"
        );
        let differ: i64 = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
        assert_eq!(differ, 0, "{table} rows that differ from the raw results");
        let buckets: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert!(buckets >= 6, "{table}: {buckets} rows, across a boundary");
    }
}

/// A batch holding more rollup rows than the writer folds at once (every check's closing spans
/// at shutdown) is upserted in steps, and a row met again after a step adds up, never replaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_thousands_of_checks_spans_adds_every_one_up() {
    const CHECKS: usize = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watchpost.db");
    let store = Store::open(&path).unwrap();
    let now = Timestamp::now();
    let metas = (0..CHECKS).map(tcp_check).collect();
    let rows = store.writer.sync_checks(metas, now).await.unwrap();
    assert_eq!(rows.len(), CHECKS);
    // Ten minutes up, then five more, in an hour of yesterday: each check's hourly and daily
    // row are met twice, the second time after a step of the first spans.
    let hour = Timestamp(now.hour_start().0 - DAY_MS);
    let span = |from: i64, minutes: i64| Span {
        start: Timestamp(hour.0 + from * 60_000),
        end: Timestamp(hour.0 + (from + minutes) * 60_000),
        from: None,
        to: Some(Bucket::Up),
    };
    for (from, minutes) in [(0, 10), (10, 5)] {
        for row in &rows {
            store
                .writer
                .send(Write::Spans {
                    check: row.id,
                    spans: vec![span(from, minutes)],
                })
                .await
                .unwrap();
        }
    }
    store.close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for table in ["rollup_hour", "rollup_day"] {
        let (rows, least, most): (i64, i64, i64) = conn
            .query_row(
                &format!("SELECT count(*), min(up_ms), max(up_ms) FROM {table}"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(rows, CHECKS as i64, "{table}");
        assert_eq!((least, most), (15 * 60_000, 15 * 60_000), "{table}");
    }
}
