//! Faults of this machine are no data: a probe that runs out of descriptors is `local`, and the
//! recorder counts such an outcome as skipped, never as the target being down.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use watchpost::clock::Timestamp;
use watchpost::maintenance::Schedule;
use watchpost::metrics::Metrics;
use watchpost::probe::{Failure, Outcome, Phases, Reason, Status};
use watchpost::recorder::{Handles, Recorder};
use watchpost::snapshot::{History, Snapshot};
use watchpost::store::{CheckMeta, Store};

/// `watchpost probe` with a descriptor limit of `n`: the output, or `None` when the runtime
/// itself could not start with so few.
fn probe_with_nofile(n: u32, target: &str) -> Option<String> {
    let out = Command::new("prlimit")
        .arg(format!("--nofile={n}:{n}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_watchpost"))
        .args(["probe", "--timeout", "2s", target])
        .env("RUST_LOG", "off")
        .output()
        .expect("prlimit (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    stdout.contains("result").then_some(stdout)
}

/// End to end: with one descriptor fewer than the probe's socket needs, the probe fails with
/// EMFILE and says it is this machine's fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_out_of_descriptors_is_a_local_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("tcp://{}", listener.local_addr().unwrap());
    let outputs = tokio::task::spawn_blocking(move || {
        let mut outputs = Vec::new();
        // The smallest limit under which the runtime starts leaves no descriptor for the socket.
        for n in 4..64 {
            if let Some(out) = probe_with_nofile(n, &target) {
                let done = out.contains("result     up");
                outputs.push(out);
                if done {
                    break;
                }
            }
        }
        outputs
    })
    .await
    .unwrap();
    let first = outputs.first().expect("the probe ran under some limit");
    assert!(first.contains("result     down"), "{first}");
    assert!(
        first.contains("too many open files (EMFILE)") && first.contains("(local)"),
        "{first}"
    );
    let last = outputs.last().unwrap();
    assert!(
        last.contains("result     up"),
        "with enough descriptors: {last}"
    );
}

fn outcome(at: Timestamp, reason: Reason, message: &str) -> Outcome {
    Outcome {
        at,
        status: Status::Down,
        failure: Some(Failure::new(reason, message)),
        latency: Duration::from_millis(1),
        code: None,
        phases: Phases::default(),
        tls: None,
        answers: None,
        facts: Default::default(),
    }
}

/// The recorder with a real store: local failures change no state, open nothing and store
/// nothing; a real failure afterwards still opens an incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_skips_local_failures_as_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watchpost.toml");
    let toml = format!(
        "[storage]\npath = \"{}\"\n[defaults]\nfailure_threshold = 1\n[[check]]\nid = \"web\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\n",
        dir.path().join("watchpost.db").display()
    );
    let config = Arc::new(watchpost::config::parse(&path, &toml).unwrap());
    let store = Store::open(&config.storage.path).unwrap();
    let meta = CheckMeta {
        slug: "web".into(),
        name: "web".into(),
        group: String::new(),
        kind: "tcp".into(),
    };
    let rows = store
        .writer
        .sync_checks(vec![meta], Timestamp::now())
        .await
        .unwrap();
    let metrics = Arc::new(Metrics::new().unwrap());
    let (snapshot_tx, snapshot_rx) = watch::channel(Arc::new(Snapshot::empty(config.clone())));
    let (_schedule_tx, schedule_rx) = watch::channel(Arc::new(Schedule::default()));
    let (_history_tx, _history_rx) = watch::channel(Arc::new(History::default()));
    let id = config.checks[0].id.clone();
    let recorder = Recorder::new(
        config.clone(),
        &[(id.clone(), rows[0].id)].into_iter().collect(),
        &[],
        Handles {
            writer: store.writer.clone(),
            metrics: metrics.clone(),
            snapshot: snapshot_tx,
            schedule: schedule_rx,
        },
    );
    let (tx, rx) = mpsc::channel(16);
    let running = tokio::spawn(recorder.run(rx));
    let start = Timestamp::now();
    for i in 0..3 {
        let at = Timestamp(start.0 + i * 1000);
        let o = outcome(
            at,
            Reason::Local,
            "connecting: too many open files (EMFILE)",
        );
        tx.send((id.clone(), o)).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let metrics_text = loop {
        let text = metrics.render().unwrap();
        let skipped = text
            .lines()
            .find(|l| l.starts_with("watchpost_probes_skipped_total{"));
        if skipped.is_some_and(|l| l.ends_with(" 3")) {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(metrics_text.contains("reason=\"local\""), "{metrics_text}");
    assert!(
        !metrics_text.contains("watchpost_probe_failures_total{"),
        "a skipped probe is no failure: {metrics_text}"
    );
    let now = snapshot_rx
        .borrow()
        .get(id.as_str())
        .map(|(_, now)| now.clone())
        .unwrap_or_default();
    assert!(now.last.is_none(), "no probe result is shown");
    assert_eq!(now.incident, None);

    let at = Timestamp(start.0 + 3000);
    tx.send((
        id.clone(),
        outcome(at, Reason::Refused, "connection refused"),
    ))
    .await
    .unwrap();
    drop(tx);
    running.await.unwrap();
    assert!(
        snapshot_rx
            .borrow()
            .get(id.as_str())
            .unwrap()
            .1
            .incident
            .is_some()
    );
    store.close();
    let db = rusqlite::Connection::open(dir.path().join("watchpost.db")).unwrap();
    let stored: Vec<String> = db
        .prepare("SELECT reason FROM results")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored, ["refused"], "only the real failure is stored");
}
