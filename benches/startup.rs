//! Start-up with a big database: the daemon's own schema (made by a first run of the daemon)
//! filled to `SIZE_MB` (1024) with raw results of 1,000 TCP checks one minute apart and 89 days
//! of daily rollups, then the time from exec to `/` answering 200, over `RUNS` (3) starts.
//! The file stays in the page cache between runs (warm start: what a restart sees).
//!
//! Run: `cargo bench --bench startup`. Knobs (environment): `SIZE_MB` (1024), `CHECKS` (1000),
//! `RUNS` (3), `DIR` (keep the generated database in this directory and reuse it next time,
//! to compare builds without generating it again), `WATCHPOST` (another build of the daemon).
//! Budget (DESIGN.md): ≤ 1 s from start to serving the page with a 1 GB database.

#[allow(dead_code)] // the daemon benches' parts this one does not need
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{free_address, knob, seed_history, stop};

fn main() {
    let size_mb = knob("SIZE_MB", 1024);
    let checks = knob("CHECKS", 1000) as usize;
    let runs = knob("RUNS", 3);
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = std::env::var("DIR").map_or_else(|_| temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("the database's directory");

    let sink = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let sink_port = sink.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for socket in sink.incoming() {
            drop(socket);
        }
    });
    let addr = free_address();
    let config = dir.join("watchpost.toml");
    let mut toml = format!(
        "[server]\nlisten = \"{addr}\"\ntitle = \"Start-up bench\"\n[storage]\npath = \"watchpost.db\"\n[defaults]\ninterval = \"60s\"\ntimeout = \"5s\"\n"
    );
    for i in 0..checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nname = \"Service number {i}\"\ngroup = \"Group {}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {sink_port}\n",
            i % 20
        ));
    }
    std::fs::write(&config, toml).expect("writing the config");
    let db = dir.join("watchpost.db");

    let have = std::fs::metadata(&db).map_or(0, |m| m.len());
    if have < size_mb << 20 {
        // The daemon makes its schema and registers the checks; then the rows go in by SQL.
        let _ = std::fs::remove_file(&db);
        let mut daemon = common::daemon(&config).spawn().expect("starting watchpost");
        ready(addr, "/healthz", Duration::from_secs(300));
        stop(&mut daemon);
        let t = Instant::now();
        seed_history(&db);
        fill(&db, size_mb << 20);
        println!(
            "generated {:.0} MB in {:?}",
            std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / 1_048_576.0,
            t.elapsed()
        );
    }
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    let rows: i64 = rusqlite::Connection::open(&db)
        .and_then(|c| c.query_row("SELECT max(rowid) FROM checks", [], |r| r.get(0)))
        .expect("the checks");
    println!(
        "database {:.0} MB, {rows} checks; {checks} checks configured",
        size as f64 / 1_048_576.0
    );

    for run in 1..=runs {
        let mut daemon = common::daemon(&config).spawn().expect("starting watchpost");
        let page = ready(addr, "/", Duration::from_secs(300));
        let health = ready(addr, "/healthz", Duration::from_secs(300));
        // What the start-up left running in the background, given a few seconds.
        let rss = common::status_kib(daemon.id(), "VmRSS:");
        std::thread::sleep(Duration::from_secs(5));
        let after = body(addr, "/healthz").unwrap_or_default();
        let cpu = common::cpu_seconds(daemon.id());
        stop(&mut daemon);
        println!(
            "run {run}: exec to / answering 200: {page:?} (then /healthz 200 in {health:?}); RSS then {rss} KiB; 5 s later /healthz says {:?}; CPU {cpu:.2} s since exec",
            after.trim()
        );
    }
}

/// Raw results (up, one a minute per check, every check at each minute) going back from now
/// until the file reaches `bytes`, in transactions of about a million rows.
fn fill(db: &Path, bytes: u64) {
    let conn = rusqlite::Connection::open(db).expect("the database");
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")
        .expect("seeding pragmas");
    let checks: i64 = conn
        .query_row("SELECT count(*) FROM checks", [], |r| r.get(0))
        .expect("the checks");
    let minutes = (1_000_000 / checks.max(1)).max(1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64;
    let minute = 60_000;
    let mut newest = now - now.rem_euclid(minute) - minute;
    while std::fs::metadata(db).map_or(0, |m| m.len()) < bytes {
        // Oldest first within a chunk, every check at each minute: each index grows at its end.
        let oldest = newest - (minutes - 1) * minute;
        conn.execute(
            "WITH RECURSIVE m(at) AS (SELECT ?1 UNION ALL SELECT at + ?3 FROM m WHERE at < ?2)
             INSERT OR IGNORE INTO results (check_id, at, status, latency_us, connect_us)
             SELECT c.id, m.at, 0, 300 + (c.id * 7 + m.at / 60000) % 500, 250
             FROM m CROSS JOIN checks c",
            rusqlite::params![oldest, newest, minute],
        )
        .expect("a chunk of results");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("a checkpoint");
        newest = oldest - minute;
    }
}

/// Polls `path` until it answers 200, for at most `limit`; answers how long that took.
fn ready(addr: SocketAddr, path: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if body(addr, path).is_some() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("watchpost did not answer {path} on {addr} within {limit:?}");
}

/// The body of a 200 answer to `GET path`, `None` for anything else.
fn body(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}
