//! The public pages in the visitor's language: French for a French `Accept-Language` on every
//! public page (the front page with planned maintenance, a check, an incident, the history, the
//! subscription pages, a 404), English for anything else or a refusal by `q=0`, the footer's
//! switch remembered in a cookie, and validators that tell the languages apart; a check's page
//! in full in both (what we check, the uptime windows with the year, the days, the chart's
//! axes and notes, the header's corner).

use std::time::Duration;

use crate::daemon::{self, Daemon, Response};

const FRENCH: &str = "fr-FR,fr;q=0.9,en;q=0.8";
const LIMIT: Duration = Duration::from_secs(15);

/// A daemon with a check up, a check down (so an incident), a nightly maintenance window (so
/// the front page announces it) and subscriptions on (no mail is sent: nobody subscribes).
async fn start(dir: &std::path::Path) -> (Daemon, std::net::TcpListener) {
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = crate::daemon::refused_port();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Statut"
public_url = "http://status.test/"
[storage]
path = "{{db}}"
[defaults]
interval = "100ms"
timeout = "80ms"
failure_threshold = 2
success_threshold = 1
[smtp]
url = "smtp://127.0.0.1:9"
from = "Statut <status@example.org>"
[subscriptions]
email = true
[[maintenance]]
title = "Nightly"
checks = ["alive"]
cron = "0 0 3 * * *"
duration = "1h"
[[check]]
id = "alive"
name = "Alive"
group = "Core"
type = "tcp"
host = "127.0.0.1"
port = {}
public_details = "full"
[[check]]
id = "dead"
name = "Dead"
type = "tcp"
host = "127.0.0.1"
port = {closed_port}
"#,
        up.local_addr().unwrap().port()
    );
    (daemon::start(dir, &toml).await, up)
}

/// A check's state in `/api/v1/status`.
fn state<'a>(status: &'a serde_json::Value, id: &str) -> &'a str {
    status["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .and_then(|c| c["state"].as_str())
        .unwrap_or_default()
}

async fn get(d: &Daemon, path: &str, headers: &[(&str, &str)]) -> Response {
    daemon::get_with(d.addr, path, headers).await
}

fn accept(language: &str) -> [(&str, &str); 1] {
    [("Accept-Language", language)]
}

/// The body is a page in `code` that says `phrase`.
fn assert_in(r: &Response, path: &str, code: &str, phrase: &str) {
    let body = &r.body;
    assert!(
        body.contains(&format!("<html lang=\"{code}\">")),
        "{path}: not in {code}: {body}"
    );
    assert!(body.contains(phrase), "{path}: no {phrase:?} in {body}");
    assert_eq!(r.header("content-language"), Some(code), "{path}");
    let vary = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"));
    assert!(
        vary.map(|(_, v)| v.to_ascii_lowercase())
            .any(|v| v.contains("accept-language")),
        "{path}: {:?}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_page_speaks_the_visitors_language() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = start(dir.path()).await;
    d.wait_json("/api/v1/status", LIMIT, |v| {
        state(v, "dead") == "down" && state(v, "alive") != "unknown"
    })
    .await;
    let incidents = d
        .wait_json("/api/v1/incidents", LIMIT, |v| {
            v["incidents"][0]["id"].is_i64()
        })
        .await;
    let id = incidents["incidents"][0]["id"].as_i64().unwrap();
    let incident = format!("/incidents/{id}");
    // Each page, a French phrase on it and the English one it replaces.
    let pages: [(&str, &str, &str); 8] = [
        ("/", "Incidents en cours", "Active incidents"),
        ("/checks/dead", "Dernière vérification", "Last checked"),
        (&incident, "Chronologie", "Timeline"),
        ("/history", "Historique des incidents", "Incident history"),
        ("/subscribe", "Recevoir les e-mails de", "Get email from"),
        (
            "/subscribe/confirm",
            "Ce lien ne fonctionne pas",
            "This link does not work",
        ),
        (
            "/unsubscribe",
            "Ce lien ne fonctionne pas",
            "This link does not work",
        ),
        ("/checks/nope", "Page introuvable", "Not found"),
    ];
    for (path, french, english) in pages {
        let r = get(&d, path, &accept(FRENCH)).await;
        assert_in(&r, path, "fr", french);
        assert!(
            !r.body.contains(english),
            "{path}: {english:?} in {}",
            r.body
        );
        for other in ["de", "garbage;;;q=x,,", "fr;q=0, *", "*"] {
            let r = get(&d, path, &accept(other)).await;
            assert_in(&r, path, "en", english);
        }
        let r = get(&d, path, &[]).await;
        assert_in(&r, path, "en", english);
    }
    // The front page names the maintenance and the banner in French.
    let front = get(&d, "/", &accept("en;q=0, fr-CA;q=0.1")).await;
    assert_in(&front, "/", "fr", "Panne partielle");
    assert!(
        front.body.contains("Prévue\u{a0}: ") || front.body.contains("En cours\u{a0}: "),
        "{}",
        front.body
    );
    // The bars, once the history has been read, in French too.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let front = get(&d, "/", &accept(FRENCH)).await;
        if front.body.contains("de disponibilité") {
            assert!(front.body.contains("État quotidien des 90 derniers jours"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", front.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chosen_language_is_remembered_and_each_language_has_its_own_validators() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = start(dir.path()).await;
    d.wait_json("/api/v1/status", LIMIT, |v| state(v, "dead") == "down")
        .await;
    for path in ["/", "/history"] {
        let english = get(&d, path, &[]).await;
        assert!(
            english.body.contains("href=\"?lang=fr\""),
            "{}",
            english.body
        );
        let english_tag = english.header("etag").unwrap().to_string();
        let french = get(
            &d,
            path,
            &[("Accept-Language", FRENCH), ("If-None-Match", &english_tag)],
        )
        .await;
        assert_eq!(
            french.status, 200,
            "{path}: an English ETag is no French page"
        );
        let french_tag = french.header("etag").unwrap();
        assert_ne!(french_tag, english_tag, "{path}");
        let again = get(
            &d,
            path,
            &[("Accept-Language", FRENCH), ("If-None-Match", french_tag)],
        )
        .await;
        // The front page may have been rendered again in the meantime ("checked N s ago").
        assert!(
            matches!(again.status, 200 | 304),
            "{path}: {}",
            again.status
        );
    }
    // The footer's switch: French for this request and, by the cookie, for the next ones.
    let chosen = get(&d, "/history?lang=fr", &accept("en")).await;
    assert_in(
        &chosen,
        "/history?lang=fr",
        "fr",
        "Historique des incidents",
    );
    let cookie = chosen.header("set-cookie").unwrap();
    assert!(cookie.starts_with("lang=fr;"), "{cookie}");
    assert!(
        chosen
            .header("cache-control")
            .unwrap()
            .starts_with("private")
    );
    let next = get(
        &d,
        "/checks/alive",
        &[("Accept-Language", "en"), ("Cookie", "lang=fr")],
    )
    .await;
    assert_in(&next, "/checks/alive", "fr", "Dernière vérification");
    let back = get(&d, "/checks/alive?lang=en", &[("Cookie", "lang=fr")]).await;
    assert_in(&back, "/checks/alive", "en", "Last checked");
    // The JSON APIs stay as they are, in one language.
    let api = get(&d, "/api/v1/status", &accept(FRENCH)).await;
    assert_eq!(api.header("content-language"), None);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_page_says_all_of_its_parts_in_the_visitors_language() {
    let dir = tempfile::tempdir().unwrap();
    let (d, up) = start(dir.path()).await;
    let port = up.local_addr().unwrap().port();
    // The page once the bars are read and the chart has an hour to draw.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let french = loop {
        let r = get(&d, "/checks/alive", &accept(FRENCH)).await;
        if r.body.contains("<polyline class=\"p50\"") && r.body.contains("90 derniers jours") {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let english = get(&d, "/checks/alive", &[]).await;
    // Each part: French phrases, and the English they replace.
    let parts: [(&[&str], &[&str]); 5] = [
        (
            &[
                "Ce que nous vérifions\u{a0}: </strong>Le port TCP accepte une connexion, à intervalles de 100 ms\u{a0}; en panne après 2 échecs consécutifs.",
                &format!("Cible\u{a0}: <code>127.0.0.1:{port}</code>"),
            ],
            &[
                "What we check: </strong>TCP port accepts a connection, every 100 ms; down after 2 failures in a row.",
                &format!("Target: <code>127.0.0.1:{port}</code>"),
            ],
        ),
        (
            &[
                "<h2>Disponibilité</h2>",
                "<dt>24 h</dt>",
                "<dt>1 an</dt>",
                "une période sans aucune sonde indique «\u{a0}aucune donnée\u{a0}».",
            ],
            &[
                "<h2>Uptime</h2>",
                "<dt>24h</dt>",
                "<dt>1y</dt>",
                "a window without any probe says “no data”.",
            ],
        ),
        (
            &[
                "<h2>90 derniers jours</h2>",
                "des 90 jours n’ont aucune donnée.",
            ],
            &["<h2>Last 90 days</h2>", "of the 90 days have no data."],
        ),
        (
            &[
                "aria-label=\"Temps de réponse par heure\u{a0}: médiane et 95e centile en lignes, durée moyenne de chaque phase empilée en barres",
                "heures n’ont pas de données\"",
                "— médiane",
                " · par heure, heures UTC\u{a0}; pas de ligne là où une heure n’a pas de données",
                "<th>Heure (UTC)</th><th>Médiane</th><th>95e</th>",
                "<th>connexion</th>",
            ],
            &[
                "aria-label=\"Response time per hour: median and 95th percentile as lines, the mean time of each phase stacked as bars",
                "hours have no data\"",
                "— median",
                " · per hour, times in UTC; no line where an hour has no data",
                "<th>Hour (UTC)</th><th>Median</th><th>95th</th>",
                "<th>connect</th>",
            ],
        ),
        (
            &[
                "<nav class=\"follow\" aria-label=\"Suivre les mises à jour\"><a href=\"/subscribe\">S’abonner</a><a href=\"/feed.atom\">Flux Atom</a><a href=\"/feed.rss\">Flux RSS</a></nav>",
            ],
            &[
                "<nav class=\"follow\" aria-label=\"Follow updates\"><a href=\"/subscribe\">Subscribe</a><a href=\"/feed.atom\">Atom feed</a><a href=\"/feed.rss\">RSS feed</a></nav>",
            ],
        ),
    ];
    for (fr, en) in parts {
        for (phrase, replaced) in fr.iter().zip(en) {
            assert_in(&french, "/checks/alive", "fr", phrase);
            assert!(
                !french.body.contains(replaced),
                "{replaced:?} in {}",
                french.body
            );
        }
        for phrase in en {
            assert_in(&english, "/checks/alive", "en", phrase);
        }
    }
    // The axes: milliseconds up the side, UTC hours along the bottom, the same in both.
    let hours = regex::Regex::new(r">(00|06|12|18):00</span>").unwrap();
    for page in [&french.body, &english.body] {
        let axis = |class: &str| {
            page.split_once(&format!("<div class=\"{class}\" aria-hidden=\"true\">"))
                .and_then(|(_, rest)| rest.split_once("</div>"))
                .map(|(axis, _)| axis.to_string())
                .unwrap_or_else(|| panic!("no {class}: {page}"))
        };
        assert!(axis("yaxis").contains(">0 ms</span>"), "{page}");
        assert!(hours.is_match(&axis("xaxis")), "{page}");
    }
    d.stop().await;
}
