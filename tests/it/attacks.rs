//! The running daemon attacked from loopback, many source addresses included: floods of long
//! user names are refused before any work, strangers cannot lock an admin out, a maintenance
//! window that started decades ago counts only the time watched, and the public API answers
//! every bad query in JSON and every CORS preflight.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use serde_json::Value;
use watchpost::clock::Timestamp;
use watchpost::store::{AdminWrite, MaintenanceEdit, Store};

use crate::admin::{self, FORM, PASSWORD, api, csrf_of, form};
use crate::daemon::{self, Daemon, Response};

fn from(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

async fn sign_in(
    d: &Daemon,
    source: Ipv4Addr,
    user: &str,
    password: &str,
    cookie: &str,
) -> Response {
    let body = form(&[("user", user), ("password", password)]);
    let mut headers = vec![FORM];
    if !cookie.is_empty() {
        headers.push(("Cookie", cookie));
    }
    d.request_from(source, "POST", "/admin/login", &headers, &body)
        .await
}

/// The `name=value` of the `Set-Cookie` for `name`, after checking its attributes.
fn cookie_of(r: &Response, name: &str, max_age: &str) -> String {
    let set = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", r.headers));
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin", max_age] {
        assert!(set.contains(part), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

/// Regression: failed logins with 60 KB names from many addresses were each hashed, kept whole
/// in the throttle and logged whole: 30 s of them took the daemon from 155 MB to 1.8 GB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_user_names_and_passwords_are_refused_before_any_work() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = admin::start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;

    let long = "A".repeat(60_000);
    let started = Instant::now();
    for i in 0..200u32 {
        let name = format!("{i}{long}");
        let r = sign_in(&d, from(10 + (i % 50) as u8), &name, "wrong", "").await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("at most 128 bytes"), "{}", r.body);
    }
    // Hashing 200 passwords takes seconds even optimised; refusing them takes milliseconds.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let r = sign_in(&d, from(10), "ops", &"p".repeat(1025), "").await;
    assert_eq!(r.status, 400, "an over-long password is refused too");
    assert_eq!(
        sign_in(&d, from(11), &"o".repeat(128), "wrong", "")
            .await
            .status,
        401,
        "128 bytes is still a name"
    );
    // None of this counted as a failure of the addresses it came from.
    let r = sign_in(&d, from(10), "ops", PASSWORD, "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    d.stop().await;
}

/// Regression: five failures with the admin's name from anywhere locked the admin out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_lock_out_an_admin_who_signed_in_before() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = admin::start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;

    // The admin signs in from 127.0.0.4; the browser keeps a device cookie.
    let r = sign_in(&d, from(4), "ops", PASSWORD, "").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let device = cookie_of(&r, "watchpost_device", "Max-Age=31536000");
    cookie_of(&r, "watchpost_session", "Max-Age=");

    let lock_out = |attacker: u8| {
        let d = &d;
        async move {
            for _ in 0..5 {
                let r = sign_in(d, from(attacker), "ops", "guess", "").await;
                assert_eq!(r.status, 401, "{}", r.body);
            }
            let r = sign_in(d, from(3), "ops", PASSWORD, "").await;
            assert_eq!(r.status, 429, "a stranger waits, even with the password");
            assert!(r.header("retry-after").is_some());
        }
    };

    lock_out(2).await;
    let r = sign_in(&d, from(5), "ops", PASSWORD, &device).await;
    assert_eq!(
        r.status, 303,
        "the browser that signed in before, from a new address: {}",
        r.body
    );
    let device = cookie_of(&r, "watchpost_device", "Max-Age=31536000");

    lock_out(6).await;
    let r = sign_in(&d, from(4), "ops", PASSWORD, "").await;
    assert_eq!(
        r.status, 303,
        "the address that signed in before: {}",
        r.body
    );

    lock_out(7).await;
    let r = sign_in(&d, from(8), "ops", "guess", &device).await;
    assert_eq!(r.status, 401, "a trusted device still needs the password");
    let r = sign_in(&d, from(8), "ops", PASSWORD, "watchpost_device=forged").await;
    assert_eq!(r.status, 429, "a forged device cookie is a stranger's");
    d.stop().await;
}

/// Admin requests that plan a window starting two days ago, by form and by API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_starting_more_than_a_day_ago_are_refused_by_form_and_api() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = admin::start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;
    let cookie = admin::session(&d).await;
    let cookie_h = ("Cookie", cookie.as_str());
    let csrf = csrf_of(
        &d.request("GET", "/admin/maintenance", &[cookie_h], "")
            .await
            .body,
    );
    let now = chrono::Utc::now();
    let local = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    let (two_days_ago, in_an_hour) = (
        local(now - chrono::Duration::days(2)),
        local(now + chrono::Duration::hours(1)),
    );
    let body = form(&[
        ("csrf", &csrf),
        ("tz", "0"),
        ("title", "Typo in the year"),
        ("starts", &two_days_ago),
        ("ends", &in_an_hour),
        ("checks", "alive"),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &body)
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("more than a day ago"), "{}", r.body);

    for starts_at in [
        "1970-01-01T00:00:00Z".to_string(),
        (now - chrono::Duration::days(2)).to_rfc3339(),
    ] {
        let window = serde_json::json!({
            "title": "Typo in the year",
            "checks": ["alive"],
            "starts_at": starts_at,
            "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
        });
        let r = d
            .request(
                "POST",
                "/api/v1/admin/maintenance",
                &api(&[]),
                &window.to_string(),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            v["error"]
                .as_str()
                .is_some_and(|e| e.contains("more than a day ago")),
            "{v}"
        );
    }
    let planned: i64 = d
        .db()
        .query_row("SELECT count(*) FROM maintenance", [], |r| r.get(0))
        .unwrap();
    assert_eq!(planned, 0);
    d.stop().await;
}

/// Regression: a window planned from 1970 made the first probe date maintenance back to 1970: a
/// million hourly rollups, 57 years of maintenance for a check watched for minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_that_started_decades_ago_counts_only_the_time_watched() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("watchpost.db");
    // The window goes straight into the store, past the admin's one-day rule.
    let store = Store::open(&db).unwrap();
    let now = Timestamp::now();
    let window = MaintenanceEdit {
        title: "Forever".into(),
        body: String::new(),
        checks: vec!["db".into()],
        starts_at: Timestamp(0),
        ends_at: now.plus(Duration::from_secs(3600)),
    };
    store
        .writer
        .admin(
            AdminWrite::CreateMaintenance(window),
            None,
            now,
            Box::new(|_| None),
        )
        .await
        .unwrap();
    store.close();

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
port = {}
interval = "100ms"
timeout = "80ms"
"#,
        target.local_addr().unwrap().port()
    );
    let started = Timestamp::now();
    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", Duration::from_secs(10), |v| {
        v["checks"][0]["state"] == "maintenance"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    d.stop().await;
    let watched = Timestamp::now().0 - started.0;

    let store = Store::open(&db).unwrap();
    let plan = watchpost::uptime::cover(Timestamp(0), Timestamp::now());
    let (hours, days) = store
        .reader
        .rollups_in("db".into(), plan.clone())
        .await
        .unwrap();
    let total = plan.sum(&hours, &days);
    assert!(
        total.maintenance_ms > 0 && total.maintenance_ms <= watched,
        "{} ms of maintenance for {watched} ms watched",
        total.maintenance_ms
    );
    store.close();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert!(
        count("rollup_hour") <= 2,
        "{} hourly rows",
        count("rollup_hour")
    );
    assert!(
        count("rollup_day") <= 2,
        "{} daily rows",
        count("rollup_day")
    );
}

/// Regression: `?limit=-5` answered text while other API errors were JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_query_on_the_public_api_is_answered_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = daemon::start_alive_and_dead(dir.path()).await;
    for path in [
        "/api/v1/incidents?limit=-5",
        "/api/v1/incidents?limit=many",
        "/api/v1/incidents?limit=1&limit=2",
        "/api/v1/checks/alive/results?limit=-5",
        "/api/v1/checks/alive/results?since=a&since=b",
        "/api/v1/checks/alive/uptime?from=a&from=b",
        "/api/v1/checks/%FF/results",
        // Regression: dates before 1970 or after 9999 dropped the connection (a panic).
        "/api/v1/checks/alive/uptime?from=1960-01-01T00:00:00Z&to=1961-01-01T00:00:00Z",
        "/api/v1/checks/alive/uptime?from=2026-01-01T00:00:00Z&to=%2B10000-01-01T00:00:00Z",
        "/api/v1/checks/alive/results?since=1960-01-01T00:00:00Z",
    ] {
        let r = d.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {v}"
        );
    }
    d.stop().await;
}

/// Regression: a CORS preflight on the routes that allow cross-origin reads answered 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_on_public_data_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = daemon::start_alive_and_dead(dir.path()).await;
    let preflight = [
        ("Origin", "https://dashboard.example"),
        ("Access-Control-Request-Method", "GET"),
        (
            "Access-Control-Request-Headers",
            "if-none-match, x-requested-with",
        ),
    ];
    for path in [
        "/api/v1/status",
        "/api/v1/incidents",
        "/api/v1/checks/alive/results",
        "/api/v1/checks/alive/uptime",
        "/api/v2/summary.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/feed.atom",
        "/history.rss",
        "/badge/alive/status.svg",
    ] {
        let r = d.request("OPTIONS", path, &preflight, "").await;
        assert_eq!(r.status, 204, "{path}: {}", r.body);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("GET, HEAD, OPTIONS"),
            "{path}"
        );
        let allowed = r.header("access-control-allow-headers").unwrap_or_default();
        assert!(
            allowed.to_ascii_lowercase().contains("if-none-match"),
            "{path}: {allowed}"
        );
        assert!(r.header("access-control-max-age").is_some(), "{path}");
        assert!(r.body.is_empty(), "{path}");
    }
    // The admin API stays same-origin: no preflight is granted there.
    let r = d
        .request("OPTIONS", "/api/v1/admin/incidents", &preflight, "")
        .await;
    assert!(r.header("access-control-allow-origin").is_none());
    d.stop().await;
}
