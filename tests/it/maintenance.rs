//! Maintenance windows end to end: a recurring window puts its checks in maintenance, opens no
//! incident, leaves the time out of uptime, and a failure that continues past the window's end
//! opens an incident dated to that end, not before.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::daemon;

fn check_state(v: &Value, id: &str) -> String {
    v["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id))
        .and_then(|c| c["state"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A daemon config with one TCP check on `port` and a recurring 1.5 s window for it, starting
/// `in_s` whole seconds from now (UTC, as a cron expression); and the window's start and end.
fn window_config(port: u16, in_s: u64) -> (String, i64, i64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let start_s = now.as_secs() + in_s;
    let (sec, min, hour) = (start_s % 60, (start_s / 60) % 60, (start_s / 3600) % 24);
    let start_ms = start_s as i64 * 1000;
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
[storage]
path = "{{db}}"
[[check]]
id = "db"
type = "tcp"
host = "127.0.0.1"
port = {port}
interval = "100ms"
timeout = "80ms"
failure_threshold = 2
success_threshold = 1
[[maintenance]]
title = "Database upgrade"
checks = ["db"]
cron = "{sec} {min} {hour} * * *"
duration = "1500ms"
"#
    );
    (toml, start_ms, start_ms + 1500)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_continuing_past_a_window_opens_an_incident_at_its_end() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A window of 1.5 s starting at the second after next (UTC).
    let (toml, start_ms, end_ms) = window_config(port, 2);
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    let limit = Duration::from_secs(10);
    d.wait_json("/api/v1/status", limit, |v| check_state(v, "db") == "up")
        .await;

    // The target goes away just after the window starts.
    let until_start = Duration::from_millis((start_ms + 200).saturating_sub(now_ms()) as u64);
    tokio::time::sleep(until_start).await;
    drop(listener);
    d.wait_json("/api/v1/status", limit, |v| {
        check_state(v, "db") == "maintenance"
    })
    .await;
    let page = d.get("/").await.body;
    assert!(page.contains("Under maintenance"), "{page}");
    // Failing probes inside the window open nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        now_ms() < end_ms,
        "the test itself ran late; the window is already over"
    );
    let v = d.json("/api/v1/incidents").await;
    assert_eq!(v["incidents"].as_array().unwrap().len(), 0, "{v}");

    // After the window the failure continues: one incident, dated to the window's end.
    let v = d
        .wait_json("/api/v1/incidents", limit, |v| {
            !v["incidents"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(v["incidents"].as_array().unwrap().len(), 1);
    let started: i64 = d
        .db()
        .query_row("SELECT started_at FROM incidents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        started, end_ms,
        "the incident starts at the end of the window"
    );
    let db = d.db.clone();
    d.stop().await;

    // The window's time is counted as maintenance, not as downtime.
    let conn = rusqlite::Connection::open(db).unwrap();
    let (maintenance, down): (i64, i64) = conn
        .query_row(
            "SELECT sum(maintenance_ms), sum(down_ms) FROM rollup_day",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(maintenance, 1500, "exactly the window");
    assert!(down > 0);
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Regression: a check down when a window began had its incident resolved ("Resolved", green)
/// although it never recovered, and a second incident opened at the window's end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_spanning_a_window_is_one_incident_whose_uptime_leaves_the_window_out() {
    let held = crate::daemon::HeldPort::new();
    let port = held.port();
    let (toml, start_ms, end_ms) = window_config(port, 3);
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    let limit = Duration::from_secs(10);
    // Down before the window: the incident is open.
    d.wait_json("/api/v1/incidents", limit, |v| {
        !v["incidents"].as_array().unwrap().is_empty()
    })
    .await;
    assert!(now_ms() < start_ms, "the test itself ran late");
    d.wait_json("/api/v1/status", limit, |v| {
        check_state(v, "db") == "maintenance"
    })
    .await;
    let v = d.json("/api/v1/incidents").await;
    let incident = &v["incidents"][0];
    assert!(
        incident["resolved_at"].is_null(),
        "the window resolved nothing: {v}"
    );
    // Still down after the window: the same incident goes on; then the target comes back.
    d.wait_json("/api/v1/status", limit, |v| check_state(v, "db") == "down")
        .await;
    let back = held.listen();
    d.wait_json("/api/v1/status", limit, |v| check_state(v, "db") == "up")
        .await;
    let v = d
        .wait_json("/api/v1/incidents", limit, |v| {
            v["incidents"][0]["resolved_at"].is_string()
        })
        .await;
    assert_eq!(
        v["incidents"].as_array().unwrap().len(),
        1,
        "one outage, one incident: {v}"
    );
    let (id, started, resolved): (i64, i64, i64) = d
        .db()
        .query_row(
            "SELECT id, started_at, resolved_at FROM incidents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(
        started < start_ms && resolved > end_ms,
        "{started} {resolved}"
    );
    let page = d.get(&format!("/incidents/{id}")).await.body;
    assert!(page.contains("Maintenance began"), "{page}");
    assert!(page.contains("Maintenance ended"), "{page}");
    let db = d.db.clone();
    d.stop().await;
    drop(back);

    // The incident's duration excludes nothing; its uptime leaves the window out.
    let conn = rusqlite::Connection::open(db).unwrap();
    let (maintenance, down): (i64, i64) = conn
        .query_row(
            "SELECT sum(maintenance_ms), sum(down_ms) FROM rollup_day",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(maintenance, 1500, "exactly the window");
    assert_eq!(
        down,
        resolved - started - 1500,
        "the outage outside the window"
    );
}
