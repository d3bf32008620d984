//! How soon a big front page paints: 1,000 checks in 20 groups, served by a daemon through the
//! test's proxy, which adds a script that reads the page's `first-contentful-paint` entry. A
//! measurement, printed (BENCHMARKS.md records it), never a timed assertion. Chromium runs in
//! real time here (no virtual time budget), and a slow image keeps the page loading until the
//! paint has happened, so that `--dump-dom` sees the figure.

use std::time::Duration;

use super::{chromium_with, console_errors, proxy};
use crate::front_groups::big_site;

/// Appended to the front page by the proxy: waits for the slow image, then writes the paint
/// timings into `<pre id="paint">`.
const PAINT_JS: &str = r#"
const slow = document.createElement("img");
slow.alt = "";
slow.src = "/slow.gif";
slow.addEventListener("load", () => {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  const pre = document.createElement("pre");
  pre.id = "paint";
  pre.textContent = JSON.stringify({
    fcp: fcp ? fcp.startTime : null,
    responseEnd: nav.responseEnd,
    domContentLoaded: nav.domContentLoadedEventEnd,
    elements: document.getElementsByTagName("*").length,
  });
  document.body.append(pre);
});
document.body.append(slow);
"#;

/// A transparent 1×1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium; a measurement: run with --nocapture to read it"]
async fn browser_measures_the_first_contentful_paint_of_a_big_front_page() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = big_site(dir.path(), 1000, 20).await;
    let front = d
        .wait_page("/", Duration::from_secs(60), |body| {
            body.matches("10 of 50 down").count() == 2
        })
        .await;
    let size = front.body.len();
    let addr = d.addr;
    let app = axum::Router::new()
        .route(
            "/paint",
            axum::routing::get(move || async move {
                let page = crate::daemon::get(addr, "/").await.body;
                let page = page.replace("</body>", "<script src=\"/paint.js\"></script></body>");
                axum::response::Html(page)
            }),
        )
        .route(
            "/paint.js",
            axum::routing::get(|| async { ([("content-type", "text/javascript")], PAINT_JS) }),
        )
        .route(
            "/slow.gif",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                ([("content-type", "image/gif")], GIF)
            }),
        );
    let (base, server) = proxy(d.addr, app, None).await;
    let profile = dir.path().join("chromium");
    let url = format!("{base}/paint");
    let runs = tokio::task::spawn_blocking(move || {
        // The first run warms Chromium's own caches (profile, fonts); the others are measured.
        (0..4)
            .map(|_| {
                let (dom, log) = chromium_with(
                    "UTC",
                    &url,
                    &["--dump-dom", "--window-size=390,844"],
                    &profile,
                );
                (super::audit::written(&dom, "paint", &log), log)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (i, (found, log)) in runs.iter().enumerate() {
        assert!(console_errors(log).is_empty(), "{:?}", console_errors(log));
        assert!(found["fcp"].is_number(), "the page painted: {found}");
        println!(
            "front page, 1,000 checks in 20 groups, {size} bytes of HTML: run {i}: first contentful paint {:.0} ms (response end {:.0} ms, DOMContentLoaded {:.0} ms, {} elements)",
            found["fcp"].as_f64().unwrap(),
            found["responseEnd"].as_f64().unwrap(),
            found["domContentLoaded"].as_f64().unwrap(),
            found["elements"]
        );
    }
    server.abort();
    d.stop().await;
}
