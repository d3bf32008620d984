//! Runs the whole daemon (`App`) on loopback with a config written to a temp dir, and talks HTTP
//! to it with a minimal HTTP/1.1 client, so end-to-end tests see exactly what visitors see.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use watchpost::app::App;

/// A running daemon; stop it with [`Daemon::stop`].
pub struct Daemon {
    pub addr: SocketAddr,
    pub db: PathBuf,
    token: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Writes `toml` (with `{db}` replaced by the database path in `dir`) and starts the daemon on it.
pub async fn start(dir: &Path, toml: &str) -> Daemon {
    let db = dir.join("watchpost.db");
    let text = toml.replace("{db}", &db.display().to_string());
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, text).unwrap();
    let config = watchpost::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let app = App::bind(config).await.unwrap();
    let addr = app.local_addr().unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(app.run(token.clone()));
    Daemon {
        addr,
        db,
        token,
        task,
    }
}

impl Daemon {
    /// Stops the daemon as SIGTERM would and waits until it has flushed and exited.
    pub async fn stop(self) {
        self.token.cancel();
        self.task.await.unwrap().unwrap();
    }

    pub async fn get(&self, path: &str) -> Response {
        get(self.addr, path).await
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        request(self.addr, method, path, headers, body).await
    }

    /// [`Daemon::request`] from the loopback address `source`.
    pub async fn request_from(
        &self,
        source: std::net::Ipv4Addr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        request_from(source, self.addr, method, path, headers, body).await
    }

    /// GETs `path` as JSON.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.body))
    }

    /// Polls `path` as JSON every 25 ms until `done` holds, for at most `limit`.
    pub async fn wait_json(
        &self,
        path: &str,
        limit: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let v = self.json(path).await;
            if done(&v) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} did not reach the expected state within {limit:?}; last answer: {v}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// GETs `path` until `done` accepts the body, or fails after `limit`.
    pub async fn wait_page(
        &self,
        path: &str,
        limit: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Response {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let r = self.get(path).await;
            if done(&r.body) {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "GET {path} did not show what was expected within {limit:?}; last answer: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A read-only connection to the daemon's database, for asserting on what was stored.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(&self.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
    }
}

/// A loopback port that refuses every connection for as long as the tests run: a socket bound
/// and never listening, so no other test's listener can take the port (as it could take one that
/// was bound and dropped) and make a check that must stay down come up.
pub fn refused_port() -> u16 {
    static HELD: std::sync::OnceLock<(tokio::net::TcpSocket, u16)> = std::sync::OnceLock::new();
    HELD.get_or_init(|| {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, port)
    })
    .1
}

/// A loopback port that refuses connections until [`HeldPort::listen`], and is held meanwhile
/// so no other test's listener can take it: for a target that is down and later comes back.
pub struct HeldPort(tokio::net::TcpSocket);

impl HeldPort {
    pub fn new() -> HeldPort {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        HeldPort(socket)
    }

    pub fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    /// The target comes up on the same socket: no moment when the port is free.
    pub fn listen(self) -> std::net::TcpListener {
        self.0.listen(128).unwrap().into_std().unwrap()
    }
}

/// Text that must come out inert everywhere it is shown.
pub const EVIL: &str = r#"<script>alert(1)</script> & "quoted""#;

/// A daemon with one check that is up (a listening socket) and one that is down (a closed port),
/// both with hostile names.
pub async fn start_alive_and_dead(dir: &Path) -> (Daemon, std::net::TcpListener) {
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = refused_port();
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
title = "Status <b>of</b> things"
[storage]
path = "{{db}}"
[defaults]
interval = "100ms"
timeout = "80ms"
failure_threshold = 2
success_threshold = 1
[[check]]
id = "alive"
name = 'Alive {EVIL}'
group = '<i>Group</i>'
type = "tcp"
host = "127.0.0.1"
port = {}
[[check]]
id = "dead"
name = 'Dead {EVIL}'
type = "tcp"
host = "127.0.0.1"
port = {closed_port}
"#,
        up.local_addr().unwrap().port()
    );
    (start(dir, &toml).await, up)
}

/// An HTTP response as the tests need it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One GET over a fresh connection (`Connection: close`), chunked bodies decoded.
pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], "").await
}

/// [`get`] with extra request headers, e.g. `If-None-Match`.
pub async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, headers, "").await
}

/// One request with extra headers and a body over a fresh connection, chunked and gzipped
/// bodies decoded.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    exchange(stream, addr, method, path, headers, body).await
}

/// [`request`] from another loopback address (any of 127.0.0.0/8), as a client elsewhere would.
pub async fn request_from(
    source: std::net::Ipv4Addr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    exchange(stream, addr, method, path, headers, body).await
}

async fn exchange(
    mut stream: tokio::net::TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    let gzipped = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("content-encoding") && v == "gzip");
    if gzipped && !body.is_empty() {
        use std::io::Read;
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .expect("a valid gzip body");
        body = plain;
    }
    Response {
        status,
        headers,
        body: String::from_utf8(body).expect("a UTF-8 body"),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}
