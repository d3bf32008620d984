//! axe-core in headless Chromium on the pages visitors read — the front page, a check, an
//! incident, the history — and the admin sign-in and notifications, light and dark, at 360 and
//! 1280 px, and the front page, a check and an incident in French for a browser that asks for
//! French: no violation of any rule; likewise a big front page with its groups folded (one
//! opened, its checks fetched), a group's own page and a search, in English and French. Also:
//! the times shown in the viewer's zone by `/assets/time.js`, and screenshots of the pages at a
//! phone's width in `target/browser/`.
//! axe-core comes from npm into `target/axe` (`.ci/run` installs it).

use std::path::{Path, PathBuf};

use super::{artifacts, chromium, chromium_in, console_errors, proxy};
use crate::visitors;

/// Where `.ci/run` puts axe-core (`npm install --prefix target/axe axe-core`).
fn axe_script() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe/node_modules/axe-core/axe.min.js");
    assert!(
        path.exists(),
        "axe-core is missing: run `npm install --prefix target/axe axe-core` (.ci/run does)"
    );
    path
}

/// The page the audit runs on: each of `pages` framed at each width.
fn audit_page(pages: &[(&str, String)]) -> String {
    let mut html =
        String::from("<!DOCTYPE html><html lang=\"en\"><head><title>audit</title></head><body>\n");
    for (name, path) in pages {
        for width in [360, 1280] {
            html.push_str(&format!(
                "<iframe id=\"{name}-{width}\" src=\"{path}\" width=\"{width}\" height=\"900\"></iframe>\n"
            ));
        }
    }
    html.push_str("<script src=\"/audit.js\"></script></body></html>");
    html
}

/// The JSON a browser page wrote into `<pre id="{id}">`.
pub(super) fn written(dom: &str, id: &str, log: &str) -> serde_json::Value {
    let json = dom
        .split_once(&format!("<pre id=\"{id}\">"))
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| {
            json.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&nbsp;", "\u{a0}")
                .replace("&amp;", "&")
        })
        .unwrap_or_else(|| panic!("the page wrote no {id}: {dom}\n{log}"));
    serde_json::from_str(&json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and axe-core; .ci/run runs it"]
async fn browser_axe_finds_nothing_on_any_page_light_or_dark_narrow_or_wide() {
    let dir = tempfile::tempdir().unwrap();
    let site = visitors::start(dir.path()).await;
    let pages = [
        ("front", "/".to_string()),
        ("check", "/checks/mail".to_string()),
        ("check-up", "/checks/web".to_string()),
        ("incident", format!("/incidents/{}", site.outage)),
        ("history", "/history".to_string()),
        ("login", "/admin/login".to_string()),
        ("notifications", "/admin/notifications".to_string()),
    ];
    let french = [
        ("front-fr", "/".to_string()),
        ("check-up-fr", "/checks/web".to_string()),
        ("incident-fr", format!("/incidents/{}", site.outage)),
    ];
    let cookie = crate::admin::session(&site.d).await;
    let (problems, base, server) =
        audit(site.d.addr, &pages, &french, dir.path(), Some(cookie)).await;
    let profile = dir.path().join("chromium");
    assert!(problems.is_empty(), "axe found:\n{}", problems.join("\n"));

    // Screenshots at a phone's width, and the front page in a zone far from UTC.
    let out = artifacts();
    let base_for_shots = base.clone();
    let outage = site.outage;
    let french_profile = dir.path().join("chromium-fr");
    let local = tokio::task::spawn_blocking(move || {
        for (name, path, flag) in [
            ("visitors-front-390", "/".to_string(), "--no-first-run"),
            (
                "visitors-front-390-dark",
                "/".to_string(),
                "--force-dark-mode",
            ),
            (
                "visitors-incident-390",
                format!("/incidents/{outage}"),
                "--no-first-run",
            ),
            (
                "visitors-check-390",
                "/checks/mail".to_string(),
                "--no-first-run",
            ),
            (
                "visitors-check-up-390",
                "/checks/web".to_string(),
                "--no-first-run",
            ),
            (
                "visitors-check-up-390-dark",
                "/checks/web".to_string(),
                "--force-dark-mode",
            ),
            (
                "visitors-history-390",
                "/history".to_string(),
                "--no-first-run",
            ),
        ] {
            let shot = out.join(format!("{name}.png"));
            chromium_in(
                "Asia/Kolkata",
                &format!("{base_for_shots}{path}"),
                &[
                    flag,
                    "--window-size=390,1600",
                    "--hide-scrollbars",
                    &format!("--screenshot={}", shot.display()),
                ],
                &profile,
            );
        }
        // The front page and a check's in French, in the French profile.
        for (name, path, size) in [
            ("visitors-front-390-fr", "/", "--window-size=390,1600"),
            (
                "visitors-check-up-1280-fr",
                "/checks/web",
                "--window-size=1280,1800",
            ),
        ] {
            let shot = out.join(format!("{name}.png"));
            chromium_in(
                "Asia/Kolkata",
                &format!("{base_for_shots}{path}"),
                &[
                    "--accept-lang=fr-FR,fr",
                    size,
                    "--hide-scrollbars",
                    &format!("--screenshot={}", shot.display()),
                ],
                &french_profile,
            );
        }
        // The check page wide, for the chart's axes and the table of days.
        for (name, flag) in [
            ("visitors-check-up-1280", "--no-first-run"),
            ("visitors-check-up-1280-dark", "--force-dark-mode"),
        ] {
            let shot = out.join(format!("{name}.png"));
            chromium_in(
                "Asia/Kolkata",
                &format!("{base_for_shots}/checks/web"),
                &[
                    flag,
                    "--window-size=1280,1800",
                    "--hide-scrollbars",
                    &format!("--screenshot={}", shot.display()),
                ],
                &profile,
            );
        }
        chromium_in(
            "Asia/Kolkata",
            &format!("{base_for_shots}/"),
            &["--dump-dom"],
            &profile,
        )
    })
    .await
    .unwrap();
    let (dom, log) = local;
    assert!(
        console_errors(&log).is_empty(),
        "{:?}",
        console_errors(&log)
    );
    // India is 5:30 ahead of UTC all year: the script wrote the times there, UTC on hover.
    let local_time = regex::Regex::new(
        r#"<time datetime="[^"]+" data-t="at" title="[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d UTC">[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d GMT\+5:30</time>"#,
    )
    .unwrap();
    assert!(local_time.is_match(&dom), "{dom}");
    assert!(
        std::fs::metadata(artifacts().join("visitors-front-390.png"))
            .is_ok_and(|m| m.len() > 10_000),
        "a screenshot"
    );
    server.abort();
    site.d.stop().await;
}

/// Runs axe-core on `pages` of the daemon at `daemon`, light and dark, and on `french` for a
/// browser asking for French (in a profile of its own), at 360 and 1280 px (a folded group on a
/// page is opened first; `cookie` signs the admin pages in), checks each frame was audited in
/// its language, and returns what axe found, the base URL of the proxy the pages came through,
/// and its task. The profiles are made in `dir`: `chromium` for English.
async fn audit(
    daemon: std::net::SocketAddr,
    pages: &[(&str, String)],
    french: &[(&str, String)],
    dir: &Path,
    cookie: Option<String>,
) -> (Vec<String>, String, tokio::task::JoinHandle<()>) {
    let axe = std::fs::read_to_string(axe_script()).unwrap();
    let html = audit_page(pages);
    let french_html = audit_page(french);
    let app = axum::Router::new()
        .route(
            "/audit.html",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        )
        .route(
            "/audit-fr.html",
            axum::routing::get(move || async move { axum::response::Html(french_html) }),
        )
        .route(
            "/audit.js",
            axum::routing::get(|| async {
                (
                    [("content-type", "text/javascript")],
                    include_str!("audit.js"),
                )
            }),
        )
        .route(
            "/axe.js",
            axum::routing::get(move || async move { ([("content-type", "text/javascript")], axe) }),
        );
    let (base, server) = proxy(daemon, app, cookie).await;
    let runs = {
        let url = format!("{base}/audit.html");
        let profile = dir.join("chromium");
        // French in a profile of its own, asked for by the browser's Accept-Language.
        let (french_url, french_profile) =
            (format!("{base}/audit-fr.html"), dir.join("chromium-fr"));
        let schemes: Vec<_> = [("light", "en"), ("dark", "en"), ("light", "fr")]
            .into_iter()
            .filter(|(_, lang)| *lang == "en" || !french.is_empty())
            .collect();
        tokio::task::spawn_blocking(move || {
            schemes
                .into_iter()
                .map(|(scheme, lang)| {
                    let flag = if scheme == "dark" {
                        "--force-dark-mode"
                    } else {
                        "--no-first-run"
                    };
                    let mut args = vec![
                        "--dump-dom",
                        flag,
                        "--window-size=1300,1000",
                        "--virtual-time-budget=30000",
                    ];
                    let (url, profile) = match lang {
                        "fr" => {
                            args.push("--accept-lang=fr-FR,fr");
                            (&french_url, &french_profile)
                        }
                        _ => (&url, &profile),
                    };
                    let (dom, log) = chromium(url, &args, profile);
                    (scheme, lang, written(&dom, "audit", &log), log)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap()
    };
    let mut problems = Vec::new();
    for (scheme, lang, found, log) in &runs {
        let pages = if *lang == "fr" { french } else { pages };
        assert!(
            console_errors(log).is_empty(),
            "{scheme}: {:?}",
            console_errors(log)
        );
        for (name, _) in pages {
            for width in [360, 1280] {
                let frame = &found[format!("{name}-{width}")];
                assert_eq!(frame["error"], serde_json::Value::Null, "{frame}");
                if *name != "login" {
                    assert_eq!(frame["lang"], *lang, "{name}-{width}: {frame}");
                }
                assert_eq!(frame["dark"], *scheme == "dark", "{name}-{width}: {frame}");
                assert!(frame["width"].as_u64().unwrap() <= width, "{frame}");
                assert!(frame["passes"].as_u64().unwrap() > 20, "axe ran: {frame}");
                assert_eq!(
                    frame["overflow"], 0,
                    "{scheme} {name} {width} px scrolls sideways"
                );
                for v in frame["violations"].as_array().unwrap() {
                    problems.push(format!("{scheme} {lang} {name} {width} px: {v:#}"));
                }
            }
        }
    }
    (problems, base, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and axe-core; .ci/run runs it"]
async fn browser_axe_finds_nothing_on_a_folded_front_page_a_group_page_or_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = crate::front_groups::big_site(dir.path(), 150, 5).await;
    // Every fiftieth check is down, all three in group 0: it is open, groups 1 to 4 folded.
    let front = d
        .wait_page("/", std::time::Duration::from_secs(60), |body| {
            body.contains("3 of 30 down")
        })
        .await
        .body;
    assert!(
        front.contains("data-fragment=\"/fragments/group/group-2\""),
        "{front}"
    );
    let pages = [
        ("folded", "/".to_string()),
        ("group", "/groups/group-3".to_string()),
        ("search", "/search?q=number%2012".to_string()),
    ];
    let french = [
        ("folded-fr", "/".to_string()),
        ("group-fr", "/groups/group-3".to_string()),
        ("search-fr", "/search?q=number%2012".to_string()),
    ];
    let (problems, _, server) = audit(d.addr, &pages, &french, dir.path(), None).await;
    assert!(problems.is_empty(), "axe found:\n{}", problems.join("\n"));
    server.abort();
    d.stop().await;
}
