//! The load harness: the daemon (this build's `watchpost`, in its own process) watches 1,000 TCP
//! checks with 90 days of history; keep-alive connections then ask it for a page as fast as it
//! answers. Prints requests per second, latency percentiles, bytes per answer and the daemon's
//! CPU per request.
//!
//! Run: `cargo bench --bench load`. Knobs (environment): `CHECKS` (1000), `CONNECTIONS` (32),
//! `SECONDS` (10), `TARGET` (`/`), `GZIP` (1: ask for gzip as browsers do), `INTERVAL` (60, in s).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let checks = knob("CHECKS", 1000) as usize;
    let connections = knob("CONNECTIONS", 32) as usize;
    let seconds = knob("SECONDS", 10);
    let target = std::env::var("TARGET").unwrap_or_else(|_| "/".into());
    let gzip = knob("GZIP", 1) == 1;
    let interval = knob("INTERVAL", 60);

    let dir = tempfile::tempdir().expect("a temporary directory");
    // The checks' target: a listener that accepts and closes, in this process.
    let sink = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a listener");
    let sink_port = sink.local_addr().expect("an address").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = sink.accept().await {
            drop(socket);
        }
    });
    let addr = free_address();
    let config = dir.path().join("watchpost.toml");
    let mut toml = format!(
        "[server]\nlisten = \"{addr}\"\ntitle = \"Load test\"\n[storage]\npath = \"watchpost.db\"\n[defaults]\ninterval = \"{interval}s\"\ntimeout = \"5s\"\n"
    );
    for i in 0..checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nname = \"Service number {i}\"\ngroup = \"Group {}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {sink_port}\n",
            i % 20
        ));
    }
    std::fs::write(&config, toml).expect("writing the config");

    // First run: creates the database and registers the checks; then 89 days of history.
    let mut daemon = start(&config);
    wait_ready(addr).await;
    stop(&mut daemon);
    seed_history(&dir.path().join("watchpost.db"));

    let mut daemon = start(&config);
    wait_ready(addr).await;
    // Let the first probes land and the history refresher read the seeded days.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = daemon.id();
    let rss_before = rss_kib(pid);

    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: watchpost-load\r\n{}\r\n",
        if gzip {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        }
    );
    // Warm-up, then the measured run.
    run(addr, &request, connections, Duration::from_secs(1)).await;
    let cpu_before = cpu_time(pid);
    let started = Instant::now();
    let (mut latencies, bytes) =
        run(addr, &request, connections, Duration::from_secs(seconds)).await;
    let elapsed = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let rss = rss_kib(pid);
    stop(&mut daemon);

    latencies.sort();
    let n = latencies.len().max(1);
    let pct = |p: f64| {
        latencies
            .get(((n as f64 * p) as usize).min(n - 1))
            .copied()
            .unwrap_or_default()
    };
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "GET {target} ({checks} checks, {}), {connections} keep-alive connections, {seconds} s",
        if gzip { "gzip" } else { "identity" }
    );
    println!("  {rate:.0} requests/s, {} requests", latencies.len());
    println!(
        "  latency p50 {:?}, p99 {:?}, max {:?}",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "  {} bytes per answer",
        bytes / latencies.len().max(1) as u64
    );
    println!(
        "  daemon CPU {:.1} µs per request ({:.2} cores), RSS {rss_before} KiB before the run, {rss} KiB after",
        cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
        cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
}

/// An address nobody listens on yet.
fn free_address() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    probe.local_addr().expect("an address")
}

fn start(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("starting watchpost")
}

/// SIGTERM, then wait: the daemon shuts down in order and closes the database.
fn stop(daemon: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
}

async fn wait_ready(addr: SocketAddr) {
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut out = Vec::new();
            if s.write_all(req.as_bytes()).await.is_ok()
                && s.read_to_end(&mut out).await.is_ok()
                && out.starts_with(b"HTTP/1.1 200")
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("watchpost did not start on {addr}");
}

/// Days -89 to -1 for every check: up, with a 10-minute outage on one day in 37.
fn seed_history(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("the database");
    let day_ms: i64 = 86_400_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64;
    let today = now - now.rem_euclid(day_ms);
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM checks")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("the checks");
    let tx = conn.unchecked_transaction().expect("a transaction");
    for id in ids {
        for back in 1..90 {
            let down = if (back + id) % 37 == 0 { 600_000 } else { 0 };
            tx.execute(
                "INSERT OR REPLACE INTO rollup_day (check_id, start, up_ms, down_ms, probes_up) VALUES (?1, ?2, ?3, ?4, 1440)",
                rusqlite::params![id, today - back * day_ms, day_ms - down, down],
            )
            .expect("a rollup row");
        }
    }
    tx.commit().expect("committing the history");
}

/// `connections` keep-alive connections sending `request` back to back for `length`; returns
/// each request's latency and the bytes received.
async fn run(
    addr: SocketAddr,
    request: &str,
    connections: usize,
    length: Duration,
) -> (Vec<Duration>, u64) {
    let deadline = Instant::now() + length;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let request = request.as_bytes().to_vec();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connecting");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let mut buf = vec![0u8; 1 << 20];
            let (mut latencies, mut bytes) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                stream.write_all(&request).await.expect("sending");
                bytes += read_response(&mut stream, &mut buf).await as u64;
                latencies.push(t.elapsed());
            }
            (latencies, bytes)
        }));
    }
    let (mut all, mut bytes) = (Vec::new(), 0);
    for t in tasks {
        let (l, b) = t.await.expect("a connection task");
        all.extend(l);
        bytes += b;
    }
    (all, bytes)
}

/// Reads one response with a `Content-Length` body; returns the body's length.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) -> usize {
    let mut have = 0;
    loop {
        let n = stream.read(&mut buf[have..]).await.expect("reading");
        assert!(n > 0, "the daemon closed the connection");
        have += n;
        if let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).expect("an ASCII head");
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("a Content-Length");
            let mut body = have - end - 4;
            while body < length {
                let n = stream.read(buf).await.expect("reading the body");
                assert!(n > 0, "the daemon closed the connection");
                body += n;
            }
            return length;
        }
    }
}

/// The process's user plus system CPU time, from `/proc`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
