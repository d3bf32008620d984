//! One SMTP session at a time for subscriber mail, on lettre's client: our own TCP connection
//! with `TCP_NODELAY` (lettre writes the end of a message in a write of its own, which Nagle's
//! algorithm and the server's delayed ACK would hold back 40 ms per mail), TLS or STARTTLS as
//! `[smtp]` says with the platform's certificate verifier, and AUTH when credentials are set.
//! Opened at the first mail, reused for the next, closed by [`Post::close`] or dropped after an
//! error (lettre aborts a session on any refusal).
//!
//! Says whether a refusal was about one address or about every mail; never decides what to do
//! about it, and never quotes a credential.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::mail::{self, Letter};
use crate::config::{Smtp, SmtpSecurity};

/// Connecting, TLS and the greeting must finish within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One mail, from MAIL FROM to the server's answer to its end, must finish within this.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The server refused this address (no such mailbox, mailbox full, bad name): another
    /// address would go through, this one will not.
    #[error("the server refused the address: {0}")]
    Address(String),
    /// The server refused the mail or could not be reached.
    #[error("{0}")]
    Server(String),
}

/// The mail server, its sender and the session open with it, if any.
pub struct Post {
    smtp: Smtp,
    from: Mailbox,
    session: Option<AsyncSmtpConnection>,
}

impl Post {
    pub fn new(smtp: &Smtp) -> Post {
        Post {
            smtp: smtp.clone(),
            from: smtp.from.clone(),
            session: None,
        }
    }

    /// Sends `letter` to `to`, its Message-ID made from `key`, in the open session or a new one.
    pub async fn send(&mut self, letter: &Letter, to: &str, key: &str) -> Result<(), Refusal> {
        let to = super::address(to).map_err(|e| Refusal::Address(e.into()))?;
        let message = mail::message(letter, &self.from, to, key)
            .map_err(|e| Refusal::Server(format!("the mail cannot be built: {e}")))?;
        let mut session = match self.session.take() {
            Some(s) if !s.has_broken() => s,
            _ => tokio::time::timeout(CONNECT_TIMEOUT, open(&self.smtp))
                .await
                .map_err(|_| Refusal::Server("no answer from the mail server in time".into()))?
                .map_err(|e| Refusal::Server(format!("cannot open a session: {e}")))?,
        };
        let bytes = message.formatted();
        let sent = tokio::time::timeout(SEND_TIMEOUT, session.send(message.envelope(), &bytes))
            .await
            .map_err(|_| Refusal::Server("the mail server stopped answering".into()))?;
        match sent {
            Ok(_) => {
                self.session = Some(session);
                Ok(())
            }
            Err(e) => {
                // 550-553 name this recipient; others (auth, policy, syntax) every mail.
                let code = e.status().map(|c| c.to_string());
                let one = ["550", "551", "552", "553"];
                Err(match code.as_deref() {
                    Some(c) if one.contains(&c) => Refusal::Address(e.to_string()),
                    _ => Refusal::Server(e.to_string()),
                })
            }
        }
    }

    /// Ends the open session, if any, with QUIT.
    pub async fn close(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(CONNECT_TIMEOUT, s.quit()).await;
        }
    }
}

/// A new session: connected, greeted, encrypted as configured, authenticated.
async fn open(smtp: &Smtp) -> Result<AsyncSmtpConnection, String> {
    let tcp = TcpStream::connect((smtp.host.as_str(), smtp.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", smtp.host, smtp.port))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let hello = ClientId::default();
    let stream: Box<dyn AsyncTokioStream> = match smtp.security {
        SmtpSecurity::Tls => Box::new(Tls(tls(smtp, tcp).await?)),
        SmtpSecurity::StartTls | SmtpSecurity::Plain => Box::new(tcp),
    };
    let mut session = AsyncSmtpConnection::connect_with_transport(stream, &hello)
        .await
        .map_err(|e| e.to_string())?;
    if smtp.security == SmtpSecurity::StartTls {
        let parameters = crate::notify::send::smtp_tls(smtp).map_err(|e| e.to_string())?;
        session
            .starttls(parameters, &hello)
            .await
            .map_err(|e| e.to_string())?;
    }
    if let Some((user, password)) = &smtp.credentials {
        let credentials = Credentials::new(user.clone(), password.expose().to_string());
        session
            .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(session)
}

/// TLS from the first byte (`smtps://`), on rustls with ring and the platform's verifier,
/// trusting `ca_file`'s authorities too.
async fn tls(
    smtp: &Smtp,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let host = smtp.host.as_str();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        smtp.extra_roots.iter().cloned(),
        provider.clone(),
    )
    .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host:?} is not a TLS server name: {e}"))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))
}

/// A TLS stream as lettre's client takes one.
#[derive(Debug)]
struct Tls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
