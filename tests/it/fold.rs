//! The fold of hourly rollups into daily ones, on a real SQLite file: a day read back is its daily
//! row and the hours not folded into it yet, the same before the writer folds them, after, from
//! the writer's memory, after a clean stop and a restart, and for a file written before the fold
//! mark existed.

use std::collections::BTreeMap;
use std::path::Path;

use watchpost::clock::{DAY_MS, HOUR_MS, Timestamp};
use watchpost::monitor::{Bucket, Span};
use watchpost::store::{CheckMeta, Reader, RollupRead, Store, Write};

fn check() -> CheckMeta {
    CheckMeta {
        slug: "web".into(),
        name: "Web".into(),
        group: String::new(),
        kind: "tcp".into(),
    }
}

/// A probe result of check `id` at `at`, queued.
async fn probe(store: &Store, id: i64, at: Timestamp) {
    let outcome = crate::retention::up(at);
    store
        .writer
        .send(Write::Result { check: id, outcome })
        .await
        .unwrap();
}

fn one(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Each day's up time and probe count, as `export` reads them.
async fn days(reader: &Reader, now: Timestamp) -> BTreeMap<i64, (i64, i64)> {
    let from = Timestamp(now.day_start().0 - 2 * DAY_MS);
    let to = Timestamp(now.day_start().0 + DAY_MS);
    let days = reader.days_between("web".into(), from, to).await.unwrap();
    days.into_iter()
        .map(|(start, r)| (start.0, (r.up_ms, r.probes_up)))
        .collect()
}

/// The daily rows plus the hourly rows at or after the mark, against every hourly row plus
/// `before` (daily time whose hours are gone): each hour counted exactly once.
fn assert_each_hour_once(path: &Path, before: i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let days = one(
        &conn,
        "SELECT (SELECT coalesce(sum(up_ms), 0) FROM rollup_day)
              + (SELECT coalesce(sum(up_ms), 0) FROM rollup_hour
                 WHERE start >= (SELECT days_through FROM rollup_fold))",
    );
    let hours = one(&conn, "SELECT coalesce(sum(up_ms), 0) FROM rollup_hour");
    assert_eq!(days, hours + before, "the days hold each hour once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hours_not_folded_are_read_into_their_days_and_folded_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let now = Timestamp::now();
    let hour = now.hour_start();
    let store = Store::open(&path).unwrap();
    let id = store.writer.sync_checks(vec![check()], now).await.unwrap()[0].id;
    store.close();

    // As a writer killed three hours ago left it: three hours written to their hourly rows
    // alone, the mark before them, and earlier time of the first one's day in its daily row.
    let first = Timestamp(hour.0 - 3 * HOUR_MS);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE rollup_fold SET days_through = ?1", [first.0])
        .unwrap();
    conn.execute(
        "INSERT INTO rollup_day (check_id, start, up_ms, probes_up) VALUES (?1, ?2, 500, 5)",
        [id, first.day_start().0],
    )
    .unwrap();
    let mut expected: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    expected.insert(first.day_start().0, (500, 5));
    for (n, back) in [3i64, 2, 1].into_iter().enumerate() {
        let start = Timestamp(hour.0 - back * HOUR_MS);
        let n = n as i64 + 1;
        conn.execute(
            "INSERT INTO rollup_hour (check_id, start, up_ms, probes_up) VALUES (?1, ?2, ?3, ?4)",
            [id, start.0, 1000 * n, 10 * n],
        )
        .unwrap();
        let day = expected.entry(start.day_start().0).or_default();
        day.0 += 1000 * n;
        day.1 += 10 * n;
    }
    drop(conn);
    assert_each_hour_once(&path, 500);
    let offline = Reader::open_existing(&path).unwrap();
    assert_eq!(days(&offline, now).await, expected, "read before the fold");

    // The writer's first batch folds them: the days read the same, the daily rows hold them.
    // Registering the checks at start-up leaves the mark where it is.
    let store = Store::open(&path).unwrap();
    store.writer.flush().await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(one(&conn, "SELECT days_through FROM rollup_fold"), first.0);
    assert_eq!(
        days(&store.reader, now).await,
        expected,
        "read by the daemon"
    );

    // The first batch of probe writes folds the past hours first, and writes this hour to its
    // hourly row alone: the days read the same, and this hour is read into its day.
    let at = Timestamp::now();
    probe(&store, id, at).await;
    store
        .writer
        .send(Write::Spans {
            check: id,
            spans: vec![Span {
                start: Timestamp(at.0 - 700),
                end: at,
                from: None,
                to: Some(Bucket::Up),
            }],
        })
        .await
        .unwrap();
    store.writer.flush().await.unwrap();
    let mark = one(&conn, "SELECT days_through FROM rollup_fold");
    assert!(mark >= hour.0);
    // Unless the span reaches back past the mark (an hour began meanwhile), the daily rows
    // hold the three past hours and nothing of this one.
    if mark <= at.0 - 700 {
        assert_eq!(
            one(&conn, "SELECT sum(up_ms) FROM rollup_day"),
            500 + 6000,
            "the past hours are in their days, this one is not"
        );
    }
    assert_each_hour_once(&path, 500);
    // The span may straddle an hour or a day; the probe is at `at`.
    let mut after = expected.clone();
    let mut t = Timestamp(at.0 - 700);
    while t < at {
        let end = Timestamp((t.hour_start().0 + HOUR_MS).min(at.0));
        after.entry(t.day_start().0).or_default().0 += end.0 - t.0;
        t = end;
    }
    after.entry(at.day_start().0).or_default().1 += 1;
    assert_eq!(days(&offline, at).await, after, "read offline");
    assert_eq!(days(&store.reader, at).await, after, "this hour, read");

    // The history refresh takes this hour and day from the writer's memory: the same times.
    let now = Timestamp::now();
    let (hour, today) = (now.hour_start(), now.day_start());
    let read = RollupRead {
        id,
        hours_since: hour,
        days_since: today,
    };
    let times = store
        .reader
        .summarize_rollups(vec![read], move |_, _, days| {
            days.get(&today).map_or(0, |d| d.up_ms)
        })
        .await
        .unwrap();
    assert_eq!(
        times[&id],
        after.get(&today.0).map_or(0, |d| d.0),
        "today's time from memory is the time read"
    );
    store.close();

    // A clean stop folds this hour too: the daily rows alone hold every day.
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(one(&conn, "SELECT days_through FROM rollup_fold") > Timestamp::now().0);
    assert_eq!(
        one(&conn, "SELECT sum(up_ms) FROM rollup_day"),
        after.values().map(|d| d.0).sum::<i64>()
    );
    assert_each_hour_once(&path, 500);
    assert_eq!(days(&offline, at).await, after, "read after a clean stop");

    // Started again: the first probe writes take the hour not over out of its day again, and
    // the days read the same.
    let store = Store::open(&path).unwrap();
    let again = Timestamp::now();
    probe(&store, id, again).await;
    store.writer.flush().await.unwrap();
    after.entry(again.day_start().0).or_default().1 += 1;
    assert!(one(&conn, "SELECT days_through FROM rollup_fold") <= Timestamp::now().0);
    assert_each_hour_once(&path, 500);
    assert_eq!(days(&store.reader, at).await, after, "read after a restart");
    store.close();
    assert_each_hour_once(&path, 500);
    assert_eq!(days(&offline, at).await, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_from_before_the_fold_mark_counts_each_hour_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let now = Timestamp::now();
    let store = Store::open(&path).unwrap();
    let id = store.writer.sync_checks(vec![check()], now).await.unwrap()[0].id;
    store.close();

    // As schema 8 left it: every hour written to its hourly and its daily row.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE rollup_fold; PRAGMA user_version = 8;")
        .unwrap();
    let mut expected: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for back in 0..3 {
        let start = Timestamp(now.hour_start().0 - back * HOUR_MS);
        for table in ["rollup_hour", "rollup_day"] {
            let start = if table == "rollup_day" {
                start.day_start()
            } else {
                start
            };
            conn.execute(
                &format!(
                    "INSERT INTO {table} (check_id, start, up_ms, probes_up) VALUES (?1, ?2, 1000, 1)
                     ON CONFLICT (check_id, start) DO UPDATE SET up_ms = up_ms + 1000,
                         probes_up = probes_up + 1"
                ),
                [id, start.0],
            )
            .unwrap();
        }
        let day = expected.entry(start.day_start().0).or_default();
        day.0 += 1000;
        day.1 += 1;
    }
    drop(conn);
    let offline = Reader::open_existing(&path).unwrap();
    assert_eq!(days(&offline, now).await, expected, "read as schema 8");

    // Migrated: the mark starts past the newest hour, so none is added to its day again.
    let store = Store::open(&path).unwrap();
    store.writer.flush().await.unwrap();
    assert_each_hour_once(&path, 0);
    assert_eq!(
        days(&store.reader, now).await,
        expected,
        "read after migrating"
    );
    store.close();
    assert_each_hour_once(&path, 0);
    assert_eq!(days(&offline, now).await, expected);
}
