//! Certificate expiry notices end to end: real HTTPS servers on loopback with certificates that
//! expire in chosen numbers of days, a webhook receiver, and a daemon probing them many times,
//! restarted and reloaded in between: each threshold is said once per certificate, and a renewed
//! certificate starts over.

use std::time::Duration;

use serde_json::Value;

use crate::daemon;
use crate::notify::{Receiver, config, destination};
use crate::probe_depth::tls_server;

fn https_check(id: &str, port: u16) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nname = \"Site {id}\"\ntype = \"http\"\n\
         url = \"https://localhost:{port}/\"\ntls_insecure = true\n"
    )
}

/// Every certificate notice the receiver accepted at `path`.
fn notices(rx: &Receiver, path: &str) -> Vec<Value> {
    rx.hits(path)
        .iter()
        .filter(|h| h.accepted)
        .flat_map(|h| {
            h.json()["data"]["notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|n| n["event"] == "certificate.expiring")
        .collect()
}

/// (check, threshold) of each notice, in arrival order.
fn said(rx: &Receiver, path: &str) -> Vec<(String, u64)> {
    notices(rx, path)
        .iter()
        .map(|n| {
            (
                n["checks"][0]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                n["certificate"]["threshold_days"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_expiry_threshold_is_said_once_per_certificate_across_probes_restarts_and_reloads() {
    let ten = tls_server(10).await;
    let twenty = tls_server(20).await;
    let renewed = tls_server(5).await;
    let rx = Receiver::start().await;
    let toml = |ten_port: u16| {
        config(&format!(
            "{}{}{}{}[admin]\napi_tokens = [\"{}\"]\n",
            https_check("ten", ten_port),
            https_check("twenty", twenty.port),
            destination("hook", "webhook", &rx.url("/hook"), ""),
            destination(
                "pager",
                "webhook",
                &rx.url("/major"),
                "min_severity = \"major\""
            ),
            crate::admin::TOKEN,
        ))
    };
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml(ten.port)).await;
    let two = |hits: &[crate::notify::Hit]| {
        let n: usize = hits
            .iter()
            .map(|h| {
                h.json()["data"]["notifications"]
                    .as_array()
                    .map_or(0, Vec::len)
            })
            .sum();
        n >= 2
    };
    rx.wait("/hook", two).await;
    // Many more probes of both checks (every 100 ms) say nothing new.
    tokio::time::sleep(Duration::from_millis(800)).await;
    d.stop().await;

    let mut got = said(&rx, "/hook");
    got.sort();
    assert_eq!(
        got,
        [("ten".to_string(), 14), ("twenty".to_string(), 30)],
        "{:#?}",
        notices(&rx, "/hook")
    );
    let n = notices(&rx, "/hook");
    let ten_notice = n.iter().find(|n| n["checks"][0]["id"] == "ten").unwrap();
    let title = ten_notice["title"].as_str().unwrap();
    assert_eq!(title, "The TLS certificate of Site ten expires in 10 days");
    assert_eq!(ten_notice["impact"], "minor");
    let cert = &ten_notice["certificate"];
    assert_eq!(cert["subject"], "rcgen self signed cert", "{cert}");
    assert_eq!(cert["issuer"], "rcgen self signed cert", "{cert}");
    assert_eq!(cert["fingerprint_sha256"].as_str().unwrap().len(), 64);
    let expires = chrono::DateTime::parse_from_rfc3339(cert["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(expires, ten.not_after_secs);
    let text = ten_notice["text"].as_str().unwrap();
    assert!(text.contains("rcgen self signed cert"), "{text}");
    assert!(
        ten_notice["url"].as_str().unwrap().ends_with("/checks/ten"),
        "{ten_notice}"
    );
    assert!(
        said(&rx, "/major").is_empty(),
        "a minor notice passed a major filter"
    );

    // A restart and a reload, with many probes: nothing again.
    let d = daemon::start(dir.path(), &toml(ten.port)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let headers = crate::admin::api(&[]);
    let r = d
        .request("POST", "/api/v1/admin/reload", &headers, "")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(600)).await;
    d.stop().await;
    assert_eq!(said(&rx, "/hook").len(), 2, "{:#?}", notices(&rx, "/hook"));

    // A new certificate for the same check starts over: 5 days left is the 7-day notice.
    let d = daemon::start(dir.path(), &toml(renewed.port)).await;
    rx.wait("/hook", |_| said(&rx, "/hook").len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.stop().await;
    let got = said(&rx, "/hook");
    assert_eq!(got.len(), 3, "{:#?}", notices(&rx, "/hook"));
    assert_eq!(got[2], ("ten".to_string(), 7));
    assert!(said(&rx, "/major").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_day_is_major_and_the_thresholds_follow_the_config() {
    let one = tls_server(1).await;
    let forty = tls_server(40).await;
    let rx = Receiver::start().await;
    let toml = config(&format!(
        "cert_expiry_days = [60, 1]\n{}{}{}",
        https_check("one", one.port),
        https_check("forty", forty.port),
        destination(
            "pager",
            "webhook",
            &rx.url("/major"),
            "min_severity = \"major\""
        ),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    rx.wait("/major", |_| !said(&rx, "/major").is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.stop().await;
    // The 60-day notice of "forty" is minor: the major-only destination hears of "one" alone.
    assert_eq!(said(&rx, "/major"), [("one".to_string(), 1)]);
    let n = notices(&rx, "/major");
    assert_eq!(n[0]["impact"], "major");
}
