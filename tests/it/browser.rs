//! The pages in a real headless Chromium (Debian's `chromium`): the status page shows an outage,
//! its bar and its incident, the embed example shows its banner, and no page logs a console error.
//! Ignored by a plain `cargo test` (it needs Chromium); `.ci/run` installs Chromium and runs it
//! with `cargo test -- --ignored browser`. Screenshots land in `target/browser/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon;

/// Runs headless Chromium on `url` with `extra` flags; returns (stdout, stderr).
fn chromium(url: &str, extra: &[&str], profile: &Path) -> (String, String) {
    let out = Command::new("chromium")
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
            "--virtual-time-budget=5000",
            "--window-size=1000,1400",
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
