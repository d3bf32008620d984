//! The front page as HTML, from the snapshot, the rendered bars, the maintenance schedule and
//! the incidents: the frame is rendered with maud, then each check's row is written into one
//! buffer around its stored bar. It decides which groups a big page folds ([`layout`]) and
//! renders one group's list for the group routes. Pure: it reads nothing and caches nothing
//! itself (the bars it asks for are kept by [`Bars`]).

use maud::{Markup, PreEscaped, Render, html};

use super::bars::Bars;
use crate::clock::Timestamp;
use crate::config::Check;
use crate::maintenance::Schedule;
use crate::monitor::State as CheckState;
use crate::snapshot::{CheckNow, Snapshot};
use crate::store::{IncidentRow, IncidentTimeline};
use crate::uptime::percent;
use crate::web::layout::{ago, group_tag, incident_item, last_failure, public, range, state_tag};
use crate::web::markdown;
use crate::web::overall::{Overall, Tally, groups, slug};
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
        out.push_str(&bar);
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

/// Appends a group's checks, as the list the page, the group page and the fragment share.
fn group_list(out: &mut String, group: &Group<'_>, bars: &Bars, now: Timestamp) {
    out.push_str("<ul class=\"checks\">");
    for (check, current) in &group.members {
        check_row(out, check, current, bars, now);
    }
    out.push_str("</ul>");
}

/// The group `slug` as its routes show it: its title, state and list of checks as HTML; `None`
/// when no group has that slug.
pub fn render_group(
    snapshot: &Snapshot,
    bars: &Bars,
    slug: &str,
    now: Timestamp,
) -> Option<(String, Markup, String)> {
    let groups = layout(snapshot, now);
    let group = groups.iter().find(|g| g.slug == slug)?;
    let mut list = String::new();
    group_list(&mut list, group, bars, now);
    Some((group.title().to_string(), group_tag(group.tally), list))
}

/// The most checks a search lists, with their bars.
pub const FOUND_AT_MOST: usize = 100;

/// The checks whose name or group contains `query` (ignoring case), as a list with their bars:
/// how many match, and the list of the first [`FOUND_AT_MOST`].
pub fn render_search(
    snapshot: &Snapshot,
    bars: &Bars,
    query: &str,
    now: Timestamp,
) -> (usize, String) {
    let query = query.trim().to_lowercase();
    let found: Vec<(&Check, &CheckNow)> = snapshot
        .iter()
        .filter(|(c, _)| {
            !query.is_empty()
                && (c.name.to_lowercase().contains(&query)
                    || c.group.to_lowercase().contains(&query))
        })
        .collect();
    let count = found.len();
    let group = Group {
        name: "",
        slug: String::new(),
        members: found.into_iter().take(FOUND_AT_MOST).collect(),
        open: true,
        tally: Tally::of(&[]),
    };
    let mut list = String::new();
    group_list(&mut list, &group, bars, now);
    (count, list)
}

/// Up to this many checks, every group is open and the page looks as it always did.
pub const FOLD_ABOVE: usize = 100;

/// On a page with more checks, groups with a check in trouble are open, in config order, while
/// their checks add up to at most this many (about 700 KB of HTML); the others are folded and
/// fetch their bars when opened.
pub const OPEN_AT_MOST: usize = 150;

/// One group of checks on the front page, with its address and whether it is shown open.
pub(super) struct Group<'a> {
    /// As configured; empty for the checks outside any group.
    pub(super) name: &'a str,
    /// The group's part of `/groups/{slug}`: unique on the page.
    pub(super) slug: String,
    pub(super) members: Vec<(&'a Check, &'a CheckNow)>,
    pub(super) open: bool,
    pub(super) tally: Tally,
}

impl Group<'_> {
    /// The heading of a group: its name, or what the ungrouped checks are called when folded.
    pub(super) fn title(&self) -> &str {
        if self.name.is_empty() {
            "Other checks"
        } else {
            self.name
        }
    }
}

/// The checks by group as the front page shows them: each group's unique slug (a second group
/// with the same slug gets `-2`, and so on) and whether it is open (see [`FOLD_ABOVE`] and
/// [`OPEN_AT_MOST`]).
pub(super) fn layout(snapshot: &Snapshot, now: Timestamp) -> Vec<Group<'_>> {
    let fold = snapshot.config.checks.len() > FOLD_ABOVE;
    let mut taken = std::collections::HashSet::new();
    let mut open_checks = 0;
    let mut out = Vec::new();
    for (_, members) in groups(snapshot) {
        let name = members.first().map_or("", |(c, _)| c.group.as_str());
        let base = if name.is_empty() {
            "other".to_string()
        } else {
            slug(name)
        };
        let mut unique = base.clone();
        for n in 2.. {
            if taken.insert(unique.clone()) {
                break;
            }
            unique = format!("{base}-{n}");
        }
        let states: Vec<CheckState> = members.iter().map(|(c, n)| n.shown_state(c, now)).collect();
        let trouble = states.iter().any(|s| {
            matches!(
                s,
                CheckState::Down | CheckState::Degraded | CheckState::Maintenance
            )
        });
        let open = !fold || (trouble && open_checks + members.len() <= OPEN_AT_MOST);
        if fold && open {
            open_checks += members.len();
        }
        out.push(Group {
            name,
            slug: unique,
            members,
            open,
            tally: Tally::of(&states),
        });
    }
    out
}

/// Appends the checks, by group, to `out`: open groups with their bars, folded ones with a link
/// to their page that `/assets/bars.js` turns into the bars when the group is opened.
fn check_rows(out: &mut String, f: &Front<'_>) {
    if f.snapshot.config.checks.len() > FOLD_ABOVE {
        html! {
            form.search action="/search" method="get" role="search" {
                label for="q" { "Find a check" }
                " "
                input #q type="search" name="q" maxlength="100";
                " "
                button { "Search" }
            }
        }
        .render_to(out);
    }
    for group in layout(f.snapshot, f.now) {
        if group.name.is_empty() && group.open {
            out.push_str("<section class=\"group\">");
            group_list(out, &group, f.bars, f.now);
            out.push_str("</section>");
            continue;
        }
        let summary = html! {
            summary { h2 { (group.title()) } (group_tag(group.tally)) }
        };
        if group.open {
            out.push_str("<details class=\"group\" open>");
            summary.render_to(out);
            group_list(out, &group, f.bars, f.now);
        } else {
            html! {
                details.group data-fragment={ "/fragments/group/" (group.slug) } {
                    (summary)
                    p.fold {
                        a href={ "/groups/" (group.slug) } {
                            @match group.members.len() {
                                1 => { "Show the check of " (group.title()) }
                                n => { "Show the " (n) " checks of " (group.title()) }
                            }
                        }
                    }
                }
            }
            .render_to(out);
            continue;
        }
        out.push_str("</details>");
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
        title,
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
    let (kept, bytes) = f.bars.kept();
    let per_row = bytes / kept.max(1) + 512;
    let shown = if f.snapshot.config.checks.len() > FOLD_ABOVE {
        OPEN_AT_MOST
    } else {
        f.snapshot.config.checks.len()
    };
    let rows = shown * per_row + 4096;
    let mut out = String::with_capacity(head.len() + rows + tail.len());
    out.push_str(head);
    check_rows(&mut out, f);
    out.push_str(tail);
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
