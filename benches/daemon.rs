//! The side-by-side benchmark: Debian's prometheus-blackbox-exporter and the release daemon probe
//! the same local nginx at the same rate, one after the other, and each is measured from `/proc`
//! (the target's CPU is nginx's, in its own processes, and counted for neither). Installs nginx-light
//! and prometheus-blackbox-exporter with apt-get when they are missing.
//!
//! blackbox_exporter is driven by this process at a fixed rate (`/probe?target=…&module=…` over
//! keep-alive connections); the daemon runs N generated checks (fresh connection per probe,
//! results recorded). Prints, per case, CPU per 1,000 probes and probes/s for both, and for the
//! daemon its RSS, peak RSS (VmHWM), start lateness p50/p99/max from its
//! `watchpost_schedule_lag_seconds` histogram, and the database's growth extrapolated to a day.
//!
//! Each side starts once the sockets the one before left in TIME_WAIT are gone (at most 75 s).
//!
//! Run: `cargo bench --bench daemon`. Knobs (environment): `CASE` (one of `http2000`, `tcp4000`,
//! `mixed10000`, `tcp100000`, `http5000`, `tcp10000`; all when unset), `SECONDS` (20: the least
//! measured time; never under one interval), `ROUNDS` (1: more runs of each case, the side that
//! goes first alternating, a row each, then the smallest and the median ratio), `BLACKBOX` (1; 0
//! skips blackbox_exporter), `WATCHPOST` (the daemon's binary; this build's by default, another to
//! compare builds).

mod common;

use common::{cpu_seconds, free_address, knob, seed_history, status_kib, stop};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Http,
    Tcp,
    /// Half HTTP, half TCP.
    Mixed,
}

struct Case {
    name: &'static str,
    kind: Kind,
    checks: usize,
    interval: u64,
    /// Days of rollups seeded before the measured run.
    history: bool,
}

const CASES: [Case; 6] = [
    Case {
        name: "http2000",
        kind: Kind::Http,
        checks: 2000,
        interval: 1,
        history: false,
    },
    Case {
        name: "tcp4000",
        kind: Kind::Tcp,
        checks: 4000,
        interval: 1,
        history: false,
    },
    Case {
        name: "mixed10000",
        kind: Kind::Mixed,
        checks: 10_000,
        interval: 10,
        history: true,
    },
    Case {
        name: "tcp100000",
        kind: Kind::Tcp,
        checks: 100_000,
        interval: 60,
        history: false,
    },
    // The daemon's sustained rates of DESIGN.md (blackbox_exporter cannot keep up on 2 cores).
    Case {
        name: "http5000",
        kind: Kind::Http,
        checks: 5000,
        interval: 1,
        history: false,
    },
    Case {
        name: "tcp10000",
        kind: Kind::Tcp,
        checks: 10_000,
        interval: 1,
        history: false,
    },
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let wanted = std::env::var("CASE").ok();
    let seconds = knob("SECONDS", 20);
    let blackbox = knob("BLACKBOX", 1) == 1;
    let rounds = knob("ROUNDS", 1).max(1);
    install_missing();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (nginx, target) = start_nginx(dir.path()).await;
    println!("target: nginx on {target}");
    println!(
        "| case | probes/s (blackbox / watchpost) | CPU s per 1,000 probes (blackbox / watchpost) | ratio | watchpost RSS / peak | lateness p50 / p99 / max | DB growth per day | start-up (peak RSS then) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for case in CASES
        .iter()
        .filter(|c| wanted.as_deref().is_none_or(|w| w == c.name))
    {
        let window = Duration::from_secs(seconds.max(case.interval));
        let mut ratios = Vec::new();
        for round in 0..rounds {
            // Each side starts with the loopback port space as clean as the other's: the sockets
            // one side's closed connections leave in TIME_WAIT (about a minute each) make every
            // connect of the next side search longer for a free port, in its own CPU time.
            let blackbox_first = round % 2 == 0;
            let run_bb = || async {
                settle("blackbox_exporter").await;
                run_blackbox(dir.path(), case, target, window).await
            };
            let mut bb = None;
            if blackbox && blackbox_first {
                bb = Some(run_bb().await);
            }
            settle("watchpost").await;
            let wp = run_daemon(dir.path(), case, target, window).await;
            if blackbox && !blackbox_first {
                bb = Some(run_bb().await);
            }
            ratios.extend(print_row(case, bb, &wp));
        }
        if ratios.len() > 1 {
            ratios.sort_by(f64::total_cmp);
            println!(
                "{}: ratio over {} rounds: smallest {:.1}×, median {:.1}×",
                case.name,
                ratios.len(),
                ratios[0],
                (ratios[(ratios.len() - 1) / 2] + ratios[ratios.len() / 2]) / 2.0
            );
        }
    }
    drop(nginx);
}

/// Prints one table row, both sides of a round of `case`, and returns the ratio of their CPU
/// per probe when blackbox_exporter ran.
fn print_row(case: &Case, bb: Option<Side>, wp: &Daemon) -> Option<f64> {
    let (bb_rate, bb_cpu) = bb.map_or(("—".into(), "—".into()), |b| {
        (format!("{:.0}", b.rate), format!("{:.3}", b.cpu_per_1000))
    });
    let ratio = bb.map(|b| b.cpu_per_1000 / wp.cpu_per_1000);
    let shown = ratio.map_or("—".into(), |r| format!("{r:.1}×"));
    println!(
        "| {} | {bb_rate} / {:.0} | {bb_cpu} / {:.3} ({:.2} cores) | {shown} | {:.1} / {:.1} MB | {} | {:.0} MB | {:.1} s ({:.1} MB) |",
        case.name,
        wp.rate,
        wp.cpu_per_1000,
        wp.cores,
        wp.rss_kib as f64 / 1024.0,
        wp.hwm_kib as f64 / 1024.0,
        wp.lateness,
        wp.growth_per_day / 1e6,
        wp.startup,
        wp.hwm_at_start as f64 / 1024.0,
    );
    ratio
}

/// Stops nginx (its master, which stops its workers) when the bench ends or fails.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

/// apt-get installs what is missing (Debian packages; needs root, as in the project's machine).
fn install_missing() {
    let missing: Vec<&str> = [
        (
            "/usr/bin/prometheus-blackbox-exporter",
            "prometheus-blackbox-exporter",
        ),
        ("/usr/sbin/nginx", "nginx-light"),
    ]
    .iter()
    .filter(|(path, _)| !Path::new(path).exists())
    .map(|(_, package)| *package)
    .collect();
    if missing.is_empty() {
        return;
    }
    println!("installing {}", missing.join(" "));
    let ok = Command::new("apt-get")
        .args(["install", "-y"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "apt-get install {} failed", missing.join(" "));
}

/// nginx in the foreground with its own prefix: `/` answers 200 "ok" to every request.
async fn start_nginx(dir: &Path) -> (Nginx, SocketAddr) {
    let addr = free_address();
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).expect("nginx's directory");
    let conf = prefix.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log stderr error;\n\
             events {{ worker_connections 16384; }}\n\
             http {{ access_log off; client_body_temp_path {p}/body; proxy_temp_path {p}/proxy;\n\
             server {{ listen {addr} backlog=8192; keepalive_timeout 30s; location / {{ return 200 \"ok\\n\"; }} }} }}\n",
            p = prefix.display()
        ),
    )
    .expect("nginx.conf");
    let child = Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg("stderr")
        .spawn()
        .expect("starting nginx");
    let nginx = Nginx(child);
    wait_http(addr, "/").await;
    (nginx, addr)
}

/// What one side of a case measured.
#[derive(Clone, Copy)]
struct Side {
    rate: f64,
    cpu_per_1000: f64,
}

/// blackbox_exporter probing `target` at the case's rate, asked by this process.
async fn run_blackbox(dir: &Path, case: &Case, target: SocketAddr, window: Duration) -> Side {
    let config = dir.join("blackbox.yml");
    std::fs::write(
        &config,
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      preferred_ip_protocol: ip4\n",
    )
    .expect("blackbox.yml");
    let addr = free_address();
    let mut child = Command::new("/usr/bin/prometheus-blackbox-exporter")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=error")
        .stdout(Stdio::null())
        .spawn()
        .expect("starting prometheus-blackbox-exporter");
    wait_http(addr, "/-/healthy").await;
    let pid = child.id();
    let rate = case.checks as f64 / case.interval as f64;
    drive(addr, case.kind, target, rate, Duration::from_secs(3)).await;
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let done = drive(addr, case.kind, target, rate, window).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let _ = child.kill();
    let _ = child.wait();
    Side {
        rate: done as f64 / elapsed,
        cpu_per_1000: cpu * 1000.0 / done.max(1) as f64,
    }
}

/// Asks blackbox_exporter for `rate` probes a second for `length`, over keep-alive connections,
/// each on its own fixed schedule (a slow answer skips that connection's missed slots rather
/// than bunching them). Returns the probes that succeeded.
async fn drive(
    exporter: SocketAddr,
    kind: Kind,
    target: SocketAddr,
    rate: f64,
    length: Duration,
) -> u64 {
    let connections = 256usize;
    let period = Duration::from_secs_f64(connections as f64 / rate);
    let start = tokio::time::Instant::now();
    let deadline = start + length;
    let mut tasks = Vec::new();
    for i in 0..connections {
        let tcp = match kind {
            Kind::Http => false,
            Kind::Tcp => true,
            Kind::Mixed => i % 2 == 1,
        };
        let uri = if tcp {
            format!("/probe?target={target}&module=tcp_connect")
        } else {
            format!("/probe?target=http://{target}/&module=http_2xx")
        };
        let first = start + Duration::from_secs_f64(i as f64 / rate);
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(exporter).await.expect("connecting");
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("an HTTP/1.1 connection");
            tokio::spawn(conn);
            let mut ticks = tokio::time::interval_at(first, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut ok = 0u64;
            loop {
                if ticks.tick().await >= deadline {
                    return ok;
                }
                let request = hyper::Request::get(uri.as_str())
                    .header("host", exporter.to_string())
                    .body(Empty::<Bytes>::new())
                    .expect("a request");
                let Ok(response) = send.send_request(request).await else {
                    return ok;
                };
                let Ok(body) = response.into_body().collect().await else {
                    return ok;
                };
                let body = body.to_bytes();
                if body
                    .windows(b"probe_success 1".len())
                    .any(|w| w == b"probe_success 1")
                {
                    ok += 1;
                }
            }
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total
}

/// What the daemon's side measured.
struct Daemon {
    rate: f64,
    cpu_per_1000: f64,
    cores: f64,
    rss_kib: u64,
    hwm_kib: u64,
    lateness: String,
    growth_per_day: f64,
    /// Seconds from launch to `/healthz` answering 200.
    startup: f64,
    /// Peak RSS when `/healthz` first answered: what start-up alone cost.
    hwm_at_start: u64,
}

/// The release daemon with the case's checks against `target`.
async fn run_daemon(dir: &Path, case: &Case, target: SocketAddr, window: Duration) -> Daemon {
    let dir = dir.join(case.name);
    // Each round starts from an empty database, as the first did.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the case's directory");
    let addr = free_address();
    let config = dir.join("watchpost.toml");
    let timeout = case.interval.min(5);
    let mut toml = format!(
        "[server]\nlisten = \"{addr}\"\ntitle = \"Daemon bench\"\n[storage]\npath = \"watchpost.db\"\n[defaults]\ninterval = \"{}s\"\ntimeout = \"{timeout}s\"\n",
        case.interval
    );
    for i in 0..case.checks {
        let tcp = match case.kind {
            Kind::Http => false,
            Kind::Tcp => true,
            Kind::Mixed => i % 2 == 1,
        };
        let probe = if tcp {
            format!(
                "type = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\n",
                target.port()
            )
        } else {
            format!("type = \"http\"\nurl = \"http://{target}/\"\n")
        };
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nname = \"Service number {i}\"\ngroup = \"Group {}\"\n{probe}",
            i % 20
        ));
    }
    std::fs::write(&config, toml).expect("writing the config");
    let db = dir.join("watchpost.db");
    if case.history {
        // A first run creates the database and registers the checks.
        let mut daemon = start(&config);
        wait_http(addr, "/healthz").await;
        stop(&mut daemon);
        seed_history(&db);
    }
    let launched = Instant::now();
    let mut daemon = start(&config);
    wait_http(addr, "/healthz").await;
    let startup = launched.elapsed().as_secs_f64();
    let hwm_at_start = status_kib(daemon.id(), "VmHWM:");
    // Every check has had its first probe, and the recorder its first batches.
    tokio::time::sleep(Duration::from_secs(case.interval + 2)).await;
    let pid = daemon.id();
    let lag_before = lag_histogram(addr).await;
    let (rows_before, bytes_before) = db_figures(&db);
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let cpu = cpu_seconds(pid) - cpu_before;
    let elapsed = started.elapsed().as_secs_f64();
    let (rows_after, bytes_after) = db_figures(&db);
    let lag_after = lag_histogram(addr).await;
    let (rss_kib, hwm_kib) = (status_kib(pid, "VmRSS:"), status_kib(pid, "VmHWM:"));
    stop(&mut daemon);
    let probes = rows_after.saturating_sub(rows_before);
    Daemon {
        rate: probes as f64 / elapsed,
        cpu_per_1000: cpu * 1000.0 / probes.max(1) as f64,
        cores: cpu / elapsed,
        rss_kib,
        hwm_kib,
        lateness: lateness(&lag_before, &lag_after),
        growth_per_day: (bytes_after - bytes_before) as f64 * 86_400.0 / elapsed,
        startup,
        hwm_at_start,
    }
}

/// Waits until `path` on `addr` answers 200 (five minutes at most: a big config loads slowly).
/// Waits until at most [`SETTLED`] TCP sockets are in TIME_WAIT (or [`SETTLE_MAX`] has passed),
/// and says how many were left.
async fn settle(side: &str) {
    let started = Instant::now();
    let mut waiting = time_wait();
    while waiting > SETTLED && started.elapsed() < SETTLE_MAX {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waiting = time_wait();
    }
    eprintln!(
        "before {side}: {waiting} sockets in TIME_WAIT after {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// TIME_WAIT sockets at most for a side to start (a quiet machine has a handful).
const SETTLED: usize = 500;
/// The longest wait for them: the kernel keeps a socket in TIME_WAIT 60 s.
const SETTLE_MAX: Duration = Duration::from_secs(75);

/// Sockets in TIME_WAIT (state 06), IPv4 and IPv6.
fn time_wait() -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|t| {
            t.lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some("06"))
                .count()
        })
        .sum()
}

async fn wait_http(addr: SocketAddr, path: &str) {
    for _ in 0..3000 {
        if get(addr, path)
            .await
            .is_some_and(|b| b.starts_with(b"HTTP/1.1 200"))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing answered {path} on {addr}");
}

/// One `Connection: close` GET; the whole answer, head and body.
async fn get(addr: SocketAddr, path: &str) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.ok()?;
    Some(out)
}

/// The cumulative buckets of `watchpost_schedule_lag_seconds`: (upper bound, count).
async fn lag_histogram(addr: SocketAddr) -> Vec<(f64, u64)> {
    let body = get(addr, "/metrics").await.unwrap_or_default();
    String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|l| l.strip_prefix("watchpost_schedule_lag_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect()
}

/// p50, p99 and max of the probes started between the two scrapes, to their bucket's bound.
fn lateness(before: &[(f64, u64)], after: &[(f64, u64)]) -> String {
    let counts: Vec<(f64, u64)> = after
        .iter()
        .map(|&(le, n)| {
            let was = before.iter().find(|(l, _)| *l == le).map_or(0, |(_, n)| *n);
            (le, n.saturating_sub(was))
        })
        .collect();
    let total = counts.last().map_or(0, |(_, n)| *n);
    if total == 0 {
        return "no probes".into();
    }
    let show = |le: f64| {
        if le.is_infinite() {
            "> 5 s".to_string()
        } else if le < 1.0 {
            format!("≤ {} ms", le * 1000.0)
        } else {
            format!("≤ {le} s")
        }
    };
    let quantile = |q: f64| {
        let rank = (total as f64 * q).ceil() as u64;
        counts
            .iter()
            .find(|(_, n)| *n >= rank)
            .map_or(f64::INFINITY, |(le, _)| *le)
    };
    format!(
        "{} / {} / {}",
        show(quantile(0.5)),
        show(quantile(0.99)),
        show(quantile(1.0))
    )
}

/// Result rows and the bytes in use (pages not on the free list) of the daemon's database.
fn db_figures(db: &PathBuf) -> (u64, i64) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the database");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("a busy timeout");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM results", [], |r| r.get(0))
        .expect("counting results");
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("page_count");
    let free: i64 = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .expect("freelist_count");
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page_size");
    (rows as u64, (pages - free) * size)
}

/// The daemon on `config`, with the allocator setting the systemd unit uses.
fn start(config: &Path) -> Child {
    common::daemon(config)
        .env("MALLOC_MMAP_THRESHOLD_", "1048576")
        .spawn()
        .expect("starting watchpost")
}
