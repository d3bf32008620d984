//! What outsiders read about checks whose targets are inside: the daemon runs as a child process
//! (so its log is read too) with checks on internal-looking addresses, a URL with userinfo and a
//! token in its query, and a header from the environment. No public page, feed or API and no log
//! line shows the address, port, userinfo, query or the environment's value, while the check's
//! name and its error class do show; `public_details = "full"` shows the address (still without
//! the secrets), and admins read the full messages in the evidence.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::PasswordHasher;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::Value;

use crate::daemon::{self, Response};

const PASSWORD: &str = "redaction test password";
/// The environment variable the `echo` check's header comes from, and its value.
const KEY_VAR: &str = "WATCHPOST_TEST_KEY";
const KEY_VALUE: &str = "envs3cret-key-value";

/// `watchpost run` as a child process, its stdout and stderr gathered as they come.
struct Daemon {
    process: std::process::Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    fn start(config: &std::path::Path) -> Daemon {
        let mut process = Command::new(env!("CARGO_BIN_EXE_watchpost"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .env(KEY_VAR, KEY_VALUE)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let gather = |out: Box<dyn Read + Send>| {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { return };
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        };
        gather(Box::new(process.stdout.take().unwrap()));
        gather(Box::new(process.stderr.take().unwrap()));
        let started = std::time::Instant::now();
        let addr = loop {
            let text = log.lock().unwrap().clone();
            if let Some(at) = text.find("listen=") {
                let rest = &text[at + "listen=".len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                break rest[..end].parse().unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the daemon did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(25));
        };
        Daemon { process, addr, log }
    }

    async fn get(&self, path: &str) -> Response {
        let r = daemon::get(self.addr, path).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.body))
    }

    /// GETs `path` until its body contains every one of `texts`, for at most 20 s.
    async fn wait_for(&self, path: &str, texts: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let body = self.get(path).await.body;
            if texts.iter().all(|t| body.contains(t)) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} never showed {texts:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the daemon as systemd would (SIGTERM to its pid) and answers everything it logged.
    fn stop(mut self) -> String {
        let pid = self.process.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.process.wait().unwrap();
        assert!(status.success(), "{status:?}");
        // The readers end with the pipes; give them a moment to hand over the last lines.
        std::thread::sleep(Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only when a test failed before `stop`: this child, by its own handle.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A port on `ip` that nothing listens on.
fn closed_port(ip: &str) -> Option<u16> {
    let listener = std::net::TcpListener::bind((ip, 0)).ok()?;
    Some(listener.local_addr().ok()?.port())
}

/// A server that redirects to a URL with userinfo and a token and answers 503 there, and one
/// that echoes the `X-Api-Key` header in its body.
async fn target() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route(
            "/start",
            get(move || async move {
                let to = format!("http://user:secret@127.0.0.1:{port}/next?token=s3cret");
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }),
        )
        .route("/next", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
                format!("key={}", key.unwrap_or_default())
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

/// Whether `body` shows `port` as a number of its own (not inside a longer number or decimal).
fn shows_port(body: &str, port: u16) -> bool {
    let port = port.to_string();
    body.match_indices(&port).any(|(at, _)| {
        let before = body[..at].chars().next_back();
        let after = body[at + port.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_never_read_internal_addresses_ports_or_secrets() {
    let srv = target().await;
    let inside = closed_port("127.0.0.2").unwrap();
    // Without IPv6 the probe of [::1] fails all the same, as a network error.
    let inside6 = closed_port("::1").unwrap_or(inside);
    let cache = closed_port("127.0.0.3").unwrap();
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("watchpost.db");
    let config = dir.path().join("watchpost.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
title = "Redaction"
[storage]
path = "{db}"
[defaults]
interval = "200ms"
timeout = "150ms"
failure_threshold = 2
success_threshold = 1
[admin]
users = [{{ name = "ops", password_hash = "{hash}" }}]
[[check]]
id = "tasks"
name = "Tasking Manager"
type = "http"
url = "http://user:secret@127.0.0.2:{inside}/internal-health?token=s3cret"
[[check]]
id = "db"
name = "Database"
type = "tcp"
host = "::1"
port = {inside6}
[[check]]
id = "sso"
name = "Single sign-on"
type = "http"
url = "http://127.0.0.1:{srv}/start?token=s3cret"
public_details = "full"
[[check]]
id = "echo"
name = "Echo"
type = "http"
url = "http://127.0.0.1:{srv}/echo"
headers = {{ "X-Api-Key" = "${{{KEY_VAR}}}" }}
body_contains = "ok"
public_details = "full"
[[check]]
id = "cache"
name = "Cache"
type = "tcp"
host = "127.0.0.3"
port = {cache}
public_details = "full"
"#,
            db = db.display()
        ),
    )
    .unwrap();
    let d = Daemon::start(&config);

    // Every check goes down and opens its incident.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let incidents = loop {
        let v = d.json("/api/v1/incidents").await;
        let open: Vec<(String, i64)> = v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["resolved_at"].is_null())
            .map(|i| {
                (
                    i["check"].as_str().unwrap().to_string(),
                    i["id"].as_i64().unwrap(),
                )
            })
            .collect();
        if open.len() == 5 {
            break open;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let incident = |check: &str| incidents.iter().find(|(c, _)| c == check).unwrap().1;

    // The redacted check says its name and its error class, nothing of its target.
    let refused = "Tasking Manager: connection refused";
    let cache_refused = format!("127.0.0.3:{cache}: connection refused");
    d.wait_for("/", &[refused, "Database: ", &cache_refused])
        .await;
    let checks = d.get("/checks/tasks").await.body;
    assert!(checks.contains(&format!("refused: {refused}")), "{checks}");
    let tasks_incident = format!("/incidents/{}", incident("tasks"));
    let page = d.get(&tasks_incident).await.body;
    assert!(
        page.contains(&format!("the first said: {refused}")),
        "{page}"
    );
    assert!(page.contains(&format!("refused: {refused}")), "{page}");
    let results = d.json("/api/v1/checks/tasks/results?limit=5").await;
    for r in results["results"].as_array().unwrap() {
        assert_eq!(r["reason"], "refused", "{r}");
        assert_eq!(r["message"], refused, "{r}");
    }
    let status = d.json("/api/v1/status").await.to_string();
    assert!(status.contains("Tasking Manager") && status.contains("\"down\""));
    for path in ["/feed.atom", "/feed.rss", "/api/v2/incidents.json"] {
        let body = d.get(path).await.body;
        assert!(body.contains(refused), "{path}: {body}");
    }
    for path in ["/history", "/api/v1/incidents", "/api/v2/summary.json"] {
        let body = d.get(path).await.body;
        assert!(body.contains("Tasking Manager"), "{path}: {body}");
    }

    // A full check shows its target's address; URLs lose userinfo and query, and values from
    // the environment are written as their names.
    let page = d.get("/checks/cache").await.body;
    assert!(page.contains(&cache_refused), "{page}");
    let page = d
        .get(&format!("/incidents/{}", incident("cache")))
        .await
        .body;
    assert!(page.contains(&cache_refused), "{page}");
    let results = d.json("/api/v1/checks/cache/results?limit=1").await;
    let message = results["results"][0]["message"].as_str().unwrap();
    assert!(message.contains(&cache_refused), "{message}");
    let page = d.get("/checks/sso").await.body;
    let via = format!("after redirects to http://127.0.0.1:{srv}/next?…");
    assert!(page.contains("status 503") && page.contains(&via), "{page}");
    let page = d.get("/checks/echo").await.body;
    assert!(page.contains(&format!("key=${{{KEY_VAR}}}")), "{page}");

    // Admins read the full message of the redacted check, still without its secrets.
    let login = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("user", "ops"), ("password", PASSWORD)])
        .finish();
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let r = daemon::request(d.addr, "POST", "/admin/login", &[form], &login).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap();
    let admin_path = format!("/admin/incidents/{}", incident("tasks"));
    let admin = daemon::request(d.addr, "GET", &admin_path, &[("Cookie", cookie)], "").await;
    assert_eq!(admin.status, 200);
    let full = format!("connecting to 127.0.0.2:{inside}: connection refused");
    assert!(admin.body.contains(&full), "{}", admin.body);

    // Nothing outsiders can reach, and no log line, shows the inside.
    let mut paths: Vec<String> = [
        "/",
        "/history",
        "/feed.atom",
        "/feed.rss",
        "/api/v1/status",
        "/api/v1/incidents",
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
    ]
    .map(String::from)
    .to_vec();
    for (check, id) in &incidents {
        paths.push(format!("/checks/{check}"));
        paths.push(format!("/incidents/{id}"));
        paths.push(format!("/api/v1/checks/{check}/results"));
        paths.push(format!("/badge/{check}/status.svg"));
    }
    let mut shown: Vec<(String, String)> = Vec::new();
    for path in &paths {
        shown.push((path.clone(), d.get(path).await.body));
    }
    shown.push((admin_path, admin.body));
    let log = d.stop();
    assert!(log.contains("state changed"), "{log}");
    shown.push(("the log".to_string(), log));
    let secrets = [
        "user:secret",
        "secret@",
        "s3cret",
        "token=",
        KEY_VALUE,
        "internal-health",
    ];
    for (path, body) in &shown {
        for secret in secrets {
            assert!(!body.contains(secret), "{path} shows {secret:?}: {body}");
        }
        if path.starts_with("/admin") {
            continue;
        }
        for address in ["127.0.0.2", "::1"] {
            assert!(!body.contains(address), "{path} shows {address}: {body}");
        }
        for port in [inside, inside6] {
            assert!(!shows_port(body, port), "{path} shows port {port}: {body}");
        }
    }
}
