//! The parts every HTML page is made of: the frames (public and admin), a check's and a group's
//! state, its latest failure and an incident as they read in lists, an incident's evidence, and
//! every time as a `<time>` element in words (see `words`). It renders fragments only; it never
//! reads the store or the snapshot, and never prints a raw timestamp or a count of seconds.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::markdown;
use super::overall::Tally;
use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::model::{IncidentStatus, PublicDetails};
use crate::monitor::State as CheckState;
use crate::probe::TlsInfo;
use crate::redact::{self, Failed};
use crate::snapshot::LastProbe;
use crate::store::{Evidence, IncidentRow, UpdateRow};
use crate::words;

/// The page frame of the admin pages; `script` is a same-origin script URL.
pub(crate) fn page(title: &str, site: &str, script: Option<&str>, body: Markup) -> Markup {
    frame(
        title,
        site,
        html! { @if let Some(src) = script { script src=(src) defer {} } },
        html! {},
        body,
    )
}

/// The page frame of the public pages: the feeds announced in the head and linked from the
/// header with the subscription page (where the config enables it), and the times shown in the
/// viewer's zone by `/assets/time.js` (UTC without JavaScript); `script` is one more.
pub(super) fn public(title: &str, config: &Config, script: Option<&str>, body: Markup) -> Markup {
    public_frame(
        title,
        &config.server.title,
        config.subscriptions.email,
        script,
        body,
    )
}

fn public_frame(
    title: &str,
    site: &str,
    subscribe: bool,
    script: Option<&str>,
    body: Markup,
) -> Markup {
    let head = html! {
        link rel="alternate" type="application/atom+xml" title={ (site) " incident history (Atom)" } href="/feed.atom";
        link rel="alternate" type="application/rss+xml" title={ (site) " incident history (RSS)" } href="/feed.rss";
        script src="/assets/time.js" defer {}
        @if let Some(src) = script { script src=(src) defer {} }
    };
    let corner = html! {
        nav.follow aria-label="Follow updates" {
            @if subscribe { a href="/subscribe" { "Subscribe" } }
            a href="/feed.atom" { "Atom feed" }
            a href="/feed.rss" { "RSS feed" }
        }
    };
    frame(title, site, head, corner, body)
}

fn frame(title: &str, site: &str, head: Markup, corner: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/style.css";
                (head)
            }
            body {
                header.site { a href="/" { (site) } (corner) }
                main { (body) }
                footer { "Monitored by " a href="https://github.com/watchpost" { "watchpost" } }
            }
        }
    }
}

/// A small page for errors and empty results.
pub(super) fn message(title: &str, text: &str) -> Markup {
    public_frame(
        title,
        "watchpost",
        false,
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

/// A group's state for its heading, saying how many of its checks are in its worst state and
/// coloured by it: "1 of 5 down", "2 of 5 degraded", "All 5 operational".
pub(super) fn group_tag(t: Tally) -> Markup {
    let word = match t.worst {
        CheckState::Unknown => "unknown",
        CheckState::Up => "operational",
        CheckState::Degraded => "degraded",
        CheckState::Down => "down",
        CheckState::Maintenance => "under maintenance",
    };
    let text = match (t.count, t.total) {
        (_, 1) => state_label(t.worst).to_string(),
        (n, total) if n == total => format!("All {total} {word}"),
        (n, total) => format!("{n} of {total} {word}"),
    };
    html! { span class={ "state " (t.worst.as_str()) } { (text) } }
}

/// How an incident's status reads on a page.
pub(super) fn status_label(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
    }
}

/// An instant as people read it ("Dec 3, 11:24 UTC"), shown in the viewer's zone by
/// `/assets/time.js`.
pub(super) fn at(t: Timestamp, now: Timestamp) -> Markup {
    html! { time datetime=(t.rfc3339()) data-t="at" { (words::when(t, now)) } }
}

/// A range of time: "Dec 3, 11:00 – 12:30 UTC", each end in its own `<time>`.
pub(super) fn range(start: Timestamp, end: Timestamp, now: Timestamp) -> Markup {
    let from = start.rfc3339();
    html! {
        time datetime=(from) data-t="from" { (words::day_and_time(start, now)) }
        " – "
        time datetime=(end.rfc3339()) data-t="to" data-from=(from) { (words::until(start, end, now)) }
    }
}

/// How long ago `then` was ("3 min ago", "just now"), the instant itself on hover.
pub(super) fn ago(now: Timestamp, then: Timestamp) -> Markup {
    html! {
        time datetime=(then.rfc3339()) data-t="ago" title=(words::when(then, now)) { (words::ago(now, then)) }
    }
}

/// A duration: "6 min 29 s", "2 h 5 min".
pub(super) fn lasting(d: std::time::Duration) -> Markup {
    html! { time datetime=(words::iso_duration(d)) { (words::duration(d)) } }
}

/// When an incident started and ended and how long it lasted, or how long it has been going on.
pub(super) fn incident_times(i: &IncidentRow, now: Timestamp) -> Markup {
    html! {
        @match i.resolved_at {
            Some(end) => { (range(i.started_at, end, now)) " · lasted " (lasting(end.since(i.started_at))) }
            None => { "Since " (at(i.started_at, now)) " · ongoing for " (lasting(now.since(i.started_at))) }
        }
    }
}

/// An incident as a list item: its title as a link, when it started and ended and how long it
/// lasted, and, for an active one, its latest update inside the same block.
pub(super) fn incident_item(i: &IncidentRow, now: Timestamp, latest: Option<&UpdateRow>) -> Markup {
    html! {
        li class={ "incident " (i.severity.as_str()) } {
            a href={ "/incidents/" (i.id) } { (i.title) }
            p.small { (incident_times(i, now)) }
            @if let Some(u) = latest {
                div.latest {
                    strong { (status_label(u.status)) } " · " (at(u.at, now))
                    div.md { (PreEscaped(markdown::render(&u.body))) }
                }
            }
        }
    }
}

/// What the latest handshake said of the certificate: when it expires, the TLS version, and
/// its issuer where the check's details are public (an issuer's name may be an internal one).
pub(super) fn certificate(tls: &TlsInfo, details: PublicDetails, now: Timestamp) -> Markup {
    html! {
        p.small.cert {
            "Certificate"
            @if let Some(end) = tls.earliest_expiry { " " (words::expiry(now, end)) " (" (at(end, now)) ")" }
            " · " (tls.version)
            @if let (Some(issuer), PublicDetails::Full) = (&tls.issuer, details) { " · issued by " (issuer) }
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
    now: Timestamp,
    message: impl Fn(&Evidence) -> Option<String>,
) -> Markup {
    html! {
        table.evidence {
            thead { tr { th { "Time" } th { "Result" } th { "Code" } th { "Took" } th { "Error" } } }
            tbody {
                @for e in evidence {
                    tr {
                        td { time datetime=(e.at.rfc3339()) data-t="at-s" { (words::when_to_the_second(e.at, now)) } }
                        td { (e.status) }
                        td { @if let Some(c) = e.code { (c) } }
                        td { (words::latency(std::time::Duration::from_micros(e.latency_us.max(0) as u64))) }
                        td { @if let Some(r) = e.reason { (r) ": " } (message(e).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Impact;

    #[test]
    fn a_group_says_how_many_of_its_checks_are_in_its_worst_state() {
        let check = |worst, count, total, expected: &str| {
            let html = group_tag(Tally {
                worst,
                count,
                total,
            })
            .into_string();
            assert_eq!(html, expected);
        };
        check(
            CheckState::Down,
            1,
            5,
            r#"<span class="state down">1 of 5 down</span>"#,
        );
        check(
            CheckState::Degraded,
            2,
            5,
            r#"<span class="state degraded">2 of 5 degraded</span>"#,
        );
        check(
            CheckState::Up,
            5,
            5,
            r#"<span class="state up">All 5 operational</span>"#,
        );
        check(
            CheckState::Down,
            1,
            1,
            r#"<span class="state down">Down</span>"#,
        );
    }

    #[test]
    fn every_public_page_links_the_feeds_and_subscribe_only_where_enabled() {
        for subscribe in [true, false] {
            let html = public_frame("t", "Site", subscribe, None, html! {}).into_string();
            let corner = html
                .split_once("<nav class=\"follow\" aria-label=\"Follow updates\">")
                .and_then(|(_, rest)| rest.split_once("</nav>"))
                .map(|(corner, _)| corner)
                .unwrap_or_else(|| panic!("a corner in the header: {html}"));
            assert!(corner.contains(r#"<a href="/feed.atom">Atom feed</a>"#));
            assert!(corner.contains(r#"<a href="/feed.rss">RSS feed</a>"#));
            assert_eq!(
                corner.contains(r#"href="/subscribe""#),
                subscribe,
                "{corner}"
            );
        }
    }

    #[test]
    fn an_incident_reads_in_words_ongoing_or_over() {
        // 2026-12-03T11:24:08Z
        let start = Timestamp(1_796_297_048_000);
        let now = start.plus(std::time::Duration::from_millis(388_800));
        let mut i = IncidentRow {
            id: 7,
            check: Some("api".into()),
            auto: true,
            severity: Impact::Major,
            title: "API is down".into(),
            started_at: start,
            resolved_at: None,
            checks: vec!["api".into()],
            status: IncidentStatus::Investigating,
            cause: None,
            postmortem: None,
            hold: false,
            false_alarm: false,
        };
        let ongoing = incident_times(&i, now).into_string();
        assert_eq!(
            ongoing,
            r#"Since <time datetime="2026-12-03T11:24:08Z" data-t="at">Dec 3, 11:24 UTC</time> · ongoing for <time datetime="PT6M28S">6 min 28 s</time>"#
        );
        i.resolved_at = Some(now);
        let over = incident_times(&i, now).into_string();
        assert_eq!(
            over,
            r#"<time datetime="2026-12-03T11:24:08Z" data-t="from">Dec 3, 11:24</time> – <time datetime="2026-12-03T11:30:36Z" data-t="to" data-from="2026-12-03T11:24:08Z">11:30 UTC</time> · lasted <time datetime="PT6M28S">6 min 28 s</time>"#
        );
        let update = UpdateRow {
            id: 1,
            at: start,
            status: IncidentStatus::Investigating,
            body: "Looking".into(),
            author: None,
        };
        let item = incident_item(&i, now, Some(&update)).into_string();
        assert!(
            item.starts_with(r#"<li class="incident major">"#)
                && item.ends_with("</div></div></li>"),
            "the latest update sits inside the item: {item}"
        );
    }
}
