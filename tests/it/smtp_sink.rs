//! A small SMTP server on loopback that accepts every mail (but for recipients whose address
//! starts with `reject`, refused with 550) and records it whole, headers included; no AUTH. In
//! plain text, or with TLS from the first byte or after STARTTLS, with a certificate for
//! `localhost` from a test authority ([`TestCa`]). Tests read the mails back decoded: headers
//! unfolded, multipart parts split, quoted-printable and base64 bodies decoded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A running sink; it stops when the test's runtime does.
#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    connections: Arc<Mutex<usize>>,
    /// How long each mail takes to be accepted, as a busy server's would.
    delay: Duration,
    security: Security,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// How a sink's sessions are protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// Plain until the client's STARTTLS, which the sink offers and requires before MAIL.
    StartTls,
}

/// A test certificate authority and a server certificate for `localhost` it signed.
pub struct TestCa {
    /// The authority's certificate as PEM, for `[smtp] ca_file`.
    pub pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "watchpost test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key_der)
            .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(ca_cert.der());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        TestCa {
            pem,
            config: Arc::new(config),
        }
    }
}

/// One mail as received.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message: headers, a blank line, the body, dot-unstuffed.
    pub data: String,
    /// Whether it came over TLS.
    pub secure: bool,
}

impl Sink {
    pub async fn start() -> Sink {
        Sink::slow(Duration::ZERO).await
    }

    /// A sink that takes `delay` to accept each mail.
    pub async fn slow(delay: Duration) -> Sink {
        Sink::listen(delay, Security::Plain, None).await
    }

    /// A sink speaking TLS as `security` says, with `ca`'s certificate for `localhost`.
    pub async fn tls(security: Security, ca: &TestCa) -> Sink {
        let acceptor = tokio_rustls::TlsAcceptor::from(ca.config.clone());
        Sink::listen(Duration::ZERO, security, Some(acceptor)).await
    }

    async fn listen(
        delay: Duration,
        security: Security,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Sink {
            addr: listener.local_addr().unwrap(),
            mails: Arc::default(),
            connections: Arc::default(),
            delay,
            security,
            tls,
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *serving.connections.lock().unwrap() += 1;
                tokio::spawn(serving.clone().serve(stream));
            }
        });
        sink
    }

    /// One connection: in plain text, in TLS, or upgraded by STARTTLS.
    async fn serve(self, stream: tokio::net::TcpStream) {
        match (self.security, self.tls.clone()) {
            (Security::Implicit, Some(tls)) => {
                if let Ok(s) = tls.accept(stream).await {
                    self.session(s, true, true).await;
                }
            }
            (Security::StartTls, Some(tls)) => {
                if let Some(plain) = self.clone().session(stream, true, false).await
                    && let Ok(s) = tls.accept(plain).await
                {
                    self.session(s, false, true).await;
                }
            }
            _ => drop(self.session(stream, true, false).await),
        }
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Mails received for `address`.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// How many connections were opened.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }

    /// Waits until `done` holds for the mails received, at most `limit`.
    pub async fn wait(&self, limit: Duration, done: impl Fn(&[Mail]) -> bool) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mails = self.mails();
            if done(&mails) {
                return mails;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the expected mail did not arrive within {limit:?}; got {} mails: {:#?}",
                mails.len(),
                mails
                    .iter()
                    .map(|m| (&m.to, m.header("Subject")))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Speaks SMTP on `stream` until QUIT or EOF; answers the stream back when the client asked
    /// for STARTTLS, to go on in TLS.
    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        greet: bool,
        secure: bool,
    ) -> Option<S> {
        let (read, mut write) = tokio::io::split(stream);
        let mut lines = BufReader::new(read);
        if greet && !say(&mut write, "220 sink ESMTP\r\n").await {
            return None;
        }
        let offer = self.security == Security::StartTls && !secure;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return None;
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            let reply = if upper.starts_with("EHLO") {
                let starttls = if offer { "250-STARTTLS\r\n" } else { "" };
                format!("250-sink\r\n{starttls}250-8BITMIME\r\n250 SMTPUTF8\r\n")
            } else if upper == "STARTTLS" && offer {
                if !say(&mut write, "220 ready to start TLS\r\n").await {
                    return None;
                }
                return Some(lines.into_inner().unsplit(write));
            } else if upper.starts_with("MAIL FROM:") && offer {
                "530 5.7.0 must issue a STARTTLS command first\r\n".into()
            } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
                "250 OK\r\n".into()
            } else if upper.starts_with("MAIL FROM:") {
                from = angle(&command);
                to.clear();
                "250 OK\r\n".into()
            } else if upper.starts_with("RCPT TO:") {
                let rcpt = angle(&command);
                if rcpt.starts_with("reject") {
                    "550 5.1.1 no such user\r\n".into()
                } else {
                    to.push(rcpt);
                    "250 OK\r\n".into()
                }
            } else if upper.starts_with("RSET") {
                to.clear();
                "250 OK\r\n".into()
            } else if upper == "DATA" {
                if !say(&mut write, "354 go ahead\r\n").await {
                    return None;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return None;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                if !self.delay.is_zero() {
                    // Even a zero sleep waits for the timer's next millisecond tick.
                    tokio::time::sleep(self.delay).await;
                }
                self.mails.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                    secure,
                });
                "250 queued\r\n".into()
            } else if upper == "QUIT" {
                let _ = say(&mut write, "221 bye\r\n").await;
                return None;
            } else {
                "500 what?\r\n".into()
            };
            if !say(&mut write, &reply).await {
                return None;
            }
        }
    }
}

async fn say(w: &mut (impl AsyncWrite + Unpin), s: &str) -> bool {
    w.write_all(s.as_bytes()).await.is_ok()
}

/// The address between `<` and `>`.
fn angle(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command[start..end].to_string()
}

/// Headers unfolded, as (name, value).
fn headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A body decoded as its Content-Transfer-Encoding says.
fn decode(headers: &[(String, String)], body: &str) -> String {
    match find(headers, "Content-Transfer-Encoding").map(str::to_ascii_lowercase) {
        Some(e) if e == "base64" => {
            let compact: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        }
        Some(e) if e == "quoted-printable" => {
            let joined = body.replace("=\r\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        }
        _ => body.to_string(),
    }
}

impl Mail {
    fn split(&self) -> (Vec<(String, String)>, &str) {
        let (head, body) = self.data.split_once("\r\n\r\n").unwrap_or((&self.data, ""));
        (headers(head), body)
    }

    /// A top-level header, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        find(&self.split().0, name).map(String::from)
    }

    /// The parts as (Content-Type, decoded body); a single part when the mail is not multipart.
    pub fn parts(&self) -> Vec<(String, String)> {
        let (head, body) = self.split();
        let kind = find(&head, "Content-Type")
            .unwrap_or("text/plain")
            .to_string();
        let Some(boundary) = kind.split("boundary=").nth(1) else {
            return vec![(kind, decode(&head, body))];
        };
        let boundary = format!("--{}", boundary.trim_matches('"'));
        body.split(&boundary)
            .skip(1)
            .filter(|p| !p.starts_with("--"))
            .map(|part| {
                let part = part.trim_start_matches("\r\n");
                let (h, b) = part.split_once("\r\n\r\n").unwrap_or((part, ""));
                let h = headers(h);
                let kind = find(&h, "Content-Type").unwrap_or("text/plain").to_string();
                (kind, decode(&h, b.trim_end_matches("\r\n")))
            })
            .collect()
    }

    /// The decoded part whose type starts with `kind`.
    pub fn part(&self, kind: &str) -> String {
        self.parts()
            .into_iter()
            .find(|(k, _)| k.starts_with(kind))
            .map(|(_, b)| b)
            .unwrap_or_else(|| panic!("no {kind} part in:\n{}", self.data))
    }

    /// The path and query of the first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.part("text/plain");
        let at = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in:\n{text}"));
        let url: String = text[at..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        url::Url::parse(&url)
            .map(|u| format!("{}?{}", u.path(), u.query().unwrap_or("")))
            .unwrap()
    }
}
