//! Probe depth against real loopback servers: TLS (self-signed, insecure, expiry, TCP over TLS),
//! redirects (followed, loops, too many), body and JSON conditions, request bodies and auth.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchpost::probe::{
    self, BodyConditions, HttpSpec, IpFamily, JsonCondition, JsonPath, Limits, ProbeSpec, Reason,
    Status, TcpSpec,
};

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(5),
        ..Limits::default()
    }
}

/// A TLS server on loopback with a fresh self-signed certificate for `localhost` valid for
/// `days`; it answers every connection with one HTTP 200 (or a banner for raw TCP clients).
pub(crate) struct TlsServer {
    pub(crate) port: u16,
    pub(crate) not_after_secs: i64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn tls_server(days: i64) -> TlsServer {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let not_after_secs = now + days * 86_400;
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after =
        rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after_secs as u64);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                let reply: &[u8] = if buf[..n].starts_with(b"GET") {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                } else {
                    b"220 hello over tls\r\n"
                };
                let _ = tls.write_all(reply).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsServer {
        port,
        not_after_secs,
        task,
    }
}

fn https(port: u16, insecure: bool) -> HttpSpec {
    let mut spec = HttpSpec::get(url::Url::parse(&format!("https://localhost:{port}/")).unwrap());
    spec.tls_insecure = insecure;
    spec
}

#[tokio::test]
async fn self_signed_certificate_is_a_clear_tls_failure() {
    let server = tls_server(30).await;
    let o = probe::run(
        &ProbeSpec::Http(Box::new(https(server.port, false))),
        &limits(),
    )
    .await;
    assert_eq!(o.status, Status::Down);
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Tls);
    assert!(
        f.message.contains("not signed by a trusted authority"),
        "{}",
        f.message
    );
    assert!(f.message.contains("tls_insecure"), "{}", f.message);
}

#[tokio::test]
async fn insecure_tls_reports_version_and_chain_expiry() {
    let server = tls_server(30).await;
    let o = probe::run(
        &ProbeSpec::Http(Box::new(https(server.port, true))),
        &limits(),
    )
    .await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);
    assert_eq!(o.code, Some(200));
    let tls = o.tls.expect("TLS info");
    assert_eq!(tls.version, "TLS 1.3");
    assert_eq!(
        tls.earliest_expiry.map(|t| t.0 / 1000),
        Some(server.not_after_secs)
    );
    // Nothing was verified, so there is no verified chain to report.
    assert_eq!(tls.verified_expiry, None);
    assert!(o.phases.tls.is_some() && o.phases.resolve.is_some());
    assert!(o.facts.http.is_some_and(|h| h.tls && h.redirects == 0));
}

#[tokio::test]
async fn certificate_expiring_within_the_warning_is_degraded() {
    let server = tls_server(5).await;
    let limits = Limits {
        cert_expiry_warning: Some(Duration::from_secs(14 * 86_400)),
        ..limits()
    };
    let o = probe::run(
        &ProbeSpec::Http(Box::new(https(server.port, true))),
        &limits,
    )
    .await;
    assert_eq!(o.status, Status::Degraded);
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::CertExpiry);
    assert!(
        f.message.contains("expires in 4 days") || f.message.contains("expires in 5 days"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn tcp_over_tls_reads_the_banner() {
    let server = tls_server(30).await;
    let mut spec = TcpSpec::connect("localhost", server.port);
    spec.tls = true;
    spec.tls_insecure = true;
    spec.send = Some("HELO\r\n".into());
    spec.expect_regex = Some(regex::Regex::new(r"^220 \w+").unwrap());
    let o = probe::run(&ProbeSpec::Tcp(spec.clone()), &limits()).await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);
    assert!(o.tls.is_some());
    spec.expect_regex = Some(regex::Regex::new("^250").unwrap());
    let o = probe::run(&ProbeSpec::Tcp(spec), &limits()).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Answer);
    assert!(f.message.contains("does not match /^250/"), "{}", f.message);
}

#[tokio::test]
async fn a_phase_that_did_not_happen_is_not_timed() {
    // A refused connection times no connect phase, and a failed lookup no phase after it.
    let port = crate::daemon::refused_port();
    let o = probe::run(
        &ProbeSpec::Tcp(TcpSpec::connect("127.0.0.1", port)),
        &limits(),
    )
    .await;
    assert_eq!(o.failure.map(|f| f.reason), Some(Reason::Refused));
    assert_eq!(o.phases.connect, None, "{:?}", o.phases);
    // An address of the wrong family fails at the lookup, without asking any resolver.
    let mut v4_only = TcpSpec::connect("::1", port);
    v4_only.ip = IpFamily::V4;
    let o = probe::run(&ProbeSpec::Tcp(v4_only), &limits()).await;
    assert_eq!(o.failure.map(|f| f.reason), Some(Reason::Dns));
    assert_eq!(
        (o.phases.connect, o.phases.tls, o.phases.processing),
        (None, None, None),
        "{:?}",
        o.phases
    );
}

/// An HTTP server for redirects, JSON, echo and auth.
async fn app_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route("/redirect", get(|| async { Redirect::temporary("/ok") }))
        .route("/loop-a", get(|| async { Redirect::temporary("/loop-b") }))
        .route("/loop-b", get(|| async { Redirect::temporary("/loop-a") }))
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    Redirect::temporary("/ok").into_response()
                } else {
                    Redirect::temporary(&format!("/hop/{}", n - 1)).into_response()
                }
            }),
        )
        .route(
            "/json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"ok","db":{"lag":[3,0]}}"#,
                )
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/private",
            get(|h: HeaderMap| async move {
                match h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                    Some("Bearer s3cret") => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

fn http(addr: std::net::SocketAddr, path: &str) -> HttpSpec {
    HttpSpec::get(url::Url::parse(&format!("http://{addr}{path}")).unwrap())
}

async fn run(spec: HttpSpec) -> probe::Outcome {
    probe::run(&ProbeSpec::Http(Box::new(spec)), &limits()).await
}

#[tokio::test]
async fn redirects_are_followed_and_loops_and_long_chains_fail_clearly() {
    let (addr, _server) = app_server().await;
    let o = run(http(addr, "/redirect")).await;
    assert_eq!((o.status, o.code), (Status::Up, Some(200)));

    let mut no_follow = http(addr, "/redirect");
    no_follow.follow_redirects = false;
    no_follow.expect_status = vec![probe::StatusRange { lo: 200, hi: 299 }];
    let o = run(no_follow).await;
    assert_eq!(o.code, Some(307));
    assert_eq!(o.failure.unwrap().reason, Reason::HttpStatus);

    let o = run(http(addr, "/loop-a")).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Redirect);
    assert!(f.message.starts_with("redirect loop: "), "{}", f.message);
    assert!(f.message.contains("/loop-b → "), "{}", f.message);

    let o = run(http(addr, "/hop/9")).await;
    assert_eq!(
        o.status,
        Status::Up,
        "ten redirects are allowed: {:?}",
        o.failure
    );
    let o = run(http(addr, "/hop/10")).await;
    let f = o.failure.unwrap();
    assert_eq!(f.reason, Reason::Redirect);
    assert!(
        f.message.starts_with("more than 10 redirects"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn json_and_body_conditions_name_what_they_saw() {
    let (addr, _server) = app_server().await;
    let json = |path: &str, equals: serde_json::Value| BodyConditions {
        json: Some(JsonCondition {
            path: JsonPath::parse(path).unwrap(),
            equals: Some(equals),
        }),
        ..BodyConditions::default()
    };
    let mut spec = http(addr, "/json");
    spec.conditions = json("$.db.lag[1]", serde_json::json!(0));
    assert_eq!(run(spec.clone()).await.status, Status::Up);
    spec.conditions = json("status", serde_json::json!("degraded"));
    let f = run(spec.clone()).await.failure.unwrap();
    assert_eq!(f.reason, Reason::Json);
    assert_eq!(
        f.message,
        r#"json_path status is "ok", expected "degraded""#
    );
    spec.conditions = BodyConditions {
        not_contains: Some("\"ok\"".into()),
        ..BodyConditions::default()
    };
    let f = run(spec).await.failure.unwrap();
    assert_eq!(f.reason, Reason::Body);
    assert!(f.message.contains("which it must not"), "{}", f.message);

    let mut not_json = http(addr, "/ok");
    not_json.conditions = json("status", serde_json::json!("ok"));
    let f = run(not_json).await.failure.unwrap();
    assert_eq!(f.reason, Reason::Json);
    assert!(f.message.starts_with("body is not JSON"), "{}", f.message);
}

#[tokio::test]
async fn request_body_and_bearer_token_are_sent() {
    let (addr, _server) = app_server().await;
    let mut echo = http(addr, "/echo");
    echo.method = http::Method::POST;
    echo.body = Some("ping 42".into());
    echo.conditions.contains = Some("ping 42".into());
    let o = run(echo).await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);

    let mut private = http(addr, "/private");
    assert_eq!(run(private.clone()).await.code, Some(401));
    private.headers.push((
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static("Bearer s3cret"),
    ));
    assert_eq!(run(private).await.status, Status::Up);
}

#[tokio::test]
async fn address_family_is_enforced() {
    let (addr, _server) = app_server().await;
    let mut spec = http(addr, "/ok");
    spec.ip = IpFamily::V6;
    let f = run(spec).await.failure.unwrap();
    assert_eq!(f.reason, Reason::Dns);
    assert!(f.message.contains("required family"), "{}", f.message);
}

#[tokio::test]
async fn max_latency_makes_a_slow_success_down() {
    let (addr, _server) = app_server().await;
    let limits = Limits {
        max_latency: Some(Duration::from_nanos(1)),
        ..limits()
    };
    let o = probe::run(&ProbeSpec::Http(Box::new(http(addr, "/ok"))), &limits).await;
    assert_eq!(o.status, Status::Down);
    assert_eq!(o.failure.unwrap().reason, Reason::Slow);
}

#[tokio::test]
async fn http2_is_negotiated_by_alpn() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let body = format!("{:?}", req.version());
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from(body)),
                        ))
                    },
                );
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    let mut spec = https(port, true);
    spec.conditions.contains = Some("HTTP/2.0".into());
    let o = probe::run(&ProbeSpec::Http(Box::new(spec)), &limits()).await;
    assert_eq!(o.status, Status::Up, "{:?}", o.failure);
    assert_eq!(o.code, Some(200));
    let facts = o.facts.http.expect("the final response's facts");
    assert_eq!(facts.version, http::Version::HTTP_2);
    assert!(facts.tls);
    assert_eq!(facts.body_bytes, "HTTP/2.0".len() as u64);
    server.abort();
}
