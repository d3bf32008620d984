//! The public form of a failure: what the status page, its feeds and its APIs say about a failed
//! probe. A `redacted` check (the default) says its name and its error class in a fixed sentence
//! ("Tasking Manager: connection refused", "Tasking Manager: HTTP 503"); a `full` check shows
//! the probe's message as stored (already without URL userinfo, queries and `${NAME}` values).
//!
//! The probe's message is never scrubbed here, it is replaced: it carries host names, addresses,
//! ports, URL paths, DNS servers and what the target sent, in shapes no pattern can foresee.
//! Pure: no I/O, no clock, no store.

use crate::config::Check;
use crate::model::PublicDetails;
use crate::probe::{Failure, Rcode, Reason};

/// A check as the public knows it: its name, and how much of its failures may be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subject<'a> {
    pub name: &'a str,
    pub details: PublicDetails,
}

impl<'a> Subject<'a> {
    /// A check no longer configured (an old incident's), known by its stored name: redacted,
    /// since nothing says otherwise.
    pub(crate) fn unconfigured(name: &'a str) -> Subject<'a> {
        Subject {
            name,
            details: PublicDetails::Redacted,
        }
    }
}

impl<'a> From<&'a Check> for Subject<'a> {
    fn from(check: &'a Check) -> Subject<'a> {
        Subject {
            name: &check.name,
            details: check.public_details,
        }
    }
}

/// One failed probe as stored: its class (absent only in rows older than the taxonomy), the
/// probe's message, and the code the target answered (HTTP status or DNS rcode).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Failed<'a> {
    pub reason: Option<Reason>,
    pub message: &'a str,
    pub code: Option<u16>,
}

impl<'a> Failed<'a> {
    /// A probe's failure, with the code its outcome carries.
    pub(crate) fn of(failure: &'a Failure, code: Option<u16>) -> Failed<'a> {
        Failed {
            reason: Some(failure.reason),
            message: &failure.message,
            code,
        }
    }
}

/// The message the public sees for `failed`, a failure of `subject`.
pub(crate) fn public(subject: Subject<'_>, failed: Failed<'_>) -> String {
    match subject.details {
        PublicDetails::Full => failed.message.to_string(),
        PublicDetails::Redacted => format!("{}: {}", subject.name, sentence(failed)),
    }
}

/// A stored result's message as the public sees it; `None` when it has none (an up probe).
pub(crate) fn public_stored(
    subject: Subject<'_>,
    reason: Option<Reason>,
    message: Option<&str>,
    code: Option<u16>,
) -> Option<String> {
    let message = message?;
    Some(public(
        subject,
        Failed {
            reason,
            message,
            code,
        },
    ))
}

/// The fixed sentence for a failure's class; only numbers the target answered are added.
fn sentence(failed: Failed<'_>) -> String {
    let Some(reason) = failed.reason else {
        return "the check failed".to_string();
    };
    let fixed = match reason {
        Reason::Dns => "the name does not resolve",
        Reason::Refused => "connection refused",
        Reason::ConnectTimeout => "connection timed out",
        Reason::Tls => "secure connection (TLS) failed",
        Reason::Timeout => "no answer in time",
        Reason::HttpStatus => {
            return match failed.code.or_else(|| status_in(failed.message)) {
                Some(code) => format!("HTTP {code}"),
                None => "unexpected HTTP status".to_string(),
            };
        }
        Reason::Body => "unexpected response content",
        Reason::Json => "unexpected JSON response",
        Reason::Redirect => "redirected to an address that could not be followed",
        Reason::CertExpiry => "TLS certificate expires soon",
        Reason::Protocol => "invalid response",
        Reason::Network => "network error",
        Reason::Rcode => {
            return match failed.code {
                Some(code) => format!("DNS answered {}", Rcode(code)),
                None => "unexpected DNS response code".to_string(),
            };
        }
        Reason::Answer => "unexpected answer",
        Reason::Slow => "responding slowly",
        Reason::Local => "not checked (a fault of the monitoring machine)",
    };
    fixed.to_string()
}

/// The status code of an HTTP status message ("status 503, expected …"), for a row stored
/// without its code.
fn status_in(message: &str) -> Option<u16> {
    let digits = message.strip_prefix("status ")?.get(..3)?;
    digits
        .parse()
        .ok()
        .filter(|code| (100..1000).contains(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "Tasking Manager";

    /// Every reason with messages as the probes write them, what the public reads, and the code.
    const CASES: &[(Reason, &str, Option<u16>, &str)] = &[
        (
            Reason::Dns,
            "cannot resolve db.internal.example: failed to lookup address information: Name or service not known",
            None,
            "the name does not resolve",
        ),
        (
            Reason::Dns,
            "fd00::7 is not an address of the required family (V4)",
            None,
            "the name does not resolve",
        ),
        (
            Reason::Refused,
            "connecting to 10.0.3.7:5432: connection refused",
            None,
            "connection refused",
        ),
        (
            Reason::Refused,
            "nothing answers DNS at 10.0.0.53:53 (port unreachable)",
            None,
            "connection refused",
        ),
        (
            Reason::ConnectTimeout,
            "connecting to [fd00::7]:8443 timed out",
            None,
            "connection timed out",
        ),
        (
            Reason::Tls,
            "name mismatch: certificate is for db.internal.example, not 10.0.3.7",
            None,
            "secure connection (TLS) failed",
        ),
        (
            Reason::Tls,
            "unknown issuer \"CN=Corp Internal CA\": the certificate for intranet.corp is not signed by a trusted authority",
            None,
            "secure connection (TLS) failed",
        ),
        (
            Reason::Timeout,
            "no answer from 10.0.0.53:53 within 5s",
            None,
            "no answer in time",
        ),
        (
            Reason::Timeout,
            "timed out after 10s waiting for the response",
            None,
            "no answer in time",
        ),
        (
            Reason::HttpStatus,
            "status 503, expected 200-399 (after redirects to https://10.0.3.7:8443/health?…)",
            Some(503),
            "HTTP 503",
        ),
        (
            Reason::HttpStatus,
            "status 404, expected 2xx",
            None,
            "HTTP 404",
        ),
        (
            Reason::Body,
            "body does not contain \"ok\"; it starts with \"db at 10.0.3.7:5432 down\"",
            Some(200),
            "unexpected response content",
        ),
        (
            Reason::Json,
            "json_path $.db is \"down: 10.0.3.7:5432\", expected \"ok\"",
            Some(200),
            "unexpected JSON response",
        ),
        (
            Reason::Redirect,
            "redirect loop: https://intranet.corp/login?… → https://sso.corp:8443/auth?… → https://intranet.corp/login?…",
            Some(302),
            "redirected to an address that could not be followed",
        ),
        (
            Reason::Redirect,
            "redirect to a non-HTTP location ftp://files.internal/x?…",
            Some(301),
            "redirected to an address that could not be followed",
        ),
        (
            Reason::CertExpiry,
            "a certificate of the chain expires in 3 days (on 2026-01-02), sooner than cert_expiry_warning = 14d",
            None,
            "TLS certificate expires soon",
        ),
        (
            Reason::Protocol,
            "10.0.0.53:53 sent a malformed DNS reply: unexpected end of input",
            None,
            "invalid response",
        ),
        (
            Reason::Protocol,
            "the target did not answer with valid HTTP: invalid HTTP version parsed",
            None,
            "invalid response",
        ),
        (
            Reason::Network,
            "connecting to 10.0.3.7:5432: No route to host (os error 113)",
            None,
            "network error",
        ),
        (
            Reason::Rcode,
            "rcode NXDOMAIN, expected NOERROR",
            Some(3),
            "DNS answered NXDOMAIN",
        ),
        (
            Reason::Rcode,
            "rcode SERVFAIL, expected NOERROR",
            None,
            "unexpected DNS response code",
        ),
        (
            Reason::Answer,
            "reply does not contain \"SMTP\"; got \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 db-7.internal\"",
            None,
            "unexpected answer",
        ),
        (
            Reason::Answer,
            "unexpected answers 10.0.3.8; got [10.0.3.7, 10.0.3.8]",
            Some(0),
            "unexpected answer",
        ),
        (
            Reason::Slow,
            "took 2.3s, more than max_latency = 2s",
            Some(200),
            "responding slowly",
        ),
        (
            Reason::Local,
            "connecting to 10.0.3.7:5432: watchpost has too many open files (EMFILE), a fault of this machine, not of the target",
            None,
            "not checked (a fault of the monitoring machine)",
        ),
    ];

    /// What no redacted message may contain: addresses, ports, names, paths, tokens, banners.
    const INSIDE: &[&str] = &[
        "10.0.",
        "fd00",
        "5432",
        "8443",
        ":53",
        "internal",
        "corp",
        "/health",
        "?",
        "token",
        "SSH-2.0",
        "OpenSSH",
        "Corp Internal CA",
        "max_latency",
        "json_path",
        ", expected",
    ];

    #[test]
    fn a_redacted_failure_is_the_name_and_a_fixed_sentence_for_every_reason() {
        let subject = Subject {
            name: NAME,
            details: PublicDetails::Redacted,
        };
        for reason in Reason::ALL {
            assert!(CASES.iter().any(|c| c.0 == reason), "no case for {reason}");
        }
        for &(reason, message, code, expected) in CASES {
            let failed = Failed {
                reason: Some(reason),
                message,
                code,
            };
            let shown = public(subject, failed);
            assert_eq!(shown, format!("{NAME}: {expected}"), "{reason}: {message}");
            for inside in INSIDE {
                assert!(!shown.contains(inside), "{shown:?} shows {inside:?}");
            }
        }
    }

    #[test]
    fn a_full_failure_is_the_probes_message() {
        let subject = Subject {
            name: NAME,
            details: PublicDetails::Full,
        };
        for &(reason, message, code, _) in CASES {
            let failed = Failed {
                reason: Some(reason),
                message,
                code,
            };
            assert_eq!(public(subject, failed), message);
        }
    }

    #[test]
    fn stored_rows_without_a_message_or_a_reason() {
        let subject = Subject::unconfigured("db");
        assert_eq!(public_stored(subject, None, None, None), None);
        assert_eq!(
            public_stored(
                subject,
                None,
                Some("connecting to 10.0.3.7:5432 failed"),
                None
            )
            .as_deref(),
            Some("db: the check failed")
        );
        let failure = Failure::new(Reason::HttpStatus, "status 502, expected 200");
        assert_eq!(public(subject, Failed::of(&failure, None)), "db: HTTP 502");
        assert_eq!(status_in("status 5"), None);
    }
}
