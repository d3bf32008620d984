//! Probe throughput: how many HTTP and TCP probes per second watchpost sustains against a loopback
//! target, each on a fresh connection, and the prober's CPU time per probe.
//!
//! The target runs in a child process (this binary re-executed with `WATCHPOST_BENCH_TARGET=1`),
//! so the CPU figures are the prober's alone. Run: `cargo bench --bench probes`.
//! Options through the environment: `PROBES` (per kind, default 20000), `CONCURRENCY` (default 64).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use watchpost::probe::{self, HttpSpec, Limits, ProbeSpec, Status, TcpSpec};

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if std::env::var_os("WATCHPOST_BENCH_TARGET").is_some() {
        runtime.block_on(serve_target());
        return;
    }
    let probes: usize = env_or("PROBES", 20_000);
    let concurrency: usize = env_or("CONCURRENCY", 64);
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut child = Command::new(exe)
        .env("WATCHPOST_BENCH_TARGET", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the target process");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("piped stdout")),
        &mut line,
    )
    .expect("the target's addresses");
    let addrs: Vec<std::net::SocketAddr> = line
        .split_whitespace()
        .map(|a| a.parse().expect("an address"))
        .collect();
    let (addr, tcp_addr) = (addrs[0], addrs[1]);

    let url = url::Url::parse(&format!("http://{addr}/ok")).expect("a URL");
    let specs = [
        ("http", ProbeSpec::Http(Box::new(HttpSpec::get(url)))),
        (
            "tcp",
            ProbeSpec::Tcp(TcpSpec::connect(
                &tcp_addr.ip().to_string(),
                tcp_addr.port(),
            )),
        ),
    ];
    println!(
        "{probes} probes per kind, {concurrency} in flight, fresh connection each, target in a separate process"
    );
    for (kind, spec) in specs {
        // Warm-up, then the measured run.
        runtime.block_on(run(&spec, probes / 10, concurrency));
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        let failed = runtime.block_on(run(&spec, probes, concurrency));
        let wall = t0.elapsed();
        let cpu = cpu_time() - cpu0;
        println!(
            "{kind:<4} {:>8.0} probes/s   {:>6.3} ms CPU per probe   {failed} not up",
            probes as f64 / wall.as_secs_f64(),
            cpu.as_secs_f64() * 1000.0 / probes as f64,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn run(spec: &ProbeSpec, n: usize, concurrency: usize) -> usize {
    let spec = Arc::new(spec.clone());
    let limits = Limits {
        timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (spec, next) = (spec.clone(), next.clone());
        workers.spawn(async move {
            let mut failed = 0;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                if probe::run(&spec, &limits).await.status != Status::Up {
                    failed += 1;
                }
            }
            failed
        });
    }
    let mut failed = 0;
    while let Some(r) = workers.join_next().await {
        failed += r.expect("a worker");
    }
    failed
}

/// User + system CPU time of this process, from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The loopback targets: an HTTP server whose `/ok` answers 200, and a TCP listener that accepts
/// and closes (with a deep backlog, so the accept queue is not what is measured). Prints both
/// addresses on one line and serves until killed.
async fn serve_target() {
    let app = axum::Router::new().route("/ok", axum::routing::get(|| async { "ok" }));
    let bind = || {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("binding");
        socket.listen(4096).expect("listening")
    };
    let (listener, tcp) = (bind(), bind());
    println!(
        "{} {}",
        listener.local_addr().expect("an address"),
        tcp.local_addr().expect("an address")
    );
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            drop(stream);
        }
    });
    let _ = axum::serve(listener, app).await;
}
