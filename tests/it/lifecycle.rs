//! The incident lifecycle end to end: a target goes down, an incident opens dated to the first
//! failing probe, survives a restart without a duplicate, and resolves at the first good probe.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

use crate::daemon;

/// An HTTP target whose `/flip` answers the status code the test sets, and `/ok` always 200.
pub struct Target {
    addr: std::net::SocketAddr,
    code: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Target {
    pub async fn start() -> Target {
        let code = Arc::new(AtomicU16::new(200));
        let shared = code.clone();
        let app = axum::Router::new()
            .route(
                "/flip",
                axum::routing::get(move || {
                    let code = shared.load(Ordering::SeqCst);
                    async move { StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT) }
                }),
            )
            .route("/ok", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Target { addr, code, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_flip(&self, code: u16) {
        self.code.store(code, Ordering::SeqCst);
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config(target: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Lifecycle"
[storage]
path = "{{db}}"
[defaults]
interval = "200ms"
timeout = "150ms"
failure_threshold = 3
success_threshold = 2
[[check]]
id = "web"
name = "Web"
group = "Core"
type = "http"
url = "{target}"
# The incident page shows the probe's own message ("status 503, expected 200-399").
public_details = "full"
"#
    )
}

fn state_of(status: &Value, id: &str) -> String {
    status["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id))
        .map(|c| c["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

fn open_incidents(v: &Value) -> Vec<Value> {
    v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["resolved_at"].is_null())
        .cloned()
        .collect()
}

/// (first down result, started_at, resolved_at) of the only incident, in ms, from the database.
fn stored_incident(d: &daemon::Daemon) -> (i64, i64, Option<i64>, i64) {
    let db = d.db();
    let (started, resolved): (i64, Option<i64>) = db
        .query_row("SELECT started_at, resolved_at FROM incidents", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let first_down: i64 = db
        .query_row("SELECT min(at) FROM results WHERE status = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    let evidence: i64 = db
        .query_row("SELECT count(*) FROM incident_evidence", [], |r| r.get(0))
        .unwrap();
    (first_down, started, resolved, evidence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_opens_one_incident_that_survives_a_restart_and_resolves() {
    let target = Target::start().await;
    target.set_flip(200);
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&target.url("/flip"));
    let limit = Duration::from_secs(10);

    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", limit, |v| state_of(v, "web") == "up")
        .await;

    target.set_flip(503);
    let failed_at = Instant::now();
    let v = d
        .wait_json("/api/v1/incidents", limit, |v| open_incidents(v).len() == 1)
        .await;
    eprintln!(
        "detection took {:?} (interval 200ms × threshold 3)",
        failed_at.elapsed()
    );
    let incident = &open_incidents(&v)[0];
    assert_eq!(incident["check"], "web");
    assert_eq!(incident["severity"], "major");
    assert_eq!(incident["title"], "Web is down");
    let (first_down, started, resolved, evidence) = stored_incident(&d);
    assert_eq!(
        started, first_down,
        "the incident starts at the first failing probe"
    );
    assert_eq!(resolved, None);
    assert_eq!(evidence, 3, "the three failing probes are the evidence");

    let status = d.json("/api/v1/status").await;
    assert_eq!(state_of(&status, "web"), "down");
    // The count of open incidents (manual ones included) follows the history refresh, which an
    // incident change wakes at once.
    let metrics = d
        .wait_page("/metrics", Duration::from_secs(10), |m| {
            m.contains("watchpost_incidents_open 1")
        })
        .await
        .body;
    assert!(metrics.contains("watchpost_incidents_open 1"), "{metrics}");
    assert!(metrics.contains(r#"probe_success{check="web",group="Core",type="http"} 0"#));
    assert!(
        metrics.contains(r#"probe_http_status_code{check="web",group="Core",type="http"} 503"#)
    );
    let page = d.get("/").await.body;
    let id = incident["id"].as_i64().unwrap();
    assert!(
        page.contains(&format!("href=\"/incidents/{id}\"")),
        "{page}"
    );
    assert!(page.contains("Major outage"));
    let detail = d.get(&format!("/incidents/{id}")).await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("status 503, expected 200-399"),
        "{}",
        detail.body
    );

    // A restart while the target is still down keeps the incident open and opens no other.
    d.stop().await;
    let d = daemon::start(dir.path(), &toml).await;
    let v = d.json("/api/v1/incidents").await;
    assert_eq!(open_incidents(&v).len(), 1);
    d.wait_json("/api/v1/status", limit, |v| state_of(v, "web") == "down")
        .await;
    // Several more failing probes: still one incident.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let v = d.json("/api/v1/incidents").await;
    assert_eq!(v["incidents"].as_array().unwrap().len(), 1, "{v}");

    target.set_flip(200);
    let v = d
        .wait_json("/api/v1/incidents", limit, |v| open_incidents(v).is_empty())
        .await;
    assert!(v["incidents"][0]["resolved_at"].is_string());
    let (_, started_again, resolved, _) = stored_incident(&d);
    assert_eq!(started_again, started);
    let first_good: i64 = d
        .db()
        .query_row(
            "SELECT min(at) FROM results WHERE status = 0 AND at > ?1",
            [started],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        resolved,
        Some(first_good),
        "resolved at the first good probe"
    );
    // Statuspage clients read the fall and the recovery from the updates' component changes.
    let v = d.json("/api/v2/incidents.json").await;
    let updates = v["incidents"][0]["incident_updates"].as_array().unwrap();
    let change = |u: &serde_json::Value| {
        let c = &u["affected_components"][0];
        (
            u["status"].as_str().unwrap().to_string(),
            c["code"].clone(),
            c["old_status"].clone(),
            c["new_status"].clone(),
        )
    };
    assert_eq!(
        change(&updates[0]),
        (
            "resolved".into(),
            "web".into(),
            "major_outage".into(),
            "operational".into()
        )
    );
    assert_eq!(
        change(updates.last().unwrap()),
        (
            "investigating".into(),
            "web".into(),
            "operational".into(),
            "major_outage".into()
        )
    );
    d.wait_json("/api/v1/status", limit, |v| state_of(v, "web") == "up")
        .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_loses_no_result() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&target.url("/ok"))
        .replace("interval = \"200ms\"", "interval = \"50ms\"")
        .replace("timeout = \"150ms\"", "timeout = \"40ms\"");
    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", Duration::from_secs(10), |v| {
        state_of(v, "web") == "up"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = d.get("/metrics").await.body;
    let counted: i64 = metrics
        .lines()
        .find(|l| l.starts_with("watchpost_probes_total{") && l.contains("result=\"up\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a probe counter");
    let db = d.db.clone();
    d.stop().await;
    let conn = rusqlite::Connection::open(db).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM results", [], |r| r.get(0))
        .unwrap();
    assert!(
        stored >= counted,
        "{stored} results stored, {counted} counted before the stop"
    );
    let probes: i64 = conn
        .query_row("SELECT sum(probes_up) FROM rollup_day", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        probes, stored,
        "every stored result is counted in the daily rollup"
    );
}
