//! The machine-readable public face of a running daemon: the Statuspage-compatible API, the
//! native results and uptime routes, the feeds and the badges, with CORS, ETags and escaping.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use watchpost::clock::Timestamp;

use crate::daemon::{self, Daemon, Response};

use crate::daemon::EVIL;
const GROUP_ID: &str = "group-i-group-i";

/// A daemon with an up check (a listening socket) in a group and a down check (a closed port),
/// both with hostile names, once the outage is an incident and shows in the uptime.
async fn start_with_outage(dir: &std::path::Path) -> (Daemon, std::net::TcpListener) {
    let (d, up) = daemon::start_alive_and_dead(dir).await;
    d.wait_json("/api/v1/status", Duration::from_secs(10), |v| {
        let state = |id: &str| {
            v["checks"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["id"] == id))
                .cloned()
                .unwrap_or_default()
        };
        state("dead")["uptime"]["24h"]
            .as_f64()
            .is_some_and(|u| u < 1.0)
            && state("alive")["state"] == "up"
    })
    .await;
    (d, up)
}

/// GETs `path`, asserting a 200 with CORS and that no hostile text is in the body raw.
async fn fetch(d: &Daemon, path: &str) -> Response {
    let r = d.get(path).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "GET {path}"
    );
    assert_raw_text_absent(path, &r.body);
    r
}

fn assert_raw_text_absent(path: &str, body: &str) {
    for raw in ["<script>", "<b>of</b>", "<i>Group"] {
        assert!(!body.contains(raw), "GET {path} emits {raw} raw: {body}");
    }
}

async fn json(d: &Daemon, path: &str) -> Value {
    let r = fetch(d, path).await;
    assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.body))
}

fn by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

fn assert_keys(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(k).is_some(), "{k} missing from {v}");
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

const COMPONENT_KEYS: [&str; 13] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuspage_api_has_statuspages_shape_and_enumerations() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _listener) = start_with_outage(dir.path()).await;
    let base = format!("http://{}", d.addr);

    let summary = json(&d, "/api/v2/summary.json").await;
    assert_keys(
        &summary,
        &[
            "page",
            "components",
            "incidents",
            "scheduled_maintenances",
            "status",
        ],
    );
    let page = &summary["page"];
    assert_keys(page, &["id", "name", "url", "time_zone", "updated_at"]);
    assert_eq!(page["name"], "Status <b>of</b> things");
    assert_eq!(page["url"], base);
    assert_eq!(page["time_zone"], "Etc/UTC");
    assert!(page["updated_at"].as_str().unwrap().ends_with('Z'));
    let page_id = page["id"].as_str().unwrap();
    assert!(!page_id.is_empty());
    assert_eq!(summary["status"]["indicator"], "major");
    assert_eq!(summary["status"]["description"], "Partial System Outage");
    assert_eq!(summary["scheduled_maintenances"], serde_json::json!([]));

    let components = &summary["components"];
    for c in components.as_array().unwrap() {
        assert_keys(c, &COMPONENT_KEYS);
        assert_eq!(c["page_id"], page_id);
        assert_eq!(c["only_show_if_degraded"], false);
    }
    let dead = by_id(components, "dead");
    assert_eq!(dead["name"], format!("Dead {EVIL}"));
    assert_eq!(dead["status"], "major_outage");
    assert_eq!(dead["group"], false);
    assert!(dead["group_id"].is_null());
    assert_eq!(dead["showcase"], true);
    assert!(dead["start_date"].as_str().unwrap().len() == 10);
    let alive = by_id(components, "alive");
    assert_eq!(alive["status"], "operational");
    assert_eq!(alive["group_id"], GROUP_ID);
    let group = by_id(components, GROUP_ID);
    assert_eq!(group["group"], true);
    assert_eq!(group["name"], "<i>Group</i>");
    assert_eq!(group["components"], serde_json::json!(["alive"]));
    assert_eq!(group["status"], "operational", "the worst of its members");

    let incidents = &summary["incidents"];
    assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents}");
    let incident = &incidents[0];
    assert_keys(
        incident,
        &[
            "id",
            "name",
            "status",
            "created_at",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "impact",
            "shortlink",
            "started_at",
            "page_id",
            "incident_updates",
            "components",
        ],
    );
    let id = incident["id"].as_str().unwrap();
    assert_eq!(incident["name"], format!("Dead {EVIL} is down"));
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["shortlink"], format!("{base}/incidents/{id}"));
    assert!(incident["resolved_at"].is_null());
    assert!(incident["monitoring_at"].is_null());
    assert_eq!(incident["components"][0]["id"], "dead");
    let update = &incident["incident_updates"][0];
    assert_keys(
        update,
        &[
            "id",
            "status",
            "body",
            "incident_id",
            "created_at",
            "updated_at",
            "display_at",
            "affected_components",
        ],
    );
    assert_eq!(update["status"], "investigating");
    assert_eq!(update["incident_id"], id);
    // The opening update reports the check's fall, as Statuspage reports component changes.
    assert_eq!(
        update["affected_components"],
        serde_json::json!([{
            "code": "dead",
            "name": format!("Dead {EVIL}"),
            "old_status": "operational",
            "new_status": "major_outage",
        }])
    );
    assert!(
        update["body"]
            .as_str()
            .unwrap()
            .contains(&format!("Dead {EVIL}")),
        "{update}"
    );

    let status = json(&d, "/api/v2/status.json").await;
    assert_eq!(status["status"]["indicator"], "major");
    assert_eq!(status["page"]["id"], page_id);
    assert!(status.get("components").is_none());

    let list = json(&d, "/api/v2/components.json").await;
    assert_eq!(list["components"], *components);

    for path in [
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
    ] {
        let v = json(&d, path).await;
        assert_eq!(v["incidents"][0]["id"], id, "{path}");
        assert_eq!(v["page"]["id"], page_id);
    }
    for path in [
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
    ] {
        let v = json(&d, path).await;
        assert_eq!(v["scheduled_maintenances"], serde_json::json!([]), "{path}");
        assert_eq!(v["page"]["id"], page_id);
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_and_uptime_ranges_answer_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _listener) = start_with_outage(dir.path()).await;

    let results = d
        .wait_json(
            "/api/v1/checks/dead/results?limit=3",
            Duration::from_secs(10),
            |v| v["results"].as_array().is_some_and(|r| r.len() == 3),
        )
        .await;
    assert_eq!(results["check"], "dead");
    let rows = results["results"].as_array().unwrap();
    let times: Vec<&str> = rows.iter().map(|r| r["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    for r in rows {
        assert_keys(
            r,
            &["at", "status", "latency_ms", "code", "reason", "message"],
        );
        assert_eq!(r["status"], "down");
        assert_eq!(r["reason"], "refused");
        assert!(r["latency_ms"].is_number());
    }
    let future = rfc3339(SystemTime::now() + Duration::from_secs(3600));
    let none = json(&d, &format!("/api/v1/checks/dead/results?since={future}")).await;
    assert_eq!(none["results"], serde_json::json!([]));
    let alive = json(&d, "/api/v1/checks/alive/results?limit=1").await;
    assert_eq!(alive["results"][0]["status"], "up");
    assert!(alive["results"][0]["reason"].is_null());

    let hour_ago = rfc3339(SystemTime::now() - Duration::from_secs(3600));
    let in_an_hour = rfc3339(SystemTime::now() + Duration::from_secs(3600));
    let range = format!("from={hour_ago}&to={in_an_hour}");
    let dead = json(&d, &format!("/api/v1/checks/dead/uptime?{range}")).await;
    assert_keys(
        &dead,
        &["check", "from", "to", "uptime", "observed_ms", "down_ms"],
    );
    assert!(dead["uptime"].as_f64().unwrap() < 1.0, "{dead}");
    assert!(dead["down_ms"].as_i64().unwrap() > 0, "{dead}");
    assert!(dead["from"].as_str().unwrap().ends_with(":00:00Z"));
    let alive = d
        .wait_json(
            &format!("/api/v1/checks/alive/uptime?{range}"),
            Duration::from_secs(10),
            |v| v["observed_ms"].as_i64().is_some_and(|ms| ms > 0),
        )
        .await;
    assert_eq!(alive["uptime"], 1.0);
    // Without parameters: the last 24 whole hours.
    let default = json(&d, "/api/v1/checks/dead/uptime").await;
    assert!(default["uptime"].as_f64().unwrap() < 1.0, "{default}");
    let at = |k: &str| Timestamp::parse_rfc3339(default[k].as_str().unwrap()).unwrap();
    assert_eq!(at("to").0 - at("from").0, 24 * 3_600_000, "{default}");

    for (path, status) in [
        ("/api/v1/checks/nope/results".to_string(), 404),
        ("/api/v1/checks/nope/uptime".to_string(), 404),
        (
            "/api/v1/checks/dead/results?since=yesterday".to_string(),
            400,
        ),
        ("/api/v1/checks/dead/results?limit=many".to_string(), 400),
        (
            "/api/v1/checks/dead/uptime?from=2026-13-01".to_string(),
            400,
        ),
        (
            format!("/api/v1/checks/dead/uptime?from={in_an_hour}&to={hour_ago}"),
            400,
        ),
        (
            format!("/api/v1/checks/dead/uptime?from={hour_ago}&to={hour_ago}"),
            400,
        ),
    ] {
        let r = d.get(&path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {v}"
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_parse_and_carry_the_incident_with_its_text_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _listener) = start_with_outage(dir.path()).await;
    let incidents = json(&d, "/api/v2/incidents.json").await;
    let id = incidents["incidents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = format!("http://{}/incidents/{id}", d.addr);
    let title = format!("Dead {EVIL} is down");

    for (path, content_type) in [
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/history.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
        ("/history.rss", "application/rss+xml; charset=utf-8"),
    ] {
        let r = fetch(&d, path).await;
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(r.header("cache-control"), Some("public, max-age=30"));
        let feed = feed_rs::parser::parse(r.body.as_bytes())
            .unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{}", r.body));
        assert_eq!(feed.entries.len(), 1, "{path}");
        let entry = &feed.entries[0];
        assert_eq!(entry.title.as_ref().unwrap().content, title, "{path}");
        assert!(
            entry.id.starts_with("tag:127.0.0.1,")
                && entry.id.ends_with(&format!("/incidents/{id}")),
            "{path}: id {}",
            entry.id
        );
        assert_eq!(entry.links[0].href, link, "{path}");
        assert!(
            entry.updated.is_some() || entry.published.is_some(),
            "{path}"
        );
        // The timeline is HTML: the hostile name arrives HTML-escaped, after XML decoding.
        let html = match path.ends_with(".atom") {
            true => entry.content.as_ref().unwrap().body.clone().unwrap(),
            false => entry.summary.as_ref().unwrap().content.clone(),
        };
        assert!(
            html.contains("<strong>Investigating</strong> - "),
            "{path}: {html}"
        );
        assert!(
            html.contains("Dead &lt;script&gt;alert(1)&lt;/script&gt; &amp;"),
            "{path}: {html}"
        );
        assert!(!html.contains("<script>"), "{path}: {html}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badges_are_escaped_svg_and_unknown_ones_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _listener) = start_with_outage(dir.path()).await;
    // The name is cut at 40 characters, then escaped.
    let escaped = "Dead &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quote…";
    for (path, value) in [
        ("/badge/dead/status.svg", "down"),
        ("/badge/alive/status.svg", "up"),
        ("/badge/dead/uptime/24h.svg", "%"),
        ("/badge/dead/uptime/7d.svg", "%"),
        ("/badge/dead/uptime/30d.svg", "%"),
        ("/badge/dead/uptime/90d.svg", "%"),
        ("/badge/dead/response-time.svg", "no response"),
        ("/badge/alive/response-time.svg", "s</text>"),
    ] {
        let r = fetch(&d, path).await;
        assert_eq!(r.header("content-type"), Some("image/svg+xml"), "{path}");
        assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
        assert!(
            r.body
                .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")
        );
        assert!(r.body.contains("<title>"), "{path}: {}", r.body);
        assert!(r.body.contains(value), "{path}: {}", r.body);
        assert_well_formed_xml(path, &r.body);
        if path.contains("dead") {
            assert!(r.body.contains(escaped), "{path}: {}", r.body);
        }
    }
    for path in [
        "/badge/nope/status.svg",
        "/badge/nope/uptime/24h.svg",
        "/badge/dead/uptime/1y.svg",
        "/badge/dead/uptime/24h",
        "/badge/nope/response-time.svg",
    ] {
        assert_eq!(d.get(path).await.status, 404, "{path}");
    }
    d.stop().await;
}

fn assert_well_formed_xml(path: &str, text: &str) {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return,
            Ok(_) => {}
            Err(e) => panic!("{path} is not well-formed XML: {e}\n{text}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_routes_revalidate_with_etags() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _listener) = start_with_outage(dir.path()).await;
    for path in [
        "/api/v2/status.json",
        "/api/v1/incidents",
        "/feed.atom",
        "/badge/dead/status.svg",
    ] {
        // A body that changed in between (a check went stale on a busy machine) gets a new tag
        // and a 200, rightly; try again then.
        let (tag, again) = {
            let mut attempts = 0;
            loop {
                let first = fetch(&d, path).await;
                let tag = first.header("etag").expect("an ETag").to_string();
                let again = daemon::get_with(d.addr, path, &[("If-None-Match", &tag)]).await;
                attempts += 1;
                if again.status == 304 || attempts == 5 {
                    break (tag, again);
                }
                assert_ne!(again.body, first.body, "{path}: same body, no 304");
            }
        };
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{path}: {tag}");
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(again.body, "", "{path}");
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(again.header("access-control-allow-origin"), Some("*"));
        assert!(again.header("cache-control").is_some());
        let weak = format!("\"stale\", W/{tag}");
        let weak = daemon::get_with(d.addr, path, &[("If-None-Match", &weak)]).await;
        assert_eq!(weak.status, 304, "{path}: a weak match counts");
        let other = daemon::get_with(d.addr, path, &[("If-None-Match", "\"stale\"")]).await;
        assert_eq!(other.status, 200, "{path}");
        assert!(!other.body.is_empty(), "{path}");
    }
    // Errors are not cached, but still readable cross-origin.
    let missing = d.get("/api/v1/checks/nope/results").await;
    assert_eq!(missing.header("access-control-allow-origin"), Some("*"));
    assert!(missing.header("etag").is_none());
    d.stop().await;
}
