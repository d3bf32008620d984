//! TLS for probes: the shared client configurations (verified with the system's roots, or
//! insecure for `tls_insecure` checks, both on ring), the timed handshake, clear messages for
//! handshake failures (certificates are explained in `cert.rs`), and what the peer's chain says
//! (TLS version, earliest expiry).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::cert::{Explained, Explaining};
use super::{Failure, Reason, Trace};
use crate::clock::Timestamp;

/// What the TLS handshake revealed about the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: &'static str,
    /// The earliest `notAfter` of the certificates the peer presented.
    pub earliest_expiry: Option<Timestamp>,
    /// The earliest `notAfter` of the chain when it was verified against the trust store
    /// (`None` with `tls_insecure`): what `probe_ssl_last_chain_expiry_timestamp_seconds` says.
    pub verified_expiry: Option<Timestamp>,
    /// Who issued the peer's certificate, as its issuer names itself ("R11 (Let's Encrypt)"),
    /// cut to a short excerpt: text the target sent.
    pub issuer: Option<String>,
    /// Whom the peer's certificate names (its common name, else its first DNS name), cut the
    /// same way.
    pub subject: Option<String>,
    /// The SHA-256 of the peer's certificate in hex: which certificate it is, so a renewed one
    /// is told from the old one.
    pub fingerprint: Option<String>,
}

/// How a probe trusts the peer, and which application protocols it offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mode {
    pub insecure: bool,
    /// Offer h2 and http/1.1 by ALPN (HTTP probes); nothing for raw TCP.
    pub http: bool,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration for `mode`, built once per mode.
fn config(mode: Mode) -> Result<Arc<rustls::ClientConfig>, Failure> {
    static CONFIGS: OnceLock<[Result<Arc<rustls::ClientConfig>, String>; 4]> = OnceLock::new();
    let configs = CONFIGS.get_or_init(|| {
        [(false, false), (false, true), (true, false), (true, true)].map(|(insecure, http)| {
            build(Mode { insecure, http })
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
    });
    let index = usize::from(mode.insecure) * 2 + usize::from(mode.http);
    configs[index]
        .clone()
        .map_err(|e| Failure::new(Reason::Tls, format!("cannot set up TLS: {e}")))
}

fn build(mode: Mode) -> Result<rustls::ClientConfig, rustls::Error> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let verifier: Arc<dyn ServerCertVerifier> = if mode.insecure {
        Arc::new(AcceptAny(provider()))
    } else {
        // The system's verifier decides; ours only explains its rejections.
        let platform = rustls_platform_verifier::Verifier::new(provider())?;
        Arc::new(Explaining(Arc::new(platform)))
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    if mode.http {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    Ok(config)
}

/// Runs the TLS handshake over `tcp` before the deadline, timing the `tls` phase and recording
/// the version and the chain's earliest expiry in `trace`.
pub(crate) async fn handshake(
    host: &str,
    tcp: TcpStream,
    mode: Mode,
    deadline: tokio::time::Instant,
    timeout: &str,
    trace: &mut Trace,
) -> Result<TlsStream<TcpStream>, Failure> {
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let name = ServerName::try_from(bare).map_err(|e| {
        Failure::new(
            Reason::Tls,
            format!("{host} is not a valid TLS server name: {e}"),
        )
    })?;
    let connector = tokio_rustls::TlsConnector::from(config(mode)?);
    let started = Instant::now();
    let result = tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await;
    trace.phases.tls = Some(started.elapsed());
    let stream = match result {
        Err(_) => {
            return Err(Failure::new(
                Reason::Tls,
                format!("timed out after {timeout} in the TLS handshake"),
            ));
        }
        Ok(Err(e)) => return Err(classify(&e)),
        Ok(Ok(stream)) => stream,
    };
    let conn = stream.get_ref().1;
    let earliest = conn.peer_certificates().and_then(earliest_expiry);
    trace.tls = Some(TlsInfo {
        version: match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
            _ => "TLS",
        },
        earliest_expiry: earliest,
        verified_expiry: earliest.filter(|_| !mode.insecure),
        issuer: conn.peer_certificates().and_then(issuer),
        subject: conn.peer_certificates().and_then(subject),
        fingerprint: conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|der| fingerprint(der)),
    });
    Ok(stream)
}

/// The earliest `notAfter` among `chain`, skipping certificates that do not parse.
pub fn earliest_expiry(chain: &[CertificateDer<'_>]) -> Option<Timestamp> {
    chain
        .iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, cert)| Timestamp(cert.validity().not_after.timestamp().saturating_mul(1000)))
        .min()
}

/// The issuer of the first (the peer's own) certificate of `chain`: its common name, with its
/// organisation in brackets when that says more.
fn issuer(chain: &[CertificateDer<'_>]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(chain.first()?).ok()?;
    let name = cert.issuer();
    let cn = name.iter_common_name().find_map(|a| a.as_str().ok());
    let o = name.iter_organization().find_map(|a| a.as_str().ok());
    let text = match (cn, o) {
        (Some(cn), Some(o)) if !cn.contains(o) => format!("{cn} ({o})"),
        (Some(cn), _) => cn.to_string(),
        (None, o) => o?.to_string(),
    };
    Some(super::excerpt(text.as_bytes(), 80))
}

/// Whom the first certificate of `chain` names: its common name, else its first DNS name.
fn subject(chain: &[CertificateDer<'_>]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(chain.first()?).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .find_map(|a| a.as_str().ok())
        .map(str::to_string);
    let text = cn.or_else(|| {
        let san = cert.subject_alternative_name().ok().flatten()?;
        san.value.general_names.iter().find_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
    })?;
    Some(super::excerpt(text.as_bytes(), 80))
}

/// The SHA-256 of a certificate, in lower-case hex.
pub fn fingerprint(der: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Turns a handshake error into a message that says what to do about it.
fn classify(e: &std::io::Error) -> Failure {
    let Some(err) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        let f = super::classify_io(e, "TLS handshake");
        return match f.reason {
            Reason::Local => f,
            _ => Failure::new(Reason::Tls, f.message),
        };
    };
    let message = match err {
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if other.0.downcast_ref::<Explained>().is_some() =>
        {
            other.0.to_string()
        }
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the certificate has expired ({cert})")
            }
            CertificateError::UnknownIssuer => {
                "the certificate is not signed by a trusted authority \
                 (self-signed or unknown issuer); set tls_insecure = true to accept it"
                    .to_string()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the certificate is not valid for this host ({cert})")
            }
            other => format!("invalid certificate: {other}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the TLS handshake: {alert:?}")
        }
        other => format!("TLS handshake failed: {other}"),
    };
    Failure::new(Reason::Tls, message)
}

/// A verifier for `tls_insecure`: accepts any certificate, but still checks the handshake
/// signatures so the connection is at least consistent.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_named_by_its_common_name_and_organisation() {
        use rcgen::{CertificateParams, DnType, KeyPair};
        let leaf = |names: &[(DnType, &str)]| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            for (kind, value) in names {
                params.distinguished_name.push(kind.clone(), *value);
            }
            vec![params.self_signed(&key).unwrap().der().clone()]
        };
        let both = [
            (DnType::OrganizationName, "Let's Encrypt"),
            (DnType::CommonName, "R11"),
        ];
        assert_eq!(issuer(&leaf(&both)).as_deref(), Some("R11 (Let's Encrypt)"));
        let same = [
            (DnType::OrganizationName, "Example"),
            (DnType::CommonName, "Example CA"),
        ];
        assert_eq!(issuer(&leaf(&same)).as_deref(), Some("Example CA"));
        let long = "x".repeat(200);
        let cut = issuer(&leaf(&[(DnType::OrganizationName, &long)])).unwrap();
        assert_eq!(cut.chars().count(), 81, "{cut}");
        assert_eq!(issuer(&[]), None);
    }

    #[test]
    fn every_mode_builds_with_ring() {
        for insecure in [false, true] {
            for http in [false, true] {
                let c = config(Mode { insecure, http }).expect("a TLS config");
                assert_eq!(c.alpn_protocols.is_empty(), !http);
            }
        }
    }

    #[test]
    fn running_out_of_descriptors_in_a_handshake_is_local_not_tls() {
        let e = std::io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        assert_eq!(classify(&e).reason, Reason::Local);
    }
}
