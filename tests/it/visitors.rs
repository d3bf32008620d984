//! What visitors read is true and easy: times in words inside `<time>` elements (never a raw
//! timestamp or a count of seconds), an incident in progress said to be ongoing, a group that
//! says how many of its checks are down, feeds announced in every page's head and dated by their
//! latest update, and a declared incident's checks in the API.

use std::time::Duration;

use serde_json::Value;

use crate::admin::{PASSWORD, TOKEN, api};
use crate::daemon::{self, Daemon};

/// A running daemon as visitors see it; keep `_up` alive while it runs.
pub(crate) struct Site {
    pub d: Daemon,
    _up: std::net::TcpListener,
    /// The automatic incident of the check that is down.
    pub outage: i64,
    /// The incident an admin declared for two checks, with a second update.
    pub declared: i64,
}

/// A daemon with a group of five checks, one of them down (an automatic incident), a check
/// outside any group, an admin, an incident declared for two checks with an update posted a
/// second later, and maintenance planned in two hours.
pub(crate) async fn start(dir: &std::path::Path) -> Site {
    use argon2::PasswordHasher;
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // Five checks probe it ten times a second each: accept, or its backlog fills and they time out.
    let accepting = up.try_clone().unwrap();
    std::thread::spawn(move || accepting.incoming().for_each(drop));
    let closed_port = crate::daemon::refused_port();
    let port = up.local_addr().unwrap().port();
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let mut toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Example status"
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
"#
    );
    for (id, name, group, port) in [
        ("web", "Website", "Core", port),
        ("api", "Public API", "Core", port),
        ("db", "Database", "Core", port),
        ("queue", "Job queue", "Core", port),
        ("mail", "Mail relay", "Core", closed_port),
        ("docs", "Documentation", "", port),
    ] {
        toml.push_str(&format!(
            "[[check]]\nid = \"{id}\"\nname = \"{name}\"\ngroup = \"{group}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n"
        ));
    }
    let d = daemon::start(dir, &toml).await;
    let incidents = d
        .wait_json("/api/v1/incidents", Duration::from_secs(10), |v| {
            !v["incidents"].as_array().unwrap().is_empty()
        })
        .await;
    let outage = incidents["incidents"][0]["id"].as_i64().unwrap();
    let r = d
        .request(
            "POST",
            "/api/v1/admin/incidents",
            &api(&[]),
            r#"{"title":"Uploads are slow","checks":["web","api"],"impact":"minor","body":"Looking into it."}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let declared = serde_json::from_str::<Value>(&r.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    // A second later, so that the update's time differs from the start's in every format.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = d
        .request(
            "POST",
            &format!("/api/v1/admin/incidents/{declared}/updates"),
            &api(&[]),
            r#"{"status":"identified","body":"A full disk on one upload server."}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Maintenance planned for the documentation, from two hours from now for an hour and a half.
    let now = chrono::Utc::now();
    let window = serde_json::json!({
        "title": "Documentation move",
        "body": "The documentation moves to a new host.",
        "checks": ["docs"],
        "starts_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
        "ends_at": (now + chrono::Duration::minutes(210)).to_rfc3339(),
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
    // The front page shows every check's state and both incidents.
    d.wait_page("/", Duration::from_secs(15), |body| {
        body.contains("1 of 5 down") && body.contains("A full disk")
    })
    .await;
    Site {
        d,
        _up: up,
        outage,
        declared,
    }
}

/// The text of a page as a person reads it: tags (and so attribute values) left out.
fn text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_say_times_in_words_inside_time_elements() {
    let dir = tempfile::tempdir().unwrap();
    let site = start(dir.path()).await;
    let d = &site.d;
    let raw_stamp = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d").unwrap();
    let raw_seconds = regex::Regex::new(r"\b\d+(\.\d+)?s\b").unwrap();
    let words = regex::Regex::new(r"\b[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d( UTC)?").unwrap();
    for path in [
        "/".to_string(),
        "/checks/mail".to_string(),
        format!("/incidents/{}", site.outage),
        format!("/incidents/{}", site.declared),
        "/history".to_string(),
        "/nowhere".to_string(),
    ] {
        let page = d.get(&path).await.body;
        let read = text(&page);
        assert!(
            !raw_stamp.is_match(&read),
            "{path} shows a raw time: {read}"
        );
        assert!(
            !raw_seconds.is_match(&read),
            "{path} shows raw seconds: {read}"
        );
        let head = page.split_once("</head>").unwrap().0;
        for (kind, feed) in [("atom", "/feed.atom"), ("rss", "/feed.rss")] {
            let link = format!(r#"<link rel="alternate" type="application/{kind}+xml" title=""#);
            let at = head
                .find(&link)
                .unwrap_or_else(|| panic!("{path} lacks {link}"));
            let tag = head[at..].split_once('>').unwrap().0;
            assert!(tag.ends_with(&format!("href=\"{feed}\"")), "{path}: {tag}");
            assert!(tag.contains("incident history"), "{path}: {tag}");
        }
        assert!(
            head.contains(r#"<script src="/assets/time.js" defer></script>"#),
            "{path}"
        );
        if path == "/nowhere" {
            continue;
        }
        // Every time is a <time> with a machine-readable value.
        let times = page.matches("<time datetime=\"").count();
        assert!(times > 0, "{path}: {page}");
        assert_eq!(times, page.matches("<time").count(), "{path}");
        assert!(words.is_match(&read), "{path}: {read}");
    }
    let front = d.get("/").await.body;
    assert!(front.contains("Last checked <time datetime=\""), "{front}");
    let planned = regex::Regex::new(
        r#"<strong>Planned: </strong>Documentation move<p class="small"><time datetime="[^"]+" data-t="from">[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d</time> – <time datetime="[^"]+" data-t="to" data-from="[^"]+">([A-Z][a-z]{2} \d{1,2}, )?\d\d:\d\d UTC</time> · Documentation</p>"#,
    )
    .unwrap();
    assert!(planned.is_match(&front), "{front}");
    let check = d.get("/checks/mail").await.body;
    assert!(check.contains("\">just now</time> in "), "{check}");
    let time_js = d.get("/assets/time.js").await;
    assert_eq!(
        time_js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(time_js.body.contains("Intl.DateTimeFormat"));
    site.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_in_progress_say_ongoing_and_groups_count_their_checks() {
    let dir = tempfile::tempdir().unwrap();
    let site = start(dir.path()).await;
    let d = &site.d;
    let front = d.get("/").await.body;
    let summary = front
        .split_once("<h2>Core</h2>")
        .and_then(|(_, rest)| rest.split_once("</summary>"))
        .map(|(s, _)| s)
        .unwrap();
    assert_eq!(summary, r#"<span class="state down">1 of 5 down</span>"#);
    let active = front
        .split_once("<h2>Active incidents</h2>")
        .and_then(|(_, rest)| rest.split_once("</section>"))
        .map(|(s, _)| s)
        .unwrap();
    assert_eq!(active.matches("ongoing for <time datetime=\"PT").count(), 2);
    assert!(!active.contains("lasted"), "{active}");
    // Each active incident's latest update is inside its item: no <div> straight in the list.
    assert!(
        active.contains("<div class=\"latest\"><strong>Identified</strong> · <time"),
        "{active}"
    );
    assert!(!active.contains("</li><div"), "{active}");
    for path in [
        format!("/incidents/{}", site.outage),
        "/history".to_string(),
        "/checks/mail".to_string(),
    ] {
        let page = d.get(&path).await.body;
        assert!(page.contains("ongoing for <time"), "{path}: {page}");
        assert!(!page.contains("lasted"), "{path}: {page}");
    }
    site.d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_incident_lists_its_checks_and_feeds_date_items_by_their_latest_update() {
    let dir = tempfile::tempdir().unwrap();
    let site = start(dir.path()).await;
    let d = &site.d;
    let incidents = d.json("/api/v1/incidents").await;
    let by_id = |id: i64| {
        incidents["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap()
    };
    let declared = by_id(site.declared);
    assert_eq!(declared["check"], Value::Null, "kept for compatibility");
    assert_eq!(declared["checks"], serde_json::json!(["api", "web"]));
    let outage = by_id(site.outage);
    assert_eq!(outage["check"], "mail");
    assert_eq!(outage["checks"], serde_json::json!(["mail"]));

    // The declared incident's newest update, from the Statuspage API.
    let sp = d.json("/api/v2/incidents.json").await;
    let incident = sp["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_str() == Some(site.declared.to_string().as_str()))
        .cloned()
        .unwrap();
    let newest = incident["incident_updates"][0]["created_at"]
        .as_str()
        .unwrap();
    let created = incident["created_at"].as_str().unwrap();
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
    assert!(parse(newest) > parse(created), "{incident}");
    for path in ["/feed.rss", "/feed.atom"] {
        let body = d.get(path).await.body;
        let feed = feed_rs::parser::parse(body.as_bytes()).unwrap();
        let entry = feed
            .entries
            .iter()
            .find(|e| {
                e.title
                    .as_ref()
                    .is_some_and(|t| t.content == "Uploads are slow")
            })
            .unwrap_or_else(|| panic!("{path}: {body}"));
        // feed-rs reads RSS's pubDate as `published` and Atom's `updated` as `updated`.
        let dated = match path {
            "/feed.rss" => entry.published,
            _ => entry.updated,
        };
        assert_eq!(
            dated.map(|t| t.timestamp()),
            Some(parse(newest)),
            "{path}: {body}"
        );
    }
    site.d.stop().await;
}
