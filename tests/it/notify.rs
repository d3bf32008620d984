//! Operator alerts end to end, against real receivers on loopback: a signed webhook, Slack and
//! Discord bodies, retries that deliver once, a daemon killed with SIGKILL that delivers once
//! after its restart, a burst grouped into one message, maintenance that silences, a restart
//! that sends nothing, order kept per destination, and email through an SMTP sink.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::daemon;
use crate::lifecycle::Target;

const LIMIT: Duration = Duration::from_secs(15);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One request a receiver got, and what it answered.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
    at_ms: i64,
    pub(crate) accepted: bool,
}

impl Hit {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The webhook's notifications: (event, key).
    fn events(&self) -> Vec<(String, String)> {
        self.json()["data"]["notifications"]
            .as_array()
            .map(|n| {
                n.iter()
                    .map(|x| {
                        (
                            x["event"].as_str().unwrap_or_default().to_string(),
                            x["key"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An HTTP receiver recording every request; it answers 503 while `fail` is above zero.
pub(crate) struct Receiver {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    pub(crate) fail: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    async fn start_on(addr: SocketAddr) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let fail = Arc::new(AtomicUsize::new(0));
        let (h, f) = (hits.clone(), fail.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (hits, fail) = (h.clone(), f.clone());
            async move {
                let failing = fail
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                hits.lock().unwrap().push(Hit {
                    path: uri.path().to_string(),
                    headers,
                    body: body.to_vec(),
                    at_ms: now_ms(),
                    accepted: !failing,
                });
                if failing {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        });
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            hits,
            fail,
            task,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn hits(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    /// The accepted requests to `path`, once `done` holds for them.
    pub(crate) async fn wait(&self, path: &str, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let accepted: Vec<Hit> = self.hits(path).into_iter().filter(|h| h.accepted).collect();
            if done(&accepted) {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: not what was expected within {LIMIT:?}; got {:#?}",
                accepted.iter().map(Hit::events).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every (event, key) the accepted webhook requests carried, in arrival order.
pub(crate) fn events(hits: &[Hit]) -> Vec<(String, String)> {
    hits.iter().flat_map(Hit::events).collect()
}

fn has(event: &str) -> impl Fn(&[Hit]) -> bool + '_ {
    move |hits| events(hits).iter().any(|(e, _)| e == event)
}

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A config with fast probes, no grouping and fast retries, plus `rest`.
pub(crate) fn config(rest: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "https://status.example.org"
[storage]
path = "{{db}}"
[defaults]
interval = "100ms"
timeout = "80ms"
failure_threshold = 1
success_threshold = 1
[notifications]
group_window = "0s"
retry_first = "100ms"
retry_max = "300ms"
{rest}
"#
    )
}

fn tcp_check(id: &str, port: u16) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nname = \"Check {id}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n"
    )
}

fn http_check(id: &str, url: &str) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nname = \"Web\"\ngroup = \"Core\"\ntype = \"http\"\nurl = \"{url}\"\n"
    )
}

pub(crate) fn destination(name: &str, kind: &str, url: &str, extra: &str) -> String {
    format!("[[notify]]\nname = \"{name}\"\ntype = \"{kind}\"\nurl = \"{url}\"\n{extra}\n")
}

/// Verifies a Standard Webhooks signature on its own, without the daemon's code.
fn verify(hit: &Hit, key: &[u8]) {
    let signed = format!(
        "{}.{}.{}",
        hit.header("webhook-id"),
        hit.header("webhook-timestamp"),
        String::from_utf8_lossy(&hit.body)
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let (version, sig) = hit.header("webhook-signature").split_once(',').unwrap();
    assert_eq!(version, "v1");
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .unwrap();
    ring::hmac::verify(&key, signed.as_bytes(), &sig).expect("a valid signature");
    let ts: i64 = hit.header("webhook-timestamp").parse().unwrap();
    assert!(
        (ts * 1000 - hit.at_ms).abs() < 60_000,
        "a current timestamp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_slack_and_discord_hear_of_an_outage_and_its_end_in_order() {
    let target = Target::start().await;
    target.set_flip(200);
    let rx = Receiver::start().await;
    let toml = config(&format!(
        "{}{}{}{}",
        http_check("web", &target.url("/flip")),
        destination(
            "hook",
            "webhook",
            &rx.url("/hook"),
            "secret = \"whsec_c2VjcmV0LWtleQ==\""
        ),
        destination("slack", "slack", &rx.url("/slack"), ""),
        destination("discord", "discord", &rx.url("/discord"), ""),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", LIMIT, |v| v["checks"][0]["state"] == "up")
        .await;

    target.set_flip(503);
    let hits = rx.wait("/hook", has("incident.opened")).await;
    let hit = &hits[0];
    verify(hit, b"secret-key");
    assert_eq!(hit.header("content-type"), "application/json");
    let v = hit.json();
    assert_eq!(v["type"], "incident.opened");
    let n = &v["data"]["notifications"][0];
    let id = n["incident"].as_i64().unwrap();
    assert_eq!(
        hit.header("webhook-id"),
        format!("incident.opened:{id}:1:hook")
    );
    assert_eq!(n["key"], format!("incident.opened:{id}:1:hook"));
    assert_eq!(n["title"], "Web is down");
    assert_eq!(n["state"], "down");
    assert_eq!(n["impact"], "major");
    assert_eq!(n["checks"][0]["id"], "web");
    assert_eq!(n["checks"][0]["group"], "Core");
    assert_eq!(
        n["url"],
        format!("https://status.example.org/incidents/{id}")
    );
    let evidence = n["evidence"].as_str().unwrap();
    assert!(
        evidence.starts_with("status 503, expected 200-399 (HTTP 503, after "),
        "{evidence}"
    );

    let slack = rx.wait("/slack", |h| !h.is_empty()).await[0].json();
    let a = &slack["attachments"][0];
    assert_eq!(a["color"], "#d0342c");
    assert_eq!(a["title"], "Incident opened: Web is down");
    assert_eq!(
        a["title_link"],
        format!("https://status.example.org/incidents/{id}")
    );
    assert!(slack["text"].is_string());
    let discord = rx.wait("/discord", |h| !h.is_empty()).await[0].json();
    let e = &discord["embeds"][0];
    assert_eq!(e["color"], 0xd0342c);
    assert_eq!(e["title"], "Incident opened: Web is down");
    assert_eq!(e["fields"][0]["name"], "Checks");
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));

    target.set_flip(200);
    let hits = rx.wait("/hook", has("incident.resolved")).await;
    let seen: Vec<String> = events(&hits).into_iter().map(|(e, _)| e).collect();
    assert_eq!(seen, ["incident.opened", "incident.resolved"]);
    let resolved = &hits[1].json()["data"]["notifications"][0];
    assert!(resolved["duration_seconds"].is_u64());
    let slack = rx.wait("/slack", |h| h.len() == 2).await;
    assert_eq!(slack[1].json()["attachments"][0]["color"], "#2e9e44");

    let metrics = d
        .wait_page("/metrics", LIMIT, |m| {
            m.contains(r#"watchpost_notifications_total{destination="hook",result="delivered"} 2"#)
                && m.contains("watchpost_outbox_pending 0")
        })
        .await
        .body;
    assert!(
        metrics.contains("watchpost_outbox_oldest_seconds 0"),
        "{metrics}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_three_times_gets_one_delivery_and_resolved_waits_behind_it() {
    let target = Target::start().await;
    target.set_flip(200);
    let rx = Receiver::start().await;
    let toml = config(&format!(
        "{}{}",
        http_check("web", &target.url("/flip")),
        destination("hook", "webhook", &rx.url("/hook"), ""),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", LIMIT, |v| v["checks"][0]["state"] == "up")
        .await;

    rx.fail.store(3, Ordering::SeqCst);
    target.set_flip(503);
    // The first attempt fails; the check recovers while "opened" is still being retried.
    let deadline = Instant::now() + LIMIT;
    while rx.hits("/hook").is_empty() {
        assert!(Instant::now() < deadline, "no attempt at all");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    target.set_flip(200);
    let hits = rx.wait("/hook", has("incident.resolved")).await;
    let seen: Vec<String> = events(&hits).into_iter().map(|(e, _)| e).collect();
    assert_eq!(
        seen,
        ["incident.opened", "incident.resolved"],
        "delivered once each, in order"
    );
    let all = rx.hits("/hook");
    let opened_id = hits[0].header("webhook-id").to_string();
    let attempts = all
        .iter()
        .filter(|h| h.header("webhook-id") == opened_id)
        .count();
    assert_eq!(attempts, 4, "three refusals, then the one delivery");
    assert!(all.iter().take(3).all(|h| !h.accepted));
    let (state, tries): (String, i64) = d
        .db()
        .query_row(
            "SELECT state, attempts FROM outbox WHERE key = ?1",
            [&opened_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), tries), ("delivered", 4));
    d.wait_page("/metrics", LIMIT, |m| {
        m.contains(r#"watchpost_notifications_total{destination="hook",result="failed"} 3"#)
    })
    .await;
    d.stop().await;
}

/// A daemon in a child process, killed (SIGKILL) when dropped, so a failing test leaves none.
struct Child(std::process::Child);

impl Child {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `watchpost run` as a child process on `config`, serving on `port`.
fn spawn_daemon(config: &std::path::Path, port: u16) -> Child {
    let child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_watchpost"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + LIMIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_while_a_message_is_undelivered_delivers_it_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_port, web_port) = (free_port(), free_port());
    let dead: Vec<String> = (0..3)
        .map(|i| tcp_check(&format!("c{i}"), crate::daemon::refused_port()))
        .collect();
    let toml = config(&format!(
        "{}{}",
        dead.concat(),
        destination(
            "hook",
            "webhook",
            &format!("http://127.0.0.1:{hook_port}/hook"),
            ""
        ),
    ))
    .replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{web_port}\""),
    )
    .replace("{db}", "w.db");
    let path = dir.path().join("watchpost.toml");
    std::fs::write(&path, toml).unwrap();

    let mut child = spawn_daemon(&path, web_port);
    // Three incidents open; their notifications wait in the outbox, the first failing again and
    // again (nothing listens), the others behind it.
    let db = dir.path().join("w.db");
    let deadline = Instant::now() + LIMIT;
    loop {
        let (pending, tried): (i64, i64) = rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*), count(CASE WHEN attempts > 0 THEN 1 END) FROM outbox
                     WHERE state = 'pending'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .unwrap_or((0, 0));
        if pending == 3 && tried > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the notifications were never attempted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill(); // SIGKILL

    let rx = Receiver::start_on(format!("127.0.0.1:{hook_port}").parse().unwrap()).await;
    let mut child = spawn_daemon(&path, web_port);
    let hits = rx.wait("/hook", |h| events(h).len() >= 3).await;
    // Long enough for a duplicate to show: many probe intervals and retry periods.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let keys: Vec<String> = events(&rx.hits("/hook"))
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    let expected: Vec<String> = (1..=3)
        .map(|id| format!("incident.opened:{id}:1:hook"))
        .collect();
    let lost = expected.iter().filter(|k| !unique.contains(k)).count();
    let duplicated = keys.len() - unique.len();
    eprintln!(
        "kill -9 run: {} notifications expected, {lost} lost, {duplicated} duplicated",
        expected.len()
    );
    assert_eq!(unique, expected, "{hits:#?}");
    assert_eq!(duplicated, 0);
    child.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_checks_failing_within_the_window_make_one_message_per_destination() {
    let rx = Receiver::start().await;
    let port = crate::daemon::refused_port();
    let checks: Vec<String> = (0..20)
        .map(|i| tcp_check(&format!("c{i:02}"), port))
        .collect();
    let toml = config(&format!(
        "{}{}{}",
        checks.concat(),
        destination("hook", "webhook", &rx.url("/hook"), "group_window = \"3s\""),
        destination("slack", "slack", &rx.url("/slack"), "group_window = \"3s\""),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    let hits = rx.wait("/hook", |h| !h.is_empty()).await;
    let slack = rx.wait("/slack", |h| !h.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.hits("/hook").len(), 1, "one webhook message");
    assert_eq!(rx.hits("/slack").len(), 1, "one Slack message");
    let opened: Vec<String> = events(&hits).into_iter().map(|(e, _)| e).collect();
    assert_eq!(opened, vec!["incident.opened".to_string(); 20]);
    assert_eq!(hits[0].json()["type"], "batch");
    let attachments = slack[0].json()["attachments"].as_array().unwrap().len();
    assert_eq!(attachments, 20);
    assert!(
        slack[0].json()["text"]
            .as_str()
            .unwrap()
            .starts_with("20 notifications: ")
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_window_sends_no_incident_message() {
    let rx = Receiver::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A window of 1.5 s starting at the second after next (UTC), as a cron expression.
    let start_s = now_ms() / 1000 + 2;
    let (sec, min, hour) = (start_s % 60, (start_s / 60) % 60, (start_s / 3600) % 24);
    let (start_ms, end_ms) = (start_s * 1000, start_s * 1000 + 1500);
    let toml = config(&format!(
        "{}{}[[maintenance]]\ntitle = \"Upgrade\"\nchecks = [\"db\"]\ncron = \"{sec} {min} {hour} * * *\"\nduration = \"1500ms\"\n",
        tcp_check("db", port),
        destination("hook", "webhook", &rx.url("/hook"), ""),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", LIMIT, |v| v["checks"][0]["state"] == "up")
        .await;
    tokio::time::sleep(Duration::from_millis(
        (start_ms + 200 - now_ms()).max(0) as u64
    ))
    .await;
    drop(listener);
    // Down all through the window and after it: one incident, at the window's end.
    let hits = rx.wait("/hook", has("incident.opened")).await;
    let seen = events(&hits);
    let started = seen.iter().position(|(e, _)| e == "maintenance.started");
    let opened = seen.iter().position(|(e, _)| e == "incident.opened");
    assert!(started.is_some() && started < opened, "{seen:?}");
    assert_eq!(
        seen.iter().filter(|(e, _)| e == "incident.opened").count(),
        1,
        "{seen:?}"
    );
    let opened_hit = hits
        .iter()
        .find(|h| has("incident.opened")(std::slice::from_ref(*h)))
        .unwrap();
    assert!(
        opened_hit.at_ms >= end_ms,
        "no incident message inside the window"
    );
    // The end of the window and the incident may come in one batch: find the incident's item.
    let body = opened_hit.json();
    let n = body["data"]["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["event"] == "incident.opened")
        .unwrap();
    let started_at = n["started_at"].as_str().unwrap();
    let window_end = chrono::DateTime::from_timestamp_millis(end_ms).unwrap();
    let incident_start = chrono::DateTime::parse_from_rfc3339(started_at).unwrap();
    assert!(
        incident_start >= window_end,
        "{started_at} is inside the window {start_ms}..{end_ms}: {n:#?}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_or_reload_that_changes_nothing_sends_nothing() {
    let rx = Receiver::start().await;
    let held = crate::daemon::HeldPort::new();
    let port = held.port();
    let toml = |late: &str| {
        config(&format!(
            "{}{}{late}[admin]\napi_tokens = [\"{}\"]\n",
            tcp_check("db", port),
            destination("hook", "webhook", &rx.url("/hook"), "remind_every = \"1h\""),
            crate::admin::TOKEN,
        ))
    };
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml("")).await;
    rx.wait("/hook", has("incident.opened")).await;
    d.stop().await;
    assert_eq!(rx.hits("/hook").len(), 1);
    let d = daemon::start(dir.path(), &toml("")).await;
    // Many probes of the still-down check later, nothing new was said.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let headers = crate::admin::api(&[]);
    let reload = || d.request("POST", "/api/v1/admin/reload", &headers, "");
    let r = reload().await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rx.hits("/hook").len(),
        1,
        "{:#?}",
        events(&rx.hits("/hook"))
    );

    // A destination added by a reload hears of what happens from then on, and only that.
    let late = destination("late", "webhook", &rx.url("/late"), "");
    let db = d.db.display().to_string();
    std::fs::write(
        dir.path().join("watchpost.toml"),
        toml(&late).replace("{db}", &db),
    )
    .unwrap();
    let r = reload().await;
    assert_eq!(r.status, 200, "{}", r.body);
    let _up = held.listen();
    rx.wait("/hook", has("incident.resolved")).await;
    let hits = rx.wait("/late", has("incident.resolved")).await;
    let seen: Vec<String> = events(&hits).into_iter().map(|(e, _)| e).collect();
    assert_eq!(seen, ["incident.resolved"]);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_sends_now_and_says_what_happened() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watchpost.toml");
    let toml = config(&destination(
        "hook",
        "webhook",
        &rx.url("/hook"),
        "secret = \"s\"",
    ));
    std::fs::write(&path, toml.replace("{db}", "w.db")).unwrap();
    let run = |name: &'static str| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchpost"))
                .args(["notify", "test", name, "--config", path.to_str().unwrap()])
                .env("RUST_LOG", "error")
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        })
    };
    let (code, out, _) = run("hook").await.unwrap();
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("hook (webhook): test message delivered: HTTP 200 in "),
        "{out}"
    );
    let hit = &rx.hits("/hook")[0];
    assert_eq!(hit.json()["type"], "test");
    verify(hit, b"s");

    rx.fail.store(1, Ordering::SeqCst);
    let (code, _, err) = run("hook").await.unwrap();
    assert_eq!(code, Some(1));
    assert!(
        err.contains("hook (webhook): not delivered: HTTP 503"),
        "{err}"
    );
    let (code, _, err) = run("nope").await.unwrap();
    assert_eq!(code, Some(1));
    assert!(
        err.contains("there is no destination \"nope\"; the config has hook"),
        "{err}"
    );
}

/// A mail received by the sink.
#[derive(Clone, Debug, Default)]
struct Mail {
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server: greets, accepts EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and
/// keeps every message. No TLS, no authentication.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let kept = mails.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut mail = Mail::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "RCPT" => {
                            mail.to.push(line[8..].trim().to_string());
                            b"250 ok\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                let l = l
                                    .strip_prefix('.')
                                    .filter(|_| l.starts_with(".."))
                                    .unwrap_or(&l);
                                mail.data.push_str(l);
                                mail.data.push('\n');
                            }
                            kept.lock().unwrap().push(std::mem::take(&mut mail));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_the_smtp_sink() {
    let (port, mails) = smtp_sink().await;
    let toml = config(&format!(
        "{}[smtp]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"Status <status@example.org>\"\n[[notify]]\nname = \"mail\"\ntype = \"email\"\nto = [\"ops@example.org\"]\n",
        tcp_check("db", crate::daemon::refused_port()),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    let deadline = Instant::now() + LIMIT;
    let mail = loop {
        if let Some(m) = mails.lock().unwrap().first().cloned() {
            break m;
        }
        assert!(Instant::now() < deadline, "no mail arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(mail.to, ["<ops@example.org>"]);
    assert!(
        mail.data
            .contains("Subject: Incident opened: Check db is down"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("From: Status <status@example.org>"),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains("Message-ID: <incident.opened.1.1.mail@example.org>"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("Evidence: "), "{}", mail.data);
    assert!(
        mail.data.contains("https://status.example.org/incidents/1"),
        "{}",
        mail.data
    );
    d.stop().await;
}

/// Run with `cargo test --test it notify_latency -- --ignored --nocapture`: 50 outages of one
/// check, each opened and resolved, and the time from each state change (the probe that showed
/// it) to the webhook's arrival on loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: prints p50/p99"]
async fn notify_latency() {
    let target = Target::start().await;
    target.set_flip(200);
    let rx = Receiver::start().await;
    let toml = config(&format!(
        "{}{}",
        http_check("web", &target.url("/flip")),
        destination("hook", "webhook", &rx.url("/hook"), ""),
    ))
    .replace("interval = \"100ms\"", "interval = \"50ms\"")
    .replace("timeout = \"80ms\"", "timeout = \"40ms\"");
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    d.wait_json("/api/v1/status", LIMIT, |v| v["checks"][0]["state"] == "up")
        .await;
    const N: usize = 50;
    for i in 1..=N {
        target.set_flip(503);
        rx.wait("/hook", |h| events(h).len() >= 2 * i - 1).await;
        target.set_flip(200);
        rx.wait("/hook", |h| events(h).len() >= 2 * i).await;
    }
    let mut changes: std::collections::HashMap<(i64, &str), i64> = Default::default();
    let db = d.db();
    let mut stmt = db
        .prepare("SELECT id, started_at, resolved_at FROM incidents")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (id, started, resolved) = row.unwrap();
        changes.insert((id, "incident.opened"), started);
        changes.insert((id, "incident.resolved"), resolved);
    }
    let mut latencies: Vec<i64> = rx
        .hits("/hook")
        .iter()
        .filter(|h| h.accepted)
        .flat_map(|h| {
            let v = h.json();
            let n = v["data"]["notifications"][0].clone();
            let key = (
                n["incident"].as_i64().unwrap(),
                if n["event"] == "incident.opened" {
                    "incident.opened"
                } else {
                    "incident.resolved"
                },
            );
            changes.get(&key).map(|at| h.at_ms - at)
        })
        .collect();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    eprintln!(
        "state change → webhook arrival over {} changes: p50 {} ms, p99 {} ms, max {} ms",
        latencies.len(),
        pick(0.5),
        pick(0.99),
        latencies.last().unwrap()
    );
    d.stop().await;
}
