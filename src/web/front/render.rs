//! The front page as HTML, from the snapshot, the rendered bars, the maintenance schedule and
//! the incidents: the frame is rendered with maud, then each check's row is written into one
//! buffer around its stored bar. Pure: it reads nothing and caches nothing itself.

use maud::{PreEscaped, Render, html};

use super::bars::Bars;
use crate::clock::Timestamp;
use crate::config::Check;
use crate::i18n::{Lang, Strings};
use crate::maintenance::Schedule;
use crate::snapshot::{CheckNow, Snapshot};
use crate::store::{IncidentRow, IncidentTimeline};
use crate::web::layout::{ago, group_tag, incident_item, last_failure, public, range, state_tag};
use crate::web::markdown;
use crate::web::overall::{Overall, Tally, groups};
use crate::web::planned::UPCOMING;
use crate::words::percent;

/// Appends one check's row to `out`: the parts that change by the second around the bar,
/// which is copied in as rendered.
fn check_row(out: &mut String, f: &Front<'_>, check: &Check, now_state: &CheckNow) {
    let (bars, now, txt) = (f.bars, f.now, f.lang.strings());
    let state = now_state.shown_state(check, now);
    let history = bars.history.checks.get(check.id.as_str());
    out.push_str("<li class=\"check\">");
    html! {
        div.line {
            a.name href={ "/checks/" (check.id) } { (check.name) }
            (state_tag(txt, state))
        }
    }
    .render_to(out);
    if let (Some(h), Some(bar)) = (history, bars.bar(f.lang, check.id.as_str())) {
        out.push_str(bar);
        html! {
            div.meta {
                span { (txt.days_ago_90) }
                span {
                    @match h.uptime[3] {
                        Some(_) => { ((txt.uptime_of)(&percent(txt, h.uptime[3]))) }
                        None => (txt.no_data_yet),
                    }
                }
                span { (txt.today) }
            }
        }
        .render_to(out);
    }
    if let Some(last) = &now_state.last {
        html! {
            p.small {
                (txt.last_checked) (ago(txt, now, last.at))
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
                summary { h2 { (group) } (group_tag(f.lang.strings(), Tally::of(&states))) }
            }
            .render_to(out);
        }
        out.push_str("<ul class=\"checks\">");
        for (check, current) in members {
            check_row(out, f, check, current);
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
fn banner(txt: &Strings, overall: Overall) -> (&'static str, &'static str) {
    match overall {
        Overall::NoChecks => ("unknown", txt.no_checks),
        Overall::Waiting => ("unknown", txt.waiting),
        Overall::MajorOutage => ("down", txt.major_outage),
        Overall::PartialOutage => ("partial", txt.partial_outage),
        Overall::Degraded => ("degraded", txt.degraded_performance),
        Overall::Maintenance { .. } => ("maintenance", txt.under_maintenance),
        Overall::Operational { unknown: true } => ("up", txt.all_known_operational),
        Overall::Operational { unknown: false } => ("up", txt.all_operational),
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
    /// The language the page is written in.
    pub lang: Lang,
}

/// Renders the front page; pure, so it can be measured on its own. The frame is rendered
/// first, then the rows are written into one buffer sized for the whole page.
pub fn render_index(f: &Front<'_>) -> String {
    let (snapshot, now) = (f.snapshot, f.now);
    let (open, recent) = (f.open, f.recent);
    let txt = f.lang.strings();
    let (class, text) = banner(txt, Overall::at(snapshot, now));
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
        txt,
        title,
        &snapshot.config,
        Some("/assets/bars.js"),
        html! {
            h1.sr { (title) }
            div class={ "banner " (class) } role="status" { (text) }
            @if !open.is_empty() {
                section {
                    h2 { (txt.active_incidents) }
                    ul.incidents { @for t in open { (incident_item(txt, &t.incident, now, t.updates.first())) } }
                }
            }
            @if !active.is_empty() || !upcoming.is_empty() {
                section {
                    h2 { (txt.maintenance_heading) }
                    ul.incidents {
                        @for (w, label) in active.iter().map(|w| (w, txt.in_progress)).chain(upcoming.iter().map(|w| (w, txt.planned))) {
                            li.incident.maintenance {
                                strong { (label) (txt.colon) } (w.title)
                                p.small { (range(txt, w.start, w.end, now)) " · " (names(&w.checks)) }
                                @if !w.body.is_empty() { div.md { (PreEscaped(markdown::render(&w.body))) } }
                            }
                        }
                    }
                }
            }
            (PreEscaped(ROWS))
            p.legend {
                @for (level, text) in [("up", txt.legend_up), ("degraded", txt.legend_degraded), ("partial", txt.legend_partial), ("down", txt.legend_down), ("maintenance", txt.legend_maintenance), ("nodata", txt.legend_nodata)] {
                    span { i class=(level) {} " " (text) } " "
                }
            }
            @if !recent.is_empty() {
                section {
                    h2 { (txt.past_incidents) }
                    ul.incidents { @for i in recent { (incident_item(txt, i, now, None)) } }
                    p.small { a href="/history" { (txt.incident_history) } }
                }
            }
        },
    )
    .into_string();
    let (head, tail) = frame.split_once(ROWS).unwrap_or((&frame, ""));
    let rows: usize = f.bars.lengths(f.lang).map(|n| n + 512).sum();
    let mut out = String::with_capacity(head.len() + rows + tail.len());
    out.push_str(head);
    check_rows(&mut out, f);
    out.push_str(tail);
    out
}
