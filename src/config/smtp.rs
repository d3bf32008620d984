//! `[smtp]`: the mail server email destinations are sent through, validated into [`Smtp`].
//!
//! Owns the `smtp://` and `smtps://` URL forms and what each means for TLS. It never quotes the
//! expanded URL (it may hold the password) and never connects.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_spanned::Spanned;
use url::Url;

use super::diag::Problems;
use super::env::Secret;
use super::env::{Env, expand};
use super::raw;

/// `[smtp]`: the mail server and the sender.
#[derive(Clone, Debug, PartialEq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User and password from the URL, percent-decoded.
    pub credentials: Option<(String, Secret)>,
    pub from: lettre::message::Mailbox,
    /// `ca_file`: authorities trusted besides the system's, for a relay with a private CA.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Tls,
    /// `smtp://`: STARTTLS required (port 587 by default).
    StartTls,
    /// `smtp://` to a loopback address: a local relay, spoken to in plain text (unless the
    /// URL ends in `?tls=required`).
    Plain,
}

pub(super) fn smtp(
    s: &Spanned<raw::Smtp>,
    dir: &Path,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<Smtp> {
    const CTX: &str = "smtp: ";
    let whole = s.span();
    let s = s.get_ref();
    let mut missing = |key: &str| p.at(whole.clone(), format!("{CTX}missing `{key}`"));
    if s.url.is_none() {
        missing("url");
    }
    if s.from.is_none() {
        missing("from");
    }
    let from = s.from.as_ref().and_then(|v| {
        let text = expand(p, CTX, "from", v, env)?;
        text.parse::<lettre::message::Mailbox>()
            .map_err(|_| {
                let msg = format!(
                    "{CTX}from: {:?} is not a mail address: write \"Name <status@example.org>\"",
                    v.get_ref()
                );
                p.at(v.span(), msg);
            })
            .ok()
    });
    let server = s.url.as_ref().and_then(|v| {
        let text = expand(p, CTX, "url", v, env)?;
        smtp_url(&text)
            .map_err(|e| {
                // Quote the text as written: the expanded one may hold the password.
                p.at(v.span(), format!("{CTX}url {:?}: {e}", v.get_ref()));
            })
            .ok()
    });
    let extra_roots = match &s.ca_file {
        None => Some(Vec::new()),
        Some(v) => ca_file(&dir.join(v.get_ref()))
            .map_err(|e| p.at(v.span(), format!("{CTX}ca_file {:?}: {e}", v.get_ref())))
            .ok(),
    };
    let (host, port, security, credentials) = server?;
    Some(Smtp {
        host,
        port,
        security,
        credentials,
        from: from?,
        extra_roots: extra_roots?,
    })
}

/// Every certificate of a PEM file; at least one.
fn ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM file of certificates: {e}"))?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

type SmtpServer = (String, u16, SmtpSecurity, Option<(String, Secret)>);

/// `smtp://[user:password@]host[:port]` or `smtps://…`; `?tls=required` asks for STARTTLS
/// with a relay on loopback too.
pub(super) fn smtp_url(text: &str) -> Result<SmtpServer, String> {
    let url = Url::parse(text).map_err(|e| format!("invalid URL: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("it has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let starttls = match url.query() {
        None => false,
        Some("tls=required") if url.scheme() == "smtp" => true,
        Some(_) => {
            return Err(
                "the only query is ?tls=required, for STARTTLS with a relay on loopback".into(),
            );
        }
    };
    let (security, port) = match url.scheme() {
        "smtps" => (SmtpSecurity::Tls, 465),
        "smtp" if loopback && !starttls => (SmtpSecurity::Plain, 25),
        "smtp" => (SmtpSecurity::StartTls, 587),
        _ => return Err("the scheme must be smtp (STARTTLS) or smtps (TLS)".into()),
    };
    if url.path().len() > 1 {
        return Err("write only smtp[s]://user:password@host:port".into());
    }
    let decode = |s: &str| {
        percent_decode(s).ok_or("the user or password is not valid percent-encoded UTF-8")
    };
    let credentials = match (url.username(), url.password()) {
        ("", None) => None,
        (user, password) => Some((
            decode(user)?,
            Secret::new(decode(password.unwrap_or_default())?),
        )),
    };
    Ok((host, url.port().unwrap_or(port), security, credentials))
}

/// `%XX` escapes decoded, as URLs carry user names and passwords.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}
