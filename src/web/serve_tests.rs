//! The cap's arithmetic and the choice of the connection to close.

use super::*;

#[test]
fn the_cap_leaves_a_reserve_for_probes_and_at_least_a_quarter_for_the_web() {
    let l = Limits::compute(65_536, 20, 3);
    assert_eq!(l.connections, 65_536 - 20 - 64 - 6);
    assert_eq!(l.header_read_timeout, HEADER_READ_TIMEOUT);
    let l = Limits::compute(256, 15, 3);
    assert_eq!(l.connections, 256 - 15 - 64 - 6);
    // A thousand checks under systemd's old default of 1,024: a quarter still serves the page.
    assert_eq!(Limits::compute(1024, 20, 1000).connections, 256);
}

fn table_with(states: &[(bool, u32, u64)]) -> Arc<Table> {
    let table = Arc::new(Table::new(states.len()));
    for &(asked, busy, idle_since) in states {
        let conn = table.admit().expect("below the cap");
        conn.asked.store(asked, Ordering::Relaxed);
        conn.busy.store(busy, Ordering::Relaxed);
        conn.idle_since.store(idle_since, Ordering::Relaxed);
    }
    table
}

fn victim_id(table: &Table) -> Option<u64> {
    let open = table.open.lock().unwrap();
    victim(&open).map(|c| c.id)
}

#[test]
fn the_oldest_connection_without_a_request_goes_first() {
    // (asked, busy, idle since): 0 answered and idle, 1 busy, 2 and 3 never asked.
    let table = table_with(&[(true, 0, 5), (true, 1, 0), (false, 0, 9), (false, 0, 1)]);
    assert_eq!(victim_id(&table), Some(2));
    let next = table.admit().expect("one is evicted");
    assert_eq!(next.id, 4);
    assert!(
        table.open.lock().unwrap()[&2]
            .evicted
            .load(Ordering::Relaxed)
    );
    // Next: the other that never asked, then the idle one; never the busy one.
    assert_eq!(victim_id(&table), Some(3));
    table.open.lock().unwrap()[&3]
        .evicted
        .store(true, Ordering::Relaxed);
    next.asked.store(true, Ordering::Relaxed);
    next.idle_since.store(7, Ordering::Relaxed);
    assert_eq!(victim_id(&table), Some(0), "idle the longest");
}

#[test]
fn when_every_connection_is_answering_the_new_one_is_refused() {
    let table = table_with(&[(true, 1, 0), (true, 2, 0)]);
    assert!(table.admit().is_none());
    assert_eq!(table.open.lock().unwrap().len(), 2);
}

/// A server for `router` on loopback with `limits`, and its shutdown token.
async fn server(
    router: Router,
    limits: Limits,
) -> (
    SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let task = tokio::spawn(serve(listener, router, limits, token.clone()));
    (addr, token, task)
}

fn small(connections: usize) -> Limits {
    Limits {
        descriptors: 1024,
        connections,
        header_read_timeout: Duration::from_millis(200),
    }
}

async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).to_string()
}

const GET: &str = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn handlers_see_the_peer_address_and_in_flight_requests_finish_at_shutdown() {
    use axum::routing::get;
    let router = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            peer.to_string()
        }),
    );
    let (addr, token, task) = server(router, small(8)).await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let me = client.local_addr().unwrap().to_string();
    let pending = tokio::spawn(async move { exchange(&mut client, GET).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    token.cancel();
    let reply = pending.await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with(&me), "{reply}");
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("drained")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_request_head_that_does_not_arrive_in_time_closes_the_connection() {
    let (addr, _token, _task) = server(Router::new(), small(8)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let reply = exchange(&mut slow, "GET / HTTP/1.1\r\nHost").await;
    assert!(started.elapsed() < Duration::from_secs(2), "{reply}");
}

#[tokio::test]
async fn at_the_cap_a_silent_connection_makes_way_for_a_request() {
    use axum::routing::get;
    let router = Router::new().route("/", get(|| async { "here" }));
    let (addr, _token, _task) = server(router, small(2)).await;
    let mut silent = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        use tokio::io::AsyncWriteExt;
        s.write_all(b"G").await.unwrap();
        silent.push(s);
    }
    // The listen queue is first in, first out: the silent two are accepted first.
    let mut visitor = TcpStream::connect(addr).await.unwrap();
    let reply = exchange(&mut visitor, GET).await;
    assert!(reply.ends_with("here"), "{reply}");
    let mut oldest = silent.remove(0);
    let closed = exchange(&mut oldest, "ET").await;
    assert_eq!(closed, "", "the oldest silent connection was closed");
}
