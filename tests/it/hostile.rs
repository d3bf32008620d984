//! Hostile targets: each probe ends within its timeout (+100 ms), reads no more than its byte
//! cap, and names the right class of failure. The servers are raw TCP on loopback.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use watchpost::probe::{self, HttpSpec, Limits, ProbeSpec, Reason, Status};

/// Serves every connection with `serve` until dropped.
struct Raw {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn raw<F, Fut>(serve: F) -> Raw
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = std::sync::Arc::new(serve);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    Raw { addr, task }
}

/// Reads the request head, so the client is not answered before it has asked.
async fn read_head(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

const TIMEOUT: Duration = Duration::from_millis(500);
/// How late past its timeout a probe may end on a loaded 2-core machine. The targets here hang
/// for far longer, so ending at all within it proves the timeout ended the probe; the failure's
/// reason says whether it was the timeout or a cap.
const SLACK: Duration = Duration::from_millis(1000);

async fn probe_url(url: String, max_bytes: usize) -> (probe::Outcome, Duration) {
    let spec = HttpSpec::get(url::Url::parse(&url).unwrap());
    let limits = Limits {
        timeout: TIMEOUT,
        max_bytes,
        ..Limits::default()
    };
    let started = Instant::now();
    let o = probe::run(&ProbeSpec::Http(Box::new(spec)), &limits).await;
    (o, started.elapsed())
}

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_byte_cap() {
    let server = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "a".repeat(8192));
        while s.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let (o, took) = probe_url(format!("http://{}/", server.addr), 64 * 1024).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Body);
    assert!(
        f.message.contains("larger than the 65536-byte limit"),
        "{}",
        f.message
    );
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn a_ten_gigabyte_content_length_is_refused_before_reading() {
    let server = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\nsome")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (o, took) = probe_url(format!("http://{}/", server.addr), 1 << 20).await;
    assert_eq!(o.failure.unwrap().reason, Reason::Body);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn a_target_that_accepts_and_never_answers_times_out_on_time() {
    let server = raw(|s| async move {
        let _keep = s;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (o, took) = probe_url(format!("http://{}/", server.addr), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Timeout);
    assert!(
        f.message.contains("waiting for the response"),
        "{}",
        f.message
    );
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_protocol_failure() {
    let server = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"\x00\x01\x02SSH-2.0-not-http\r\n\xff\xfe garbage\r\n\r\n")
            .await;
    })
    .await;
    let (o, took) = probe_url(format!("http://{}/", server.addr), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Protocol, "{}", f.message);
    assert!(took < TIMEOUT + SLACK);
}

#[tokio::test]
async fn a_tls_handshake_that_stalls_times_out_as_tls() {
    // Accepts, reads the ClientHello, and never answers it.
    let server = raw(|mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (o, took) = probe_url(
        format!("https://localhost:{}/", server.addr.port()),
        1 << 20,
    )
    .await;
    assert_eq!(o.status, Status::Down);
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Tls);
    assert!(f.message.contains("TLS handshake"), "{}", f.message);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn a_closed_port_is_refused_at_once() {
    let port = crate::daemon::refused_port();
    let (o, took) = probe_url(format!("http://127.0.0.1:{port}/"), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Refused);
    assert!(f.message.contains("connection refused"), "{}", f.message);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn a_failing_status_with_a_huge_error_page_is_a_status_failure() {
    let server = raw(|mut s| async move {
        read_head(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10737418240\r\n\r\n")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (o, _) = probe_url(format!("http://{}/", server.addr), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::HttpStatus, "{}", f.message);
    assert_eq!(o.code, Some(503));
}

fn tcp_expect(addr: std::net::SocketAddr, expect: &str, max_bytes: usize) -> (ProbeSpec, Limits) {
    let mut spec = watchpost::probe::TcpSpec::connect("127.0.0.1", addr.port());
    spec.expect = Some(expect.to_string());
    let limits = Limits {
        timeout: TIMEOUT,
        max_bytes,
        ..Limits::default()
    };
    (ProbeSpec::Tcp(spec), limits)
}

/// Regression: a server that greets with the wrong banner and then waits (as SSH and SMTP do)
/// was reported as a bare timeout, saying nothing of what it sent.
#[tokio::test]
async fn a_wrong_banner_on_a_connection_left_open_names_what_came() {
    let server = raw(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-test\r\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (spec, limits) = tcp_expect(server.addr, "SMTP", 1 << 20);
    let o = probe::run(&spec, &limits).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Answer);
    assert!(
        f.message.contains("does not contain \"SMTP\"") && f.message.contains("SSH-2.0-test"),
        "{}",
        f.message
    );
}

/// Regression: the reply was searched again from the start after every read, so a flood took
/// time quadratic in the byte cap and overran the timeout.
#[tokio::test]
async fn a_flood_without_the_expected_text_ends_at_the_cap() {
    let server = raw(|mut s| async move {
        let chunk = vec![b'z'; 16 * 1024];
        while s.write_all(&chunk).await.is_ok() {}
    })
    .await;
    let (spec, mut limits) = tcp_expect(server.addr, "needle", 4 << 20);
    limits.timeout = Duration::from_secs(5);
    let started = Instant::now();
    let o = probe::run(&spec, &limits).await;
    assert_eq!(o.failure.unwrap().reason, Reason::Answer);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn expected_text_split_across_writes_is_found() {
    let server = raw(|mut s| async move {
        let _ = s.write_all(b"220 mail.example.org ES").await;
        let _ = s.flush().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = s.write_all(b"MTP ready\r\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (spec, limits) = tcp_expect(server.addr, "ESMTP", 1 << 20);
    let o = probe::run(&spec, &limits).await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);
}

/// Answers every request with a redirect to `location(path)`.
async fn redirector(location: fn(&str) -> String) -> Raw {
    raw(move |mut s| async move {
        let mut head = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split(' ').nth(1).unwrap_or("/").to_string();
        let reply = format!(
            "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
            location(&path)
        );
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await
}

fn huge_ftp_location(_: &str) -> String {
    format!("ftp://{}", "a".repeat(300 * 1024))
}

/// `/a…` and `/b…` redirect to each other through 60 KB paths.
fn sixty_kb_loop(path: &str) -> String {
    let next = if path.starts_with("/a") { "/b" } else { "/a" };
    format!("{next}{}", "x".repeat(60 * 1024))
}

/// The same loop through 7 KB paths, under the Location limit, so the loop itself is caught.
fn seven_kb_loop(path: &str) -> String {
    let next = if path.starts_with("/a") { "/b" } else { "/a" };
    format!("{next}{}", "x".repeat(7 * 1024))
}

fn assert_bounded(f: &probe::Failure) {
    assert!(
        f.message.chars().count() <= probe::MAX_MESSAGE,
        "{} characters: {}…",
        f.message.chars().count(),
        f.message.chars().take(200).collect::<String>()
    );
}

/// Regression: the whole `Location` went into every stored result (a 300 KB `ftp://` location
/// made 219 MB of database in 27 minutes and pages of results that answered 500).
#[tokio::test]
async fn a_300_kb_location_is_refused_with_a_bounded_message() {
    let server = redirector(huge_ftp_location).await;
    let (o, took) = probe_url(format!("http://{}/", server.addr), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Redirect, "{}", f.message);
    assert!(
        f.message.contains("over the 8192-byte limit") && f.message.contains("ftp://aaa"),
        "{}",
        f.message
    );
    assert_bounded(&f);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

#[tokio::test]
async fn a_redirect_loop_through_long_urls_ends_with_a_bounded_message() {
    let server = redirector(sixty_kb_loop).await;
    let (o, took) = probe_url(format!("http://{}/a", server.addr), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Redirect, "{}", f.message);
    assert!(f.message.contains("byte Location"), "{}", f.message);
    assert_bounded(&f);
    assert!(took < TIMEOUT + SLACK, "{took:?}");

    let server = redirector(seven_kb_loop).await;
    let (o, took) = probe_url(format!("http://{}/a", server.addr), 1 << 20).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Redirect, "{}", f.message);
    assert!(f.message.starts_with("redirect loop: "), "{}", f.message);
    assert_bounded(&f);
    assert!(took < TIMEOUT + SLACK, "{took:?}");
}

/// The same two targets under the daemon: what is stored and served stays small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_redirects_store_small_results_and_pages_still_answer() {
    let ftp = redirector(huge_ftp_location).await;
    let looping = redirector(seven_kb_loop).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
[storage]
path = "{{db}}"
[defaults]
interval = "200ms"
timeout = "200ms"
[[check]]
id = "ftp"
type = "http"
url = "http://{}/"
[[check]]
id = "loop"
type = "http"
url = "http://{}/a"
"#,
        ftp.addr, looping.addr
    );
    let daemon = crate::daemon::start(dir.path(), &toml).await;
    for id in ["ftp", "loop"] {
        daemon
            .wait_json(
                &format!("/api/v1/checks/{id}/results?limit=50"),
                Duration::from_secs(10),
                |v| v["results"].as_array().is_some_and(|r| r.len() >= 5),
            )
            .await;
    }
    let page = daemon.get("/api/v1/checks/ftp/results?limit=50").await;
    assert_eq!(page.status, 200);
    assert!(page.body.len() < 50 * 1024, "{} bytes", page.body.len());
    daemon.stop().await;
    let (largest, rows): (i64, i64) = rusqlite::Connection::open(dir.path().join("watchpost.db"))
        .unwrap()
        .query_row(
            "SELECT max(length(CAST(message AS BLOB))), count(*) FROM results",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    println!("largest stored message: {largest} bytes over {rows} results");
    assert!(
        largest as usize <= 4 * probe::MAX_MESSAGE,
        "{largest} bytes"
    );
}
