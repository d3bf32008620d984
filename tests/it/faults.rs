//! Storage faults made by the OS, not mocks: a file-size limit (RLIMIT_FSIZE, set on the running
//! daemon with `prlimit`) that fails every write as a full disk would, an immutable database
//! (`chattr +i`, which fails writes on descriptors already open, root included), and a database
//! whose pages were overwritten (refused at start, or found by the full check after start when
//! the damage is deep in the history). Probing goes on, results wait in memory, `/healthz` and the
//! admin pages say so, and nothing held is lost when writes succeed again.

use std::io::{Seek, SeekFrom, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemon;

/// A loopback TCP target that accepts and closes every connection, from a thread.
pub(crate) fn accepting_target() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    port
}

/// A free loopback port for the daemon.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A config of `checks` TCP checks on `target` every `interval_ms`, the database `w.db` in `dir`.
pub(crate) fn write_config(
    dir: &Path,
    port: u16,
    target: u16,
    checks: usize,
    interval_ms: u64,
) -> PathBuf {
    let mut toml = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = \"w.db\"\n[defaults]\ninterval = \"{interval_ms}ms\"\ntimeout = \"{}ms\"\n",
        interval_ms * 4 / 5
    );
    for i in 0..checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {target}\n"
        ));
    }
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Starts the daemon binary on `config` and waits until it serves on `port`.
pub(crate) fn spawn_daemon(config: &Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(["run", "--config", config.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the daemon exited at start: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// GETs `path` until `done` accepts the body, for at most 30 s; answers the body.
async fn wait_body(port: u16, path: &str, done: impl Fn(&str) -> bool) -> String {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = daemon::get(addr, path).await;
        if done(&r.body) {
            return r.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "GET {path} never showed what was expected; last: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The writes `/healthz` says are held, from "... N writes held ...".
fn held(body: &str) -> u64 {
    body.split(';')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The value of an unlabelled series, or the sum of a labelled one, in a scrape.
fn metric(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// GETs `path` from the daemon on `port` with a blocking client; answers the body.
pub(crate) fn http_get(port: u16, path: &str) -> String {
    use std::io::Read as _;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

fn prlimit(pid: u32, fsize: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={fsize}")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit --fsize={fsize}");
}

/// Stops the daemon with SIGTERM; answers its log after checking it exited cleanly.
pub(crate) fn stop(child: Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{log}");
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_failing_for_a_file_size_limit_are_held_and_written_when_it_is_lifted() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), port, accepting_target(), 10, 100);
    let child = spawn_daemon(&config, port);
    wait_body(port, "/metrics", |m| {
        metric(m, "watchpost_probes_total") >= 20.0
    })
    .await;

    // Every write past the first byte of a file now fails with EFBIG, as on a full disk; the
    // daemon ignores SIGXFSZ, so it lives on.
    prlimit(child.id(), "1:unlimited");
    let first = wait_body(port, "/healthz", |b| b.starts_with("degraded: ")).await;
    assert!(first.contains("cannot be written since"), "{first}");
    // Probing goes on: more results are held.
    let before = held(&first);
    wait_body(port, "/healthz", |b| held(b) > before + 20).await;
    let scrape = wait_body(port, "/metrics", |_| true).await;
    let counted_at = watchpost::clock::Timestamp::now();
    assert_eq!(metric(&scrape, "watchpost_store_writable"), 0.0, "{scrape}");
    assert!(metric(&scrape, "watchpost_store_held_writes") > 0.0);
    let probed = metric(&scrape, "watchpost_probes_total");

    prlimit(child.id(), "unlimited:unlimited");
    wait_body(port, "/healthz", |b| b == "ok\n").await;
    let scrape = wait_body(port, "/metrics", |_| true).await;
    assert_eq!(metric(&scrape, "watchpost_store_writable"), 1.0);
    assert_eq!(metric(&scrape, "watchpost_store_dropped_writes_total"), 0.0);
    let log = stop(child);
    assert!(log.contains("the database cannot be written"), "{log}");
    assert!(log.contains("can be written again"), "{log}");

    // Every probe counted before the scrape taken during the fault started before it, so it is
    // stored unless a held write was lost.
    let db = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
    let stored: i64 = db
        .query_row(
            "SELECT count(*) FROM results WHERE at <= ?1",
            [counted_at.0],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        stored as f64 >= probed,
        "{stored} results stored, {probed} probed"
    );
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

/// Makes files immutable for as long as it lives, so a failing test leaves a deletable dir.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    /// `None` where `chattr +i` is not possible (not root, or a filesystem without it).
    fn set(paths: &[PathBuf]) -> Option<Immutable> {
        let ok = paths.iter().all(|p| {
            Command::new("chattr")
                .arg("+i")
                .arg(p)
                .status()
                .is_ok_and(|s| s.success())
        });
        let guard = Immutable(paths.to_vec());
        ok.then_some(guard)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_shows_a_banner_to_admins_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let alive = TcpListener::bind("127.0.0.1:0").unwrap();
    let d = crate::admin::start(dir.path(), &alive, free_port()).await;
    let cookie = crate::admin::session(&d).await;
    d.wait_json("/api/v1/status", Duration::from_secs(20), |v| {
        v["checks"][0]["state"] == "up"
    })
    .await;
    let wal = PathBuf::from(format!("{}-wal", d.db.display()));
    let Some(guard) = Immutable::set(&[d.db.clone(), wal]) else {
        eprintln!("skipped: chattr +i needs root on a filesystem that has it");
        d.stop().await;
        return;
    };
    let health = d
        .wait_page("/healthz", Duration::from_secs(30), |b| {
            b.starts_with("degraded: ")
        })
        .await;
    assert_eq!(health.status, 200, "liveness stays 200");
    let page = d.request("GET", "/admin", &[("Cookie", &cookie)], "").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("The database cannot be written"),
        "{}",
        page.body
    );
    let before = held(&health.body);
    d.wait_page("/healthz", Duration::from_secs(30), |b| held(b) > before)
        .await;

    drop(guard);
    d.wait_page("/healthz", Duration::from_secs(30), |b| b == "ok\n")
        .await;
    let page = d.request("GET", "/admin", &[("Cookie", &cookie)], "").await;
    assert!(!page.body.contains("The database cannot be written"));
    d.stop().await;
}

/// A database the daemon made, probed a little and closed: its config, listen port and path.
fn database_of_a_stopped_daemon(dir: &Path) -> (PathBuf, u16, PathBuf) {
    let port = free_port();
    let config = write_config(dir, port, accepting_target(), 3, 50);
    let child = spawn_daemon(&config, port);
    std::thread::sleep(Duration::from_millis(300));
    stop(child);
    (config, port, dir.join("w.db"))
}

#[test]
fn a_damaged_database_stops_the_start_naming_the_file_and_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _, db) = database_of_a_stopped_daemon(dir.path());
    // Everything into the main file (the daemon leaves it to the next open), then damage it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(conn);
    let size = std::fs::metadata(&db).unwrap().len();
    assert!(size >= 4 * 4096, "{size}");
    // Overwrite every page after the header page with garbage.
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.seek(SeekFrom::Start(4096)).unwrap();
    file.write_all(&vec![0xA5; (size - 4096) as usize]).unwrap();
    drop(file);

    let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains(&db.display().to_string()), "{log}");
    assert!(log.contains("is damaged"), "{log}");
    assert!(log.contains("watchpost backup"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_deep_in_the_history_is_found_after_start_and_reported_on_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let (config, port, db) = database_of_a_stopped_daemon(dir.path());
    // Recent history enough for a results b-tree of many leaves (kept by the prune at start),
    // all in the main file.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
         INSERT OR IGNORE INTO results (check_id, at, status, latency_us)
         SELECT (SELECT min(id) FROM checks), (unixepoch() - 30000 + i) * 1000, 0, 300 FROM n;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    // A leaf in the middle of `results`, which the check at start does not read.
    let leaves: Vec<i64> = conn
        .prepare(
            "SELECT pageno FROM dbstat WHERE name = 'results' AND pagetype = 'leaf' ORDER BY path",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    assert!(leaves.len() > 10, "{} leaves", leaves.len());
    let middle = leaves[leaves.len() / 2];
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.seek(SeekFrom::Start(((middle - 1) * page_size) as u64))
        .unwrap();
    file.write_all(&vec![0xA5; page_size as usize]).unwrap();
    drop(file);

    let child = spawn_daemon(&config, port);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(
        daemon::get(addr, "/").await.status,
        200,
        "the page is served"
    );
    let body = wait_body(port, "/healthz", |b| b.contains("damaged")).await;
    assert!(body.starts_with("degraded: "), "{body}");
    assert!(body.contains(&db.display().to_string()), "{body}");
    stop(child);
}
