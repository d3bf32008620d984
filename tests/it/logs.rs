//! What the daemon says on stderr, read the way journald and a log shipper read it: one INFO line
//! per change of a check's state, with its evidence, and one when its incident opens and resolves,
//! but nothing per good probe; plain lines carry a timestamp unless stderr is the journal
//! (`JOURNAL_STREAM`, which journald adds its own time to); `--log-format json` writes one object
//! per line. The daemon runs as a child process with its stderr in a file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// `watchpost run` with its stderr going to `log`; when `journal`, the environment says that
/// file is the journal, as systemd does for a service.
fn start(config: &Path, log: &Path, journal: bool, args: &[&str]) -> Child {
    let file = std::fs::File::create(log).unwrap();
    let meta = file.metadata().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_watchpost"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(file);
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    cmd.spawn().unwrap()
}

/// Waits until the log holds `count` lines containing `text`, for at most 30 s; answers the log.
fn wait_for(log: &Path, text: &str, count: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = std::fs::read_to_string(log).unwrap_or_default();
        if got.lines().filter(|l| l.contains(text)).count() >= count {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {count} lines with {text:?} in:\n{got}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Stops the daemon as systemd does (SIGTERM to its pid) and answers all it logged.
fn stop(mut child: Child, log: &Path) -> String {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    std::fs::read_to_string(log).unwrap()
}

fn config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("watchpost.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"w.db\"\n\
             [[check]]\nid = \"svc\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             interval = \"100ms\"\ntimeout = \"100ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n"
        ),
    )
    .unwrap();
    path
}

/// A listener that accepts and closes every connection until the task is aborted.
async fn serve(listener: tokio::net::TcpListener) {
    while let Ok((socket, _)) = listener.accept().await {
        drop(socket);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_say_each_change_of_state_and_incident_once_and_no_good_probe() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut target = tokio::spawn(serve(listener));
    let config = config(dir.path(), addr.port());
    let log = dir.path().join("stderr.log");
    let child = start(&config, &log, false, &["--log-format", "json"]);

    wait_for(&log, r#""to":"up""#, 1);
    target.abort();
    let _ = target.await;
    wait_for(&log, "incident opened", 1);
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    target = tokio::spawn(serve(listener));
    wait_for(&log, "incident resolved", 1);
    // Good probes go on for a while (the interval is 100 ms) and must not be logged.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = stop(child, &log);
    target.abort();

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?} in\n{text}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line.get(key).is_some(), "no {key} in {line}");
        }
    }
    let about_svc: Vec<&Value> = lines
        .iter()
        .filter(|l| l.to_string().contains("svc"))
        .collect();
    let changes: Vec<(&str, &str, &str)> = about_svc
        .iter()
        .filter(|l| l["message"] == "state changed")
        .map(|l| {
            assert_eq!(l["level"], "INFO", "{l}");
            (
                l["from"].as_str().unwrap(),
                l["to"].as_str().unwrap(),
                l["evidence"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("unknown", "up", "probes succeed"),
            (
                "up",
                "down",
                "1 bad probe; the last was down: svc: connection refused"
            ),
            ("down", "up", "probes succeed"),
        ],
        "{text}"
    );
    let incidents: Vec<&str> = about_svc
        .iter()
        .filter_map(|l| l["message"].as_str())
        .filter(|m| m.starts_with("incident"))
        .collect();
    assert_eq!(
        incidents,
        ["incident opened", "incident resolved"],
        "{text}"
    );
    // Those five lines are all that is said about the check, however many probes ran.
    assert_eq!(about_svc.len(), 5, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_lines_leave_the_time_to_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), 9);
    let is_timestamp = |l: &str| {
        l.get(..4)
            .is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()))
            && l.get(4..5) == Some("-")
    };
    for journal in [true, false] {
        let log = dir.path().join(format!("stderr-{journal}.log"));
        let child = start(&config, &log, journal, &[]);
        wait_for(&log, "listen=", 1);
        let text = stop(child, &log);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.contains("INFO"), "{text}");
        assert_eq!(
            is_timestamp(first),
            !journal,
            "journal: {journal}, log:\n{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "no colours outside a terminal: {text}"
        );
    }
}
