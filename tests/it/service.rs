//! watchpost under systemd's notify protocol, with systemd played by the test: the `watchpost`
//! binary runs in a child process whose NOTIFY_SOCKET is a datagram socket bound here. It must
//! say READY=1 only when its page answers, show a status line, ping the watchdog at half of
//! WATCHDOG_USEC, and say STOPPING=1 on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::net::UnixDatagram;

use crate::daemon;

/// The child, killed if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The next message on `socket`, within `limit`.
async fn next(socket: &UnixDatagram, limit: Duration) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(limit, socket.recv(&mut buf))
        .await
        .expect("a message from watchpost in time")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_after_the_page_answers_then_watchdog_pings_and_stopping() {
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = target.local_addr().unwrap().port();
    let accept = tokio::spawn(async move {
        loop {
            let _ = target.accept().await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let config = dir.path().join("watchpost.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\npath = \"{}\"\n\
             [[check]]\nid = \"port\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             interval = \"100ms\"\ntimeout = \"80ms\"\n",
            dir.path().join("watchpost.db").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchpost"))
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(listen) = line.split("listen=").nth(1) {
                let addr = listen.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(addr);
            }
        }
    });

    let ready = next(&socket, Duration::from_secs(30)).await;
    assert!(
        ready.contains("READY=1\n"),
        "the first message says ready: {ready}"
    );
    assert!(ready.contains("STATUS=1 check, 0 down"), "{ready}");
    let addr: SocketAddr = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .parse()
        .unwrap();
    for path in ["/", "/healthz"] {
        let r = daemon::get(addr, path).await;
        assert_eq!(r.status, 200, "GET {path} once ready");
    }

    let mut pings = 0;
    let started = tokio::time::Instant::now();
    while pings < 4 {
        let m = next(&socket, Duration::from_secs(5)).await;
        if m.contains("WATCHDOG=1") {
            pings += 1;
        }
        assert!(!m.contains("READY=1"), "ready is said once: {m}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "pings come at half of WATCHDOG_USEC, not slower: {:?}",
        started.elapsed()
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    loop {
        let m = next(&socket, Duration::from_secs(10)).await;
        if m.contains("STOPPING=1") {
            break;
        }
    }
    let mut child = child;
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "a clean stop: {exit:?}");
    accept.abort();
}
