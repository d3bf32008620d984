//! Why a certificate was rejected, in words a person can act on: "self-signed", "expired on
//! 2026-01-02 (3 days ago)", "name mismatch: certificate is for a.example, b.example".
//!
//! [`Explaining`] wraps the platform verifier: it decides nothing itself, and only turns the
//! verifier's error into a message built from the certificate (read with x509-parser), logged
//! once per host below ERROR. Every name read from a certificate is cut, since the target
//! chose it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::{excerpt, fmt_days};
use crate::clock::Timestamp;

/// Names listed from a certificate at most; the rest are counted.
const NAMES_SHOWN: usize = 4;
/// Each name or issuer read from a certificate is cut to this many characters.
const NAME_CHARS: usize = 60;
/// Hosts whose last rejection is remembered for logging; forgotten all at once when full.
const HOSTS_REMEMBERED: usize = 1024;

/// A rejected certificate's explanation, carried through rustls inside `OtherError`.
#[derive(Debug)]
pub(super) struct Explained(pub String);

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Explained {}

/// A verifier that explains the rejections of the one it wraps.
#[derive(Debug)]
pub(super) struct Explaining(pub Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for Explaining {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| match &e {
                rustls::Error::InvalidCertificate(cert) => {
                    let message = explain(cert, end_entity, server_name, now);
                    note(server_name, &message);
                    let explained = OtherError(Arc::new(Explained(message)));
                    rustls::Error::InvalidCertificate(CertificateError::Other(explained))
                }
                _ => e,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.0.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

/// Logs a host's rejection when it is new or differs from the last one, at INFO: the
/// platform verifier's own ERROR line for every probe is filtered out in `main.rs`.
fn note(server_name: &ServerName<'_>, message: &str) {
    static LAST: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);
    let host = server_name.to_str().into_owned();
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    let last = last.get_or_insert_with(HashMap::new);
    if last.get(&host).is_some_and(|m| m == message) {
        return;
    }
    if last.len() >= HOSTS_REMEMBERED {
        last.clear();
    }
    tracing::info!(host = %host, "TLS certificate rejected: {message}");
    last.insert(host, message.to_string());
}

/// The message for `error` about `end_entity`, presented for `server_name` at `now`.
pub(super) fn explain(
    error: &CertificateError,
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> String {
    let parsed = x509_parser::parse_x509_certificate(end_entity).ok();
    let cert = parsed.as_ref().map(|(_, c)| c);
    let host = server_name.to_str();
    let names = cert.map(names).unwrap_or_default();
    let for_names = if names.is_empty() {
        String::new()
    } else if names.iter().any(|n| covers(n, &host)) {
        format!(" for {}", list(&names))
    } else {
        format!(" for {} (not {host})", list(&names))
    };
    let self_signed = cert.is_some_and(|c| c.subject().as_raw() == c.issuer().as_raw());
    let now = Timestamp(
        i64::try_from(now.as_secs())
            .unwrap_or(i64::MAX)
            .saturating_mul(1000),
    );
    let untrusted = || match cert {
        Some(c) if !self_signed => format!(
            "unknown issuer {:?}: the certificate{for_names} is not signed by a trusted authority \
             (or the server does not send its intermediate certificates); \
             set tls_insecure = true to accept it",
            excerpt(c.issuer().to_string().as_bytes(), NAME_CHARS)
        ),
        _ => format!(
            "self-signed certificate{for_names}: not signed by a trusted authority; \
             set tls_insecure = true to accept it"
        ),
    };
    match error {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            let not_after = match error {
                CertificateError::ExpiredContext { not_after, .. } => Some(unix(*not_after)),
                _ => cert.map(|c| unix_secs(c.validity().not_after.timestamp())),
            };
            match not_after {
                Some(t) => format!(
                    "expired on {} ({} ago): the certificate{for_names} must be renewed",
                    t.date(),
                    fmt_days(now.since(t))
                ),
                None => "expired: the certificate must be renewed".to_string(),
            }
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            let not_before = match error {
                CertificateError::NotValidYetContext { not_before, .. } => Some(unix(*not_before)),
                _ => cert.map(|c| unix_secs(c.validity().not_before.timestamp())),
            };
            match not_before {
                Some(t) => format!(
                    "not yet valid: the certificate{for_names} is valid from {} (in {}); \
                     check this machine's clock",
                    t.date(),
                    fmt_days(t.since(now))
                ),
                None => "not yet valid; check this machine's clock".to_string(),
            }
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            // webpki's own list is in Debug form (`DnsName("a.example")`): read the certificate.
            let presented = match error {
                CertificateError::NotValidForNameContext { presented, .. } if names.is_empty() => {
                    presented.clone()
                }
                _ => names,
            };
            format!(
                "name mismatch: certificate is for {}, not {host}",
                list(&presented)
            )
        }
        CertificateError::UnknownIssuer => untrusted(),
        CertificateError::BadSignature => {
            "bad signature: the certificate's signature does not match its issuer's key".into()
        }
        CertificateError::Revoked => format!("revoked: the certificate{for_names} was revoked"),
        CertificateError::BadEncoding => "malformed certificate: it cannot be parsed".into(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "not a server certificate: its extended key usage does not allow TLS servers".into()
        }
        CertificateError::UnhandledCriticalExtension => {
            "the certificate has a critical extension that cannot be checked".into()
        }
        CertificateError::Other(other) => match cert {
            // webpki refuses a lone self-signed CA certificate (CaUsedAsEndEntity), as
            // `openssl req -x509` makes by default.
            Some(c) if c.is_ca() => {
                if self_signed {
                    untrusted()
                } else {
                    "a CA certificate is used as the server's certificate".to_string()
                }
            }
            _ if other.to_string().contains("extensions") => {
                "not a server certificate: its extended key usage does not allow TLS servers".into()
            }
            _ => format!("invalid certificate: {other}"),
        },
        other => format!("invalid certificate: {other}"),
    }
}

/// The DNS names and addresses a certificate is for (its common name when it has neither).
fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some((*d).to_string()),
                GeneralName::IPAddress(b) => ip(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        names = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok().map(str::to_string))
            .collect();
    }
    names
}

/// Whether certificate name `name` (maybe a `*.` wildcard) covers `host`.
fn covers(name: &str, host: &str) -> bool {
    if name.eq_ignore_ascii_case(host) {
        return true;
    }
    match (name.strip_prefix("*."), host.split_once('.')) {
        (Some(domain), Some((_, parent))) => domain.eq_ignore_ascii_case(parent),
        _ => false,
    }
}

fn ip(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// "a.example, b.example and 3 more", each name cut.
fn list(names: &[String]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(NAMES_SHOWN)
        .map(|n| excerpt(n.as_bytes(), NAME_CHARS))
        .collect();
    let mut text = shown.join(", ");
    if names.len() > NAMES_SHOWN {
        text.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    if text.is_empty() {
        text.push_str("no name");
    }
    text
}

fn unix(t: UnixTime) -> Timestamp {
    unix_secs(i64::try_from(t.as_secs()).unwrap_or(i64::MAX))
}

fn unix_secs(secs: i64) -> Timestamp {
    Timestamp(secs.saturating_mul(1000))
}

#[cfg(test)]
#[path = "cert_tests.rs"]
mod tests;
