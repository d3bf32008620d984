//! What the daemon benches share: knobs, starting and stopping the daemon binary, 90 days of
//! seeded history, and a process's CPU and memory from `/proc`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};

/// A number from the environment, or `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An address nobody listens on yet.
pub fn free_address() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    probe.local_addr().expect("an address")
}

/// `watchpost run` on `config`: this build's binary, or the one `WATCHPOST` names (to compare
/// builds), logging warnings only.
pub fn daemon(config: &Path) -> Command {
    let binary =
        std::env::var("WATCHPOST").unwrap_or_else(|_| env!("CARGO_BIN_EXE_watchpost").into());
    let mut command = Command::new(binary);
    command
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn");
    command
}

/// SIGTERM, then wait: the daemon shuts down in order and closes the database.
pub fn stop(daemon: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
}

/// Days -89 to -1 for every check: up, with a 10-minute outage on one day in 37.
pub fn seed_history(db: &Path) {
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
    {
        let mut insert = tx
            .prepare("INSERT OR REPLACE INTO rollup_day (check_id, start, up_ms, down_ms, probes_up) VALUES (?1, ?2, ?3, ?4, 1440)")
            .expect("the insert");
        for id in ids {
            for back in 1..90 {
                let down = if (back + id) % 37 == 0 { 600_000 } else { 0 };
                insert
                    .execute(rusqlite::params![
                        id,
                        today - back * day_ms,
                        day_ms - down,
                        down
                    ])
                    .expect("a rollup row");
            }
        }
    }
    tx.commit().expect("committing the history");
}

/// The process's user plus system CPU seconds, from `/proc`.
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// User plus system CPU seconds from the text of a `/proc/…/stat` file (a process's or a
/// thread's).
pub fn stat_cpu_seconds(stat: &str) -> f64 {
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
    ticks as f64 / 100.0
}

/// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), 0 if unreadable.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
