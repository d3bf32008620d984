//! `kill -9` in the middle of a heavy write load, then a restart: the file passes
//! `integrity_check`, every batch is whole (results and their rollups agree), at most the
//! writes in flight are lost, and no check has two open incidents.

use std::process::Command;
use std::time::Duration;

use crate::faults::{accepting_target, free_port, spawn_daemon};

/// Checks probing `up` (which accepts) and `down` (closed), every 50 ms; one failure opens an
/// incident.
fn config(dir: &std::path::Path, port: u16, up: u16, down: u16) -> std::path::PathBuf {
    let mut toml = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = \"w.db\"\n[defaults]\ninterval = \"50ms\"\ntimeout = \"40ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n"
    );
    for i in 0..60 {
        let target = if i % 10 == 0 { down } else { up };
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {target}\n"
        ));
    }
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn scrape_probes(port: u16) -> f64 {
    let body = crate::faults::http_get(port, "/metrics");
    body.lines()
        .filter(|l| l.starts_with("watchpost_probes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn one(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn kill_9_under_heavy_writes_loses_at_most_the_writes_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let closed = free_port();
    let config = config(dir.path(), port, accepting_target(), closed);
    let mut child = spawn_daemon(&config, port);
    // Let it write for a while: some 1,200 results a second, incidents opening.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while scrape_probes(port) < 2_000.0 {
        assert!(std::time::Instant::now() < deadline, "too few probes");
        std::thread::sleep(Duration::from_millis(50));
    }
    let probed = scrape_probes(port);
    let counted_at = watchpost::clock::Timestamp::now();
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();

    let path = dir.path().join("w.db");
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        let integrity: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
        // A batch commits its results and their rollup counts together, or neither.
        let results = one(&db, "SELECT count(*) FROM results");
        let counted = one(
            &db,
            "SELECT sum(probes_up + probes_degraded + probes_down) FROM rollup_hour",
        );
        assert_eq!(results, counted, "no batch is half written");
        // A day is its daily row and its hours not folded into it yet, each hour counted once.
        let days = one(
            &db,
            "SELECT (SELECT coalesce(sum(probes_up + probes_degraded + probes_down), 0)
                     FROM rollup_day)
                  + (SELECT coalesce(sum(probes_up + probes_degraded + probes_down), 0)
                     FROM rollup_hour WHERE start >= (SELECT days_through FROM rollup_fold))",
        );
        assert_eq!(days, counted, "the days and the hours agree");
        let stored: i64 = db
            .query_row(
                "SELECT count(*) FROM results WHERE at <= ?1",
                [counted_at.0],
                |r| r.get(0),
            )
            .unwrap();
        let lost = (probed as i64 - stored).max(0);
        eprintln!(
            "kill -9: {probed} probes counted before the kill, {stored} of them stored, {lost} lost"
        );
        assert!(
            lost <= 4096,
            "{lost} lost, more than one batch (4,096 writes)"
        );
    }

    // Restart on the same file: the open incidents are resumed, never opened twice.
    let child = spawn_daemon(&config, port);
    let before = scrape_probes(port);
    while scrape_probes(port) < before + 500.0 {
        std::thread::sleep(Duration::from_millis(50));
    }
    crate::faults::stop(child);
    let db = rusqlite::Connection::open(&path).unwrap();
    let doubled = one(
        &db,
        "SELECT count(*) FROM (SELECT check_id FROM incidents WHERE resolved_at IS NULL
             GROUP BY check_id HAVING count(*) > 1)",
    );
    assert_eq!(doubled, 0, "a check with two open incidents");
    assert!(
        one(
            &db,
            "SELECT count(*) FROM incidents WHERE resolved_at IS NULL"
        ) >= 6
    );
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}
