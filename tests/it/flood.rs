//! A slow-loris flood cannot fake an outage: the `watchpost` binary runs in a child process with
//! 256 descriptors, and many more idle connections than that, each sending a byte now and then,
//! must leave its probes running and succeeding, open no incident, and the page answering.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::daemon::{self, Response};

const LIMIT: u32 = 256;
const FLOOD: usize = 600;
const CHECKS: [&str; 3] = ["one", "two", "three"];

/// The daemon in a child process, its log collected as it comes.
struct Running {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, target: SocketAddr) -> Running {
    let mut toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"{}\"\n[defaults]\ninterval = \"300ms\"\ntimeout = \"300ms\"\nfailure_threshold = 3\n",
        dir.join("watchpost.db").display()
    );
    for id in CHECKS {
        toml.push_str(&format!(
            "[[check]]\nid = \"{id}\"\ntype = \"http\"\nurl = \"http://{target}/\"\n"
        ));
    }
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, toml).unwrap();
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={LIMIT}:{LIMIT}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_watchpost"))
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let collected = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(listen) = line.split("listen=").nth(1) {
                let addr = listen.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(addr);
            }
            let mut log = collected.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("the daemon did not start: {}", log.lock().unwrap()));
    Running {
        child,
        addr: addr.parse().unwrap(),
        log,
    }
}

/// GET over a fresh connection, tried up to five times, each within two seconds.
async fn get(addr: SocketAddr, path: &str) -> Response {
    for _ in 0..5 {
        let owned = path.to_string();
        let request = tokio::spawn(async move { daemon::get(addr, &owned).await });
        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), request).await {
            return r;
        }
    }
    panic!("GET {path} failed five times during the flood");
}

/// Up probes of each check so far, from `/metrics`.
fn ups(metrics: &str) -> Vec<u64> {
    CHECKS
        .iter()
        .map(|id| {
            metrics
                .lines()
                .find(|l| {
                    l.starts_with("watchpost_probes_total{")
                        && l.contains(&format!("check=\"{id}\""))
                        && l.contains("result=\"up\"")
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

/// What the flood saw.
#[derive(Default)]
struct Tally {
    connected: AtomicU64,
    closed_by_server: AtomicU64,
}

/// One slow-loris client: connects, sends a byte now and then and never ends its request;
/// reconnects when the server closes it.
async fn loris(addr: SocketAddr, tally: Arc<Tally>, stop: tokio_util::sync::CancellationToken) {
    while !stop.is_cancelled() {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
                .await
        else {
            continue;
        };
        tally.connected.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 512];
        let closed = loop {
            if s.write_all(b"G").await.is_err() {
                break true;
            }
            tokio::select! {
                _ = stop.cancelled() => break false,
                read = s.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break true,
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(700)) => {}
            }
        };
        if closed {
            tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_loris_flood_fakes_no_outage() {
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "healthy" }));
    let healthy = tokio::spawn(async move {
        let _ = axum::serve(target, app).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let daemon = start(dir.path(), target_addr);
    let addr = daemon.addr;

    // Every check has answered once before the flood.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let before = loop {
        let ups = ups(&get(addr, "/metrics").await.body);
        if ups.iter().all(|&n| n > 0) {
            break ups;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no probe ran: {ups:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let tally = Arc::new(Tally::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let flood: Vec<_> = (0..FLOOD)
        .map(|_| tokio::spawn(loris(addr, tally.clone(), stop.clone())))
        .collect();
    while tally.connected.load(Ordering::Relaxed) < FLOOD as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // With more idle connections than descriptors open or queued: probes go on and succeed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = get(addr, "/metrics").await.body;
        assert!(
            !metrics.contains("watchpost_probe_failures_total{"),
            "a probe failed during the flood: {metrics}"
        );
        assert!(
            !metrics.contains("watchpost_probes_skipped_total{"),
            "{metrics}"
        );
        let now = ups(&metrics);
        if now.iter().zip(&before).all(|(n, b)| *n >= b + 3) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "probes stalled during the flood: {before:?} then {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let incidents = get(addr, "/api/v1/incidents").await;
    assert_eq!(incidents.status, 200);
    assert!(
        incidents.body.contains("\"incidents\":[]"),
        "{}",
        incidents.body
    );
    let page = get(addr, "/").await;
    assert_eq!(page.status, 200);
    let results = get(addr, "/api/v1/checks/one/results?limit=5").await;
    assert!(!results.body.contains("\"down\""), "{}", results.body);

    let connected = tally.connected.load(Ordering::Relaxed);
    let closed = tally.closed_by_server.load(Ordering::Relaxed);
    // A stop during the flood is clean and prompt: idle connections do not hold it up.
    let stopping = std::time::Instant::now();
    let pid = rustix::process::Pid::from_child(&daemon.child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let mut daemon = daemon;
    let status = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(20), "no exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stopped_in = stopping.elapsed();
    stop.cancel();
    for f in flood {
        let _ = f.await;
    }
    let log = daemon.log.lock().unwrap().clone();
    assert!(status.success(), "{status:?}: {log}");
    println!("stopped in {stopped_in:?} during the flood");
    println!(
        "flood: {connected} connections opened against a limit of {LIMIT} descriptors, {closed} closed by the server before the stop"
    );
    for line in log
        .lines()
        .filter(|l| l.contains("web server limits") || l.contains("evicted="))
    {
        println!("daemon: {line}");
    }
    assert!(log.contains("open_file_limit=256"), "{log}");
    assert!(closed > 0, "the cap closed the oldest idle connections");
    assert!(stopped_in < Duration::from_secs(5), "{stopped_in:?}");
    assert!(!log.contains("Too many open files"), "{log}");
    drop(daemon);
    healthy.abort();
}
