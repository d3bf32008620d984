//! Server-rendered HTML pages (maud): readable without JavaScript, every text escaped.

use axum::extract::{Path, State};
use maud::{DOCTYPE, Markup, html};

use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::config::Check;
use crate::monitor::State as CheckState;
use crate::probe::fmt_duration;
use crate::snapshot::{CheckHistory, CheckNow, Snapshot};
use crate::store::{IncidentRow, Severity};
use crate::uptime::{DayCell, DayLevel, WINDOWS, percent};

fn layout(title: &str, site: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/style.css";
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
pub fn message(title: &str, text: &str) -> Markup {
    layout(title, "watchpost", html! { h1 { (title) } p { (text) } })
}

/// The overall banner: the worst of all checks, in Statuspage's words.
fn banner(states: &[CheckState]) -> (&'static str, &'static str) {
    let count = |s| states.iter().filter(|&&x| x == s).count();
    let known = states.len() - count(CheckState::Unknown);
    let down = count(CheckState::Down);
    if states.is_empty() {
        ("unknown", "No checks are configured")
    } else if known == 0 {
        ("unknown", "Status unknown: waiting for the first probes")
    } else if down > 0 && down == known {
        ("down", "Major outage")
    } else if down > 0 {
        ("partial", "Partial outage")
    } else if count(CheckState::Degraded) > 0 {
        ("degraded", "Degraded performance")
    } else if count(CheckState::Maintenance) > 0 {
        ("maintenance", "Under maintenance")
    } else if count(CheckState::Unknown) > 0 {
        ("up", "All known systems operational")
    } else {
        ("up", "All systems operational")
    }
}

fn state_label(s: CheckState) -> &'static str {
    match s {
        CheckState::Unknown => "Unknown",
        CheckState::Up => "Operational",
        CheckState::Degraded => "Degraded",
        CheckState::Down => "Down",
        CheckState::Maintenance => "Under maintenance",
    }
}

fn ago(now: Timestamp, then: Timestamp) -> String {
    let secs = now.since(then).as_secs();
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

fn day_bar(days: &[DayCell]) -> Markup {
    html! {
        div.bar role="img" aria-label="Daily status for the last 90 days" {
            @for cell in days {
                @let text = day_text(cell);
                i class=(cell.level.as_str()) title=(text) {}
            }
        }
    }
}

fn day_text(cell: &DayCell) -> String {
    let date = cell.day.date();
    match (cell.level, cell.uptime) {
        (DayLevel::NoData, _) => format!("{date}: no data"),
        (DayLevel::Maintenance, None) => format!("{date}: maintenance"),
        (_, Some(u)) if cell.down_ms > 0 => format!(
            "{date}: {} uptime, down {}",
            percent(Some(u)),
            fmt_duration(std::time::Duration::from_millis(cell.down_ms as u64))
        ),
        (_, u) => format!("{date}: {} uptime", percent(u)),
    }
}

fn check_row(
    check: &Check,
    now_state: &CheckNow,
    history: Option<&CheckHistory>,
    now: Timestamp,
) -> Markup {
    let state = now_state.shown_state(check, now);
    html! {
        li.check {
            div.line {
                a.name href={ "/checks/" (check.id) } { (check.name) }
                span class={ "state " (state.as_str()) } { (state_label(state)) }
            }
            @if let Some(h) = history {
                (day_bar(&h.days))
                div.meta {
                    span { "90 days ago" }
                    span { (percent(h.uptime[3])) " uptime" }
                    span { "today" }
                }
            }
            @if let Some(last) = &now_state.last {
                p.small {
                    "Last checked " (ago(now, last.at))
                    @if let Some(f) = &last.failure { " · " (f.message) }
                }
            }
        }
    }
}

fn incident_item(i: &IncidentRow, now: Timestamp) -> Markup {
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

/// `/`: banner, active incidents, checks by group with their bars and uptime.
pub async fn index(State(state): State<WebState>) -> Result<Markup, WebError> {
    let snapshot = state.snapshot();
    let history = state.history();
    let now = Timestamp::now();
    let open = state.reader.open_incidents().await?;
    let states: Vec<CheckState> = snapshot
        .iter()
        .map(|(c, n)| n.shown_state(c, now))
        .collect();
    let (class, text) = banner(&states);
    let groups = groups(&snapshot);
    let title = &snapshot.config.server.title;
    Ok(layout(
        title,
        title,
        html! {
            h1.sr { (title) }
            div class={ "banner " (class) } role="status" { (text) }
            @if !open.is_empty() {
                section {
                    h2 { "Active incidents" }
                    ul.incidents { @for i in &open { (incident_item(i, now)) } }
                }
            }
            @for (group, members) in &groups {
                section.group {
                    @if !group.is_empty() { h2 { (group) } }
                    ul.checks {
                        @for (check, current) in members {
                            (check_row(check, current, history.checks.get(check.id.as_str()), now))
                        }
                    }
                }
            }
            p.legend {
                @for (level, text) in [("up", "operational"), ("degraded", "degraded"), ("down", "outage"), ("maintenance", "maintenance"), ("nodata", "no data")] {
                    i class=(level) {} " " (text) " "
                }
            }
        },
    ))
}

/// Checks by group, in the order groups first appear in the config.
pub(super) fn groups(snapshot: &Snapshot) -> Vec<(String, Vec<(&Check, &CheckNow)>)> {
    let mut out: Vec<(String, Vec<(&Check, &CheckNow)>)> = Vec::new();
    for (check, current) in snapshot.iter() {
        match out.iter_mut().find(|(g, _)| *g == check.group) {
            Some((_, members)) => members.push((check, current)),
            None => out.push((check.group.clone(), vec![(check, current)])),
        }
    }
    out
}

/// `/checks/{id}`: uptime per window, the bar, the latest error and the check's incidents.
pub async fn check(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let snapshot = state.snapshot();
    let history = state.history();
    let (check, current) = snapshot.get(&id).ok_or(WebError::NotFound)?;
    let incidents = state.reader.incidents(Some(id.clone()), 50).await?;
    let now = Timestamp::now();
    let shown = current.shown_state(check, now);
    let h = history.checks.get(check.id.as_str());
    Ok(layout(
        &check.name,
        &snapshot.config.server.title,
        html! {
            h1 { (check.name) " " span class={ "state " (shown.as_str()) } { (state_label(shown)) } }
            @if let Some(last) = &current.last {
                p {
                    "Last checked " (ago(now, last.at)) " in " (fmt_duration(last.latency))
                    @if let Some(code) = last.code { " · code " (code) }
                }
                @if let Some(f) = &last.failure { p.error { (f.reason) ": " (f.message) } }
            }
            @if let Some(h) = h {
                dl.uptime {
                    @for ((label, _), ratio) in WINDOWS.iter().zip(h.uptime) {
                        div { dt { (label) } dd { (percent(ratio)) } }
                    }
                }
                (day_bar(&h.days))
            }
            h2 { "Incidents" }
            @if incidents.is_empty() { p { "No incidents recorded." } }
            ul.incidents { @for i in &incidents { (incident_item(i, now)) } }
        },
    ))
}

/// `/incidents/{id}`: one incident with its timeline and the failing probes as evidence.
pub async fn incident(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let detail = state.reader.incident(id).await?.ok_or(WebError::NotFound)?;
    let snapshot = state.snapshot();
    let i = &detail.incident;
    let now = Timestamp::now();
    let impact = match i.severity {
        Severity::Major => "Major outage",
        Severity::Minor => "Degraded performance",
    };
    let check_name = i
        .check
        .as_deref()
        .and_then(|slug| snapshot.get(slug))
        .map(|(c, _)| c.name.clone())
        .or_else(|| i.check.clone());
    Ok(layout(
        &i.title,
        &snapshot.config.server.title,
        html! {
            h1 { (i.title) }
            p {
                span class={ "state " (if i.resolved_at.is_some() { "up" } else if i.severity == Severity::Major { "down" } else { "degraded" }) } {
                    @if i.resolved_at.is_some() { "Resolved" } @else { "Ongoing" }
                }
                " " (impact)
                @if let (Some(slug), Some(name)) = (&i.check, &check_name) { " · " a href={ "/checks/" (slug) } { (name) } }
            }
            p.small {
                "Started " (i.started_at.rfc3339())
                @if let Some(r) = i.resolved_at { " · resolved " (r.rfc3339()) }
                " · lasted " (fmt_duration(i.resolved_at.unwrap_or(now).since(i.started_at)))
            }
            h2 { "Timeline" }
            ol.timeline {
                @for u in &detail.updates {
                    li {
                        strong { (u.status) } " "
                        time datetime=(u.at.rfc3339()) { (u.at.rfc3339()) }
                        " · " (u.author.as_deref().unwrap_or("watchpost"))
                        p { (u.body) }
                    }
                }
            }
            @if !detail.evidence.is_empty() {
                h2 { "Evidence" }
                table.evidence {
                    thead { tr { th { "Time" } th { "Result" } th { "Code" } th { "Took" } th { "Error" } } }
                    tbody {
                        @for e in &detail.evidence {
                            tr {
                                td { (e.at.rfc3339()) }
                                td { (e.status) }
                                td { @if let Some(c) = e.code { (c) } }
                                td { (fmt_duration(std::time::Duration::from_micros(e.latency_us.max(0) as u64))) }
                                td { @if let Some(r) = e.reason { (r) ": " } (e.message.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        },
    ))
}
