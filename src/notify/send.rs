//! Sending what `format` made: HTTP POSTs through one shared client (reqwest on rustls with the
//! ring provider and the platform's verifier, no redirects, bounded time) and mail through
//! lettre's SMTP transport.
//!
//! Says whether a failure is worth retrying, never decides when: the worker does. Errors never
//! carry a URL or a credential: a webhook URL or a bot token in a path is a secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::format::{Mail, Outbound, Request};
use crate::config::{Notify, Smtp, SmtpSecurity, Target};
use crate::probe::fmt_duration;

/// A whole request (connect, TLS, upload, answer) must finish within this.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a refusing answer's body goes into the error.
const ERROR_BODY: usize = 200;

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The receiver answered, but not with 2xx.
    #[error("HTTP {status}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Status { status: u16, body: String },
    /// No answer: connection, TLS or timeout.
    #[error("{0}")]
    Transport(String),
    #[error("mail: {message}")]
    Mail { message: String, permanent: bool },
    /// The destination cannot be used as configured (an email destination without [smtp]).
    #[error("{0}")]
    Setup(String),
}

impl Error {
    /// Whether sending the same message again cannot succeed: the receiver refused it (4xx other
    /// than timeouts and rate limits, or a 5xx SMTP reply), or it cannot be sent at all. Retrying
    /// would only hold back what follows it.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Status { status, .. } => {
                (400..500).contains(status) && ![408, 425, 429].contains(status)
            }
            Error::Transport(_) => false,
            Error::Mail { permanent, .. } => *permanent,
            Error::Setup(_) => true,
        }
    }
}

/// Clients for every kind of destination, built once.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    mail: Option<Arc<Mailer>>,
}

struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Sender {
    /// The clients `notify` needs; an error says what could not be set up.
    pub fn new(notify: &Notify) -> Result<Sender, Error> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls()?)
            .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::Setup(format!("cannot set up the HTTP client: {e}")))?;
        let mail = notify.smtp.as_ref().map(mailer).transpose()?.map(Arc::new);
        Ok(Sender { http, mail })
    }

    /// Sends `out` for `target`; `id` is the message's idempotency key (the mail's Message-ID).
    /// Answers what the receiver said, for logs and `watchpost notify test`.
    pub async fn send(&self, target: &Target, id: &str, out: Outbound) -> Result<String, Error> {
        let started = Instant::now();
        let said = match (out, target) {
            (Outbound::Http(requests), _) => {
                let mut said = Vec::new();
                for r in requests {
                    said.push(self.post(r).await?);
                }
                said.join(", ")
            }
            (Outbound::Email(mail), Target::Email { to }) => self.mail(id, to, mail).await?,
            (Outbound::Email(_), _) => return Err(Error::Setup("not an email destination".into())),
        };
        Ok(format!("{said} in {}", fmt_duration(started.elapsed())))
    }

    async fn post(&self, r: Request) -> Result<String, Error> {
        let mut request = self.http.post(r.url).body(r.body);
        for (name, value) in r.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(format!("HTTP {status}"));
        }
        let body = response.text().await.unwrap_or_default();
        Err(Error::Status {
            status,
            body: crate::probe::excerpt(body.trim().as_bytes(), ERROR_BODY),
        })
    }

    async fn mail(&self, id: &str, to: &[Mailbox], mail: Mail) -> Result<String, Error> {
        let Some(mailer) = &self.mail else {
            return Err(Error::Setup("email needs an [smtp] section".into()));
        };
        let mut builder = lettre::Message::builder()
            .from(mailer.from.clone())
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .message_id(Some(message_id(id, &mailer.from)));
        for m in to {
            builder = builder.to(m.clone());
        }
        let message = builder.body(mail.text).map_err(|e| Error::Mail {
            message: e.to_string(),
            permanent: true,
        })?;
        let response = mailer
            .transport
            .send(message)
            .await
            .map_err(|e| Error::Mail {
                message: e.to_string(),
                permanent: e.is_permanent(),
            })?;
        Ok(format!("SMTP {}", response.code()))
    }
}

/// `<key@domain>`, the same on every retry, so mail clients can fold a duplicate.
pub(crate) fn message_id(key: &str, from: &Mailbox) -> String {
    let left: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{left}@{}>", from.email.domain())
}

/// A transport failure in words, without the URL.
fn transport(e: reqwest::Error) -> Error {
    let e = e.without_url();
    if e.is_timeout() {
        return Error::Transport(format!("no answer within {}", fmt_duration(HTTP_TIMEOUT)));
    }
    let mut causes = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    Error::Transport(match causes.last() {
        Some(cause) => format!("{what}: {cause}"),
        None => what.to_string(),
    })
}

/// rustls on ring with the platform's verifier, HTTP/1.1 only.
fn tls() -> Result<rustls::ClientConfig, Error> {
    let setup = |e: rustls::Error| Error::Setup(format!("cannot set up TLS: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(setup)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(setup)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// TLS with the mail server: the platform's verifier, trusting `ca_file`'s authorities too.
pub(crate) fn smtp_tls(smtp: &Smtp) -> Result<TlsParameters, lettre::transport::smtp::Error> {
    let mut builder = TlsParameters::builder(smtp.host.clone());
    for root in &smtp.extra_roots {
        builder = builder.add_root_certificate(Certificate::from_der(root.to_vec())?);
    }
    builder.build_rustls()
}

fn mailer(smtp: &Smtp) -> Result<Mailer, Error> {
    type Transport = AsyncSmtpTransport<Tokio1Executor>;
    let setup = |e: lettre::transport::smtp::Error| {
        Error::Setup(format!("cannot set up the mail transport: {e}"))
    };
    let tls = match smtp.security {
        SmtpSecurity::Tls => Tls::Wrapper(smtp_tls(smtp).map_err(setup)?),
        SmtpSecurity::StartTls => Tls::Required(smtp_tls(smtp).map_err(setup)?),
        SmtpSecurity::Plain => Tls::None,
    };
    let mut builder = Transport::builder_dangerous(&smtp.host)
        .tls(tls)
        .port(smtp.port)
        .timeout(Some(HTTP_TIMEOUT));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    Ok(Mailer {
        transport: builder.build(),
        from: smtp.from.clone(),
    })
}
