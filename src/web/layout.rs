//! The parts every HTML page is made of: the frame (shared with the admin pages), a check's
//! state, its latest failure and an incident as they read in lists, an incident's evidence, and
//! relative times. It renders fragments only; it never reads the store or the snapshot.

use maud::{DOCTYPE, Markup, html};

use crate::clock::Timestamp;
use crate::config::Check;
use crate::monitor::State as CheckState;
use crate::probe::fmt_duration;
use crate::redact::{self, Failed};
use crate::snapshot::LastProbe;
use crate::store::{Evidence, IncidentRow};

/// The page frame shared by the public and admin pages; `script` is a same-origin script URL.
pub(crate) fn page(title: &str, site: &str, script: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/style.css";
                @if let Some(src) = script { script src=(src) defer {} }
            }
            body {
                header.site { a href="/" { (site) } }
                main { (body) }
                footer { "Monitored by " a href="https://github.com/watchpost" { "watchpost" } }
            }
        }
    }
}

/// A small page for errors and empty results.
pub(super) fn message(title: &str, text: &str) -> Markup {
    page(
        title,
        "watchpost",
        None,
        html! { h1 { (title) } p { (text) } },
    )
}

/// A check's (or a group's) state, coloured by its class and said in words.
pub(super) fn state_tag(s: CheckState) -> Markup {
    html! { span class={ "state " (s.as_str()) } { (state_label(s)) } }
}

/// How a check's state reads on a page.
fn state_label(s: CheckState) -> &'static str {
    match s {
        CheckState::Unknown => "Unknown",
        CheckState::Up => "Operational",
        CheckState::Degraded => "Degraded",
        CheckState::Down => "Down",
        CheckState::Maintenance => "Under maintenance",
    }
}

/// How long ago `then` was, in the largest whole unit.
pub(super) fn ago(now: Timestamp, then: Timestamp) -> String {
    let secs = now.since(then).as_secs();
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// An incident as a list item: its title as a link, when it started, ended and how long it lasted.
pub(super) fn incident_item(i: &IncidentRow, now: Timestamp) -> Markup {
    let end = i.resolved_at.unwrap_or(now);
    html! {
        li class={ "incident " (i.severity.as_str()) } {
            a href={ "/incidents/" (i.id) } { (i.title) }
            p.small {
                "Since " (i.started_at.rfc3339())
                @if let Some(r) = i.resolved_at { " · resolved " (r.rfc3339()) }
                " · " (fmt_duration(end.since(i.started_at)))
            }
        }
    }
}

/// The latest probe's failure as the public reads it (see [`redact`]), if it failed.
pub(super) fn last_failure(check: &Check, last: &LastProbe) -> Option<String> {
    let failure = last.failure.as_ref()?;
    Some(redact::public(check.into(), Failed::of(failure, last.code)))
}

/// An incident's failing probes as a table, newest first; `message` says what each one's error
/// reads as on this page (the public form, or the full message for admins).
pub(crate) fn evidence_table(
    evidence: &[Evidence],
    message: impl Fn(&Evidence) -> Option<String>,
) -> Markup {
    html! {
        table.evidence {
            thead { tr { th { "Time" } th { "Result" } th { "Code" } th { "Took" } th { "Error" } } }
            tbody {
                @for e in evidence {
                    tr {
                        td { (e.at.rfc3339()) }
                        td { (e.status) }
                        td { @if let Some(c) = e.code { (c) } }
                        td { (fmt_duration(std::time::Duration::from_micros(e.latency_us.max(0) as u64))) }
                        td { @if let Some(r) = e.reason { (r) ": " } (message(e).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}
