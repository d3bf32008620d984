//! Recording throughput: generated probe outcomes through the daemon's own recorder (metrics,
//! state machine, "now" cells, snapshot publishing) into the store writer, which commits them in
//! batches to a real SQLite file in a temporary directory; then the same number of raw results
//! sent to the writer alone. Prints results per second (to the last commit) and CPU per result (the
//! whole process: the generating loop, the recorder and the writer thread), and the writer
//! thread's own CPU per result, which bounds the rate on a machine with a core free for it.
//!
//! Run: `cargo bench --bench recorder`. Knobs (environment): `CHECKS` (1000), `RESULTS`
//! (500,000 per phase; each check's results one second apart, ending now), `DOWN_EVERY` (0: every result up; N: one in N down, opening incidents).
//! Budget (DESIGN.md, issue 13): the recorder takes ≥ 100,000 results/s.

#[allow(dead_code)] // the daemon benches' parts this one does not need
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{knob, stat_cpu_seconds};
use tokio::sync::{mpsc, watch};
use watchpost::clock::Timestamp;
use watchpost::config::Config;
use watchpost::maintenance::Schedule;
use watchpost::metrics::Metrics;
use watchpost::model::CheckId;
use watchpost::probe::{Facts, Failure, Outcome, Phases, Reason, Status};
use watchpost::recorder::{Handles, Recorder};
use watchpost::snapshot::Snapshot;
use watchpost::store::{Store, Write};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let checks = knob("CHECKS", 1000) as usize;
    let results = knob("RESULTS", 500_000) as usize;
    let down_every = knob("DOWN_EVERY", 0) as usize;
    let mut toml = String::from(
        "[server]\ntitle = \"Recorder bench\"\n[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\n",
    );
    for i in 0..checks {
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nname = \"Service number {i}\"\ngroup = \"Group {}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\n",
            i % 20
        ));
    }
    let config = Arc::new(
        watchpost::config::parse(std::path::Path::new("bench.toml"), &toml)
            .expect("a valid config"),
    );
    // Results dated one a second per check, ending now.
    let per_check = results.div_ceil(checks) as i64;
    let start = Timestamp(Timestamp::now().0 - per_check * 1000);
    println!(
        "{results} results, {checks} checks, {} per check; {}",
        per_check,
        if down_every == 0 {
            "all up".to_string()
        } else {
            format!("one in {down_every} down")
        }
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("recorder.db");
    let (elapsed, cpu) = through_recorder(&config, &db, results, start, down_every).await;
    report("recorder → writer → SQLite", results, elapsed, cpu, &db);

    let db = dir.path().join("writer.db");
    let (elapsed, cpu) = through_writer(&config, &db, results, start).await;
    report(
        "writer alone (raw results) → SQLite",
        results,
        elapsed,
        cpu,
        &db,
    );
}

/// The `n`th result: check `n % checks`, its `n / checks`th probe.
fn outcome(config: &Config, n: usize, start: Timestamp, down_every: usize) -> (CheckId, Outcome) {
    let checks = config.checks.len();
    let check = &config.checks[n % checks];
    let down = down_every != 0 && (n / checks) % down_every == down_every - 1;
    let outcome = Outcome {
        at: Timestamp(start.0 + (n / checks) as i64 * 1000 + (n % checks) as i64 % 1000),
        status: if down { Status::Down } else { Status::Up },
        failure: down.then(|| Failure {
            reason: Reason::Refused,
            message: "connection refused".into(),
        }),
        latency: Duration::from_micros(300 + (n % 700) as u64),
        code: None,
        phases: Phases {
            connect: Some(Duration::from_micros(250)),
            ..Phases::default()
        },
        tls: None,
        answers: None,
        facts: Facts::default(),
    };
    (check.id.clone(), outcome)
}

/// Opens a fresh store at `db` and registers the checks; answers their rows.
async fn open(config: &Config, db: &std::path::Path) -> (Store, HashMap<CheckId, i64>) {
    let store = Store::open(db).expect("opening the store");
    let ids = watchpost::reload::register(&store.writer, config)
        .await
        .expect("registering the checks");
    (store, ids)
}

/// The daemon's path: outcomes on the recorder's queue, as the scheduler sends them.
async fn through_recorder(
    config: &Arc<Config>,
    db: &std::path::Path,
    results: usize,
    start: Timestamp,
    down_every: usize,
) -> (Duration, Cpu) {
    let (store, ids) = open(config, db).await;
    let (snapshot, _snapshot_rx) = watch::channel(Arc::new(Snapshot::empty(config.clone())));
    let (_schedule_tx, schedule) = watch::channel(Arc::new(Schedule::default()));
    let recorder = Recorder::new(
        config.clone(),
        &ids,
        &[],
        Handles {
            writer: store.writer.clone(),
            metrics: Arc::new(Metrics::new().expect("metrics")),
            snapshot,
            schedule,
        },
    );
    // The daemon's queue size between the probes and the recorder.
    let (tx, rx) = mpsc::channel(1024);
    let cpu = threads_cpu();
    let started = Instant::now();
    let recording = tokio::spawn(recorder.run(rx));
    for n in 0..results {
        let delivery = outcome(config, n, start, down_every);
        tx.send(delivery).await.expect("the recorder is running");
    }
    drop(tx);
    recording.await.expect("the recorder");
    store.writer.flush().await.expect("the last commit");
    let elapsed = started.elapsed();
    let cpu = since(&cpu);
    store.close();
    (elapsed, cpu)
}

/// The writer alone: raw results queued as the recorder queues them, no state machine.
async fn through_writer(
    config: &Arc<Config>,
    db: &std::path::Path,
    results: usize,
    start: Timestamp,
) -> (Duration, Cpu) {
    let (store, ids) = open(config, db).await;
    let rows: Vec<i64> = config.checks.iter().map(|c| ids[&c.id]).collect();
    let cpu = threads_cpu();
    let started = Instant::now();
    for n in 0..results {
        let (_, outcome) = outcome(config, n, start, 0);
        let w = Write::Result {
            check: rows[n % rows.len()],
            outcome: Arc::new(outcome),
        };
        store.writer.send(w).await.expect("the writer is running");
    }
    store.writer.flush().await.expect("the last commit");
    let elapsed = started.elapsed();
    let cpu = since(&cpu);
    store.close();
    (elapsed, cpu)
}

/// CPU seconds so far of each thread of this process, by thread id, with its name.
fn threads_cpu() -> HashMap<String, (String, f64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .map(|t| {
            let tid = t.file_name().to_string_lossy().into_owned();
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            (tid, (comm.trim().to_string(), stat_cpu_seconds(&stat)))
        })
        .collect()
}

/// CPU seconds spent since `before`: the whole process's, and the writer thread's.
fn since(before: &HashMap<String, (String, f64)>) -> Cpu {
    let now = threads_cpu();
    let mut cpu = Cpu::default();
    for (tid, (name, seconds)) in &now {
        let spent = seconds - before.get(tid).map_or(0.0, |(_, s)| *s);
        cpu.total += spent;
        if name == "watchpost-write" {
            cpu.writer += spent;
        }
    }
    cpu
}

/// CPU seconds of a phase.
#[derive(Default)]
struct Cpu {
    total: f64,
    /// The store's writer thread alone (its name, as the kernel truncates it).
    writer: f64,
}

fn report(what: &str, results: usize, elapsed: Duration, cpu: Cpu, db: &std::path::Path) {
    let stored: i64 = rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("SELECT count(*) FROM results", [], |r| r.get(0)))
        .expect("counting the results");
    let size = std::fs::metadata(db).map_or(0, |m| m.len())
        + std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len());
    println!(
        "{what}: {:.0} results/s ({results} in {elapsed:.2?}, {stored} rows stored), CPU {:.2} µs per result ({:.2} cores), file {:.1} MB",
        results as f64 / elapsed.as_secs_f64(),
        cpu.total * 1e6 / results as f64,
        cpu.total / elapsed.as_secs_f64(),
        size as f64 / 1e6
    );
    let writer = cpu.writer * 1e6 / results as f64;
    println!(
        "  writer thread: {writer:.2} µs per result, so {:.0} results/s with a core of its own; the rest of the process {:.2} µs per result",
        1e6 / writer.max(0.001),
        (cpu.total - cpu.writer) * 1e6 / results as f64
    );
}
