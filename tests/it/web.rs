//! The public routes of a running daemon: shapes, escaping, history on the bars, errors.

use std::time::Duration;

use serde_json::Value;

use crate::daemon;

use crate::daemon::EVIL;

/// A daemon with one check that is up and one that is down, both with hostile names.
async fn start(dir: &std::path::Path) -> (daemon::Daemon, std::net::TcpListener) {
    daemon::start_alive_and_dead(dir).await
}

fn check<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_api_show_the_outage_with_every_text_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _listener) = start(dir.path()).await;
    let limit = Duration::from_secs(10);
    // The incident opens, and the history refresh it triggers puts the outage in the 24 h uptime.
    let status = d
        .wait_json("/api/v1/status", limit, |v| {
            check(v, "dead")["uptime"]["24h"]
                .as_f64()
                .is_some_and(|u| u < 1.0)
                && check(v, "alive")["state"] == "up"
        })
        .await;
    let dead = check(&status, "dead");
    assert_eq!(dead["state"], "down");
    assert_eq!(dead["type"], "tcp");
    assert_eq!(dead["name"], format!("Dead {EVIL}"));
    assert_eq!(dead["group"], "");
    assert!(dead["last_checked_at"].as_str().unwrap().ends_with('Z'));
    assert!(dead["latency_ms"].is_number());
    for window in ["24h", "7d", "30d", "90d"] {
        assert!(dead["uptime"][window].is_number(), "{window}: {dead}");
    }
    assert_eq!(check(&status, "alive")["group"], "<i>Group</i>");

    let incidents = d.json("/api/v1/incidents").await;
    let incident = &incidents["incidents"][0];
    assert_eq!(incident["check"], "dead");
    assert_eq!(incident["title"], format!("Dead {EVIL} is down"));
    assert!(incident["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(incident["resolved_at"].is_null());
    let only_alive = d.json("/api/v1/incidents?check=alive").await;
    assert_eq!(only_alive["incidents"].as_array().unwrap().len(), 0);

    let page = d.get("/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;";
    let body = &page.body;
    assert!(!body.contains("<script>"), "unescaped text in {body}");
    assert!(!body.contains("<i>Group"), "unescaped group in {body}");
    assert!(body.contains(escaped), "{body}");
    assert!(page.body.contains("Status &lt;b&gt;of&lt;/b&gt; things"));
    assert!(page.body.contains("Partial outage"));
    let today = page
        .body
        .rsplit("<li class=\"partial\"><span>")
        .next()
        .unwrap();
    assert!(
        today.contains("uptime, down "),
        "today's cell shows the outage, in colour and in words: {today}"
    );
    assert!(page.body.contains("connection refused"));

    let id = incident["id"].as_i64().unwrap();
    // The bar lists each day's incidents as links; the first page may predate the incident.
    let linked = format!("<a href=\"/incidents/{id}\">Dead {escaped} is down</a></span></li></ol>");
    d.wait_page("/", Duration::from_secs(15), |body| body.contains(&linked))
        .await;
    let detail = d.get(&format!("/incidents/{id}")).await;
    assert_eq!(detail.status, 200);
    assert!(
        detail
            .header("last-modified")
            .is_some_and(|v| v.ends_with(" GMT")),
        "{:?}",
        detail.headers
    );
    assert!(!detail.body.contains("<script>"));
    assert!(detail.body.contains(escaped));
    assert!(
        detail.body.contains("refused"),
        "evidence is shown: {}",
        detail.body
    );

    let history = d.get("/history").await;
    assert_eq!(history.status, 200);
    assert!(
        history.body.contains(&format!("href=\"/incidents/{id}\"")),
        "{}",
        history.body
    );
    assert!(!history.body.contains("<script>"));
    assert!(
        d.get("/history?page=1")
            .await
            .body
            .contains("No incidents reported.")
    );

    let alive_page = d.get("/checks/alive").await.body;
    assert!(
        alive_page.contains("<polyline class=\"p50\" points=\""),
        "a latency chart: {alive_page}"
    );
    assert!(alive_page.contains("aria-label=\"Response time per hour: median and 95th percentile as lines, the mean time of each phase stacked as bars"));
    assert!(
        alive_page.contains("<rect class=\"ph1\""),
        "a TCP probe's connect time is stacked: {alive_page}"
    );
    assert!(alive_page.contains("<th>connect</th>"), "and tabled");

    let check_page = d.get("/checks/dead").await;
    assert_eq!(check_page.status, 200);
    assert!(
        check_page
            .body
            .contains(&format!("href=\"/incidents/{id}\""))
    );
    assert!(!check_page.body.contains("<script>"));

    for missing in [
        "/checks/nope",
        "/incidents/999999",
        "/incidents/abc",
        "/nowhere",
    ] {
        assert_eq!(d.get(missing).await.status, 404, "{missing}");
    }
    for admin in ["/admin", "/admin/login", "/api/v1/admin/incidents"] {
        assert_eq!(
            d.get(admin).await.status,
            404,
            "no [admin], no admin area: {admin}"
        );
    }
    // Caching: an ETag, 304 when it matches, CORS on the API, gzip when asked for.
    assert!(page.header("etag").is_some() && page.header("cache-control").is_some());
    let first = d.get("/api/v1/incidents").await;
    let etag = first.header("etag").expect("an ETag").to_string();
    let again = d
        .request(
            "GET",
            "/api/v1/incidents",
            &[("If-None-Match", etag.as_str())],
            "",
        )
        .await;
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    // Pages too, whether the client sends the tag weak or strong.
    let history_page = d.get("/history?page=1").await;
    let tag = history_page.header("etag").expect("an ETag on pages");
    assert!(tag.starts_with("W/\""), "{tag}");
    for sent in [tag.to_string(), tag.trim_start_matches("W/").to_string()] {
        let again = d
            .request(
                "GET",
                "/history?page=1",
                &[("If-None-Match", sent.as_str())],
                "",
            )
            .await;
        assert_eq!(again.status, 304, "{sent}");
    }
    let api = d.get("/api/v1/status").await;
    assert_eq!(api.header("access-control-allow-origin"), Some("*"));
    let gz = d
        .request("HEAD", "/", &[("Accept-Encoding", "gzip")], "")
        .await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    // The front page is served from stored bytes: gzipped when asked, plain otherwise, with
    // validators that answer 304.
    let zipped = d
        .request("GET", "/", &[("Accept-Encoding", "gzip, br")], "")
        .await;
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(zipped.header("vary"), Some("accept-encoding"));
    assert!(zipped.body.contains("Partial outage"), "{}", zipped.body);
    let plain = d.get("/").await;
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.body.starts_with("<!DOCTYPE html>"));
    let tag = plain.header("etag").unwrap();
    let modified = plain.header("last-modified").expect("Last-Modified");
    assert!(modified.ends_with(" GMT"), "{modified}");
    let same = d.request("GET", "/", &[("If-None-Match", tag)], "").await;
    assert!(
        same.status == 304 || same.header("etag") != Some(tag),
        "304 while the page is unchanged"
    );
    let since = d
        .request(
            "GET",
            "/",
            &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
            "",
        )
        .await;
    assert_eq!((since.status, since.body.as_str()), (304, ""));
    assert!(since.header("etag").is_some());
    assert!(
        page.body.contains("<details class=\"group\" open>"),
        "groups fold"
    );

    let embed = d.get("/embed.js").await;
    assert_eq!(embed.status, 200);
    assert!(
        embed
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(embed.body.len() < 5 * 1024, "embed.js stays under 5 KB");
    assert!(
        !embed.body.contains("innerHTML"),
        "text is only ever set as text"
    );

    let health = d.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let css = d.get("/assets/style.css").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    // Page weight: the page, its style sheet and its script, uncompressed, stay under 50 KB.
    let script = d.get("/assets/bars.js").await;
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    let weight = d.get("/").await.body.len() + css.body.len() + script.body.len();
    assert!(weight < 50 * 1024, "the front page weighs {weight} bytes");

    let metrics = d.get("/metrics").await;
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in [
        r#"probe_success{check="dead",group="",type="tcp"} 0"#,
        r#"probe_success{check="alive",group="<i>Group</i>",type="tcp"} 1"#,
        r#"watchpost_check_state{check="dead",group="",state="down",type="tcp"} 1"#,
        "watchpost_incidents_open 1",
        r#"watchpost_probe_failures_total{check="dead",group="",reason="refused",type="tcp"}"#,
        r#"watchpost_uptime_ratio{check="dead",group="",type="tcp",window="24h"}"#,
    ] {
        assert!(
            metrics.body.contains(line),
            "{line} missing from\n{}",
            metrics.body
        );
    }
    d.stop().await;
}
