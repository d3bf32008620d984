//! Operator alerts in the config: each `[[notify]]` destination, `[smtp]` and the shared timing of
//! `[notifications]`, validated into [`Notify`] with every default filled in.
//!
//! Owns the filters, reminders and timing; each destination's type and its keys are
//! `notify_target`'s, the mail server `smtp`'s. It never quotes a secret in a message and never
//! opens a connection.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde_spanned::Spanned;

use super::CheckId;
use super::diag::Problems;
use super::env::Env;
use super::notify_target::Target;
use super::raw;
use super::smtp::Smtp;
use crate::model::Impact;

/// Everything about operator alerts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Notify {
    pub destinations: Vec<Destination>,
    pub smtp: Option<Smtp>,
    pub timing: Timing,
    /// Days before a certificate's expiry at which operators hear of it, once each.
    pub cert_days: CertDays,
}

/// `[notifications] cert_expiry_days`: distinct, largest first; empty sends no expiry notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertDays(pub Vec<u32>);

impl Default for CertDays {
    fn default() -> CertDays {
        CertDays(vec![30, 14, 7, 1])
    }
}

impl CertDays {
    /// The smallest threshold a certificate `left_ms` from its expiry is within (negative:
    /// already expired, within every one).
    pub fn crossed(&self, left_ms: i64) -> Option<u32> {
        self.0
            .iter()
            .rev()
            .copied()
            .find(|&d| left_ms <= i64::from(d) * 86_400_000)
    }
}

/// Longest `cert_expiry_days` threshold: a year.
const MAX_CERT_DAYS: i64 = 366;

/// How deliveries are paced: grouping, retries and when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Rows that become due within this of the first are sent as one message (0: no grouping).
    pub group_window: Duration,
    /// The wait after the first failed attempt; it doubles after each failure.
    pub retry_first: Duration,
    /// The longest wait between two attempts.
    pub retry_max: Duration,
    /// A notification still undelivered this long after it was written is dead-lettered.
    pub give_up_after: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            group_window: Duration::from_secs(10),
            retry_first: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// One `[[notify]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    /// Unique; names it in metrics, logs, idempotency keys and `watchpost notify test`.
    pub name: String,
    pub target: Target,
    /// Only incidents and windows touching these checks (with `groups`); empty: no check filter.
    pub checks: Vec<CheckId>,
    pub groups: Vec<String>,
    /// Incidents of a lower impact are not sent.
    pub min_severity: Impact,
    pub send_resolved: bool,
    /// Reminders while an incident stays open: after this, then twice as long each time.
    pub remind_every: Option<Duration>,
    pub group_window: Duration,
}

/// The ids and groups of every `[[check]]` written, valid or not: what a destination's filters
/// may name. Gathered while the checks are read one by one, since none is kept.
#[derive(Default)]
pub(super) struct Written {
    pub(super) ids: HashSet<String>,
    pub(super) groups: HashSet<String>,
}

impl Written {
    /// Notes one check as written.
    pub(super) fn note(&mut self, c: &raw::Check) {
        if let Some(id) = &c.id {
            self.ids.insert(id.get_ref().clone());
        }
        if let Some(g) = &c.group
            && !g.get_ref().is_empty()
        {
            self.groups.insert(g.get_ref().clone());
        }
    }
}

/// `[[notify]]`, `[smtp]` and `[notifications]`. The filters are checked against every
/// `[[check]]` written, valid or not, so a bad check is reported once, at the check.
pub(super) fn notify(
    raw: &raw::Config,
    written: &Written,
    path: &Path,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Notify {
    let timing = timing(raw.notifications.as_ref(), p);
    let cert_days = cert_days(raw.notifications.as_ref(), p);
    let dir = path.parent().unwrap_or(Path::new(""));
    let smtp = raw
        .smtp
        .as_ref()
        .and_then(|s| super::smtp::smtp(s, dir, env, p));
    let known = Known {
        checks: &written.ids,
        groups: &written.groups,
        smtp: raw.smtp.is_some(),
        group_window: timing.group_window,
    };
    let mut names: HashMap<String, usize> = HashMap::new();
    let destinations = raw
        .notify
        .iter()
        .enumerate()
        .filter_map(|(i, d)| destination(i, d, &known, &mut names, env, p))
        .collect();
    Notify {
        destinations,
        smtp,
        timing,
        cert_days,
    }
}

fn cert_days(raw: Option<&Spanned<raw::Notifications>>, p: &mut Problems<'_>) -> CertDays {
    let Some(list) = raw.and_then(|r| r.get_ref().cert_expiry_days.as_ref()) else {
        return CertDays::default();
    };
    let mut days = Vec::new();
    for v in list.get_ref() {
        match u32::try_from(*v.get_ref()) {
            Ok(d) if (1..=MAX_CERT_DAYS).contains(v.get_ref()) => days.push(d),
            _ => p.at(
                v.span(),
                format!(
                    "notifications: cert_expiry_days: {} is not a number of days from 1 to {MAX_CERT_DAYS}",
                    v.get_ref()
                ),
            ),
        }
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    CertDays(days)
}

/// What a destination's keys are checked against.
struct Known<'a> {
    checks: &'a HashSet<String>,
    groups: &'a HashSet<String>,
    smtp: bool,
    group_window: Duration,
}

fn timing(raw: Option<&Spanned<raw::Notifications>>, p: &mut Problems<'_>) -> Timing {
    let mut t = Timing::default();
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return t;
    };
    const CTX: &str = "notifications: ";
    let keys = [
        (&raw.group_window, "group_window", &mut t.group_window, true),
        (&raw.retry_first, "retry_first", &mut t.retry_first, false),
        (&raw.retry_max, "retry_max", &mut t.retry_max, false),
        (
            &raw.give_up_after,
            "give_up_after",
            &mut t.give_up_after,
            false,
        ),
    ];
    for (v, key, slot, zero_ok) in keys {
        if let Some(d) = v
            .as_ref()
            .and_then(|v| span_duration(p, CTX, key, v, zero_ok))
        {
            *slot = d;
        }
    }
    if t.retry_max < t.retry_first
        && let Some(v) = raw.retry_max.as_ref().or(raw.retry_first.as_ref())
    {
        p.at(
            v.span(),
            format!("{CTX}retry_max must not be shorter than retry_first"),
        );
    }
    t
}

/// A humantime duration; zero only where `zero_ok`.
pub(super) fn span_duration(
    p: &mut Problems<'_>,
    ctx: &str,
    key: &str,
    v: &Spanned<String>,
    zero_ok: bool,
) -> Option<Duration> {
    match humantime::parse_duration(v.get_ref()) {
        Ok(d) if zero_ok || !d.is_zero() => Some(d),
        Ok(_) => {
            p.at(v.span(), format!("{ctx}{key} must be greater than 0"));
            None
        }
        Err(e) => {
            let msg = format!(
                "{ctx}invalid duration {:?} for {key}: {e}; write a number and a unit, like 30s, 5m or 1h",
                v.get_ref()
            );
            p.at(v.span(), msg);
            None
        }
    }
}
fn destination(
    index: usize,
    d: &Spanned<raw::Notify>,
    known: &Known<'_>,
    names: &mut HashMap<String, usize>,
    env: Env<'_>,
    p: &mut Problems<'_>,
) -> Option<Destination> {
    let whole = d.span();
    let d = d.get_ref();
    let ctx = match &d.name {
        Some(n) => format!("notify {:?}: ", n.get_ref()),
        None => format!("notify #{}: ", index + 1),
    };
    let name = name(d, &ctx, whole.clone(), names, p);
    let target = super::notify_target::target(d, &ctx, whole, known.smtp, env, p);
    let checks = filter(&d.checks, &ctx, p, |id| {
        let found = CheckId::new(id)
            .ok()
            .filter(|c| known.checks.contains(c.as_str()));
        found.ok_or_else(|| format!("checks: there is no check with id {id:?}"))
    });
    let groups = filter(&d.groups, &ctx, p, |g| {
        if known.groups.contains(g) {
            Ok(g.to_string())
        } else {
            Err(format!("groups: no check is in group {g:?}"))
        }
    });
    let min_severity = match &d.min_severity {
        None => Some(Impact::Minor),
        Some(v) => match Impact::parse(v.get_ref()) {
            Some(i) if i >= Impact::Minor => Some(i),
            _ => {
                let msg = format!(
                    "{ctx}min_severity: unknown severity {:?}: use minor, major or critical",
                    v.get_ref()
                );
                p.at(v.span(), msg);
                None
            }
        },
    };
    let remind_every = match &d.remind_every {
        None => Some(None),
        Some(v) => span_duration(p, &ctx, "remind_every", v, false).map(Some),
    };
    let group_window = match &d.group_window {
        None => Some(known.group_window),
        Some(v) => span_duration(p, &ctx, "group_window", v, true),
    };
    Some(Destination {
        name: name?,
        target: target?,
        checks: checks?,
        groups: groups?,
        min_severity: min_severity?,
        send_resolved: d.send_resolved.as_ref().is_none_or(|v| *v.get_ref()),
        remind_every: remind_every?,
        group_window: group_window?,
    })
}

/// The destination's unique name: letters, digits, '.', '_' or '-'.
fn name(
    d: &raw::Notify,
    ctx: &str,
    whole: Range<usize>,
    names: &mut HashMap<String, usize>,
    p: &mut Problems<'_>,
) -> Option<String> {
    let Some(v) = &d.name else {
        p.at(whole, format!("{ctx}missing `name`"));
        return None;
    };
    let n = v.get_ref();
    let valid = !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        let msg = format!("{ctx}name: use 1 to 64 letters, digits, '.', '_' or '-'");
        p.at(v.span(), msg);
        return None;
    }
    let (line, _) = p.locate(v.span().start);
    if let Some(first) = names.get(n) {
        let msg = format!("duplicate notify name {n:?}, first defined on line {first}");
        p.at(v.span(), msg);
        return None;
    }
    names.insert(n.clone(), line);
    Some(n.clone())
}

/// A `checks` or `groups` list, each item checked by `item`.
fn filter<T>(
    list: &Option<Spanned<Vec<Spanned<String>>>>,
    ctx: &str,
    p: &mut Problems<'_>,
    item: impl Fn(&str) -> Result<T, String>,
) -> Option<Vec<T>> {
    let mut ok = true;
    let mut out = Vec::new();
    for v in list.iter().flat_map(|l| l.get_ref()) {
        match item(v.get_ref()) {
            Ok(t) => out.push(t),
            Err(e) => {
                p.at(v.span(), format!("{ctx}{e}"));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
