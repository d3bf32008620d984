use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use super::*;
use crate::model::IncidentKind;
use crate::notify::Routing;
use crate::store::outbox::{Claim, Lane, Outbox, OutboxWrite, Routed};

const DAY_MS: i64 = 86_400_000;

const CONFIG: &str = r#"
[server]
public_url = "https://status.example.org"

[smtp]
url = "smtp://127.0.0.1:2525"
from = "Status <status@example.org>"

[subscriptions]
email = true

[[check]]
id = "web"
name = "Web"
type = "tcp"
host = "h"
port = 1
"#;

fn db() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema::configure(&conn).unwrap();
    crate::store::schema::migrate(&mut conn).unwrap();
    conn.execute_batch(
        "INSERT INTO checks (id, slug, name, grp, kind, first_seen) VALUES (1, 'web', 'Web', '', 'tcp', 0);
         INSERT INTO incidents (id, check_id, kind, severity, title, started_at) VALUES (7, 1, 'auto', 'major', 'Web is down', 1000);",
    )
    .unwrap();
    conn
}

/// Applies a subscriber write in `tx` and answers as if it committed.
fn ask<T>(
    tx: &Transaction,
    make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> SubscriberWrite,
) -> T {
    let (reply, mut answer) = oneshot::channel();
    apply(tx, make(reply)).unwrap().send(Ok(()));
    answer.try_recv().unwrap().unwrap()
}

fn subscribe(tx: &Transaction, address: &str, scope: Scope, confirm: &str, now: i64) -> Subscribed {
    let request = Subscription {
        address: address.into(),
        scope,
        confirm_hash: confirm.into(),
        unsubscribe_hash: format!("u-{now}"),
        now: Timestamp(now),
        expires: Timestamp(now + 2 * DAY_MS),
    };
    ask(tx, |reply| SubscriberWrite::Subscribe { request, reply })
}

fn confirm(tx: &Transaction, hash: &str, now: i64) -> Option<Scope> {
    ask(tx, |reply| SubscriberWrite::Confirm {
        confirm_hash: hash.into(),
        now: Timestamp(now),
        reply,
    })
}

fn web_only() -> Scope {
    Scope::Some {
        checks: vec![CheckId::new("web").unwrap()],
        groups: vec![],
    }
}

fn count(tx: &Transaction) -> i64 {
    tx.query_row("SELECT count(*) FROM subscribers", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn double_opt_in_one_time_tokens_and_changes_of_scope() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    assert_eq!(
        subscribe(&tx, "Ann@Example.org", Scope::All, "c1", 1_000),
        Subscribed::Confirm
    );
    // Asked again before confirming, in another case: the new token and scope replace the old.
    assert_eq!(
        subscribe(&tx, "ann@example.org", web_only(), "c2", 2_000),
        Subscribed::Confirm
    );
    assert_eq!(count(&tx), 1);
    assert_eq!(confirm(&tx, "c1", 3_000), None, "replaced");
    assert_eq!(confirm(&tx, "c2", 3_000), Some(web_only()));
    assert_eq!(confirm(&tx, "c2", 3_000), None, "one time only");
    assert_eq!(
        subscribe(&tx, "ANN@example.org", web_only(), "c3", 4_000),
        Subscribed::Already {
            created_at: Timestamp(1_000)
        }
    );
    assert_eq!(
        subscribe(&tx, "ann@example.org", Scope::All, "c4", 5_000),
        Subscribed::Change {
            current: web_only(),
            created_at: Timestamp(1_000)
        }
    );
    let stored: String = tx
        .query_row("SELECT scope FROM subscribers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        Scope::from_stored(&stored),
        Some(web_only()),
        "until confirmed"
    );
    assert_eq!(confirm(&tx, "c4", 6_000), Some(Scope::All));
    let confirmed: i64 = tx
        .query_row("SELECT confirmed_at FROM subscribers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(confirmed, 3_000, "a change keeps the first confirmation");
    let gone = |tx: &Transaction, hash: &str| {
        ask(tx, |reply| SubscriberWrite::Unsubscribe {
            unsubscribe_hash: hash.into(),
            reply,
        })
    };
    assert!(gone(&tx, "u-1000"));
    assert!(!gone(&tx, "u-1000"));
    assert_eq!(count(&tx), 0);
}

#[test]
fn confirmation_tokens_expire_after_their_time_and_their_rows_go() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    subscribe(&tx, "bob@example.org", Scope::All, "c1", 0);
    assert_eq!(confirm(&tx, "c1", 2 * DAY_MS + 1), None);
    subscribe(&tx, "eve@example.org", Scope::All, "c2", 2 * DAY_MS + 1);
    let left: String = tx
        .query_row("SELECT address FROM subscribers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, "eve@example.org", "the expired request was deleted");
    let deleted = |tx: &Transaction, address: &str| {
        ask(tx, |reply| SubscriberWrite::Delete {
            address: address.into(),
            reply,
        })
    };
    assert!(deleted(&tx, "EVE@example.org"));
    assert!(!deleted(&tx, "eve@example.org"));
    subscribe(&tx, "old@example.org", Scope::All, "c3", 0);
    assert_eq!(prune(&tx, Timestamp(2 * DAY_MS)).unwrap(), 0, "not yet");
    assert_eq!(prune(&tx, Timestamp(2 * DAY_MS + 1)).unwrap(), 1);
    assert_eq!(count(&tx), 0);
}

#[test]
fn the_key_is_made_once() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let key = |tx: &Transaction, b: u8| {
        ask(tx, |reply| SubscriberWrite::Key {
            candidate: vec![b; 32],
            reply,
        })
    };
    assert_eq!(key(&tx, 1), vec![1; 32]);
    assert_eq!(key(&tx, 2), vec![1; 32]);
}

fn routed(tx: &Transaction, src: &str) -> Outbox {
    let mut outbox = Outbox::default();
    let config = crate::config::parse(Path::new("t.toml"), src).unwrap();
    let (reply, _) = oneshot::channel();
    let routing = Arc::new(Routing::new(&config));
    outbox
        .apply(
            tx,
            OutboxWrite::Route {
                routing,
                when: Routed::Start,
                reply,
            },
        )
        .unwrap();
    outbox
}

fn claimed(tx: &Transaction, outbox: &mut Outbox, now: i64) -> Claim {
    let (reply, mut answer) = oneshot::channel();
    let lane = Lane {
        destination: public::DESTINATION.into(),
        now: Timestamp(now),
        lease: Duration::from_secs(60),
        group_window: Duration::ZERO,
    };
    outbox
        .apply(tx, OutboxWrite::Claim { lane, reply })
        .unwrap()
        .send(Ok(()));
    answer.try_recv().unwrap().unwrap()
}

fn states(tx: &Transaction) -> Vec<(String, String, i64)> {
    let mut stmt = tx
        .prepare("SELECT key, state, fanout_after FROM outbox WHERE destination = '@subscribers' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn one_row_per_event_a_cursor_per_row_and_a_false_alarm_cancels_what_is_undelivered() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let mut outbox = routed(&tx, CONFIG);
    let opened = Event::IncidentOpened {
        id: 7,
        kind: IncidentKind::Auto,
        impact: Impact::Major,
        title: "Web is down".into(),
        checks: vec![CheckId::new("web").unwrap()],
        at: Timestamp(1_000),
        body: "refused".into(),
    };
    outbox.enqueue(&tx, &[opened], Timestamp(2_000)).unwrap();
    let Claim::Batch(rows) = claimed(&tx, &mut outbox, 2_000) else {
        panic!("expected a batch")
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(rows[0].key, "incident.opened:7:1:@subscribers");
    let advance = |tx: &Transaction, ids: &[i64], after| {
        ask(tx, |reply| SubscriberWrite::Advance {
            rows: ids.to_vec(),
            after,
            lease_until: Timestamp(200_000),
            reply,
        })
    };
    assert_eq!(advance(&tx, &ids, 5), ids);
    assert_eq!(advance(&tx, &ids, 3), ids, "never backwards");
    let lease: i64 = tx
        .query_row(
            "SELECT lease_until FROM outbox WHERE id = ?1",
            [ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(lease, 200_000, "a long fan-out keeps its lease");

    tx.execute("UPDATE incidents SET resolved_at = 9000 WHERE id = 7", [])
        .unwrap();
    let resolved = Event::IncidentResolved {
        id: 7,
        started_at: Timestamp(1_000),
        at: Timestamp(9_000),
        body: "Web recovered".into(),
    };
    outbox.enqueue(&tx, &[resolved], Timestamp(9_000)).unwrap();
    tx.execute("UPDATE incidents SET false_alarm = 1 WHERE id = 7", [])
        .unwrap();
    let marked = Event::FalseAlarm {
        id: 7,
        false_alarm: true,
        at: Timestamp(9_500),
    };
    let update = Event::IncidentUpdated {
        id: 7,
        status: crate::model::IncidentStatus::Resolved,
        body: "It was the probe.".into(),
        author: Some("ann".into()),
        at: Timestamp(9_600),
    };
    outbox
        .enqueue(&tx, &[marked, update], Timestamp(9_600))
        .unwrap();
    assert_eq!(
        states(&tx),
        [
            (
                "incident.opened:7:1:@subscribers".into(),
                "cancelled".into(),
                5
            ),
            (
                "incident.resolved:7:1:@subscribers".into(),
                "cancelled".into(),
                0
            ),
        ],
        "nothing more of a false alarm reaches subscribers"
    );
    assert_eq!(advance(&tx, &ids, 6), Vec::<i64>::new());
    assert_eq!(claimed(&tx, &mut outbox, 10_000), Claim::Idle);
}

#[test]
fn subscriber_rows_left_when_subscriptions_are_turned_off_are_dead_lettered() {
    let mut conn = db();
    let tx = conn.transaction().unwrap();
    let outbox = routed(&tx, CONFIG);
    let window = crate::event::WindowInfo {
        title: "Upgrade".into(),
        checks: vec![],
        start: Timestamp(10_000),
        end: Timestamp(20_000),
    };
    let planned = Event::Maintenance {
        id: 3,
        change: crate::event::Planning::Planned,
        window,
    };
    outbox.enqueue(&tx, &[planned], Timestamp(2_000)).unwrap();
    assert_eq!(states(&tx)[0].1, "pending");
    routed(&tx, &CONFIG.replace("email = true", "email = false"));
    assert_eq!(states(&tx)[0].1, "dead");
}
