//! Parsers for the value shapes several keys share: durations, thresholds, regexes, URLs, DNS names,
//! status ranges, IP families, public details and JSON values.
//!
//! Each takes the raw value and either returns the real type or reports one problem at the value's
//! span. None of them knows which table a key belongs to (the caller passes the context prefix), and
//! none touches the network: a host name is checked for shape, never resolved.

use std::num::NonZeroU32;
use std::time::Duration;

use serde_spanned::Spanned;
use url::Url;

use super::diag::Problems;
use super::raw;
use crate::model::PublicDetails;
use crate::probe::{IpFamily, StatusRange};

/// An optional duration key: `Some(None)` when absent, `None` when present but invalid.
pub(super) fn optional_duration(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Option<Spanned<String>>,
) -> Option<Option<Duration>> {
    match v {
        None => Some(None),
        Some(v) => duration(p, ctx, key, v).map(Some),
    }
}

/// `ip = "v4" | "v6"`; any family when absent.
pub(super) fn ip_family(
    p: &mut Problems<'_>,
    ctx: &str,
    v: &Option<Spanned<String>>,
) -> Option<IpFamily> {
    match v.as_ref().map(|v| (v.get_ref().as_str(), v.span())) {
        None => Some(IpFamily::Any),
        Some(("v4", _)) => Some(IpFamily::V4),
        Some(("v6", _)) => Some(IpFamily::V6),
        Some((other, span)) => {
            p.at(
                span,
                format!("{ctx}ip: unknown family {other:?}: use \"v4\" or \"v6\""),
            );
            None
        }
    }
}

/// `public_details = "redacted" | "full"`; `None` (reported) for anything else.
pub(super) fn public_details(
    p: &mut Problems<'_>,
    ctx: &str,
    v: &Spanned<String>,
) -> Option<PublicDetails> {
    let parsed = PublicDetails::parse(v.get_ref());
    if parsed.is_none() {
        p.at(
            v.span(),
            format!(
                "{ctx}public_details: unknown value {:?}: use \"redacted\" or \"full\"",
                v.get_ref()
            ),
        );
    }
    parsed
}

/// A regex key, compiled; the problem quotes the regex engine's complaint.
pub(super) fn regex_key(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Option<Spanned<String>>,
) -> Option<Option<regex::Regex>> {
    match v {
        None => Some(None),
        Some(v) => match regex::Regex::new(v.get_ref()) {
            Ok(re) => Some(Some(re)),
            Err(e) => {
                let first = e.to_string().lines().last().unwrap_or_default().to_string();
                p.at(
                    v.span(),
                    format!("{ctx}{key}: invalid regex: {}", first.trim()),
                );
                None
            }
        },
    }
}

/// A TOML value as the JSON value `json_equals` compares with.
pub(super) fn json_value(v: &toml::Value) -> Result<serde_json::Value, String> {
    Ok(match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .ok_or("a float that JSON cannot hold")?,
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(json_value).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), json_value(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
    })
}

/// The longest `interval` or `timeout`: a check probed less often than daily in practice never runs.
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// A [`duration`] of at most [`MAX_INTERVAL`], for `interval` and `timeout`; a number too large for
/// humantime to count is over the bound too, so `99999999999999999999d` gets the same message.
pub(super) fn capped_duration(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
) -> Option<Duration> {
    let over = match humantime::parse_duration(v.get_ref()) {
        Ok(d) => d > MAX_INTERVAL,
        // Without a fraction humantime overflows only on a huge number; with one it may instead
        // refuse a precision finer than 1ns, which its own message explains.
        Err(humantime::DurationError::NumberOverflow) => !v.get_ref().contains('.'),
        Err(_) => false,
    };
    if over {
        let hours = MAX_INTERVAL.as_secs() / 3600;
        p.at(v.span(), format!("{ctx}{key} must be at most {hours}h"));
        return None;
    }
    duration(p, ctx, key, v)
}

/// A humantime duration greater than zero, such as `30s`, `5m` or `14d`.
pub(super) fn duration(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
) -> Option<Duration> {
    match humantime::parse_duration(v.get_ref()) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            p.at(v.span(), format!("{ctx}{key} must be greater than 0"));
            None
        }
        Err(e) => {
            // humantime lists the units itself when the unit is wrong; otherwise show the shape.
            let hint = match e {
                humantime::DurationError::UnknownUnit { .. } => "",
                _ => "; write a number and a unit, like 30s, 5m or 14d",
            };
            let msg = format!(
                "{ctx}invalid duration {:?} for {key}: {e}{hint}",
                v.get_ref()
            );
            p.at(v.span(), msg);
            None
        }
    }
}

/// The message for a timeout longer than its interval; `*_from` say where inherited values come from.
pub(super) fn too_long(
    timeout: Duration,
    timeout_from: &str,
    interval: Duration,
    interval_from: &str,
) -> String {
    format!(
        "timeout {}{timeout_from} is longer than interval {}{interval_from}",
        humantime::format_duration(timeout),
        humantime::format_duration(interval)
    )
}

/// A count from 1 to `u32::MAX`, such as `failure_threshold`.
pub(super) fn threshold(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<i64>,
) -> Option<NonZeroU32> {
    let n = u32::try_from(*v.get_ref()).ok().and_then(NonZeroU32::new);
    if n.is_none() {
        p.at(
            v.span(),
            format!("{ctx}{key} must be between 1 and {}", u32::MAX),
        );
    }
    n
}

/// An absolute `http` or `https` URL with a host; the error quotes `shown`, the text as written.
pub(super) fn http_url(s: &str, shown: &str) -> Result<Url, String> {
    let invalid = |why: &dyn std::fmt::Display| format!("invalid URL {shown:?}: {why}");
    let url = Url::parse(s).map_err(|e| invalid(&e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(&"the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(&"it has no host"));
    }
    Ok(url)
}

/// A DNS name in absolute form, with its trailing dot.
pub(super) fn dns_name(s: &str) -> Result<String, String> {
    let bare = s.strip_suffix('.').unwrap_or(s);
    if bare.is_empty() {
        return Err("the name must not be empty".to_string());
    }
    if bare.len() > 253 || bare.chars().any(|c| c.is_whitespace()) {
        return Err(format!("{s:?} is not a DNS name"));
    }
    if bare
        .split('.')
        .any(|label| label.is_empty() || label.len() > 63)
    {
        return Err(format!(
            "{s:?} is not a DNS name: each dot-separated label must have 1 to 63 characters"
        ));
    }
    Ok(format!("{bare}."))
}

/// One `expect_status` item as a range: `200`, `"2xx"` or `"200-299"`.
pub(super) fn status_range(item: &raw::Status) -> Result<StatusRange, String> {
    fn code(n: i64) -> Result<u16, String> {
        u16::try_from(n)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .ok_or_else(|| format!("{n} is not an HTTP status code (100 to 599)"))
    }
    let text = match item {
        raw::Status::Code(n) => return code(*n).map(|c| StatusRange { lo: c, hi: c }),
        raw::Status::Text(t) => t.trim(),
    };
    let invalid = || {
        format!(
            r#"invalid status {text:?}: use a code like 200, a class like "2xx" or a range like "200-299""#
        )
    };
    if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
        return match class.parse::<u16>() {
            Ok(d @ 1..=5) if class.len() == 1 => Ok(StatusRange {
                lo: d * 100,
                hi: d * 100 + 99,
            }),
            _ => Err(invalid()),
        };
    }
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (Ok(lo), Ok(hi)) = (lo.trim().parse::<i64>(), hi.trim().parse::<i64>()) else {
        return Err(invalid());
    };
    let (lo, hi) = (code(lo)?, code(hi)?);
    if lo > hi {
        return Err(format!(
            "invalid status range {text:?}: the first code is greater than the second"
        ));
    }
    Ok(StatusRange { lo, hi })
}

#[cfg(test)]
mod tests {
    use super::MAX_INTERVAL;
    use crate::config::test_support::{check, valid};

    #[test]
    fn bad_duration() {
        check(
            "[defaults]\ninterval = \"30 parsecs\"\n",
            &[
                r#"etc/watchpost.toml:2:12: defaults: invalid duration "30 parsecs" for interval: unknown time unit "parsecs", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)"#,
            ],
        );
        check(
            "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\ninterval = \"0s\"\n",
            &["etc/watchpost.toml:6:12: check \"a\": interval must be greater than 0"],
        );
    }

    #[test]
    fn bad_thresholds() {
        check(
            "[defaults]\nfailure_threshold = 0\nsuccess_threshold = 5000000000\n",
            &[
                "etc/watchpost.toml:2:21: defaults: failure_threshold must be between 1 and 4294967295",
                "etc/watchpost.toml:3:21: defaults: success_threshold must be between 1 and 4294967295",
            ],
        );
    }

    /// `interval = "500000y"` was accepted and the check never ran. A number too large for
    /// humantime must get the same message, not an overflow, and a bad `[defaults]` value is
    /// reported once, not again at each check that inherits it.
    #[test]
    fn interval_and_timeout_over_24h_are_refused() {
        let tcp = "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n";
        for huge in [
            "500000y",
            "99999999999999d",
            "99999999999999999999d",
            "24h 1ns",
        ] {
            check(
                &format!("{tcp}interval = \"{huge}\"\n"),
                &["etc/watchpost.toml:6:12: check \"a\": interval must be at most 24h"],
            );
            check(
                &format!("{tcp}timeout = \"{huge}\"\n"),
                &["etc/watchpost.toml:6:11: check \"a\": timeout must be at most 24h"],
            );
        }
        check(
            &format!("[defaults]\ninterval = \"25h\"\ntimeout = \"500000y\"\n\n{tcp}"),
            &[
                "etc/watchpost.toml:2:12: defaults: interval must be at most 24h",
                "etc/watchpost.toml:3:11: defaults: timeout must be at most 24h",
            ],
        );
        // A fraction finer than humantime counts is a precision problem, not a huge value.
        check(
            &format!("{tcp}interval = \"0.5ns\"\n"),
            &[
                r#"etc/watchpost.toml:6:12: check "a": invalid duration "0.5ns" for interval: number is too large or cannot be represented without a lack of precision (values below 1ns are not supported); write a number and a unit, like 30s, 5m or 14d"#,
            ],
        );
    }

    #[test]
    fn interval_and_timeout_of_exactly_24h_are_accepted() {
        let config = valid(
            "[defaults]\ninterval = \"24h\"\ntimeout = \"1day\"\n\n[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n",
        );
        let a = &config.checks[0];
        assert_eq!((a.interval, a.limits.timeout), (MAX_INTERVAL, MAX_INTERVAL));
    }
}
