//! The admin area against a running daemon: sign-in, throttling, CSRF, session expiry, safe
//! Markdown, false alarms that restore uptime exactly, holds, maintenance and manual incidents
//! through the JSON API.

use std::net::TcpListener;
use std::time::Duration;

use argon2::password_hash::PasswordHasher;
use serde_json::Value;

use crate::daemon::{self, Daemon, Response};

pub(crate) const TOKEN: &str = "test-token-0123456789abcdef";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A daemon with an admin, an API token, a check on `alive` (up) and one on `flaky`.
pub(crate) async fn start(dir: &std::path::Path, alive: &TcpListener, flaky_port: u16) -> Daemon {
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Admin test"
[storage]
path = "{{db}}"
[defaults]
interval = "100ms"
timeout = "80ms"
failure_threshold = 2
success_threshold = 1
[admin]
users = [{{ name = "ops", password_hash = "{hash}" }}]
api_tokens = ["{TOKEN}"]
[[check]]
id = "alive"
name = "Alive"
type = "tcp"
host = "127.0.0.1"
port = {}
[[check]]
id = "flaky"
name = "Flaky"
type = "tcp"
host = "127.0.0.1"
port = {flaky_port}
"#,
        alive.local_addr().unwrap().port()
    );
    daemon::start(dir, &toml).await
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub(crate) const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

async fn login(d: &Daemon, password: &str) -> Response {
    let body = form(&[("user", "ops"), ("password", password)]);
    d.request("POST", "/admin/login", &[FORM], &body).await
}

/// Signs in and returns the cookie header value.
pub(crate) async fn session(d: &Daemon) -> String {
    let r = login(d, PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = r.header("set-cookie").unwrap().to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_string()
}

pub(crate) fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + 64].to_string()
}

pub(crate) fn api<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![
        ("Authorization", "Bearer test-token-0123456789abcdef"),
        ("Content-Type", "application/json"),
    ];
    h.extend_from_slice(extra);
    h
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_csrf_escaping_and_session_expiry() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;

    let r = d.get("/admin").await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/admin/login"))
    );
    let r = login(&d, "wrong").await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Wrong user name or password"));
    let login_page = d.get("/admin/login").await;
    let csp = login_page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(login_page.header("x-frame-options"), Some("DENY"));
    assert!(d.get("/").await.header("content-security-policy").is_some());

    let cookie = session(&d).await;
    let cookie_h = ("Cookie", cookie.as_str());
    let dash = d.request("GET", "/admin", &[cookie_h], "").await;
    assert_eq!(dash.status, 200);
    assert_eq!(dash.header("cache-control"), Some("no-store"));
    let csrf = csrf_of(
        &d.request("GET", "/admin/incidents/new", &[cookie_h], "")
            .await
            .body,
    );

    let title = "<script>alert(1)</script> Uploads are slow";
    let body = "Investigating. See [the docs](https://example.org/docs), not [this](javascript:alert(1)). <script>alert(2)</script>";
    let fields = |csrf: &str| {
        form(&[
            ("csrf", csrf),
            ("title", title),
            ("impact", "minor"),
            ("status", "investigating"),
            ("checks", "alive"),
            ("body", body),
        ])
    };
    let post = |extra: Vec<(&'static str, &'static str)>, body: String| {
        let cookie = cookie.clone();
        let d = &d;
        async move {
            let mut h = vec![FORM, ("Cookie", cookie.as_str())];
            h.extend(extra);
            d.request("POST", "/admin/incidents/new", &h, &body).await
        }
    };
    assert_eq!(
        post(vec![], form(&[("title", title), ("impact", "minor")]))
            .await
            .status,
        403,
        "no CSRF token"
    );
    assert_eq!(
        post(vec![], fields(&"0".repeat(64))).await.status,
        403,
        "a forged token"
    );
    assert_eq!(
        post(vec![("Origin", "http://evil.example")], fields(&csrf))
            .await
            .status,
        403,
        "cross-site"
    );
    assert_eq!(
        post(vec![], "x".repeat(70_000)).await.status,
        413,
        "oversized"
    );
    let created = post(vec![], fields(&csrf)).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let id = created
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    let public = d.get(&format!("/incidents/{id}")).await.body;
    assert!(!public.contains("<script>"), "{public}");
    assert!(public.contains("&lt;script&gt;alert(1)&lt;/script&gt; Uploads are slow"));
    assert!(
        public.contains(r#"<a href="https://example.org/docs">the docs</a>"#),
        "{public}"
    );
    assert!(!public.contains("javascript:"), "{public}");
    let listed = d.json("/api/v1/incidents?check=alive").await;
    assert_eq!(listed["incidents"][0]["title"], title);
    let audit = d.request("GET", "/admin/audit", &[cookie_h], "").await.body;
    assert!(
        audit.contains("sign in") && audit.contains("declare incident"),
        "{audit}"
    );

    // An idle session expires: age it by three hours in the database.
    let conn = rusqlite::Connection::open(&d.db).unwrap();
    conn.execute(
        "UPDATE admin_sessions SET last_seen_at = last_seen_at - 10800000",
        [],
    )
    .unwrap();
    let r = d.request("GET", "/admin", &[cookie_h], "").await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/admin/login"))
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_are_throttled() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;
    for _ in 0..5 {
        assert_eq!(login(&d, "guess").await.status, 401);
    }
    let r = login(&d, PASSWORD).await;
    assert_eq!(r.status, 429, "even the right password waits");
    assert!(r.header("retry-after").is_some());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_alarm_restores_uptime_exactly_and_a_hold_keeps_an_incident_open() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let flaky = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = flaky.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, port).await;
    let limit = Duration::from_secs(10);
    d.wait_json("/api/v1/status", limit, |v| {
        check(v, "flaky")["state"] == "up"
    })
    .await;

    // An outage: the target goes away, then comes back.
    drop(flaky);
    let v = d
        .wait_json("/api/v1/incidents", limit, |v| {
            !v["incidents"].as_array().unwrap().is_empty()
        })
        .await;
    let id = v["incidents"][0]["id"].as_i64().unwrap();
    let early = d
        .request(
            "PATCH",
            &format!("/api/v1/admin/incidents/{id}"),
            &api(&[]),
            r#"{"false_alarm":true}"#,
        )
        .await;
    assert_eq!(
        early.status, 409,
        "an open incident cannot be a false alarm: {}",
        early.body
    );
    let flaky = TcpListener::bind(("127.0.0.1", port)).unwrap();
    d.wait_json("/api/v1/incidents", limit, |v| {
        v["incidents"][0]["resolved_at"].is_string()
    })
    .await;
    let v = d
        .wait_json("/api/v1/status", limit, |v| {
            check(v, "flaky")["uptime"]["24h"]
                .as_f64()
                .is_some_and(|u| u < 1.0)
        })
        .await;
    assert!(check(&v, "flaky")["uptime"]["90d"].as_f64().unwrap() < 1.0);

    let path = format!("/api/v1/admin/incidents/{id}");
    let denied = d
        .request(
            "PATCH",
            &path,
            &[("Content-Type", "application/json")],
            r#"{"false_alarm":true}"#,
        )
        .await;
    assert_eq!(denied.status, 401);
    let r = d
        .request(
            "PATCH",
            &path,
            &api(&[]),
            r#"{"false_alarm":true,"cause":"The probe host lost its network"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dto: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(dto["false_alarm"], true);
    d.wait_json("/api/v1/status", limit, |v| {
        check(v, "flaky")["uptime"]["24h"] == 1.0
    })
    .await;
    let v = d.json("/api/v1/status").await;
    assert_eq!(check(&v, "flaky")["uptime"]["90d"], 1.0, "restored exactly");
    let public = d.json("/api/v1/incidents").await;
    assert!(
        public["incidents"].as_array().unwrap().is_empty(),
        "hidden from the public: {public}"
    );
    assert!(
        d.get("/checks/flaky")
            .await
            .body
            .contains("marked a false alarm")
    );
    let down: i64 = d
        .db()
        .query_row("SELECT sum(down_ms) FROM rollup_hour", [], |r| r.get(0))
        .unwrap();
    assert_eq!(down, 0);

    // A second outage, held open by an admin past the recovery.
    drop(flaky);
    let v = d
        .wait_json("/api/v1/incidents", limit, |v| {
            !v["incidents"].as_array().unwrap().is_empty()
        })
        .await;
    let id = v["incidents"][0]["id"].as_i64().unwrap();
    let r = d
        .request(
            "PATCH",
            &format!("/api/v1/admin/incidents/{id}"),
            &api(&[]),
            r#"{"hold":true}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let _flaky = TcpListener::bind(("127.0.0.1", port)).unwrap();
    d.wait_json("/api/v1/status", limit, |v| {
        check(v, "flaky")["state"] == "up"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = d
        .request(
            "PATCH",
            &format!("/api/v1/admin/incidents/{id}"),
            &api(&[]),
            "{}",
        )
        .await;
    let dto: Value = serde_json::from_str(&r.body).unwrap();
    assert!(dto["resolved_at"].is_null(), "held open: {dto}");
    assert_eq!(dto["status"], "monitoring");
    let r = d
        .request(
            "POST",
            &format!("/api/v1/admin/incidents/{id}/updates"),
            &api(&[]),
            r#"{"status":"resolved","body":"Confirmed fixed."}"#,
        )
        .await;
    let dto: Value = serde_json::from_str(&r.body).unwrap();
    assert!(dto["resolved_at"].is_string(), "{dto}");
    d.stop().await;
}

/// The feed entry of the "Database upgrade" window at `path`, and its HTML content.
async fn maintenance_entry(d: &Daemon, path: &str) -> (feed_rs::model::Entry, String) {
    let body = d.get(path).await.body;
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("a valid feed");
    let entry = feed
        .entries
        .into_iter()
        .find(|e| {
            e.title
                .as_ref()
                .is_some_and(|t| t.content == "Database upgrade")
        })
        .unwrap_or_else(|| panic!("no maintenance entry in {path}: {body}"));
    let html = match path.ends_with(".atom") {
        true => entry.content.as_ref().and_then(|c| c.body.clone()).unwrap(),
        false => entry.summary.as_ref().unwrap().content.clone(),
    };
    (entry, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_and_manual_incidents_through_the_api() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = crate::daemon::refused_port();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, port).await;
    let now = chrono::Utc::now();
    let window = serde_json::json!({
        "title": "Database upgrade",
        "body": "Planned **upgrade**",
        "checks": ["flaky"],
        "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
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
    assert_eq!(r.status, 201, "{}", r.body);
    let m: Value = serde_json::from_str(&r.body).unwrap();
    let limit = Duration::from_secs(10);
    d.wait_json("/api/v1/status", limit, |v| {
        check(v, "flaky")["state"] == "maintenance"
    })
    .await;
    assert!(d.get("/").await.body.contains("Database upgrade"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        d.json("/api/v1/incidents").await["incidents"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Statuspage clients see it as a scheduled maintenance in progress, on the right component.
    let active = d.json("/api/v2/scheduled-maintenances/active.json").await;
    let sm = &active["scheduled_maintenances"][0];
    assert_eq!(sm["name"], "Database upgrade");
    assert_eq!(sm["status"], "in_progress");
    assert_eq!(sm["impact"], "maintenance");
    assert_eq!(sm["components"][0]["id"], "flaky");
    assert!(sm["scheduled_until"].as_str().unwrap().ends_with('Z'));
    // Its updates, newest first, as Statuspage writes a maintenance: scheduled, then in progress.
    let updates = sm["incident_updates"].as_array().unwrap();
    let statuses: Vec<&str> = updates
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["in_progress", "scheduled"]);
    assert_eq!(updates[1]["body"], "Planned **upgrade**");
    assert!(sm["created_at"].as_str().unwrap() <= updates[0]["created_at"].as_str().unwrap());
    let upcoming = d.json("/api/v2/scheduled-maintenances/upcoming.json").await;
    assert!(
        upcoming["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let summary = d.json("/api/v2/summary.json").await;
    assert_eq!(
        summary["scheduled_maintenances"].as_array().unwrap().len(),
        1
    );
    // Feed subscribers get it too, as Statuspage writes maintenance: scheduled, then in progress.
    for path in ["/feed.atom", "/feed.rss"] {
        let (entry, html) = maintenance_entry(&d, path).await;
        assert_eq!(entry.categories[0].term, "maintenance", "{path}");
        assert!(
            entry.links[0]
                .href
                .ends_with(&format!("/history#maintenance-{}", m["id"]))
        );
        let progress = html.find("<strong>In progress</strong>").expect(&html);
        let scheduled = html.find("<strong>Scheduled</strong>").expect(&html);
        assert!(progress < scheduled, "newest first: {html}");
        assert!(html.contains("Planned **upgrade**"), "{html}");
    }

    let r = d
        .request(
            "DELETE",
            &format!("/api/v1/admin/maintenance/{}", m["id"]),
            &api(&[]),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["cancelled"],
        true
    );
    d.wait_json("/api/v1/incidents", limit, |v| {
        !v["incidents"].as_array().unwrap().is_empty()
    })
    .await;
    let (_, html) = maintenance_entry(&d, "/feed.atom").await;
    assert!(
        html.starts_with("<p><small>") && html.contains("<strong>Cancelled</strong>"),
        "{html}"
    );
    assert!(
        !html.contains("In progress"),
        "a cancelled window never ran: {html}"
    );

    let bad = d
        .request(
            "POST",
            "/api/v1/admin/incidents",
            &api(&[]),
            r#"{"title":"x","checks":["nope"],"impact":"minor"}"#,
        )
        .await;
    assert_eq!(bad.status, 400);
    let bad = d
        .request(
            "POST",
            "/api/v1/admin/incidents",
            &api(&[]),
            r#"{"title":"x","checks":[],"impact":"huge"}"#,
        )
        .await;
    assert_eq!(bad.status, 400);
    let r = d
        .request("POST", "/api/v1/admin/incidents", &api(&[]), r#"{"title":"Uploads are slow for some users","checks":["alive"],"impact":"minor","body":"Looking into it."}"#)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let manual: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(manual["checks"], serde_json::json!(["alive"]));
    assert_eq!(manual["automatic"], false);
    let listed = d.json("/api/v1/incidents?check=alive").await;
    assert_eq!(
        listed["incidents"][0]["title"],
        "Uploads are slow for some users"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_through_the_forms_in_the_viewers_time_zone_and_sign_out() {
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path(), &alive, alive.local_addr().unwrap().port()).await;
    let cookie = session(&d).await;
    let cookie_h = ("Cookie", cookie.as_str());
    let page = d
        .request("GET", "/admin/maintenance", &[cookie_h], "")
        .await;
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);

    // Planned from a browser in UTC+2 (getTimezoneOffset = -120): 20:00 there is 18:00 UTC.
    let body = form(&[
        ("csrf", &csrf),
        ("tz", "-120"),
        ("title", "Router firmware"),
        ("starts", "2030-06-01T20:00"),
        ("ends", "2030-06-01T21:30"),
        ("checks", "alive"),
        ("body", "Short **interruptions** expected."),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &body)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (id, start, end): (i64, i64, i64) = d
        .db()
        .query_row("SELECT id, starts_at, ends_at FROM maintenance", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(
        (start, end),
        (t("2030-06-01T18:00:00Z"), t("2030-06-01T19:30:00Z"))
    );

    let bad = form(&[
        ("csrf", &csrf),
        ("tz", "0"),
        ("title", "Backwards"),
        ("starts", "2030-06-01T20:00"),
        ("ends", "2030-06-01T19:00"),
        ("checks", "alive"),
    ]);
    let r = d
        .request("POST", "/admin/maintenance", &[FORM, cookie_h], &bad)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("must end after it starts"), "{}", r.body);

    let edit = form(&[
        ("csrf", &csrf),
        ("tz", "0"),
        ("title", "Router firmware v2"),
        ("starts", "2030-06-01T18:00"),
        ("ends", "2030-06-01T20:00"),
        ("checks", "alive"),
    ]);
    let r = d
        .request(
            "POST",
            &format!("/admin/maintenance/{id}"),
            &[FORM, cookie_h],
            &edit,
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = d
        .request(
            "POST",
            &format!("/admin/maintenance/{id}/cancel"),
            &[FORM, cookie_h],
            &form(&[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(r.status, 303);
    let (title, cancelled): (String, i64) = d
        .db()
        .query_row("SELECT title, cancelled FROM maintenance", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((title.as_str(), cancelled), ("Router firmware v2", 1));
    let audit = d.request("GET", "/admin/audit", &[cookie_h], "").await.body;
    for action in ["plan maintenance", "edit maintenance", "cancel maintenance"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }

    let r = d
        .request(
            "POST",
            "/admin/logout",
            &[FORM, cookie_h],
            &form(&[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = d.request("GET", "/admin", &[cookie_h], "").await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/admin/login")),
        "the session is gone"
    );
    d.stop().await;
}
