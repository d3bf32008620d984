//! Rejected certificates are explained in words a person can act on, against real TLS servers
//! on loopback. Certificates that only a trusted root can make fail for another reason than the
//! issuer (expired, wrong name, not yet valid) are checked with `watchpost probe` in a child
//! process that trusts a test CA through `SSL_CERT_FILE`, as the system verifier allows.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchpost::probe::{self, HttpSpec, Limits, ProbeSpec, Reason};

/// A TLS server on loopback presenting `chain`; it answers a request with one HTTP 200.
struct Server {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Server {
    let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
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
                let _ = tls.read(&mut buf).await;
                let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = tls.write_all(reply).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Server { port, task }
}

fn params(names: &[&str], from: (i32, u8, u8), until: (i32, u8, u8)) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    params.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    params
}

/// A test CA: its issuer and its certificate.
fn ca() -> (Issuer<'static, KeyPair>, CertificateDer<'static>) {
    let mut params = params(&[], (2020, 1, 1), (2099, 1, 1));
    params
        .distinguished_name
        .push(DnType::CommonName, "watchpost test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().clone();
    (Issuer::new(params, key), der)
}

/// A server whose certificate for `names`, valid `from` `until`, is signed by `ca`.
async fn signed_server(
    ca: &(Issuer<'static, KeyPair>, CertificateDer<'static>),
    names: &[&str],
    from: (i32, u8, u8),
    until: (i32, u8, u8),
) -> Server {
    let key = KeyPair::generate().unwrap();
    let leaf = params(names, from, until).signed_by(&key, &ca.0).unwrap();
    serve(vec![leaf.der().clone(), ca.1.clone()], &key).await
}

async fn probe_https(port: u16) -> probe::Failure {
    let url = url::Url::parse(&format!("https://localhost:{port}/")).unwrap();
    let limits = Limits {
        timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let o = probe::run(&ProbeSpec::Http(Box::new(HttpSpec::get(url))), &limits).await;
    let f = o.failure.expect("the certificate is rejected");
    assert_eq!(f.reason, Reason::Tls, "{}", f.message);
    f
}

#[tokio::test]
async fn self_signed_certificates_say_so_with_or_without_the_ca_flag() {
    for ca_flag in [false, true] {
        let key = KeyPair::generate().unwrap();
        let mut p = params(&["localhost"], (2020, 1, 1), (2099, 1, 1));
        if ca_flag {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        let der = p.self_signed(&key).unwrap().der().clone();
        let server = serve(vec![der], &key).await;
        let f = probe_https(server.port).await;
        assert!(
            f.message.starts_with(
                "self-signed certificate for localhost: not signed by a trusted authority"
            ),
            "CA flag {ca_flag}: {}",
            f.message
        );
        assert!(!f.message.contains("Other("), "{}", f.message);
    }
}

#[tokio::test]
async fn an_unknown_issuer_is_named() {
    let ca = ca();
    let server = signed_server(&ca, &["localhost"], (2020, 1, 1), (2099, 1, 1)).await;
    let f = probe_https(server.port).await;
    assert!(
        f.message
            .starts_with("unknown issuer \"CN=watchpost test CA\": the certificate for localhost"),
        "{}",
        f.message
    );
}

fn pem(der: &CertificateDer<'_>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// `watchpost probe https://localhost:PORT/` trusting only `ca_pem`: its stdout and stderr.
async fn probe_trusting(ca_pem: &std::path::Path, port: u16) -> (String, String) {
    let ca_pem = ca_pem.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_watchpost"))
            .args([
                "probe",
                "--timeout",
                "5s",
                &format!("https://localhost:{port}/"),
            ])
            .env("SSL_CERT_FILE", &ca_pem)
            .env_remove("SSL_CERT_DIR")
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_certificates_that_fail_say_why_and_log_once_below_error() {
    let ca = ca();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, pem(&ca.1)).unwrap();

    let good = signed_server(&ca, &["localhost"], (2020, 1, 1), (2099, 1, 1)).await;
    let (out, _) = probe_trusting(&ca_pem, good.port).await;
    assert!(
        out.contains("result     up"),
        "the test CA is trusted: {out}"
    );

    let wrong = signed_server(&ca, &["a.example", "b.example"], (2020, 1, 1), (2099, 1, 1)).await;
    let (out, err) = probe_trusting(&ca_pem, wrong.port).await;
    assert!(
        out.contains("name mismatch: certificate is for a.example, b.example, not localhost (tls)"),
        "{out}"
    );
    assert!(
        err.contains("TLS certificate rejected") && !err.contains("ERROR"),
        "logged once, below ERROR: {err}"
    );

    let expired = signed_server(&ca, &["localhost"], (2020, 1, 1), (2021, 3, 4)).await;
    let (out, _) = probe_trusting(&ca_pem, expired.port).await;
    assert!(out.contains("expired on 2021-03-04 ("), "{out}");
    assert!(
        out.contains(" days ago): the certificate for localhost"),
        "{out}"
    );

    let early = signed_server(&ca, &["localhost"], (2098, 1, 1), (2099, 1, 1)).await;
    let (out, _) = probe_trusting(&ca_pem, early.port).await;
    assert!(
        out.contains("not yet valid: the certificate for localhost is valid from 2098-01-01"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_page_shows_the_certificate_and_its_issuer_only_when_details_are_public() {
    use chrono::Datelike;
    let ca = ca();
    let until = chrono::Utc::now() + chrono::Duration::days(45);
    let until = (until.year(), until.month() as u8, until.day() as u8);
    let server = signed_server(&ca, &["localhost"], (2020, 1, 1), until).await;
    let dir = tempfile::tempdir().unwrap();
    let mut toml = r#"
[server]
listen = "127.0.0.1:0"
[storage]
path = "{db}"
[defaults]
interval = "1s"
timeout = "900ms"
"#
    .to_string();
    for (id, details) in [("shop", "full"), ("intranet", "redacted")] {
        toml.push_str(&format!(
            "[[check]]\nid = \"{id}\"\nname = \"{id}\"\ntype = \"http\"\nurl = \"https://localhost:{}/\"\ntls_insecure = true\npublic_details = \"{details}\"\n",
            server.port
        ));
    }
    let d = crate::daemon::start(dir.path(), &toml).await;
    let page = d
        .wait_page("/checks/shop", Duration::from_secs(10), |b| {
            b.contains("Certificate")
        })
        .await
        .body;
    // Midnight UTC 45 days ahead is 44 whole days and some hours away.
    let expected = "<p class=\"small cert\">Certificate expires in 44 days (<time datetime=\"";
    assert!(page.contains(expected), "{page}");
    assert!(
        page.contains(" · TLS 1.3 · issued by watchpost test CA</p>"),
        "{page}"
    );
    let redacted = d
        .wait_page("/checks/intranet", Duration::from_secs(10), |b| {
            b.contains("Certificate")
        })
        .await
        .body;
    assert!(redacted.contains(expected), "{redacted}");
    assert!(redacted.contains(" · TLS 1.3</p>"), "{redacted}");
    assert!(!redacted.contains("issued by"), "{redacted}");
    d.stop().await;
}
