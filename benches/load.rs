//! The load harness: the daemon (this build's `watchpost`, in its own process) watches 1,000 TCP
//! checks with 90 days of history; keep-alive connections then ask it for a page as fast as it
//! answers. Prints requests per second, latency percentiles, bytes per answer and the daemon's
//! CPU per request.
//!
//! Run: `cargo bench --bench load`. Knobs (environment): `CHECKS` (1000), `CONNECTIONS` (32),
//! `SECONDS` (10), `TARGET` (`/`), `GZIP` (1: ask for gzip as browsers do), `INTERVAL` (60, in s),
//! `READY_SECONDS` (300: how long the daemon may take to serve `/healthz`). Before the run it
//! prints the time to ready and `/`'s size raw and gzipped, as a first visitor gets it.

mod common;

use common::{free_address, knob, seed_history, stop};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    wait_ready(addr, &mut daemon).await;
    stop(&mut daemon);
    seed_history(&dir.path().join("watchpost.db"));

    let mut daemon = start(&config);
    let ready = wait_ready(addr, &mut daemon).await;
    // Let the first probes land and the history refresher read the seeded days.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = daemon.id();
    let rss_before = rss_kib(pid);
    // The front page once, as a first visitor gets it: time to the whole answer, and its size.
    let (plain_time, plain) = fetch_once(addr, "/", false).await;
    let (gzip_time, gzipped) = fetch_once(addr, "/", true).await;
    println!(
        "ready (/healthz 200) {ready:?} after start; GET / with {checks} checks: {plain} bytes raw in {plain_time:?}, {gzipped} bytes gzipped in {gzip_time:?}; daemon RSS {rss_before} KiB"
    );

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

/// Waits until `/healthz` answers 200, for at most `READY_SECONDS` (default 300): with 10,000
/// checks and their history the daemon takes far longer than a small config to start serving.
/// Panics early if the daemon exits meanwhile. Answers how long it took.
async fn wait_ready(addr: SocketAddr, daemon: &mut Child) -> Duration {
    let started = Instant::now();
    let limit = Duration::from_secs(knob("READY_SECONDS", 300));
    while started.elapsed() < limit {
        if let Ok(Some(status)) = daemon.try_wait() {
            panic!("watchpost exited before serving ({status})");
        }
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut out = Vec::new();
            if s.write_all(req.as_bytes()).await.is_ok()
                && s.read_to_end(&mut out).await.is_ok()
                && out.starts_with(b"HTTP/1.1 200")
            {
                return started.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("watchpost did not serve /healthz on {addr} within {limit:?}");
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

/// One request on a fresh connection: its time and the body's length.
async fn fetch_once(addr: SocketAddr, path: &str, gzip: bool) -> (Duration, usize) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{}\r\n",
        if gzip {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connecting");
    stream.write_all(request.as_bytes()).await.expect("sending");
    let mut buf = vec![0u8; 1 << 20];
    let length = read_response(&mut stream, &mut buf).await;
    (started.elapsed(), length)
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

fn start(config: &Path) -> Child {
    common::daemon(config).spawn().expect("starting watchpost")
}

fn cpu_time(pid: u32) -> Duration {
    Duration::from_secs_f64(common::cpu_seconds(pid))
}

fn rss_kib(pid: u32) -> u64 {
    common::status_kib(pid, "VmRSS:")
}
