//! Running watchpost for years, from the command line: `watchpost backup` copies the database
//! consistently while the daemon writes to it, and `watchpost export` writes one check's results,
//! days and incidents as CSV and JSON.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use watchpost::clock::{DAY_MS, HOUR_MS, Timestamp};
use watchpost::model::CheckId;
use watchpost::monitor::{Bucket, Span};
use watchpost::probe::{Failure, Outcome, Phases, Reason, Status};
use watchpost::store::{CheckMeta, IncidentOpen, Severity, Store, Write};

use crate::daemon;

fn watchpost(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_daemon_writes_is_whole() {
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = target.local_addr().unwrap().port();
    let accept = tokio::spawn(async move {
        loop {
            let _ = target.accept().await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut toml = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"{db}\"\n[defaults]\ninterval = \"20ms\"\ntimeout = \"15ms\"\n",
    );
    for i in 0..8 {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n"
        ));
    }
    let d = daemon::start(dir.path(), &toml).await;
    let config = dir.path().join("watchpost.toml");
    let count = |db: &std::path::Path| -> i64 {
        let c = rusqlite::Connection::open(db).unwrap();
        c.query_row("SELECT count(*) FROM results", [], |r| r.get(0))
            .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen = Vec::new();
    for n in 0..3 {
        let copy = dir.path().join(format!("backup-{n}.db"));
        let args = [
            "backup".to_string(),
            copy.display().to_string(),
            "--config".to_string(),
            config.display().to_string(),
        ];
        let (code, out, err) = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            watchpost(&args)
        })
        .await
        .unwrap();
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("integrity ok"), "{out}");
        let c = rusqlite::Connection::open(&copy).unwrap();
        let verdict: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(verdict, "ok");
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, watchpost::store::SCHEMA_VERSION);
        let checks: i64 = c
            .query_row("SELECT count(*) FROM checks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(checks, 8);
        seen.push(count(&copy));
        // Results commit in groups (up to 200 ms apart): wait until the daemon has committed
        // more than this backup holds, so the next one must hold more too.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while count(&d.db) <= seen[n] {
            assert!(
                std::time::Instant::now() < deadline,
                "the daemon stopped writing"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(seen[0] > 0, "the daemon wrote before the first backup");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");

    let again = dir.path().join("backup-0.db");
    let args = [
        "backup",
        again.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let (code, _, err) = watchpost(&args);
    assert_eq!(code, 1, "an existing file is never overwritten");
    assert!(err.contains("exists"), "{err}");
    d.stop().await;
    accept.abort();
}

fn outcome(at: Timestamp, status: Status, failure: Option<(Reason, &str)>) -> Arc<Outcome> {
    Arc::new(Outcome {
        at,
        status,
        failure: failure.map(|(reason, message)| Failure {
            reason,
            message: message.to_string(),
        }),
        latency: Duration::from_micros(12_500),
        code: (status == Status::Up).then_some(200),
        phases: Phases::default(),
        tls: None,
        answers: None,
        facts: Default::default(),
    })
}

/// A database with two days of a check "web": one hour down on the first, one incident.
async fn history(dir: &std::path::Path) -> (std::path::PathBuf, Timestamp) {
    let db = dir.join("watchpost.db");
    let store = Store::open(&db).unwrap();
    let day: Timestamp = Timestamp::parse_rfc3339("2026-11-01T00:00:00Z").unwrap();
    let meta = |slug: &str| CheckMeta {
        slug: slug.into(),
        name: slug.into(),
        group: String::new(),
        kind: "http".into(),
    };
    let rows = store
        .writer
        .sync_checks(vec![meta("web"), meta("other")], day)
        .await
        .unwrap();
    let web = rows.iter().find(|r| r.slug == "web").unwrap().id;
    let results = [
        outcome(Timestamp(day.0 + HOUR_MS), Status::Up, None),
        outcome(
            Timestamp(day.0 + 20 * HOUR_MS),
            Status::Down,
            Some((Reason::Refused, "=connection refused, \"port 1\"")),
        ),
        outcome(Timestamp(day.0 + DAY_MS + HOUR_MS), Status::Up, None),
    ];
    for outcome in results {
        store
            .writer
            .send(Write::Result {
                check: web,
                outcome,
            })
            .await
            .unwrap();
    }
    let span = |from: i64, to: i64, bucket| Span {
        start: Timestamp(day.0 + from * HOUR_MS),
        end: Timestamp(day.0 + to * HOUR_MS),
        from: None,
        to: Some(bucket),
    };
    let spans = vec![
        span(0, 20, Bucket::Up),
        span(20, 21, Bucket::Down),
        span(21, 48, Bucket::Up),
    ];
    store
        .writer
        .send(Write::Spans { check: web, spans })
        .await
        .unwrap();
    let incident = store
        .writer
        .open_incident(IncidentOpen {
            check: web,
            slug: CheckId::new("web").unwrap(),
            severity: Severity::Major,
            title: "Web is down".into(),
            started_at: Timestamp(day.0 + 20 * HOUR_MS),
            note: "It went down.".into(),
            evidence: Vec::new(),
        })
        .await
        .unwrap();
    store
        .writer
        .resolve_incident(incident, Timestamp(day.0 + 21 * HOUR_MS), "Back.".into())
        .await
        .unwrap();
    store.writer.flush().await.unwrap();
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
    let config = dir.join("watchpost.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = \"{}\"\n[[check]]\nid = \"web\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 1\n",
            db.display()
        ),
    )
    .unwrap();
    (config, day)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_results_days_and_incidents_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = history(dir.path()).await;
    let config = config.to_str().unwrap();
    let export = |what: &str, format: &str, to: &str| {
        let (code, out, err) = watchpost(&[
            "export",
            "--check",
            "web",
            "--from",
            "2026-11-01",
            "--to",
            to,
            "--what",
            what,
            "--format",
            format,
            "--config",
            config,
        ]);
        assert_eq!(code, 0, "{err}");
        (out, err)
    };

    let (csv, err) = export("daily", "csv", "2026-11-02");
    assert_eq!(
        csv,
        "date,uptime_percent,up_ms,degraded_ms,down_ms,maintenance_ms,no_data_ms,probes,probes_down,latency_p50_ms,latency_p95_ms,latency_max_ms\n\
         2026-11-01,95.8333,82800000,0,3600000,0,0,2,1,10.775,12.327,12.5\n\
         2026-11-02,100.0,86400000,0,0,0,0,1,0,12.5,12.5,12.5\n",
    );
    assert!(
        err.contains("2 rows, uptime 97.9167 %, down 3600 s"),
        "{err}"
    );
    let (only_first, _) = export("daily", "csv", "2026-11-01");
    assert_eq!(only_first.lines().count(), 2, "--to names the last day");

    let (csv, _) = export("results", "csv", "2026-11-02");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,status,latency_ms,code,reason,message");
    assert_eq!(lines[1], "2026-11-01T01:00:00.000Z,up,12.5,200,,");
    assert_eq!(
        lines[2],
        "2026-11-01T20:00:00.000Z,down,12.5,,refused,\"'=connection refused, \"\"port 1\"\"\""
    );
    assert_eq!(lines.len(), 4);

    let (json, _) = export("results", "json", "2026-11-01T20:00:00Z");
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "an instant ends the period"
    );
    assert_eq!(rows[0]["status"], "up");
    assert_eq!(rows[0]["latency_ms"], 12.5);
    assert_eq!(rows[0]["code"], 200);
    assert!(rows[0]["message"].is_null());

    let (json, _) = export("incidents", "json", "2026-11-02");
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["title"], "Web is down");
    assert_eq!(rows[0]["started_at"], "2026-11-01T20:00:00Z");
    assert_eq!(rows[0]["resolved_at"], "2026-11-01T21:00:00Z");
    assert_eq!(rows[0]["duration_s"], 3600);
    assert_eq!(rows[0]["impact"], "major");
    assert_eq!(rows[0]["false_alarm"], false);
    let (csv, _) = export("incidents", "csv", "2026-11-02");
    assert!(
        csv.starts_with(
            "id,title,impact,started_at,resolved_at,duration_s,status,automatic,false_alarm,cause\n"
        ),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2);

    let (code, _, err) = watchpost(&[
        "export",
        "--check",
        "nope",
        "--from",
        "2026-11-01",
        "--config",
        config,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no check \"nope\"") && err.contains("web, other"),
        "{err}"
    );
}
