//! The parts every HTML page is made of: the frames (public and admin), a check's and a group's
//! state, its latest failure and an incident as they read in lists, an incident's evidence, and
//! every time as a `<time>` element in words (see `words`), each in the language of the catalog
//! it is given (the admin pages' frame is English). It renders fragments only; it never reads
//! the store or the snapshot, and never prints a raw timestamp or a count of seconds.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::markdown;
use super::overall::Tally;
use crate::clock::Timestamp;
use crate::config::{Check, Config};
use crate::i18n::{ENGLISH, Lang, StateWords, Strings};
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
        ENGLISH,
        false,
        title,
        site,
        html! { @if let Some(src) = script { script src=(src) defer {} } },
        html! {},
        body,
    )
}

/// The page frame of the public pages: the feeds announced in the head and linked from the
/// header with the subscription page (where the config enables it), and the times shown in the
/// viewer's zone by `/assets/time.js` (UTC without JavaScript); `script` is one more. The footer
/// offers the page in every language.
pub(super) fn public(
    txt: &Strings,
    title: &str,
    config: &Config,
    script: Option<&str>,
    body: Markup,
) -> Markup {
    public_frame(
        txt,
        title,
        &config.server.title,
        config.subscriptions.email,
        script,
        body,
    )
}

fn public_frame(
    txt: &Strings,
    title: &str,
    site: &str,
    subscribe: bool,
    script: Option<&str>,
    body: Markup,
) -> Markup {
    let head = html! {
        link rel="alternate" type="application/atom+xml" title=((txt.feed_atom)(site)) href="/feed.atom";
        link rel="alternate" type="application/rss+xml" title=((txt.feed_rss)(site)) href="/feed.rss";
        script src="/assets/time.js" defer {}
        @if let Some(src) = script { script src=(src) defer {} }
    };
    let corner = html! {
        nav.follow aria-label=(txt.follow_updates) {
            @if subscribe { a href="/subscribe" { (txt.subscribe) } }
            a href="/feed.atom" { (txt.atom_feed) }
            a href="/feed.rss" { (txt.rss_feed) }
        }
    };
    frame(txt, true, title, site, head, corner, body)
}

fn frame(
    txt: &Strings,
    languages: bool,
    title: &str,
    site: &str,
    head: Markup,
    corner: Markup,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(txt.code) {
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
                footer {
                    (txt.monitored_by) a href="https://github.com/watchpost" { "watchpost" }
                    @if languages {
                        " · "
                        nav.langs aria-label=(txt.language) {
                            @for (n, l) in Lang::ALL.iter().map(|l| l.strings()).enumerate() {
                                @if n > 0 { " · " }
                                @if l.code == txt.code { span aria-current="true" lang=(l.code) { (l.name) } }
                                @else { a href={ "?lang=" (l.code) } hreflang=(l.code) lang=(l.code) { (l.name) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A small page for errors and empty results.
pub(super) fn message(txt: &Strings, title: &str, text: &str) -> Markup {
    public_frame(
        txt,
        title,
        "watchpost",
        false,
        None,
        html! { h1 { (title) } p { (text) } },
    )
}

/// A check's (or a group's) state, coloured by its class and said in words.
pub(super) fn state_tag(txt: &Strings, s: CheckState) -> Markup {
    html! { span class={ "state " (s.as_str()) } { (state_words(txt, s).label) } }
}

/// How a check's state reads on a page.
fn state_words(txt: &Strings, s: CheckState) -> &StateWords {
    match s {
        CheckState::Unknown => &txt.unknown,
        CheckState::Up => &txt.up,
        CheckState::Degraded => &txt.degraded,
        CheckState::Down => &txt.down,
        CheckState::Maintenance => &txt.maintenance,
    }
}

/// A group's state for its heading, saying how many of its checks are in its worst state and
/// coloured by it: "1 of 5 down", "2 of 5 degraded", "All 5 operational".
pub(super) fn group_tag(txt: &Strings, t: Tally) -> Markup {
    let words = state_words(txt, t.worst);
    let text = match (t.count, t.total) {
        (_, 1) => words.label.to_string(),
        (n, total) if n == total => (txt.group_all)(total, words),
        (n, total) => (txt.group_some)(n, total, words),
    };
    html! { span class={ "state " (t.worst.as_str()) } { (text) } }
}

/// How an incident's status reads on a page.
pub(super) fn status_label(txt: &Strings, s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Investigating => txt.investigating,
        IncidentStatus::Identified => txt.identified,
        IncidentStatus::Monitoring => txt.monitoring,
        IncidentStatus::Resolved => txt.resolved,
    }
}

/// An instant as people read it ("Dec 3, 11:24 UTC"), shown in the viewer's zone by
/// `/assets/time.js`.
pub(super) fn at(txt: &Strings, t: Timestamp, now: Timestamp) -> Markup {
    html! { time datetime=(t.rfc3339()) data-t="at" { (words::when(txt, t, now)) } }
}

/// A range of time: "Dec 3, 11:00 – 12:30 UTC", each end in its own `<time>`.
pub(super) fn range(txt: &Strings, start: Timestamp, end: Timestamp, now: Timestamp) -> Markup {
    let from = start.rfc3339();
    html! {
        time datetime=(from) data-t="from" { (words::day_and_time(txt, start, now)) }
        " – "
        time datetime=(end.rfc3339()) data-t="to" data-from=(from) { (words::until(txt, start, end, now)) }
    }
}

/// How long ago `then` was ("3 min ago", "just now"), the instant itself on hover.
pub(super) fn ago(txt: &Strings, now: Timestamp, then: Timestamp) -> Markup {
    html! {
        time datetime=(then.rfc3339()) data-t="ago" title=(words::when(txt, then, now)) { (words::ago(txt, now, then)) }
    }
}

/// A duration: "6 min 29 s", "2 h 5 min".
pub(super) fn lasting(txt: &Strings, d: std::time::Duration) -> Markup {
    html! { time datetime=(words::iso_duration(d)) { (words::duration(txt, d)) } }
}

/// When an incident started and ended and how long it lasted, or how long it has been going on.
pub(super) fn incident_times(txt: &Strings, i: &IncidentRow, now: Timestamp) -> Markup {
    html! {
        @match i.resolved_at {
            Some(end) => { (range(txt, i.started_at, end, now)) (txt.lasted) (lasting(txt, end.since(i.started_at))) }
            None => { (txt.since) (at(txt, i.started_at, now)) (txt.ongoing_for) (lasting(txt, now.since(i.started_at))) }
        }
    }
}

/// An incident as a list item: its title as a link, when it started and ended and how long it
/// lasted, and, for an active one, its latest update inside the same block.
pub(super) fn incident_item(
    txt: &Strings,
    i: &IncidentRow,
    now: Timestamp,
    latest: Option<&UpdateRow>,
) -> Markup {
    html! {
        li class={ "incident " (i.severity.as_str()) } {
            a href={ "/incidents/" (i.id) } { (i.title) }
            p.small { (incident_times(txt, i, now)) }
            @if let Some(u) = latest {
                div.latest {
                    strong { (status_label(txt, u.status)) } " · " (at(txt, u.at, now))
                    div.md { (PreEscaped(markdown::render(&u.body))) }
                }
            }
        }
    }
}

/// What the latest handshake said of the certificate: when it expires, the TLS version, and
/// its issuer where the check's details are public (an issuer's name may be an internal one).
pub(super) fn certificate(
    txt: &Strings,
    tls: &TlsInfo,
    details: PublicDetails,
    now: Timestamp,
) -> Markup {
    html! {
        p.small.cert {
            (txt.certificate)
            @if let Some(end) = tls.earliest_expiry { " " (words::expiry(txt, now, end)) " (" (at(txt, end, now)) ")" }
            " · " (tls.version)
            @if let (Some(issuer), PublicDetails::Full) = (&tls.issuer, details) { (txt.issued_by) (issuer) }
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
    txt: &Strings,
    evidence: &[Evidence],
    now: Timestamp,
    message: impl Fn(&Evidence) -> Option<String>,
) -> Markup {
    html! {
        table.evidence {
            thead { tr { th { (txt.col_time) } th { (txt.col_result) } th { (txt.col_code) } th { (txt.col_took) } th { (txt.col_error) } } }
            tbody {
                @for e in evidence {
                    tr {
                        td { time datetime=(e.at.rfc3339()) data-t="at-s" { (words::when_to_the_second(txt, e.at, now)) } }
                        td { (e.status) }
                        td { @if let Some(c) = e.code { (c) } }
                        td { (words::latency(txt, std::time::Duration::from_micros(e.latency_us.max(0) as u64))) }
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
            let html = group_tag(
                ENGLISH,
                Tally {
                    worst,
                    count,
                    total,
                },
            )
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
            let html = public_frame(ENGLISH, "t", "Site", subscribe, None, html! {}).into_string();
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
        let french = public_frame(Lang::Fr.strings(), "t", "Site", true, None, html! {});
        let french = french.into_string();
        assert!(
            french.contains(r#"<nav class="follow" aria-label="Suivre les mises à jour"><a href="/subscribe">S’abonner</a><a href="/feed.atom">Flux Atom</a><a href="/feed.rss">Flux RSS</a></nav>"#),
            "{french}"
        );
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
        let ongoing = incident_times(ENGLISH, &i, now).into_string();
        assert_eq!(
            ongoing,
            r#"Since <time datetime="2026-12-03T11:24:08Z" data-t="at">Dec 3, 11:24 UTC</time> · ongoing for <time datetime="PT6M28S">6 min 28 s</time>"#
        );
        i.resolved_at = Some(now);
        let over = incident_times(ENGLISH, &i, now).into_string();
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
        let item = incident_item(ENGLISH, &i, now, Some(&update)).into_string();
        assert!(
            item.starts_with(r#"<li class="incident major">"#)
                && item.ends_with("</div></div></li>"),
            "the latest update sits inside the item: {item}"
        );
    }
}
