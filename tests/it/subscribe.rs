//! Public email subscriptions end to end, on loopback with an SMTP sink: subscribe, confirm by
//! the mailed link, hear of incidents with one-click unsubscribe headers and both parts,
//! unsubscribe with RFC 8058's post and hear nothing more; the same answer for a known and an
//! unknown address; the budget's 429; false alarms and removed checks never reach subscribers,
//! and a false alarm stops a fan-out under way; a restart resumes a fan-out without sending
//! twice; the CLI's export and delete.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::admin::api;
use crate::daemon::{self, Daemon, Response};
use crate::smtp_sink::{Mail, Sink};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const WAIT: Duration = Duration::from_secs(15);

/// A config with subscriptions on, mailing through `sink`, a check on `alive` and `extra`.
fn config(sink: &Sink, alive: &TcpListener, group_window: &str, extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Sub test"
public_url = "http://status.test/"
[storage]
path = "{{db}}"
[defaults]
interval = "100ms"
timeout = "80ms"
failure_threshold = 2
success_threshold = 1
[admin]
api_tokens = ["test-token-0123456789abcdef"]
[smtp]
url = "smtp://127.0.0.1:{}"
from = "Sub test <status@example.org>"
[subscriptions]
email = true
group_window = "{group_window}"
[[check]]
id = "alive"
name = "Alive"
group = "Core"
type = "tcp"
host = "127.0.0.1"
port = {}
{extra}
"#,
        sink.addr.port(),
        alive.local_addr().unwrap().port()
    )
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn subscribe(d: &Daemon, pairs: &[(&str, &str)]) -> Response {
    d.request("POST", "/subscribe", &[FORM], &form(pairs)).await
}

/// Subscribes `email` to everything and confirms it by the mailed link.
async fn subscribed(d: &Daemon, sink: &Sink, email: &str) {
    let before = sink.to(email).len();
    let r = subscribe(d, &[("email", email)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = sink.wait(WAIT, |_| sink.to(email).len() > before).await;
    assert!(!mails.is_empty());
    let confirm = sink.to(email)[before].link("http://status.test/subscribe/confirm");
    let token = confirm.split("token=").nth(1).unwrap().to_string();
    let r = d
        .request(
            "POST",
            "/subscribe/confirm",
            &[FORM],
            &form(&[("token", &token)]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("You are subscribed"), "{}", r.body);
}

/// Declares a manual incident on `checks` through the admin API; its id.
async fn declare(d: &Daemon, title: &str, checks: &[&str]) -> i64 {
    let body = serde_json::json!({
        "title": title, "impact": "minor", "checks": checks, "body": "We are looking into it."
    });
    let r = d
        .request(
            "POST",
            "/api/v1/admin/incidents",
            &api(&[]),
            &body.to_string(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    serde_json::from_str::<Value>(&r.body).unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Waits until every subscriber row of incident `id` is finished (delivered or cancelled).
async fn settled(d: &Daemon, id: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (all, pending): (i64, i64) = d
            .db()
            .query_row(
                "SELECT count(*), count(CASE WHEN state = 'pending' THEN 1 END) FROM outbox
                 WHERE destination = '@subscribers' AND subject = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if all > 0 && pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "incident {id}'s subscriber mail is not finished"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn subjects(mails: &[Mail]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_confirm_hear_of_an_incident_and_unsubscribe_with_one_click() {
    let sink = Sink::start().await;
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &config(&sink, &alive, "0s", "")).await;

    let page = d.get("/subscribe").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for part in [
        r#"name="email""#,
        r#"name="website""#,
        r#"value="Core""#,
        r#"value="alive""#,
    ] {
        assert!(page.body.contains(part), "{part} not in the form");
    }
    let r = subscribe(&d, &[("email", "ann@example.org"), ("groups", "Core")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Check your inbox"));
    let mails = sink.wait(WAIT, |m| !m.is_empty()).await;
    let confirm = &mails[0];
    assert_eq!(confirm.to, ["ann@example.org"]);
    assert_eq!(confirm.from, "status@example.org");
    assert!(
        confirm
            .header("Subject")
            .unwrap()
            .contains("Confirm your subscription")
    );
    assert_eq!(
        confirm.header("List-Unsubscribe"),
        None,
        "nothing to leave yet"
    );
    assert!(confirm.part("text/plain").contains("the group Core"));
    let link = confirm.link("http://status.test/subscribe/confirm");

    // Not confirmed yet: the incident is not theirs.
    let early = declare(&d, "Before confirming", &["alive"]).await;
    settled(&d, early).await;
    assert_eq!(sink.to("ann@example.org").len(), 1);

    let page = d.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = link.split("token=").nth(1).unwrap();
    assert!(page.body.contains(token) && page.body.contains("Confirm"));
    let body = form(&[("token", token)]);
    let r = d
        .request("POST", "/subscribe/confirm", &[FORM], &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("the group Core"), "{}", r.body);
    let again = d
        .request("POST", "/subscribe/confirm", &[FORM], &body)
        .await;
    assert_eq!(again.status, 404, "a confirmation link works once");

    // Two more subscribers, after ann: the server refuses the first, the second still hears.
    {
        let db = rusqlite::Connection::open(&d.db).unwrap();
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        for (i, address) in ["reject@example.org", "zed@example.org"].iter().enumerate() {
            db.execute(
                "INSERT INTO subscribers (address, scope, unsubscribe_hash, created_at, confirmed_at)
                 VALUES (?1, 'all', ?2, 0, 0)",
                (address, format!("h{i}")),
            )
            .unwrap();
        }
    }
    let id = declare(&d, "Mail is <slow>", &["alive"]).await;
    sink.wait(WAIT, |_| sink.to("ann@example.org").len() == 2)
        .await;
    let mail = sink.to("ann@example.org")[1].clone();
    settled(&d, id).await;
    assert_eq!(
        sink.to("zed@example.org").len(),
        1,
        "a refused address is skipped"
    );
    let state: String = d
        .db()
        .query_row(
            "SELECT state FROM outbox WHERE destination = '@subscribers' AND subject = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "delivered");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Sub test: Incident opened: Mail is <slow>")
    );
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    assert_eq!(
        mail.header("Message-ID").unwrap(),
        format!("<incident.opened.{id}.1.subscribers.1@example.org>"),
        "the same on every retry"
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = mail.header("List-Unsubscribe").unwrap();
    assert!(
        unsubscribe.starts_with("<http://status.test/unsubscribe?token="),
        "{unsubscribe}"
    );
    let text = mail.part("text/plain");
    assert!(text.contains("We are looking into it."), "{text}");
    assert!(text.contains(&format!("http://status.test/incidents/{id}")));
    assert!(!text.contains("Before confirming"), "{text}");
    let html = mail.part("text/html");
    assert!(html.contains("Mail is &lt;slow&gt;"), "{html}");
    assert!(!html.contains("<img"));

    // RFC 8058: a POST to the header's URL, with no page and no cookie.
    let url = url::Url::parse(unsubscribe.trim_matches(['<', '>'])).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap());
    assert_eq!(d.get(&path).await.status, 200, "a page with a button");
    let r = d
        .request("POST", &path, &[FORM], "List-Unsubscribe=One-Click")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("You are unsubscribed"));
    let left: i64 = d
        .db()
        .query_row(
            "SELECT count(*) FROM subscribers WHERE address = 'ann@example.org'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the address is deleted");

    let after = declare(&d, "After leaving", &["alive"]).await;
    settled(&d, after).await;
    assert_eq!(
        sink.to("ann@example.org").len(),
        2,
        "nothing after unsubscribing"
    );
    assert_eq!(d.get("/unsubscribe?token=nope").await.status, 404);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_never_tells_a_known_address_and_the_budget_ends_in_429() {
    let sink = Sink::start().await;
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &config(&sink, &alive, "0s", "")).await;

    let cross = d
        .request(
            "POST",
            "/subscribe",
            &[FORM, ("Origin", "http://evil.example")],
            &form(&[("email", "eve@example.org")]),
        )
        .await;
    assert_eq!(cross.status, 403, "same origin only");

    let new = subscribe(&d, &[("email", "bob@example.org")]).await;
    sink.wait(WAIT, |_| sink.to("bob@example.org").len() == 1)
        .await;
    subscribed(&d, &sink, "bob@example.org").await;
    let known = subscribe(&d, &[("email", "BOB@example.org")]).await;
    assert_eq!((known.status, &known.body), (new.status, &new.body));
    let mails = sink
        .wait(WAIT, |_| sink.to("bob@example.org").len() == 3)
        .await;
    let last = sink.to("bob@example.org")[2].clone();
    assert!(
        last.header("Subject")
            .unwrap()
            .contains("already subscribed"),
        "{:?}",
        subjects(&mails)
    );
    assert!(last.header("List-Unsubscribe").is_some());
    let robot = subscribe(&d, &[("email", "bot@example.org"), ("website", "x")]).await;
    assert_eq!((robot.status, &robot.body), (new.status, &new.body));
    let bad = subscribe(&d, &[("email", "not an address")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("That is not an email address."));

    // bob@ has had three requests: the fourth is over his budget.
    let over = subscribe(&d, &[("email", "bob@example.org")]).await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.header("retry-after").is_some());
    // This client has spent its ten too, soon.
    let mut refused = None;
    for i in 0..12 {
        let r = subscribe(&d, &[("email", &format!("n{i}@example.org"))]).await;
        if r.status == 429 {
            refused = Some(i);
            break;
        }
        assert_eq!(r.status, 200);
    }
    assert!(refused.is_some(), "the per-client budget never ran out");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        sink.to("bot@example.org").is_empty(),
        "the honeypot sends nothing"
    );

    // The export and deletion a person may ask for, while the daemon runs.
    let toml = dir.path().join("watchpost.toml");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
            .args(args)
            .args(["--config", toml.to_str().unwrap()])
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, csv) = cli(&["subscribers", "export"]);
    assert_eq!(code, Some(0));
    assert!(
        csv.starts_with("address,scope,subscribed_at,confirmed_at\r\n"),
        "{csv}"
    );
    let bob = csv
        .lines()
        .find(|l| l.starts_with("bob@example.org,"))
        .unwrap();
    assert!(bob.contains(",all,") && !bob.ends_with(','), "{bob}");
    assert_eq!(
        cli(&["subscribers", "delete", "Bob@Example.org"]).0,
        Some(0)
    );
    assert_eq!(
        cli(&["subscribers", "delete", "bob@example.org"]).0,
        Some(1)
    );
    assert!(!cli(&["subscribers", "export"]).1.contains("bob@"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_alarms_and_removed_checks_never_reach_subscribers() {
    let sink = Sink::start().await;
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let flaky = TcpListener::bind("127.0.0.1:0").unwrap();
    let flaky_check = format!(
        "[[check]]\nid = \"flaky\"\nname = \"Flaky\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\n",
        flaky.local_addr().unwrap().port()
    );
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &config(&sink, &alive, "2s", &flaky_check)).await;
    subscribed(&d, &sink, "cy@example.org").await;

    // Declared, resolved and marked a false alarm within the grouping window: never mailed.
    let ghost = declare(&d, "Ghost", &["alive"]).await;
    let resolve = serde_json::json!({"status": "resolved", "body": "Nothing was wrong."});
    let path = format!("/api/v1/admin/incidents/{ghost}");
    let r = d
        .request(
            "POST",
            &format!("{path}/updates"),
            &api(&[]),
            &resolve.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mark = serde_json::json!({"false_alarm": true});
    let r = d
        .request("PATCH", &path, &api(&[]), &mark.to_string())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    settled(&d, ghost).await;
    let states: Vec<String> = {
        let db = d.db();
        let mut stmt = db
            .prepare("SELECT state FROM outbox WHERE destination = '@subscribers' AND subject = ?1")
            .unwrap();
        stmt.query_map([ghost.to_string()], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        states,
        ["cancelled", "cancelled"],
        "opened and resolved, never sent"
    );

    // The flaky check goes down: its incident is public and mailed.
    drop(flaky);
    sink.wait(WAIT, |_| {
        subjects(&sink.to("cy@example.org"))
            .iter()
            .any(|s| s.contains("Flaky is down"))
    })
    .await;
    let down = sink
        .to("cy@example.org")
        .into_iter()
        .find(|m| m.header("Subject").unwrap().contains("Flaky is down"))
        .unwrap();
    for part in [down.part("text/plain"), down.part("text/html")] {
        // Refused, or timed out when a loaded machine starves the 80 ms probe: a public form.
        assert!(
            [
                "connection refused",
                "connection timed out",
                "no answer in time"
            ]
            .iter()
            .any(|said| part.contains(&format!("Flaky: {said}"))),
            "the public form: {part}"
        );
        assert!(
            !part.contains("127.0.0.1"),
            "no address from the probe: {part}"
        );
    }
    d.stop().await;

    // Restarted without it: its incident is resolved as removed, which the public never hears.
    let d = daemon::start(dir.path(), &config(&sink, &alive, "2s", "")).await;
    let real = declare(&d, "Real", &["alive"]).await;
    settled(&d, real).await;
    let got = subjects(&sink.to("cy@example.org"));
    assert!(got.iter().any(|s| s.contains("Real")), "{got:?}");
    assert!(!got.iter().any(|s| s.contains("Ghost")), "{got:?}");
    assert!(
        !got.iter().any(|s| s.contains("Resolved: Flaky")),
        "a removed check's resolution: {got:?}"
    );
    d.stop().await;
}

/// Confirmed subscribers `s0@example.org`… written straight into the database of a daemon
/// that ran once in `dir` and stopped.
fn add_subscribers(dir: &std::path::Path, n: i64) {
    let mut db = rusqlite::Connection::open(dir.join("watchpost.db")).unwrap();
    let tx = db.transaction().unwrap();
    for i in 0..n {
        tx.execute(
            "INSERT INTO subscribers (address, scope, unsubscribe_hash, created_at, confirmed_at)
             VALUES (?1, 'all', ?2, 0, 0)",
            (format!("s{i}@example.org"), format!("h{i}")),
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_alarm_stops_a_fan_out_between_two_mails() {
    let sink = Sink::slow(Duration::from_millis(20)).await;
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&sink, &alive, "0s", "");
    daemon::start(dir.path(), &toml).await.stop().await;
    add_subscribers(dir.path(), 200);
    let d = daemon::start(dir.path(), &toml).await;
    let id = declare(&d, "Blip", &["alive"]).await;
    sink.wait(WAIT, |m| m.len() >= 5).await;
    let resolve = serde_json::json!({"status": "resolved", "body": "Gone."});
    let path = format!("/api/v1/admin/incidents/{id}");
    let r = d
        .request(
            "POST",
            &format!("{path}/updates"),
            &api(&[]),
            &resolve.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d
        .request(
            "PATCH",
            &path,
            &api(&[]),
            &serde_json::json!({"false_alarm": true}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    settled(&d, id).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sink.mails().len();
    assert!(sent < 200, "the fan-out went on: {sent} mails");
    let (cursor, states): (i64, String) = d
        .db()
        .query_row(
            "SELECT max(fanout_after), group_concat(state) FROM outbox
             WHERE destination = '@subscribers' AND subject = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(states, "cancelled,cancelled");
    assert_eq!(
        cursor, sent as i64,
        "one mail per subscriber up to the cursor, none after"
    );
    assert!(
        sink.mails()
            .iter()
            .all(|m| !m.header("Subject").unwrap().contains("Resolved")),
        "nothing of the resolution"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.mails().len(), sent);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_fan_out_resumes_after_the_last_subscriber_mailed() {
    let sink = Sink::slow(Duration::from_millis(10)).await;
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&sink, &alive, "0s", "");
    daemon::start(dir.path(), &toml).await.stop().await;
    add_subscribers(dir.path(), 100);
    let d = daemon::start(dir.path(), &toml).await;
    let id = declare(&d, "Halfway", &["alive"]).await;
    sink.wait(WAIT, |m| m.len() >= 10).await;
    d.stop().await;
    let before = sink.mails().len();
    assert!(before < 100, "the stop came too late to test anything");
    let d = daemon::start(dir.path(), &toml).await;
    settled(&d, id).await;
    let mut to: Vec<String> = sink.mails().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    let mut expected: Vec<String> = (0..100).map(|i| format!("s{i}@example.org")).collect();
    expected.sort();
    assert_eq!(to, expected, "every subscriber once, none twice");
    d.stop().await;
}

/// Mails per second to 1,000 subscribers through one SMTP connection to the loopback sink.
/// A measurement, not a test: `cargo test --release --test it subscriber_mail_rate -- --ignored
/// --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it by name"]
async fn subscriber_mail_rate() {
    const N: i64 = 1_000;
    let sink = Sink::start().await;
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&sink, &alive, "0s", "");
    // Create the schema, then a thousand confirmed subscribers.
    daemon::start(dir.path(), &toml).await.stop().await;
    add_subscribers(dir.path(), N);
    let d = daemon::start(dir.path(), &toml).await;
    let started = Instant::now();
    let id = declare(&d, "Rate", &["alive"]).await;
    sink.wait(Duration::from_secs(300), |m| m.len() as i64 >= N)
        .await;
    let took = started.elapsed();
    settled(&d, id).await;
    println!(
        "{N} subscriber mails in {:.2} s: {:.0} mails/s over {} SMTP connection(s)",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64(),
        sink.connections()
    );
    d.stop().await;
}
