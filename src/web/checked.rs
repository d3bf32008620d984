//! What a check checks, in words, for its public page: the kind of probe, what counts as up,
//! how often, and — only for a check with `public_details = "full"` — the target itself. A
//! target is shown without its URL's userinfo, query and fragment, and with every `${NAME}`
//! value of the check written back as `${NAME}`; a redacted check names no host, address, path
//! or expected text. Pure: no I/O, no clock.

use std::time::Duration;

use crate::config::Check;
use crate::model::PublicDetails;
use crate::probe::{DnsSpec, HttpSpec, ProbeSpec, Rcode, StatusRange, TcpSpec};

/// A check as the public may read it: what counts as up, and where, if it may say so.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Described {
    /// "HTTPS answers 200–299 within 5 s, body contains “ok”".
    pub expectation: String,
    /// "every 30 s; down after 3 failures in a row".
    pub cadence: String,
    /// The URL, `host:port` or DNS name, for a check whose details are public.
    pub target: Option<String>,
}

/// Describes `check` for its public page.
pub(super) fn describe(check: &Check) -> Described {
    let full = check.public_details == PublicDetails::Full;
    let quoted = |text: &str| {
        let mut text = text.to_string();
        check.secrets.scrub(&mut text);
        format!("“{text}”")
    };
    let (mut expectation, target) = match &check.spec {
        ProbeSpec::Http(h) => http(h, check.limits.timeout, full, &quoted),
        ProbeSpec::Tcp(t) => tcp(t, full, &quoted),
        ProbeSpec::Dns(d) => dns(d, full, &quoted),
    };
    if let Some(slow) = check.limits.degraded_after {
        expectation.push_str(&format!("; slower than {} is degraded", words(slow)));
    }
    if let Some(slow) = check.limits.max_latency {
        expectation.push_str(&format!("; slower than {} is down", words(slow)));
    }
    let failures = check.policy.failure_threshold.get();
    let cadence = match failures {
        1 => format!("every {}; down at the first failure", words(check.interval)),
        n => format!(
            "every {}; down after {n} failures in a row",
            words(check.interval)
        ),
    };
    let target = target.filter(|_| full).map(|mut t| {
        check.secrets.scrub(&mut t);
        t
    });
    Described {
        expectation,
        cadence,
        target,
    }
}

/// A duration in words, under a second included: "500 ms", "30 s", "2 min".
fn words(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        crate::words::latency(d)
    } else {
        crate::words::duration(d)
    }
}

/// "200–299", "200", "200–299 or 404".
fn statuses(ranges: &[StatusRange]) -> String {
    ranges
        .iter()
        .map(|r| match r.lo == r.hi {
            true => r.lo.to_string(),
            false => format!("{}–{}", r.lo, r.hi),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn http(
    h: &HttpSpec,
    timeout: Duration,
    full: bool,
    quoted: &dyn Fn(&str) -> String,
) -> (String, Option<String>) {
    let scheme = if h.url.scheme() == "https" {
        "HTTPS"
    } else {
        "HTTP"
    };
    let method = match h.method {
        http::Method::GET => String::new(),
        ref m => format!(" {m}"),
    };
    let mut s = format!(
        "{scheme}{method} answers {} within {}",
        statuses(&h.expect_status),
        words(timeout)
    );
    if h.follow_redirects {
        s.push_str(" (after redirects)");
    }
    let c = &h.conditions;
    if let Some(text) = &c.contains {
        match full {
            true => s.push_str(&format!(", body contains {}", quoted(text))),
            false => s.push_str(", body contains an expected text"),
        }
    }
    if let Some(text) = &c.not_contains {
        match full {
            true => s.push_str(&format!(", body does not contain {}", quoted(text))),
            false => s.push_str(", body lacks a text that means trouble"),
        }
    }
    if c.regex.is_some() {
        s.push_str(", body matches an expected pattern");
    }
    if let Some(json) = &c.json {
        match (full, &json.equals) {
            (true, Some(v)) => s.push_str(&format!(
                ", JSON field {} equals {}",
                quoted(&json.path.to_string()),
                quoted(&v.to_string())
            )),
            (true, None) => s.push_str(&format!(
                ", JSON has the field {}",
                quoted(&json.path.to_string())
            )),
            (false, _) => s.push_str(", JSON answer has the expected value"),
        }
    }
    if h.tls_insecure {
        s.push_str(" (any certificate accepted)");
    }
    let mut url = h.url.clone();
    // Both fail only for URLs that cannot have userinfo, which then have none to remove.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    (s, Some(url.to_string()))
}

fn tcp(t: &TcpSpec, full: bool, quoted: &dyn Fn(&str) -> String) -> (String, Option<String>) {
    let mut s = "TCP port accepts a connection".to_string();
    if t.tls {
        s.push_str(" and a TLS handshake");
        if t.tls_insecure {
            s.push_str(" (any certificate accepted)");
        }
    }
    match (&t.expect, full) {
        (Some(text), true) => s.push_str(&format!(", reply contains {}", quoted(text))),
        (Some(_), false) => s.push_str(", reply contains an expected text"),
        (None, _) if t.expect_regex.is_some() => {
            s.push_str(", reply matches an expected pattern");
        }
        (None, _) => {}
    }
    let host = match t.host.contains(':') {
        true => format!("[{}]", t.host),
        false => t.host.clone(),
    };
    (s, Some(format!("{host}:{}", t.port)))
}

fn dns(d: &DnsSpec, full: bool, quoted: &dyn Fn(&str) -> String) -> (String, Option<String>) {
    let record = d.record.as_str();
    let mut s = if d.expect_rcode == Rcode::NOERROR {
        format!("DNS {record} record resolves")
    } else {
        format!("DNS {record} query answers {}", d.expect_rcode)
    };
    if !d.expect_answers.is_empty() {
        match full {
            true => {
                let answers: Vec<String> = d.expect_answers.iter().map(|a| quoted(a)).collect();
                s.push_str(&format!(" to {}", answers.join(", ")));
            }
            false => s.push_str(" to the expected answers"),
        }
        if d.exact {
            s.push_str(", and nothing else");
        }
    }
    let name = d.name.trim_end_matches('.').to_string();
    (s, Some(name))
}

#[cfg(test)]
#[path = "checked_tests.rs"]
mod tests;
