//! What a check checks, in words, for its public page: the kind of probe, what counts as up,
//! how often, and — only for a check with `public_details = "full"` — the target itself. A
//! target is shown without its URL's userinfo, query and fragment, and with every `${NAME}`
//! value of the check written back as `${NAME}`; a redacted check names no host, address, path
//! or expected text. In the catalog's language. Pure: no I/O, no clock.

use std::time::Duration;

use crate::config::Check;
use crate::i18n::Strings;
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
pub(super) fn describe(txt: &Strings, check: &Check) -> Described {
    let full = check.public_details == PublicDetails::Full;
    let quoted = |text: &str| {
        let mut text = text.to_string();
        check.secrets.scrub(&mut text);
        (txt.quote)(&text)
    };
    let (mut expectation, target) = match &check.spec {
        ProbeSpec::Http(h) => http(txt, h, check.limits.timeout, full, &quoted),
        ProbeSpec::Tcp(t) => tcp(txt, t, full, &quoted),
        ProbeSpec::Dns(d) => dns(txt, d, full, &quoted),
    };
    if let Some(slow) = check.limits.degraded_after {
        expectation.push_str(&(txt.slower_degraded)(&words(txt, slow)));
    }
    if let Some(slow) = check.limits.max_latency {
        expectation.push_str(&(txt.slower_down)(&words(txt, slow)));
    }
    let cadence = (txt.cadence)(
        &words(txt, check.interval),
        check.policy.failure_threshold.get(),
    );
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
fn words(txt: &Strings, d: Duration) -> String {
    if d < Duration::from_secs(1) {
        crate::words::latency(txt, d)
    } else {
        crate::words::duration(txt, d)
    }
}

/// "200–299", "200", "200–299 or 404".
fn statuses(txt: &Strings, ranges: &[StatusRange]) -> String {
    ranges
        .iter()
        .map(|r| match r.lo == r.hi {
            true => r.lo.to_string(),
            false => format!("{}–{}", r.lo, r.hi),
        })
        .collect::<Vec<_>>()
        .join(txt.or)
}

fn http(
    txt: &Strings,
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
    let mut s = (txt.http_answers)(
        &format!("{scheme}{method}"),
        &statuses(txt, &h.expect_status),
        &words(txt, timeout),
    );
    if h.follow_redirects {
        s.push_str(txt.after_redirects);
    }
    let c = &h.conditions;
    if let Some(text) = &c.contains {
        match full {
            true => s.push_str(&(txt.body_contains)(&quoted(text))),
            false => s.push_str(txt.body_contains_expected),
        }
    }
    if let Some(text) = &c.not_contains {
        match full {
            true => s.push_str(&(txt.body_lacks)(&quoted(text))),
            false => s.push_str(txt.body_lacks_trouble),
        }
    }
    if c.regex.is_some() {
        s.push_str(txt.body_matches);
    }
    if let Some(json) = &c.json {
        let field = || quoted(&json.path.to_string());
        match (full, &json.equals) {
            (true, Some(v)) => s.push_str(&(txt.json_equals)(&field(), &quoted(&v.to_string()))),
            (true, None) => s.push_str(&(txt.json_has)(&field())),
            (false, _) => s.push_str(txt.json_expected),
        }
    }
    if h.tls_insecure {
        s.push_str(txt.any_certificate);
    }
    let mut url = h.url.clone();
    // Both fail only for URLs that cannot have userinfo, which then have none to remove.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    (s, Some(url.to_string()))
}

fn tcp(
    txt: &Strings,
    t: &TcpSpec,
    full: bool,
    quoted: &dyn Fn(&str) -> String,
) -> (String, Option<String>) {
    let mut s = txt.tcp_accepts.to_string();
    if t.tls {
        s.push_str(txt.and_tls);
        if t.tls_insecure {
            s.push_str(txt.any_certificate);
        }
    }
    match (&t.expect, full) {
        (Some(text), true) => s.push_str(&(txt.reply_contains)(&quoted(text))),
        (Some(_), false) => s.push_str(txt.reply_contains_expected),
        (None, _) if t.expect_regex.is_some() => {
            s.push_str(txt.reply_matches);
        }
        (None, _) => {}
    }
    let host = match t.host.contains(':') {
        true => format!("[{}]", t.host),
        false => t.host.clone(),
    };
    (s, Some(format!("{host}:{}", t.port)))
}

fn dns(
    txt: &Strings,
    d: &DnsSpec,
    full: bool,
    quoted: &dyn Fn(&str) -> String,
) -> (String, Option<String>) {
    let record = d.record.as_str();
    let mut s = if d.expect_rcode == Rcode::NOERROR {
        (txt.dns_resolves)(record)
    } else {
        (txt.dns_answers)(record, &d.expect_rcode.to_string())
    };
    if !d.expect_answers.is_empty() {
        match full {
            true => {
                let answers: Vec<String> = d.expect_answers.iter().map(|a| quoted(a)).collect();
                s.push_str(&(txt.resolves_to)(&answers.join(", ")));
            }
            false => s.push_str(txt.resolves_to_expected),
        }
        if d.exact {
            s.push_str(txt.nothing_else);
        }
    }
    let name = d.name.trim_end_matches('.').to_string();
    (s, Some(name))
}

#[cfg(test)]
#[path = "checked_tests.rs"]
mod tests;
