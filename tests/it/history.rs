//! The history refresher on a real SQLite file: a timed refresh that reads only the current hour
//! and day gives exactly what a refresh reading all 90 days gives on the same database.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use watchpost::clock::{DAY_MS, HOUR_MS, Timestamp};
use watchpost::history::{Kept, Refresher};
use watchpost::metrics::Metrics;
use watchpost::model::Bucket;
use watchpost::monitor::Span;
use watchpost::probe::{Outcome, Phases, Status};
use watchpost::snapshot::{History, Snapshot};
use watchpost::store::{AdminWrite, CheckMeta, IncidentOpen, Severity, Store, Write};

const MIN: i64 = 60_000;

fn outcome(at: Timestamp, status: Status) -> Arc<Outcome> {
    Arc::new(Outcome {
        at,
        status,
        failure: None,
        latency: Duration::from_millis(12),
        code: Some(200),
        phases: Phases::default(),
        tls: None,
        answers: None,
        facts: Default::default(),
    })
}

fn span(start: Timestamp, minutes: i64, to: Bucket) -> Span {
    Span {
        start,
        end: Timestamp(start.0 + minutes * MIN),
        from: None,
        to: Some(to),
    }
}

async fn write(store: &Store, check: i64, spans: Vec<Span>, results: &[(Timestamp, Status)]) {
    store
        .writer
        .send(Write::Spans { check, spans })
        .await
        .unwrap();
    for &(at, status) in results {
        store
            .writer
            .send(Write::Result {
                check,
                outcome: outcome(at, status),
            })
            .await
            .unwrap();
    }
    store.writer.flush().await.unwrap();
}

/// A refresher of its own over `store`, with nothing kept yet.
fn refresher(
    store: &Store,
    snapshot: &Arc<Snapshot>,
) -> (Refresher, watch::Receiver<Arc<History>>) {
    let (history, read) = watch::channel(Arc::new(History::default()));
    let refresher = Refresher {
        reader: store.reader.clone(),
        snapshot: watch::channel(snapshot.clone()).1,
        history,
        metrics: Arc::new(Metrics::new().unwrap()),
        events: store.writer.subscribe(),
        kept: Kept::default(),
    };
    (refresher, read)
}

/// Every check's uptime and exact day cells, by slug.
type Shown = Vec<(String, [Option<f64>; 4], Vec<(i64, u32, u32, &'static str)>)>;

fn shown(history: &History) -> Shown {
    let mut out: Shown = history
        .checks
        .iter()
        .map(|(slug, h)| {
            let cells = h
                .bar
                .days
                .iter()
                .map(|c| (c.day.0, c.down_ms, c.observed_ms, c.level.as_str()))
                .collect();
            (slug.to_string(), h.uptime, cells)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A store in `dir` and an empty snapshot of a config with these TCP checks.
fn open(dir: &std::path::Path, slugs: &[&str]) -> (Store, Arc<Snapshot>) {
    let store = Store::open(&dir.join("watchpost.db")).unwrap();
    let toml: String = slugs
        .iter()
        .map(|s| format!("[[check]]\nid = \"{s}\"\nname = \"{}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\n", s.to_uppercase()))
        .collect();
    let config = Arc::new(watchpost::config::parse(std::path::Path::new("t.toml"), &toml).unwrap());
    (store, Arc::new(Snapshot::empty(config)))
}

/// The store's row for check `slug`, as the daemon syncs it from the config.
fn meta(slug: &str) -> CheckMeta {
    CheckMeta {
        slug: slug.into(),
        name: slug.to_uppercase(),
        group: String::new(),
        kind: "tcp".into(),
    }
}

/// Check `a`'s incident from `from` to `to`, opened and resolved by the writer.
async fn outage(store: &Store, a: i64, from: Timestamp, to: Timestamp) -> i64 {
    let id = store
        .writer
        .open_incident(IncidentOpen {
            check: a,
            slug: watchpost::model::CheckId::new("a").unwrap(),
            severity: Severity::Major,
            title: "A is down".into(),
            started_at: from,
            note: "down".into(),
            evidence: Vec::new(),
        })
        .await
        .unwrap();
    store
        .writer
        .resolve_incident(id, to, "back".into())
        .await
        .unwrap();
    id
}

/// An admin marks the incident a false alarm.
async fn false_alarm(store: &Store, id: i64) {
    store
        .writer
        .admin(
            AdminWrite::SetFalseAlarm {
                id,
                false_alarm: true,
            },
            None,
            Timestamp::now(),
            Box::new(|_| None),
        )
        .await
        .unwrap();
}

/// What a refresher with nothing kept shows as of `now`.
async fn read_whole(store: &Store, snapshot: &Arc<Snapshot>, now: Timestamp) -> Shown {
    let (mut whole, read) = refresher(store, snapshot);
    whole.refresh(now, true).await.unwrap();
    shown(&read.borrow())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_refresh_reads_the_current_hour_and_day_as_a_whole_read_would() {
    let dir = tempfile::tempdir().unwrap();
    let (store, snapshot) = open(dir.path(), &["a", "b"]);
    let start = Timestamp::now();
    let rows = store
        .writer
        .sync_checks(vec![meta("a"), meta("b")], start)
        .await
        .unwrap();
    let (a, b) = (rows[0].id, rows[1].id);
    // Weeks of history before today, and a little of today.
    let ago = |days: i64, hours: i64| Timestamp(start.0 - days * DAY_MS - hours * HOUR_MS);
    write(
        &store,
        a,
        vec![
            span(ago(40, 0), 180, Bucket::Up),
            span(ago(5, 0), 600, Bucket::Up),
            span(
                ago(5, 0).plus(Duration::from_secs(36_000)),
                30,
                Bucket::Down,
            ),
            span(ago(0, 3), 120, Bucket::Up),
        ],
        &[(ago(5, 0), Status::Up), (ago(0, 1), Status::Up)],
    )
    .await;
    write(
        &store,
        b,
        vec![span(ago(2, 0), 300, Bucket::Degraded)],
        &[(ago(2, 0), Status::Degraded)],
    )
    .await;

    let (mut timed, read) = refresher(&store, &snapshot);
    let first = Timestamp::now();
    timed.refresh(first, true).await.unwrap();
    let before = shown(&read.borrow());
    assert_eq!(before, read_whole(&store, &snapshot, first).await);

    // New results in the current hour: only today's cell and the uptime change.
    let now = Timestamp::now();
    let from = Timestamp((now.0 - 5 * MIN).max(now.hour_start().0));
    let down = Span {
        start: from,
        end: now,
        from: None,
        to: Some(Bucket::Down),
    };
    write(&store, a, vec![down], &[(now, Status::Down)]).await;
    let second = Timestamp::now();
    timed.refresh(second, false).await.unwrap();
    let after = shown(&read.borrow());
    assert_eq!(after, read_whole(&store, &snapshot, second).await);
    if second.day_start() == first.day_start() && now > from {
        let today = |s: &Shown| s[0].2.last().copied().unwrap();
        assert!(today(&after).1 > today(&before).1, "today's downtime grew");
        assert_ne!(after[0].1[0], before[0].1[0], "the 24 h uptime moved");
    }

    // A row of a past day rewritten (a late span) is read again, not kept.
    write(&store, b, vec![span(ago(3, 0), 90, Bucket::Down)], &[]).await;
    let third = Timestamp::now();
    timed.refresh(third, false).await.unwrap();
    let late = shown(&read.borrow());
    assert_eq!(late, read_whole(&store, &snapshot, third).await);
    assert_ne!(late[1].1[1], after[1].1[1], "the 7 d uptime of b moved");
    store.close();
}

/// The current hour and day a timed refresh takes from what the writer committed are forgotten
/// when an admin change rewrites rollups: a false alarm inside the current hour shows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_alarm_in_the_current_hour_shows_in_the_next_timed_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let (store, snapshot) = open(dir.path(), &["a"]);
    let now = Timestamp::now();
    let a = store
        .writer
        .sync_checks(vec![meta("a")], now)
        .await
        .unwrap()[0]
        .id;
    let from = Timestamp((now.0 - 5 * MIN).max(now.hour_start().0));
    let to = Span {
        start: from,
        end: now,
        from: None,
        to: Some(Bucket::Down),
    };
    write(
        &store,
        a,
        vec![to],
        &[(from, Status::Down), (now, Status::Down)],
    )
    .await;
    let id = outage(&store, a, from, now).await;
    // One more result, so the writer knows the current hour and day of the check.
    write(&store, a, vec![], &[(now, Status::Up)]).await;

    let (mut timed, read) = refresher(&store, &snapshot);
    let first = Timestamp::now();
    timed.refresh(first, true).await.unwrap();
    let second = Timestamp::now();
    timed.refresh(second, false).await.unwrap();
    let before = shown(&read.borrow());
    assert_eq!(before, read_whole(&store, &snapshot, second).await);

    false_alarm(&store, id).await;
    let third = Timestamp::now();
    timed.refresh(third, false).await.unwrap();
    let after = shown(&read.borrow());
    assert_eq!(after, read_whole(&store, &snapshot, third).await);
    if now > from && third.day_start() == first.day_start() {
        assert_ne!(
            after[0].1[0], before[0].1[0],
            "the false alarm moved the 24 h uptime"
        );
    }
    store.close();
}

/// A false alarm hours back rewrites rows before the current hour (and, once folded, its day's):
/// the writer names the check for the next timed refresh to read whole, so no event, and no
/// read of every check's 90 days, is needed to show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_alarm_hours_back_shows_in_the_next_timed_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let (store, snapshot) = open(dir.path(), &["a", "b"]);
    let now = Timestamp::now();
    let rows = store
        .writer
        .sync_checks(vec![meta("a"), meta("b")], now)
        .await
        .unwrap();
    let (a, b) = (rows[0].id, rows[1].id);
    let from = Timestamp(now.hour_start().0 - 3 * HOUR_MS + 10 * MIN);
    let to = Timestamp(from.0 + 30 * MIN);
    write(
        &store,
        a,
        vec![span(from, 30, Bucket::Down), span(to, 20, Bucket::Up)],
        &[(from, Status::Down), (to, Status::Up)],
    )
    .await;
    let id = outage(&store, a, from, to).await;
    // Results of this hour for both: the writer folds the hours before into their days.
    write(&store, a, vec![], &[(now, Status::Up)]).await;
    write(&store, b, vec![], &[(now, Status::Up)]).await;

    let (mut timed, read) = refresher(&store, &snapshot);
    timed.refresh(Timestamp::now(), true).await.unwrap();
    let second = Timestamp::now();
    timed.refresh(second, false).await.unwrap();
    let before = shown(&read.borrow());
    assert_eq!(before, read_whole(&store, &snapshot, second).await);
    assert!(before[0].1[0].is_some_and(|u| u < 1.0), "{before:?}");

    false_alarm(&store, id).await;
    let third = Timestamp::now();
    timed.refresh(third, false).await.unwrap();
    let after = shown(&read.borrow());
    assert_eq!(after, read_whole(&store, &snapshot, third).await);
    assert_eq!(after[0].1[0], Some(1.0), "the outage is up time again");
    assert_eq!(after[1], before[1], "b is as it was");
    store.close();
}
