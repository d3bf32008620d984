//! The front page as HTML, from the snapshot, the rendered bars, the maintenance schedule and
//! the incidents: the frame is rendered with maud, then each check's row is written into one
//! buffer around its stored bar. Pure: it reads nothing and caches nothing itself.

use maud::{PreEscaped, Render, html};

use super::bars::Bars;
use crate::clock::Timestamp;
use crate::config::Check;
use crate::maintenance::Schedule;
use crate::snapshot::{CheckNow, Snapshot};
use crate::store::{IncidentRow, IncidentTimeline};
use crate::uptime::percent;
use crate::web::layout::{ago, group_tag, incident_item, last_failure, public, range, state_tag};
use crate::web::markdown;
use crate::web::overall::{Overall, Tally, groups};
use crate::web::planned::UPCOMING;

/// Appends one check's row to `out`: the parts that change by the second around the bar,
/// which is copied in as rendered.
fn check_row(out: &mut String, check: &Check, now_state: &CheckNow, bars: &Bars, now: Timestamp) {
    let state = now_state.shown_state(check, now);
    let history = bars.history.checks.get(check.id.as_str());
    out.push_str("<li class=\"check\">");
    html! {
        div.line {
            a.name href={ "/checks/" (check.id) } { (check.name) }
            (state_tag(state))
        }
    }
    .render_to(out);
    if let (Some(h), Some(bar)) = (history, bars.bar(check.id.as_str())) {
        out.push_str(bar);
        html! {
            div.meta {
                span { "90 days ago" }
                span {
                    @match h.uptime[3] {
                        Some(_) => { (percent(h.uptime[3])) " uptime" }
                        None => "no data yet",
                    }
                }
                span { "today" }
            }
        }
        .render_to(out);
    }
    if let Some(last) = &now_state.last {
        html! {
            p.small {
                "Last checked " (ago(now, last.at))
                @if let Some(failure) = last_failure(check, last) { " · " (failure) }
            }
        }
        .render_to(out);
    }
    out.push_str("</li>");
}

/// Appends the checks, by group, to `out`.
fn check_rows(out: &mut String, f: &Front<'_>) {
    for (group, members) in groups(f.snapshot) {
        if group.is_empty() {
            out.push_str("<section class=\"group\">");
        } else {
            let states: Vec<_> = members
                .iter()
                .map(|(c, n)| n.shown_state(c, f.now))
                .collect();
            out.push_str("<details class=\"group\" open>");
            html! {
                summary { h2 { (group) } (group_tag(Tally::of(&states))) }
            }
            .render_to(out);
        }
        out.push_str("<ul class=\"checks\">");
        for (check, current) in members {
            check_row(out, check, current, f.bars, f.now);
        }
        out.push_str("</ul>");
        out.push_str(if group.is_empty() {
            "</section>"
        } else {
            "</details>"
        });
    }
}

/// Where the checks go in the page: text from config or Markdown can never produce it, since
/// both escape `<`.
const ROWS: &str = "<!--rows-->";

/// The overall banner's class and text, in Statuspage's words: maintenance is named before
/// checks without a known state.
fn banner(overall: Overall) -> (&'static str, &'static str) {
    match overall {
        Overall::NoChecks => ("unknown", "No checks are configured"),
        Overall::Waiting => ("unknown", "Status unknown: waiting for the first probes"),
        Overall::MajorOutage => ("down", "Major outage"),
        Overall::PartialOutage => ("partial", "Partial outage"),
        Overall::Degraded => ("degraded", "Degraded performance"),
        Overall::Maintenance { .. } => ("maintenance", "Under maintenance"),
        Overall::Operational { unknown: true } => ("up", "All known systems operational"),
        Overall::Operational { unknown: false } => ("up", "All systems operational"),
    }
}

/// Everything the front page shows, gathered.
pub struct Front<'a> {
    pub snapshot: &'a Snapshot,
    pub bars: &'a Bars,
    pub schedule: &'a Schedule,
    /// Open incidents, newest first, with their timelines (newest update first).
    pub open: &'a [IncidentTimeline],
    pub recent: &'a [IncidentRow],
    pub now: Timestamp,
}

/// Renders the front page; pure, so it can be measured on its own. The frame is rendered
/// first, then the rows are written into one buffer sized for the whole page.
pub fn render_index(f: &Front<'_>) -> String {
    let (snapshot, now) = (f.snapshot, f.now);
    let (open, recent) = (f.open, f.recent);
    let (class, text) = banner(Overall::at(snapshot, now));
    let title = &snapshot.config.server.title;
    let active = f.schedule.active(now);
    let upcoming = f.schedule.upcoming(now, UPCOMING);
    let names = |slugs: &[crate::config::CheckId]| {
        slugs
            .iter()
            .map(|c| {
                snapshot
                    .get(c.as_str())
                    .map_or(c.as_str(), |(c, _)| c.name.as_str())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let frame = public(
        title,
        &snapshot.config,
        Some("/assets/bars.js"),
        html! {
            h1.sr { (title) }
            div class={ "banner " (class) } role="status" { (text) }
            @if !open.is_empty() {
                section {
                    h2 { "Active incidents" }
                    ul.incidents { @for t in open { (incident_item(&t.incident, now, t.updates.first())) } }
                }
            }
            @if !active.is_empty() || !upcoming.is_empty() {
                section {
                    h2 { "Maintenance" }
                    ul.incidents {
                        @for (w, label) in active.iter().map(|w| (w, "In progress")).chain(upcoming.iter().map(|w| (w, "Planned"))) {
                            li.incident.maintenance {
                                strong { (label) ": " } (w.title)
                                p.small { (range(w.start, w.end, now)) " · " (names(&w.checks)) }
                                @if !w.body.is_empty() { div.md { (PreEscaped(markdown::render(&w.body))) } }
                            }
                        }
                    }
                }
            }
            (PreEscaped(ROWS))
            p.legend {
                @for (level, text) in [("up", "operational"), ("degraded", "degraded"), ("partial", "outage under 1 h"), ("down", "outage of 1 h or more"), ("maintenance", "maintenance"), ("nodata", "no data")] {
                    span { i class=(level) {} " " (text) } " "
                }
            }
            @if !recent.is_empty() {
                section {
                    h2 { "Past incidents" }
                    ul.incidents { @for i in recent { (incident_item(i, now, None)) } }
                    p.small { a href="/history" { "Incident history" } }
                }
            }
        },
    )
    .into_string();
    let (head, tail) = frame.split_once(ROWS).unwrap_or((&frame, ""));
    let rows: usize = f.bars.lengths().map(|n| n + 512).sum();
    let mut out = String::with_capacity(head.len() + rows + tail.len());
    out.push_str(head);
    check_rows(&mut out, f);
    out.push_str(tail);
    out
}
