use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::event::{WindowInfo, WindowPhase};
use crate::model::IncidentKind;

const CONFIG: &str = r#"
[[check]]
id = "web"
name = "Web"
type = "tcp"
host = "h"
port = 1

[[notify]]
name = "ops"
type = "webhook"
url = "http://127.0.0.1:1/"
remind_every = "1h"

[[notify]]
name = "chat"
type = "slack"
url = "http://127.0.0.1:1/"
"#;

fn routing(src: &str) -> Arc<Routing> {
    let config = crate::config::parse(Path::new("t.toml"), src).unwrap();
    Arc::new(Routing::new(&config))
}

fn db() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema::configure(&conn).unwrap();
    crate::store::schema::migrate(&mut conn).unwrap();
    conn.execute_batch(
        "INSERT INTO checks (id, slug, name, grp, kind, first_seen) VALUES (1, 'web', 'Web', '', 'tcp', 0);
         INSERT INTO incidents (id, check_id, kind, severity, title, started_at) VALUES (7, 1, 'auto', 'major', 'Web is down', 1000);
         INSERT INTO incident_evidence (incident_id, at, status, latency_us, code, reason, message)
             VALUES (7, 1000, 2, 3000, NULL, 'refused', 'connection refused');",
    )
    .unwrap();
    conn
}

fn opened() -> Event {
    Event::IncidentOpened {
        id: 7,
        kind: IncidentKind::Auto,
        impact: Impact::Major,
        title: "Web is down".into(),
        checks: vec![CheckId::new("web").unwrap()],
        at: Timestamp(1_000),
        body: "refused".into(),
    }
}

fn resolved() -> Event {
    Event::IncidentResolved {
        id: 7,
        started_at: Timestamp(1_000),
        at: Timestamp(9_000),
        body: "Web recovered".into(),
    }
}

fn lane(destination: &str, now: i64, window_ms: u64) -> Lane {
    Lane {
        destination: destination.into(),
        now: Timestamp(now),
        lease: Duration::from_secs(60),
        group_window: Duration::from_millis(window_ms),
    }
}

fn keys(c: &Claim) -> Vec<String> {
    match c {
        Claim::Batch(rows) => rows.iter().map(|r| r.key.clone()).collect(),
        other => panic!("expected a batch, got {other:?}"),
    }
}

fn ids(c: &Claim) -> Vec<i64> {
    match c {
        Claim::Batch(rows) => rows.iter().map(|r| r.id).collect(),
        other => panic!("expected a batch, got {other:?}"),
    }
}

fn states(tx: &Transaction) -> Vec<(String, String)> {
    let mut stmt = tx
        .prepare("SELECT key, state FROM outbox ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn rows_are_keyed_grouped_and_claimed_in_order_under_a_lease() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let outbox = Outbox {
        routing: Some(routing(CONFIG)),
    };
    outbox.enqueue(&tx, &[opened()], Timestamp(2_000)).unwrap();
    tx.execute("UPDATE incidents SET resolved_at = 9000 WHERE id = 7", [])
        .unwrap();
    outbox
        .enqueue(&tx, &[resolved()], Timestamp(2_500))
        .unwrap();
    assert_eq!(
        states(&tx),
        [
            ("incident.opened:7:1:ops".into(), "pending".into()),
            ("incident.reminder:7:1:ops".into(), "cancelled".into()),
            ("incident.opened:7:1:chat".into(), "pending".into()),
            ("incident.resolved:7:1:ops".into(), "pending".into()),
            ("incident.resolved:7:1:chat".into(), "pending".into()),
        ],
        "the resolution cancels the reminder"
    );

    // Within the grouping window nothing goes; after it, both rows as one message.
    assert_eq!(
        claim(&tx, &lane("ops", 2_100, 1_000)).unwrap(),
        Claim::Wait(Timestamp(3_000))
    );
    let batch = claim(&tx, &lane("ops", 3_000, 1_000)).unwrap();
    assert_eq!(
        keys(&batch),
        ["incident.opened:7:1:ops", "incident.resolved:7:1:ops"]
    );
    // Leased: nobody else takes them, and a claim after the lease gets the same batch.
    assert_eq!(
        claim(&tx, &lane("ops", 3_001, 1_000)).unwrap(),
        Claim::Wait(Timestamp(63_000))
    );
    assert_eq!(claim(&tx, &lane("ops", 63_000, 0)).unwrap(), batch);
    // The other destination's lane is independent.
    assert_eq!(keys(&claim(&tx, &lane("chat", 3_000, 0)).unwrap()).len(), 2);

    finish(
        &tx,
        None,
        &ids(&batch),
        Timestamp(3_100),
        &Finish::Delivered,
    )
    .unwrap();
    assert_eq!(claim(&tx, &lane("ops", 3_200, 0)).unwrap(), Claim::Idle);
    let delivered: (i64, i64) = tx
        .query_row(
            "SELECT count(*), sum(attempts) FROM outbox WHERE state = 'delivered'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(delivered, (2, 2));
}

#[test]
fn a_failed_row_holds_back_the_rows_behind_it_until_it_is_retried_or_dead() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let outbox = Outbox {
        routing: Some(routing(CONFIG)),
    };
    outbox.enqueue(&tx, &[opened()], Timestamp(2_000)).unwrap();
    let first = claim(&tx, &lane("chat", 2_000, 0)).unwrap();
    tx.execute("UPDATE incidents SET resolved_at = 9000 WHERE id = 7", [])
        .unwrap();
    outbox
        .enqueue(&tx, &[resolved()], Timestamp(2_100))
        .unwrap();
    let retry = Finish::Retry {
        error: "HTTP 503".into(),
        at: Timestamp(5_000),
    };
    finish(&tx, None, &ids(&first), Timestamp(2_200), &retry).unwrap();
    // "resolved" is due, but "opened" is being retried: it waits.
    assert_eq!(
        claim(&tx, &lane("chat", 2_300, 0)).unwrap(),
        Claim::Wait(Timestamp(5_000))
    );
    let again = claim(&tx, &lane("chat", 5_000, 0)).unwrap();
    assert_eq!(
        keys(&again),
        ["incident.opened:7:1:chat"],
        "the same batch, not regrouped"
    );
    let Claim::Batch(rows) = &again else {
        unreachable!()
    };
    assert_eq!(rows[0].attempts, 1);
    let dead = Finish::Dead {
        error: "gave up".into(),
    };
    finish(&tx, None, &ids(&again), Timestamp(5_100), &dead).unwrap();
    assert_eq!(
        keys(&claim(&tx, &lane("chat", 5_200, 0)).unwrap()),
        ["incident.resolved:7:1:chat"]
    );
}

#[test]
fn a_delivered_reminder_schedules_the_next_twice_as_far_while_the_incident_is_open() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let r = routing(CONFIG);
    let outbox = Outbox {
        routing: Some(r.clone()),
    };
    outbox.enqueue(&tx, &[opened()], Timestamp(0)).unwrap();
    let first = claim(&tx, &lane("ops", 0, 0)).unwrap();
    finish(
        &tx,
        Some(&r),
        &ids(&first),
        Timestamp(0),
        &Finish::Delivered,
    )
    .unwrap();
    // The first reminder is due an hour after the opening.
    assert_eq!(
        claim(&tx, &lane("ops", 1, 0)).unwrap(),
        Claim::Wait(Timestamp(3_600_000))
    );
    let reminder = claim(&tx, &lane("ops", 3_600_000, 0)).unwrap();
    assert_eq!(keys(&reminder), ["incident.reminder:7:1:ops"]);
    finish(
        &tx,
        Some(&r),
        &ids(&reminder),
        Timestamp(3_600_000),
        &Finish::Delivered,
    )
    .unwrap();
    assert_eq!(
        claim(&tx, &lane("ops", 3_600_001, 0)).unwrap(),
        Claim::Wait(Timestamp(3_600_000 + 7_200_000)),
        "the second comes two hours later"
    );
    tx.execute("UPDATE incidents SET resolved_at = 9000 WHERE id = 7", [])
        .unwrap();
    outbox
        .enqueue(&tx, &[resolved()], Timestamp(3_700_000))
        .unwrap();
    let states = states(&tx);
    assert!(
        states.contains(&("incident.reminder:7:2:ops".into(), "cancelled".into())),
        "{states:?}"
    );
}

#[test]
fn a_new_routing_frees_leases_and_dead_letters_what_has_no_destination_left() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let mut outbox = Outbox {
        routing: Some(routing(CONFIG)),
    };
    let window = WindowInfo {
        title: "Upgrade".into(),
        checks: vec![CheckId::new("web").unwrap()],
        start: Timestamp(10_000),
        end: Timestamp(20_000),
    };
    let started = Event::MaintenanceTime {
        id: None,
        phase: WindowPhase::Started,
        window,
    };
    outbox.enqueue(&tx, &[started], Timestamp(10_000)).unwrap();
    let batch = claim(&tx, &lane("ops", 10_000, 0)).unwrap();
    assert_eq!(keys(&batch), ["maintenance.started:r10000:1:ops"]);
    let only_ops = CONFIG.split("[[notify]]\nname = \"chat\"").next().unwrap();
    let dead = outbox
        .apply(
            &tx,
            OutboxWrite::Route {
                routing: routing(only_ops),
                when: Routed::Start,
                reply: oneshot::channel().0,
            },
        )
        .map(|a| match a {
            Answer::Routed(_, n) => n,
            _ => unreachable!(),
        })
        .unwrap();
    assert_eq!(dead, 1, "chat's row");
    // The lease is gone: the restarted worker takes the batch at once.
    assert_eq!(claim(&tx, &lane("ops", 10_001, 0)).unwrap(), batch);
}
