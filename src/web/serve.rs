//! The web server's own accept loop, so that no visitor can take the descriptors the probes
//! need: request heads must arrive within [`HEADER_READ_TIMEOUT`] (which also closes idle
//! keep-alive connections), and open connections are capped below the descriptor limit with a
//! reserve for probes and SQLite. At the cap, the oldest connection that has not sent a complete
//! request is closed for the new one (else the one idle the longest; else the new one gets a
//! 503), so a slow-loris flood cannot keep the page from answering.
//!
//! On shutdown it stops accepting, lets in-flight requests finish and returns when every
//! connection is closed. It never decides what a request gets: that is the router's.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::scheduler::MAX_IN_FLIGHT;

/// A request head (and the wait for the next one on a keep-alive connection) must arrive within this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Descriptors kept for SQLite, logs and the runtime beyond those open when serving starts.
const RESERVE_BASE: u64 = 64;
/// Descriptors kept per check that may probe at once (its socket, and the resolver's).
const RESERVE_PER_PROBE: u64 = 2;
/// The web server gets at least this share of the descriptors, however many checks there are.
const MIN_SHARE: u64 = 4;
/// Evicted connections still closing at most; accepting waits beyond, so descriptors stay
/// bounded however fast clients reconnect.
const CLOSING_AT_MOST: usize = 16;
/// Warnings about the cap (evictions, refusals, accept errors) come at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// After an accept fails for lack of descriptors, wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// The answer to a connection refused at the cap, written without waiting.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n";

/// Raises the soft limit on open descriptors to the hard limit, as Go's runtime does at start:
/// systemd's default soft limit of 1,024 is too low for a server. Nothing is changed (and no
/// system call made that a seccomp filter might forbid) when the soft limit is already the hard one.
pub fn raise_fd_limit() {
    let Rlimit {
        current: Some(soft),
        maximum: Some(hard),
    } = getrlimit(Resource::Nofile)
    else {
        return;
    };
    if soft >= hard {
        return;
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: Some(hard),
    };
    if let Err(e) = setrlimit(Resource::Nofile, raised) {
        tracing::warn!(soft, hard, error = %e, "cannot raise the open-file limit");
    }
}

/// The open-file limit in force and the connections the web server keeps open at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub descriptors: u64,
    pub connections: usize,
    /// [`HEADER_READ_TIMEOUT`], shorter in tests.
    pub header_read_timeout: Duration,
}

impl Limits {
    /// The cap for this process: its descriptor limit less those open now and a reserve for
    /// `checks` probing at once; at least a quarter of the limit.
    pub fn for_checks(checks: usize) -> Limits {
        let descriptors = getrlimit(Resource::Nofile).current.unwrap_or(1 << 20);
        let open = std::fs::read_dir("/proc/self/fd").map_or(RESERVE_BASE, |d| d.count() as u64);
        Limits::compute(descriptors, open, checks)
    }

    fn compute(descriptors: u64, open: u64, checks: usize) -> Limits {
        let probing = checks.min(MAX_IN_FLIGHT) as u64;
        let reserve = open + RESERVE_BASE + RESERVE_PER_PROBE * probing;
        let cap = descriptors
            .saturating_sub(reserve)
            .max(descriptors / MIN_SHARE)
            .max(1);
        Limits {
            descriptors,
            connections: usize::try_from(cap).unwrap_or(usize::MAX),
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    tracing::info!(
        open_file_limit = limits.descriptors,
        max_connections = limits.connections,
        header_read_timeout = ?limits.header_read_timeout,
        "web server limits"
    );
    let table = Arc::new(Table::new(limits.connections));
    let (close_tx, close_rx) = watch::channel(());
    let mut accept_errors = Warn::default();
    loop {
        while table.len() >= table.cap + CLOSING_AT_MOST {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = table.closed.notified() => {}
            }
        }
        let (stream, remote) = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) if gone(&e) => continue,
                Err(e) => {
                    if accept_errors.due() {
                        tracing::warn!(error = %e, failed = accept_errors.take(), "accepting web connections fails");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(conn) = table.admit() else {
            let _ = stream.try_write(BUSY);
            continue;
        };
        let router = router.clone();
        let shutdown = shutdown.clone();
        let close_rx = close_rx.clone();
        let table = table.clone();
        tokio::spawn(async move {
            let _open = Open(table.clone(), conn.id);
            let conn = (table, conn);
            connection(
                stream,
                remote,
                router,
                conn,
                limits.header_read_timeout,
                shutdown,
            )
            .await;
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}

/// Whether an accept failed because the client went away, which is no fault of ours.
fn gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    )
}

/// Serves one connection until it ends, is evicted, or shuts down gracefully.
async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    (table, conn): (Arc<Table>, Arc<Conn>),
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let inner = TowerToHyperService::new(router);
    let tracked = conn.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        let busy = Busy::begin(table.clone(), tracked.clone());
        let response = inner.call(req);
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| Tracked { body, _busy: busy }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let mut served = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let mut draining = false;
    loop {
        tokio::select! {
            _ = served.as_mut() => return,
            _ = conn.evict.notified() => return,
            _ = shutdown.cancelled(), if !draining => {
                // Nothing in flight (idle, or a request head still coming): close at once
                // rather than wait out the header timeout.
                if conn.busy.load(Ordering::Acquire) == 0 {
                    return;
                }
                draining = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One open connection, as the cap sees it.
struct Conn {
    id: u64,
    /// Requests being answered now, bodies included.
    busy: AtomicU32,
    /// Whether a complete request head ever arrived.
    asked: AtomicBool,
    /// When the last response was sent, in milliseconds since the table was made.
    idle_since: AtomicU64,
    evicted: AtomicBool,
    evict: Notify,
}

/// Every open connection by age (ids grow with each accept), and the cap on them.
struct Table {
    cap: usize,
    epoch: Instant,
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    /// Woken when a connection closes.
    closed: Notify,
    /// Evictions and refusals since the last warning.
    warn: Mutex<(Warn, Warn)>,
}

impl Table {
    fn new(cap: usize) -> Table {
        Table {
            cap,
            epoch: Instant::now(),
            next: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
            closed: Notify::new(),
            warn: Mutex::new((Warn::default(), Warn::default())),
        }
    }

    /// Open connections, those evicted but still closing included.
    fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection, evicting another at the cap; `None` when every open
    /// connection is answering a request, so the new one is refused.
    fn admit(self: &Arc<Table>) -> Option<Arc<Conn>> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mut evicted = false;
        if open.len() >= self.cap {
            match victim(&open) {
                Some(v) => {
                    v.evicted.store(true, Ordering::Relaxed);
                    v.evict.notify_one();
                    evicted = true;
                }
                None => {
                    drop(open);
                    self.note(false);
                    return None;
                }
            }
        }
        let conn = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            busy: AtomicU32::new(0),
            asked: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.millis()),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        open.insert(conn.id, conn.clone());
        drop(open);
        if evicted {
            self.note(true);
        }
        Some(conn)
    }

    /// Counts an eviction (or a refusal) and warns at most every [`WARN_EVERY`].
    fn note(&self, evicted: bool) {
        let mut w = self.warn.lock().unwrap_or_else(|p| p.into_inner());
        let (evictions, refusals) = &mut *w;
        let due = if evicted {
            evictions.due()
        } else {
            refusals.due()
        };
        if due {
            tracing::warn!(
                max_connections = self.cap,
                evicted = evictions.take(),
                refused = refusals.take(),
                "too many open web connections: the oldest that sent no request are closed for new ones"
            );
        }
    }
}

/// The connection to close for a new one: the oldest that never sent a complete request, else
/// the one idle the longest; never one answering a request.
fn victim(open: &BTreeMap<u64, Arc<Conn>>) -> Option<&Arc<Conn>> {
    let idle = || {
        open.values()
            .filter(|c| !c.evicted.load(Ordering::Relaxed) && c.busy.load(Ordering::Acquire) == 0)
    };
    idle()
        .find(|c| !c.asked.load(Ordering::Acquire))
        .or_else(|| idle().min_by_key(|c| c.idle_since.load(Ordering::Relaxed)))
}

/// Removes its connection from the table when the connection's task ends.
struct Open(Arc<Table>, u64);

impl Drop for Open {
    fn drop(&mut self) {
        let mut open = self.0.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.1);
        drop(open);
        self.0.closed.notify_one();
    }
}

/// Marks a connection busy from a request's head until its response body is sent (or dropped).
struct Busy(Arc<Table>, Arc<Conn>);

impl Busy {
    fn begin(table: Arc<Table>, conn: Arc<Conn>) -> Busy {
        conn.asked.store(true, Ordering::Release);
        conn.busy.fetch_add(1, Ordering::AcqRel);
        Busy(table, conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.1.idle_since.store(self.0.millis(), Ordering::Relaxed);
        self.1.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection busy until it is sent.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A rate limit for one kind of warning, counting what happened in between.
#[derive(Default)]
struct Warn {
    last: Option<Instant>,
    count: u64,
}

impl Warn {
    /// Counts one occurrence; true when a warning is due.
    fn due(&mut self) -> bool {
        self.count += 1;
        let now = Instant::now();
        let due = self
            .last
            .is_none_or(|at| now.duration_since(at) >= WARN_EVERY);
        if due {
            self.last = Some(now);
        }
        due
    }

    /// The occurrences since the last warning, resetting the count.
    fn take(&mut self) -> u64 {
        std::mem::take(&mut self.count)
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
