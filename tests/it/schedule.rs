//! The scheduler keeps every check on its own clock: a target that never answers ends its own
//! probes at their timeout and delays no other check.

use std::time::Duration;

use crate::daemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_delays_no_other_check() {
    // Accepts connections (the kernel completes them) and never reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let alive = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let toml = format!(
        r#"
[storage]
path = "{{db}}"
[server]
listen = "127.0.0.1:0"
[[check]]
id = "hangs"
type = "tcp"
host = "127.0.0.1"
port = {}
send = "hello\n"
expect = "never"
interval = "500ms"
timeout = "300ms"
[[check]]
id = "fast"
type = "tcp"
host = "127.0.0.1"
port = {}
interval = "50ms"
timeout = "40ms"
"#,
        silent.local_addr().unwrap().port(),
        alive.local_addr().unwrap().port()
    );
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let db = d.db.clone();
    d.stop().await;

    let conn = rusqlite::Connection::open(db).unwrap();
    let stats = |slug: &str| -> (i64, i64, i64) {
        conn.query_row(
            "SELECT count(*), min(r.at), max(r.latency_us) FROM results r
             JOIN checks c ON c.id = r.check_id WHERE c.slug = ?1",
            [slug],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                ))
            },
        )
        .unwrap()
    };
    let (hung, _, slowest) = stats("hangs");
    assert!(hung >= 1, "the hanging check was probed");
    assert!(
        slowest <= 400_000,
        "each hanging probe ended by its timeout (+100 ms): {slowest} µs"
    );
    let reason: String = conn
        .query_row(
            "SELECT reason FROM results WHERE status = 2 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reason, "timeout");
    // The fast check runs every 50 ms: about 30 probes in 1.6 s less its start offset. Even on a
    // loaded machine it must get far more than the hanging check's handful.
    let (fast, _, _) = stats("fast");
    assert!(
        fast >= 10,
        "the fast check kept its schedule: {fast} probes"
    );
}
