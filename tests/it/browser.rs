//! The pages in a real headless Chromium (Debian's `chromium`): the status page shows an outage,
//! its bar and its incident, the embed example shows its banner, and no page logs a console error.
//! Ignored by a plain `cargo test` (it needs Chromium); `.ci/run` installs Chromium and runs it
//! with `cargo test -- --ignored browser`. Screenshots land in `target/browser/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon;

mod audit;
mod paint;

/// Runs headless Chromium on `url` with `extra` flags; returns (stdout, stderr).
fn chromium(url: &str, extra: &[&str], profile: &Path) -> (String, String) {
    chromium_in("UTC", url, extra, profile)
}

/// [`chromium`] in the time zone `tz` (an IANA name, as `TZ` takes it).
fn chromium_in(tz: &str, url: &str, extra: &[&str], profile: &Path) -> (String, String) {
    let mut flags = vec!["--virtual-time-budget=5000", "--window-size=1000,1400"];
    flags.extend_from_slice(extra);
    chromium_with(tz, url, &flags, profile)
}

/// Headless Chromium on `url` with only `extra` added to the common flags: in real time, for
/// timings, unless `extra` asks for a virtual time budget.
fn chromium_with(tz: &str, url: &str, extra: &[&str], profile: &Path) -> (String, String) {
    let out = Command::new("chromium")
        .env("TZ", tz)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium is installed (apt-get install chromium)");
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Console messages Chromium logged at error level.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught")))
        .collect()
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium; .ci/run runs it"]
async fn browser_shows_the_outage_and_the_embed_banner() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = daemon::start_alive_and_dead(dir.path()).await;
    d.wait_json("/api/v1/incidents", Duration::from_secs(10), |v| {
        !v["incidents"].as_array().unwrap().is_empty()
    })
    .await;
    // The history refresh that puts the outage in today's cell comes about 500 ms after the
    // burst of changes: the browser is shown the page once it has.
    d.wait_page("/", Duration::from_secs(15), |b| {
        b.contains("<li class=\"partial\"><span>")
    })
    .await;
    let base = format!("http://{}", d.addr);
    let out = artifacts();
    let profile = dir.path().join("chromium");

    let page = format!("{base}/");
    let shot = out.join("status.png");
    let (dom, log) = {
        let (page, shot, profile) = (page.clone(), shot.clone(), profile.clone());
        tokio::task::spawn_blocking(move || {
            let (dom, log) = chromium(&page, &["--dump-dom"], &profile);
            chromium(
                &page,
                &[&format!("--screenshot={}", shot.display())],
                &profile,
            );
            (dom, log)
        })
        .await
        .unwrap()
    };
    assert!(dom.contains("Partial outage"), "{dom}");
    assert!(
        dom.contains("href=\"/incidents/1\""),
        "the incident is linked: {dom}"
    );
    assert!(
        dom.contains("<li class=\"partial\"><span>"),
        "today's cell shows the outage: {dom}"
    );
    assert!(
        !dom.contains("<script>alert(1)</script>"),
        "text stays inert: {dom}"
    );
    assert!(
        console_errors(&log).is_empty(),
        "{:?}",
        console_errors(&log)
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot"
    );
    // The check page with its chart, for the artifacts.
    let check_page = format!("{base}/checks/alive");
    let check_shot = out.join("check.png");
    let (dom, log) = {
        let (check_shot, profile) = (check_shot.clone(), profile.clone());
        tokio::task::spawn_blocking(move || {
            chromium(
                &check_page,
                &[&format!("--screenshot={}", check_shot.display())],
                &profile,
            );
            chromium(&check_page, &["--dump-dom"], &profile)
        })
        .await
        .unwrap()
    };
    assert!(dom.contains("<rect class=\"ph1\""), "{dom}");
    assert!(
        console_errors(&log).is_empty(),
        "{:?}",
        console_errors(&log)
    );

    // The embed example, pointed at this daemon, served from its own origin.
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embed.html"))
            .unwrap()
            .replace("http://127.0.0.1:8080", &base);
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_addr = site.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(example) }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(site, app).await;
    });
    let embed = format!("http://{site_addr}/");
    let shot = out.join("embed.png");
    let (dom, log) = tokio::task::spawn_blocking(move || {
        let (dom, log) = chromium(&embed, &["--dump-dom"], &profile);
        chromium(
            &embed,
            &[&format!("--screenshot={}", shot.display())],
            &profile,
        );
        (dom, log)
    })
    .await
    .unwrap();
    assert!(
        dom.contains("data-watchpost"),
        "the banner was added: {dom}"
    );
    assert!(
        console_errors(&log).is_empty(),
        "{:?}",
        console_errors(&log)
    );
    server.abort();
    d.stop().await;
}

/// Serves `app`, and every other path from the daemon at `daemon` (status and body, with its
/// content type but not its CSP or frame headers; the browser's `Accept-Language` passed on), so
/// a page of `app` can look inside frames of the daemon's pages; returns the base URL and the
/// server's task.
async fn proxy(
    daemon: std::net::SocketAddr,
    app: axum::Router,
    admin_cookie: Option<String>,
) -> (String, tokio::task::JoinHandle<()>) {
    let app = app.fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
            let cookie = admin_cookie.clone();
            async move {
                let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
                // The signed-in admin's pages are fetched with the admin's session.
                let signed_in = path.starts_with("/admin/") && !path.starts_with("/admin/login");
                let mut sent: Vec<(&str, &str)> = match &cookie {
                    Some(c) if signed_in => vec![("Cookie", c.as_str())],
                    _ => Vec::new(),
                };
                // The browser's language is passed on, for the pages in French.
                if let Some(v) = headers.get("accept-language").and_then(|v| v.to_str().ok()) {
                    sent.push(("Accept-Language", v));
                }
                let r = daemon::get_with(daemon, &path, &sent).await;
                let kind = r.header("content-type").unwrap_or("text/plain").to_string();
                (
                    axum::http::StatusCode::from_u16(r.status).unwrap(),
                    [("content-type", kind)],
                    r.body,
                )
            }
        },
    );
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", site.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(site, app).await;
    });
    (base, server)
}

/// The page the harness runs on: the status page framed at a phone's width and a desktop's.
const HARNESS_PAGE: &str = r#"<!DOCTYPE html><html lang="en"><head><title>harness</title></head><body>
<iframe id="narrow" src="/" width="360" height="700"></iframe>
<iframe id="wide" src="/" width="860" height="700"></iframe>
<script src="/harness.js"></script></body></html>"#;

/// Runs the harness in Chromium, light or dark, and returns its findings and the console log.
/// A screenshot of the same run lands in the artifacts: the keyboard has opened today's label.
fn harness(url: &str, dark: bool, profile: &Path) -> (serde_json::Value, String) {
    let scheme = if dark {
        "--force-dark-mode"
    } else {
        "--no-first-run"
    };
    let shot = artifacts().join(if dark {
        "harness-dark.png"
    } else {
        "harness-light.png"
    });
    chromium(
        url,
        &[
            scheme,
            "--window-size=1300,760",
            &format!("--screenshot={}", shot.display()),
        ],
        profile,
    );
    let (dom, log) = chromium(
        url,
        &["--dump-dom", scheme, "--window-size=1300,760"],
        profile,
    );
    let json = dom
        .split_once("<pre id=\"result\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| {
            json.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&nbsp;", "\u{a0}")
                .replace("&amp;", "&")
        })
        .unwrap_or_else(|| panic!("the harness wrote no result: {dom}\n{log}"));
    (serde_json::from_str(&json).unwrap(), log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium; .ci/run runs it"]
async fn browser_page_is_readable_narrow_dark_and_by_keyboard() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = daemon::start_alive_and_dead(dir.path()).await;
    d.wait_page("/", Duration::from_secs(15), |body| {
        body.contains("<a href=\"/incidents/1\">Dead ") && body.contains("</a></span></li></ol>")
    })
    .await;

    // The harness and the daemon's pages from one origin, so the harness can look inside.
    let app = axum::Router::new()
        .route(
            "/harness.html",
            axum::routing::get(|| async { axum::response::Html(HARNESS_PAGE) }),
        )
        .route(
            "/harness.js",
            axum::routing::get(|| async {
                (
                    [("content-type", "text/javascript")],
                    include_str!("browser/harness.js"),
                )
            }),
        );
    let (base, server) = proxy(d.addr, app, None).await;
    let url = format!("{base}/harness.html");

    let profile = dir.path().join("chromium");
    let (light, dark) = tokio::task::spawn_blocking(move || {
        (
            harness(&url, false, &profile),
            harness(&url, true, &profile),
        )
    })
    .await
    .unwrap();
    for ((found, log), scheme) in [(&light, "light"), (&dark, "dark")] {
        assert!(
            console_errors(log).is_empty(),
            "{scheme}: {:?}",
            console_errors(log)
        );
        assert_eq!(found["wide"]["dark"], scheme == "dark", "{found}");
        for frame in ["narrow", "wide"] {
            let f = &found[frame];
            assert!(
                f["contrast"]["checked"].as_u64().unwrap() > 10,
                "{scheme} {frame}: {f}"
            );
            assert_eq!(
                f["contrast"]["failures"],
                serde_json::json!([]),
                "{scheme} {frame}: text below WCAG AA contrast"
            );
        }
    }
    let narrow = &light.0["narrow"];
    assert_eq!(narrow["width"], 360);
    assert!(
        narrow["scrollWidth"].as_u64().unwrap() <= 360,
        "no sideways scrolling at 360 px: {narrow}"
    );
    let wide = &light.0["wide"];
    assert_eq!(wide["lang"], "en");
    assert_eq!(
        wide["landmarks"],
        serde_json::json!(["header", "main", "footer", "h1"])
    );
    let bars = wide["bars"].as_u64().unwrap();
    assert_eq!(bars, 2, "{wide}");
    assert_eq!(wide["cells"].as_u64().unwrap(), bars * 90);
    assert_eq!(
        wide["unlabelled"], 0,
        "every day says in words what its colour says"
    );
    let keys = &wide["keyboard"];
    assert_eq!(
        keys["tabIndex"], 0,
        "bars.js makes each bar one tab stop: {keys}"
    );
    assert_eq!(
        keys["current"], 89,
        "ArrowLeft from nothing picks today: {keys}"
    );
    assert!(
        keys["shown"].as_f64().unwrap() > 50.0,
        "today's label shows: {keys}"
    );
    assert!(keys["text"].as_str().unwrap().contains("uptime"), "{keys}");
    assert_eq!(keys["home"], 0);
    assert!(
        wide["linkShown"].as_f64().unwrap() > 50.0,
        "focusing a day's incident link shows the day: {wide}"
    );
    assert!(wide["linkText"].as_str().unwrap().ends_with("is down"));
    server.abort();
    d.stop().await;
}
