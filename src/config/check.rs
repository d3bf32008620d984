//! The part of a `[[check]]` every type shares: id, name, group, timing, thresholds,
//! `public_details`, `type`, and the refusal of keys that belong to another type.
//!
//! Owns the `[defaults]` inheritance and the `type` dispatch; each type's own keys are parsed in
//! `http`, `tcp` and `dns`, and this module never reads them itself.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use serde_spanned::Spanned;

use super::diag::{Problems, Required, key_span};
use super::env::{Env, Recorder};
use super::fields::{
    capped_duration, duration, optional_duration, public_details, threshold, too_long,
};
use super::raw;
use super::sections::Defaults;
use super::{Check, CheckId, Policy};
use crate::probe::{Limits, ProbeSpec};

/// Validates one `[[check]]`; `first_line` maps each id seen so far to the line it was defined on.
pub(super) fn check(
    index: usize,
    c: &Spanned<raw::Check>,
    defaults: &Defaults,
    env: Env<'_>,
    first_line: &mut HashMap<String, usize>,
    p: &mut Problems<'_>,
) -> Option<Check> {
    let whole = c.span();
    let c = c.get_ref();
    let ctx = match &c.id {
        Some(id) => format!("check {:?}: ", id.get_ref()),
        None => format!("check #{}: ", index + 1),
    };

    let id = match &c.id {
        None => {
            p.at(whole.clone(), format!("{ctx}missing `id`"));
            None
        }
        Some(v) => match CheckId::new(v.get_ref()) {
            Err(e) => {
                p.at(v.span(), e);
                None
            }
            Ok(id) => {
                let (line, _) = p.locate(v.span().start);
                match first_line.get(id.as_str()) {
                    Some(first) => {
                        let msg = format!(
                            "duplicate check id {:?}, first defined on line {first}",
                            id.as_str()
                        );
                        p.at(v.span(), msg);
                        None
                    }
                    None => {
                        first_line.insert(id.as_str().to_string(), line);
                        Some(id)
                    }
                }
            }
        },
    };
    let name = match &c.name {
        Some(v) if v.get_ref().trim().is_empty() => {
            p.at(v.span(), format!("{ctx}name must not be empty"));
            None
        }
        Some(v) => Some(v.get_ref().clone()),
        None => c.id.as_ref().map(|v| v.get_ref().clone()),
    };
    let group = c
        .group
        .as_ref()
        .map_or_else(String::new, |v| v.get_ref().clone());

    let interval = inherit(p, &ctx, "interval", &c.interval, defaults.interval);
    let timeout = inherit(p, &ctx, "timeout", &c.timeout, defaults.timeout);
    if let (Some(i), Some(t)) = (interval, timeout)
        && t > i
    {
        // When both are inherited the problem was reported once, at [defaults].
        let from = |set: bool| if set { "" } else { " (from [defaults])" };
        if let Some(span) = c
            .timeout
            .as_ref()
            .or(c.interval.as_ref())
            .map(Spanned::span)
        {
            let msg = too_long(t, from(c.timeout.is_some()), i, from(c.interval.is_some()));
            p.at(span, format!("{ctx}{msg}"));
        }
    }
    let degraded_after = match &c.degraded_after {
        None => defaults.degraded_after,
        Some(v) => duration(p, &ctx, "degraded_after", v).map(Some),
    };
    let max_latency = optional_duration(p, &ctx, "max_latency", &c.max_latency);
    let cert_expiry_warning =
        optional_duration(p, &ctx, "cert_expiry_warning", &c.cert_expiry_warning);
    let failure_threshold = match &c.failure_threshold {
        None => defaults.failure_threshold,
        Some(v) => threshold(p, &ctx, "failure_threshold", v),
    };
    let success_threshold = match &c.success_threshold {
        None => defaults.success_threshold,
        Some(v) => threshold(p, &ctx, "success_threshold", v),
    };

    let public_details = match &c.public_details {
        None => defaults.public_details,
        Some(v) => public_details(p, &ctx, v),
    };

    let recorder = Recorder::new(env);
    let spec = spec(c, &ctx, whole, &|name| recorder.lookup(name), p);
    let secrets = recorder.into_secrets();

    let (Some(id), Some(name), Some(interval), Some(timeout), Some(degraded_after)) =
        (id, name, interval, timeout, degraded_after)
    else {
        return None;
    };
    let (Some(failure_threshold), Some(success_threshold), Some(spec)) =
        (failure_threshold, success_threshold, spec)
    else {
        return None;
    };
    let (Some(max_latency), Some(cert_expiry_warning), Some(public_details)) =
        (max_latency, cert_expiry_warning, public_details)
    else {
        return None;
    };
    Some(Check {
        id,
        name,
        group,
        interval,
        policy: Policy {
            failure_threshold,
            success_threshold,
        },
        limits: Limits {
            timeout,
            degraded_after,
            max_latency,
            cert_expiry_warning,
            ..Limits::default()
        },
        spec,
        public_details,
        secrets,
    })
}

/// The check's own `interval` or `timeout` (at most 24 hours) when it sets `key`, else the inherited.
fn inherit(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    own: &Option<Spanned<String>>,
    inherited: Option<Duration>,
) -> Option<Duration> {
    match own {
        None => inherited,
        Some(v) => capped_duration(p, ctx, key, v),
    }
}

/// The probe types, as written in `type`.
#[derive(Clone, Copy)]
enum Kind {
    Http,
    Tcp,
    Dns,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "http" => Some(Kind::Http),
            "tcp" => Some(Kind::Tcp),
            "dns" => Some(Kind::Dns),
            _ => None,
        }
    }

    /// How messages name a check of this type.
    fn noun(self) -> &'static str {
        match self {
            Kind::Http => "an http check",
            Kind::Tcp => "a tcp check",
            Kind::Dns => "a dns check",
        }
    }

    /// The type-specific keys a check of this type may set.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Http => super::http::KEYS,
            Kind::Tcp => super::tcp::KEYS,
            Kind::Dns => super::dns::KEYS,
        }
    }
}

/// The probe spec, after refusing the keys of other types.
fn spec(
    c: &raw::Check,
    ctx: &str,
    whole: Range<usize>,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<ProbeSpec> {
    let Some(v) = &c.kind else {
        p.at(whole, format!("{ctx}missing `type` (http, tcp or dns)"));
        return None;
    };
    let Some(kind) = Kind::parse(v.get_ref()) else {
        let msg = format!("{ctx}unknown type {:?}: use http, tcp or dns", v.get_ref());
        p.at(v.span(), msg);
        return None;
    };
    let mut foreign = false;
    for (key, span) in c.typed_keys() {
        if !kind.keys().contains(&key) {
            let span = key_span(p.src(), span, key);
            p.at(
                span,
                format!("{ctx}`{key}` is not a key of {}", kind.noun()),
            );
            foreign = true;
        }
    }
    // Required keys that are missing are reported at `type`, which is what requires them.
    let required = Required {
        at: key_span(p.src(), v.span(), "type"),
        noun: kind.noun(),
    };
    let spec = match kind {
        Kind::Http => {
            super::http::spec(c, ctx, &required, env, p).map(|s| ProbeSpec::Http(Box::new(s)))
        }
        Kind::Tcp => super::tcp::spec(c, ctx, &required, env, p).map(ProbeSpec::Tcp),
        Kind::Dns => super::dns::spec(c, ctx, &required, p).map(ProbeSpec::Dns),
    };
    if foreign { None } else { spec }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{check, valid};
    use crate::model::PublicDetails;

    #[test]
    fn public_details_default_to_redacted_and_are_inherited() {
        let tcp = "type = \"tcp\"\nhost = \"h\"\nport = 1\n";
        let c = valid(&format!("[[check]]\nid = \"a\"\n{tcp}"));
        assert_eq!(c.checks[0].public_details, PublicDetails::Redacted);
        let c = valid(&format!(
            "[defaults]\npublic_details = \"full\"\n[[check]]\nid = \"a\"\n{tcp}\
             [[check]]\nid = \"b\"\npublic_details = \"redacted\"\n{tcp}"
        ));
        let details: Vec<_> = c.checks.iter().map(|c| c.public_details).collect();
        assert_eq!(details, [PublicDetails::Full, PublicDetails::Redacted]);
        check(
            &format!(
                "[defaults]\npublic_details = \"some\"\n[[check]]\nid = \"a\"\n{tcp}\
                 public_details = \"none\"\n"
            ),
            &[
                "etc/watchpost.toml:2:18: defaults: public_details: unknown value \"some\": use \"redacted\" or \"full\"",
                "etc/watchpost.toml:8:18: check \"a\": public_details: unknown value \"none\": use \"redacted\" or \"full\"",
            ],
        );
    }

    #[test]
    fn expanded_values_are_kept_as_the_checks_secrets() {
        let c = valid(
            "[[check]]\nid = \"db\"\ntype = \"tcp\"\nhost = \"${DB_HOST}\"\nport = 5432\n\
             send = \"AUTH ${TOKEN}\\r\\n\"\n",
        );
        let mut text = "cannot resolve db.internal; got \"-ERR s3cret\"".to_string();
        c.checks[0].secrets.scrub(&mut text);
        assert_eq!(text, "cannot resolve ${DB_HOST}; got \"-ERR ${TOKEN}\"");
    }

    #[test]
    fn timeout_longer_than_interval() {
        let tcp = "[[check]]\nid = \"a\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n";
        check(
            &format!("{tcp}interval = \"30s\"\ntimeout = \"1m\"\n"),
            &["etc/watchpost.toml:7:11: check \"a\": timeout 1m is longer than interval 30s"],
        );
        check(
            &format!("{tcp}interval = \"5s\"\n"),
            &[
                "etc/watchpost.toml:6:12: check \"a\": timeout 10s (from [defaults]) is longer than interval 5s",
            ],
        );
        // Reported once at [defaults], not again for every check that inherits both.
        check(
            &format!("[defaults]\ntimeout = \"2m\"\n\n{tcp}"),
            &["etc/watchpost.toml:2:11: defaults: timeout 2m is longer than interval 1m"],
        );
    }

    #[test]
    fn bad_and_duplicate_ids() {
        let tcp = "type = \"tcp\"\nhost = \"h\"\nport = 1\n";
        check(
            &format!("[[check]]\nid = \"a\"\n{tcp}\n[[check]]\nid = \"a\"\n{tcp}"),
            &["etc/watchpost.toml:8:6: duplicate check id \"a\", first defined on line 2"],
        );
        check(
            &format!("[[check]]\nid = \"Web Site\"\n{tcp}\n[[check]]\n{tcp}"),
            &[
                "etc/watchpost.toml:2:6: invalid check id \"Web Site\": use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
                "etc/watchpost.toml:7:1: check #2: missing `id`",
            ],
        );
    }

    #[test]
    fn type_and_its_keys() {
        check(
            "[[check]]\nid = \"a\"\ntype = \"ftp\"\n\n[[check]]\nid = \"b\"\n",
            &[
                "etc/watchpost.toml:3:8: check \"a\": unknown type \"ftp\": use http, tcp or dns",
                "etc/watchpost.toml:5:1: check \"b\": missing `type` (http, tcp or dns)",
            ],
        );
        check(
            "[[check]]\nid = \"web\"\ntype = \"http\"\nurl = \"https://example.org/\"\nport = 443\n",
            &["etc/watchpost.toml:5:1: check \"web\": `port` is not a key of an http check"],
        );
    }
}
