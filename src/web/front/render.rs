//! The front page as HTML, from the snapshot, the rendered bars, the maintenance schedule and
//! the incidents: the frame is rendered with maud, then each check's row is written into one
//! buffer around its stored bar. It decides which groups a big page folds ([`layout`]) and
//! renders one group's list for the group routes. Pure: it reads nothing and caches nothing
//! itself (the bars it asks for are kept by [`Bars`]).

use maud::{Markup, PreEscaped, Render, html};

use super::bars::Bars;
use crate::clock::Timestamp;
use crate::config::Check;
use crate::i18n::{Lang, Strings};
use crate::maintenance::Schedule;
use crate::monitor::State as CheckState;
use crate::snapshot::{CheckNow, Snapshot};
use crate::store::{IncidentRow, IncidentTimeline};
use crate::web::layout::{ago, group_tag, incident_item, last_failure, public, range, state_tag};
use crate::web::markdown;
use crate::web::overall::{Overall, Tally, groups, slug};
use crate::web::planned::UPCOMING;
use crate::words::percent;

/// What a check's row is written from besides the check: the bars, the time and the language.
#[derive(Clone, Copy)]
struct Rows<'a> {
    bars: &'a Bars,
    now: Timestamp,
    lang: Lang,
}

/// Appends one check's row to `out`: the parts that change by the second around the bar,
/// which is copied in as rendered.
fn check_row(out: &mut String, rows: Rows<'_>, check: &Check, now_state: &CheckNow) {
    let (bars, now, txt) = (rows.bars, rows.now, rows.lang.strings());
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
    if let (Some(h), Some(bar)) = (history, bars.bar(rows.lang, check.id.as_str())) {
        out.push_str(&bar);
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

/// Appends a group's checks, as the list the page, the group page and the fragment share.
fn group_list(out: &mut String, group: &Group<'_>, rows: Rows<'_>) {
    out.push_str("<ul class=\"checks\">");
    for (check, current) in &group.members {
        check_row(out, rows, check, current);
    }
    out.push_str("</ul>");
}

/// The group `slug` as its routes show it in `lang`: its title, state and list of checks as
/// HTML; `None` when no group has that slug.
pub fn render_group(
    snapshot: &Snapshot,
    bars: &Bars,
    slug: &str,
    now: Timestamp,
    lang: Lang,
) -> Option<(String, Markup, String)> {
    let txt = lang.strings();
    let groups = layout(snapshot, now);
    let group = groups.iter().find(|g| g.slug == slug)?;
    let mut list = String::new();
    group_list(&mut list, group, Rows { bars, now, lang });
    Some((
        group.title(txt).to_string(),
        group_tag(txt, group.tally),
        list,
    ))
}

/// The most checks a search lists, with their bars.
pub const FOUND_AT_MOST: usize = 100;

/// The checks whose name or group contains `query` (ignoring case), as a list with their bars
/// in `lang`: how many match, and the list of the first [`FOUND_AT_MOST`].
pub fn render_search(
    snapshot: &Snapshot,
    bars: &Bars,
    query: &str,
    now: Timestamp,
    lang: Lang,
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
    group_list(&mut list, &group, Rows { bars, now, lang });
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
    pub(super) fn title<'t>(&'t self, txt: &'t Strings) -> &'t str {
        if self.name.is_empty() {
            txt.other_checks
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
    let txt = f.lang.strings();
    let rows = Rows {
        bars: f.bars,
        now: f.now,
        lang: f.lang,
    };
    if f.snapshot.config.checks.len() > FOLD_ABOVE {
        html! {
            form.search action="/search" method="get" role="search" {
                label for="q" { (txt.find_check) }
                " "
                input #q type="search" name="q" maxlength="100";
                " "
                button { (txt.search) }
            }
        }
        .render_to(out);
    }
    for group in layout(f.snapshot, f.now) {
        if group.name.is_empty() && group.open {
            out.push_str("<section class=\"group\">");
            group_list(out, &group, rows);
            out.push_str("</section>");
            continue;
        }
        let title = group.title(txt);
        let summary = html! {
            summary { h2 { (title) } (group_tag(txt, group.tally)) }
        };
        if group.open {
            out.push_str("<details class=\"group\" open>");
            summary.render_to(out);
            group_list(out, &group, rows);
        } else {
            html! {
                details.group data-fragment={ "/fragments/group/" (group.slug) } {
                    (summary)
                    p.fold {
                        a href={ "/groups/" (group.slug) } {
                            ((txt.show_group)(group.members.len(), title))
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
    let (kept, bytes) = f.bars.kept(f.lang);
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
