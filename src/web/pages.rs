//! Server-rendered HTML pages (maud) of one check, one incident and the incident history:
//! readable without JavaScript, every text escaped, every failure in its public form. The frame and the fragments they share
//! with the front page are in `layout`; it never renders the front page.

use axum::extract::{Path, State};
use maud::{Markup, PreEscaped, html};

use super::layout::{
    ago, at, certificate, evidence_table, incident_item, incident_times, last_failure, public,
    range, state_tag, status_label,
};
use super::{WebError, WebState, chart, checked, markdown};
use crate::clock::Timestamp;
use crate::redact::{Subject, public_stored};
use crate::store::{IncidentRow, Severity};
use crate::uptime::{WINDOWS, percent};

/// The page frame, where the admin pages have always found it.
pub(crate) use super::layout::page;

/// How an incident's impact reads on the page.
pub(crate) fn impact_label(s: Severity) -> &'static str {
    match s {
        Severity::None => "No impact",
        Severity::Minor => "Degraded performance",
        Severity::Major => "Major outage",
        Severity::Critical => "Critical outage",
    }
}

/// The uptime windows of a check's page: the front page's four, and a year from daily rows.
const YEAR_MS: i64 = 365 * crate::clock::DAY_MS;

/// `/checks/{id}`: what the check checks, its uptime per window, the 90-day bar with a table of
/// the days that were not all up, the response time, the latest error and the check's incidents.
pub async fn check(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let snapshot = state.snapshot();
    let bars = state.bars.borrow().clone();
    let (check, current) = snapshot.get(&id).ok_or(WebError::NotFound)?;
    let incidents = state.reader.incidents(Some(id.clone()), 50).await?;
    let false_alarms = state.reader.false_alarms(id.clone()).await?;
    let now = Timestamp::now();
    let day = crate::uptime::cover(Timestamp(now.0 - crate::clock::DAY_MS), now);
    let (hours, _) = state.reader.rollups_in(id.clone(), day.clone()).await?;
    let chart = chart::latency_chart(&hours, day.from, day.to);
    let (_, year) = state.reader.rollups_in(id.clone(), year_cover(now)).await?;
    let shown = current.shown_state(check, now);
    let h = bars.history.checks.get(check.id.as_str());
    let uptime = uptimes(h.map(|h| h.uptime), &year, now);
    let what = checked::describe(check);
    Ok(public(
        &check.name,
        &snapshot.config,
        Some("/assets/bars.js"),
        html! {
            h1 { (check.name) " " (state_tag(shown)) }
            p.what {
                strong { "What we check: " } (what.expectation) ", " (what.cadence) "."
                @if let Some(target) = &what.target { br; "Target: " code { (target) } }
            }
            @if let Some(last) = &current.last {
                p {
                    "Last checked " (ago(now, last.at)) " in " (crate::words::latency(last.latency))
                    @if let Some(code) = last.code { " · code " (code) }
                }
                @if let (Some(f), Some(failure)) = (&last.failure, last_failure(check, last)) {
                    p.error { (f.reason) ": " (failure) }
                }
                @if let Some(tls) = &last.tls { (certificate(tls, check.public_details, now)) }
            }
            h2 { "Uptime" }
            dl.uptime {
                @for (label, ratio, since) in &uptime {
                    div {
                        dt { (label) }
                        dd { (percent(*ratio)) @if let Some(since) = since { span.small.since { " since " (since) } } }
                    }
                }
            }
            p.small { "Time under maintenance is left out; a window without any probe says “no data”." }
            @if let Some(h) = h {
                h2 { "Last 90 days" }
                @if let Some(bar) = bars.bar(check.id.as_str()) { (PreEscaped(bar)) }
                (days_table(&h.bar))
            }
            h2 { "Response time, last 24 hours" }
            (chart)
            h2 { "Incidents" }
            @if incidents.is_empty() { p { "No incidents recorded." } }
            ul.incidents { @for i in &incidents { (incident_item(i, now, None)) } }
            @if !false_alarms.is_empty() {
                p.small {
                    (false_alarms.len())
                    @if false_alarms.len() == 1 { " detected incident was" } @else { " detected incidents were" }
                    " marked a false alarm by an admin: the probes were wrong, so that time counts as up in the figures above."
                }
            }
        },
    ))
}

/// The daily rows of the last year, today's included.
fn year_cover(now: Timestamp) -> crate::uptime::Cover {
    let tomorrow = Timestamp(now.day_start().0 + crate::clock::DAY_MS);
    let first = Timestamp(tomorrow.0 - YEAR_MS);
    crate::uptime::Cover {
        from: first,
        to: tomorrow,
        days: first..tomorrow,
        hours: [tomorrow..tomorrow, tomorrow..tomorrow],
    }
}

/// Each window's label and uptime, and the first day with data when the window reaches back
/// before it (so a young check's 90 days are not read as 90 days of data).
fn uptimes(
    windows: Option<[Option<f64>; 4]>,
    year: &crate::uptime::Deltas,
    now: Timestamp,
) -> Vec<(&'static str, Option<f64>, Option<String>)> {
    let first = year
        .iter()
        .filter(|(_, r)| r.observed_ms() > 0)
        .map(|(day, _)| *day)
        .min();
    let since = |span: i64, ratio: Option<f64>| {
        let start = Timestamp(now.0 - span);
        match (ratio, first) {
            (Some(_), Some(day)) if day > start.day_start() => Some(crate::words::day(day)),
            _ => None,
        }
    };
    let yearly = crate::uptime::Rollup::total(year.values()).uptime();
    WINDOWS
        .iter()
        .zip(windows.unwrap_or([None; 4]))
        .map(|((label, span), ratio)| (*label, ratio, since(*span, ratio)))
        .chain([("1y", yearly, since(YEAR_MS, yearly))])
        .collect()
}

/// The days of the bar that were not all up, newest first, in words: the uptime, the downtime
/// and the incidents of each, with links. It reads without hovering, scripts or colour.
fn days_table(bar: &crate::snapshot::DayBar) -> Markup {
    use crate::uptime::DayLevel;
    let notable: Vec<_> = bar
        .days
        .iter()
        .rev()
        .map(|cell| {
            let incidents: Vec<_> = bar
                .incidents
                .iter()
                .filter(|i| i.touches(cell.day))
                .collect();
            (cell, incidents)
        })
        .filter(|(cell, incidents)| {
            !incidents.is_empty() || !matches!(cell.level, DayLevel::Up | DayLevel::NoData)
        })
        .collect();
    let empty = bar
        .days
        .iter()
        .filter(|c| c.level == DayLevel::NoData)
        .count();
    html! {
        @if notable.is_empty() {
            p.small { "No downtime, degradation, maintenance or incident on any day of the last 90." }
        } @else {
            table.list.days {
                caption.small { "Days with downtime, degradation, maintenance or incidents, newest first (UTC days)" }
                thead { tr { th scope="col" { "Day" } th scope="col" { "Uptime" } th scope="col" { "Down" } th scope="col" { "Incidents" } } }
                tbody {
                    @for (cell, incidents) in &notable {
                        tr {
                            th scope="row" { time datetime=(cell.day.rfc3339().get(..10).unwrap_or_default()) { (crate::words::day(cell.day)) } }
                            td { (percent(cell.uptime())) @if cell.level == DayLevel::Maintenance { " (maintenance)" } }
                            td { @if cell.down_ms > 0 { (crate::words::duration(std::time::Duration::from_millis(u64::from(cell.down_ms)))) } }
                            td {
                                @for (n, i) in incidents.iter().enumerate() {
                                    @if n > 0 { br; }
                                    a href={ "/incidents/" (i.id) } { (i.title) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if empty > 0 { p.small { (empty) " of the 90 days have no data." } }
    }
}

/// `/incidents/{id}`: one incident with its timeline and the failing probes as evidence.
pub async fn incident(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, WebError> {
    use axum::response::IntoResponse;
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let detail = state.reader.incident(id).await?.ok_or(WebError::NotFound)?;
    let snapshot = state.snapshot();
    let i = &detail.incident;
    let now = Timestamp::now();
    let impact = impact_label(i.severity);
    let configured = i.check.as_deref().and_then(|slug| snapshot.get(slug));
    let check_name = configured
        .map(|(c, _)| c.name.clone())
        .or_else(|| i.check.clone());
    // The evidence of a check no longer configured is redacted, under its slug.
    let subject = match configured {
        Some((c, _)) => Subject::from(c),
        None => Subject::unconfigured(i.check.as_deref().unwrap_or("The check")),
    };
    let mut response = public(
        &i.title,
        &snapshot.config,
        None,
        html! {
            h1 { (i.title) }
            p {
                span class={ "state " (if i.resolved_at.is_some() { "up" } else if matches!(i.severity, Severity::Major | Severity::Critical) { "down" } else { "degraded" }) } {
                    @if i.resolved_at.is_some() { "Resolved" } @else { "Ongoing" }
                }
                " " (impact)
                @if let (Some(slug), Some(name)) = (&i.check, &check_name) { " · " a href={ "/checks/" (slug) } { (name) } }
            }
            p.small { (incident_times(i, now)) }
            @if !i.auto && !i.checks.is_empty() {
                p { "Affects: "
                    @for (n, slug) in i.checks.iter().enumerate() {
                        @if n > 0 { ", " }
                        a href={ "/checks/" (slug) } { (snapshot.get(slug).map_or(slug.as_str(), |(c, _)| c.name.as_str())) }
                    }
                }
            }
            @if let Some(cause) = i.cause.as_deref().filter(|c| !c.is_empty()) {
                h2 { "Cause" }
                div.md { (PreEscaped(markdown::render(cause))) }
            }
            @if let Some(pm) = i.postmortem.as_deref().filter(|c| !c.is_empty()) {
                h2 { "Postmortem" }
                div.md { (PreEscaped(markdown::render(pm))) }
            }
            h2 { "Timeline" }
            ol.timeline {
                @for u in &detail.updates {
                    li {
                        strong { (status_label(u.status)) } " · " (at(u.at, now))
                        " · " (u.author.as_deref().unwrap_or("watchpost"))
                        div.md { (PreEscaped(markdown::render(&u.body))) }
                    }
                }
            }
            @if !detail.evidence.is_empty() {
                h2 { "Evidence" }
                (evidence_table(&detail.evidence, now, |e| {
                    public_stored(subject, e.reason, e.message.as_deref(), e.code)
                }))
            }
        },
    )
    .into_response();
    // When the record last changed: its newest update, its resolution or its start.
    let changed = detail
        .updates
        .iter()
        .map(|u| u.at)
        .chain(i.resolved_at)
        .fold(i.started_at, Timestamp::max);
    if let Ok(v) = axum::http::HeaderValue::from_str(&super::cache::http_date(changed.to_chrono()))
    {
        response
            .headers_mut()
            .insert(axum::http::header::LAST_MODIFIED, v);
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    page: Option<u32>,
}

/// Months shown on one page of `/history`.
const MONTHS_PER_PAGE: u32 = 3;

/// The first instant of the UTC month `back` months before the one containing `now`.
fn month_start(now: Timestamp, back: u32) -> Timestamp {
    use chrono::Datelike;
    let Some(t) = chrono::DateTime::from_timestamp_millis(now.0) else {
        return now;
    };
    let months = t.year() * 12 + t.month0() as i32 - back as i32;
    chrono::NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(now, |d| Timestamp(d.and_utc().timestamp_millis()))
}

/// The end of the month `back` months before the one containing `now`: the next one's start,
/// or for the current month no end, so that nothing dated later is lost.
fn month_end(now: Timestamp, back: u32) -> Timestamp {
    match back.checked_sub(1) {
        None => Timestamp(i64::MAX),
        Some(next) => month_start(now, next),
    }
}

/// `/history?page=N`: incidents and planned maintenance by month, newest first.
pub async fn history(
    State(state): State<WebState>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Result<Markup, WebError> {
    let number = q.page.unwrap_or(0).min(1000);
    let now = Timestamp::now();
    let snapshot = state.snapshot();
    let newest = number * MONTHS_PER_PAGE;
    let from = month_start(now, newest + MONTHS_PER_PAGE - 1);
    let to = month_end(now, newest);
    let incidents = state.reader.incidents_between(from, to).await?;
    let windows = state.reader.all_maintenance(10_000).await?;
    let months: Vec<(Timestamp, Timestamp)> = (newest..newest + MONTHS_PER_PAGE)
        .map(|back| (month_start(now, back), month_end(now, back)))
        .collect();
    Ok(public(
        "Incident history",
        &snapshot.config,
        None,
        html! {
            h1 { "Incident history" }
            @for (start, end) in &months {
                @let name = chrono::DateTime::from_timestamp_millis(start.0).map(|t| t.format("%B %Y").to_string()).unwrap_or_default();
                @let month: Vec<&IncidentRow> = incidents.iter().filter(|i| i.started_at >= *start && i.started_at < *end).collect();
                @let planned: Vec<_> = windows.iter().filter(|(w, cancelled)| !cancelled && w.start >= *start && w.start < *end).map(|(w, _)| w).collect();
                section {
                    h2 { (name) }
                    @if month.is_empty() && planned.is_empty() { p.small { "No incidents reported." } }
                    ul.incidents {
                        @for i in &month { (incident_item(i, now, None)) }
                        @for w in &planned {
                            li.incident.maintenance id=[w.id.map(|id| format!("maintenance-{id}"))] {
                                strong { @if w.start <= now && now < w.end { "Maintenance, in progress: " } @else { "Maintenance: " } } (w.title)
                                p.small { (range(w.start, w.end, now)) }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @if number > 0 { a href={ "/history?page=" (number - 1) } { "← Newer" } " " }
                a href={ "/history?page=" (number + 1) } { "Older →" }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_without_data_says_so_and_maintenance_is_left_out() {
        use crate::clock::DAY_MS;
        use crate::uptime::{Deltas, Rollup};
        // 2026-01-15T12:00:00Z
        let now = Timestamp(1_768_478_400_000);
        let none = uptimes(None, &Deltas::new(), now);
        let labels: Vec<&str> = none.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(labels, ["24h", "7d", "30d", "90d", "1y"]);
        assert!(
            none.iter()
                .all(|(_, r, since)| r.is_none() && since.is_none())
        );
        assert_eq!(percent(none[4].1), "no data");

        let mut year = Deltas::new();
        let day = |back: i64| Timestamp(now.day_start().0 - back * DAY_MS);
        // Maintenance alone is no data; a day down by a tenth counts.
        let maintenance = Rollup {
            maintenance_ms: DAY_MS,
            ..Rollup::default()
        };
        year.insert(day(200), maintenance);
        year.insert(
            day(100),
            Rollup {
                up_ms: DAY_MS * 9 / 10,
                down_ms: DAY_MS / 10,
                maintenance_ms: DAY_MS,
                ..Rollup::default()
            },
        );
        let found = uptimes(Some([None, None, None, None]), &year, now);
        let (label, ratio, since) = &found[4];
        assert_eq!(*label, "1y");
        assert_eq!(*ratio, Some(0.9));
        assert_eq!(since.as_deref(), Some("Oct 7"), "the first day with data");
        let only_maintenance = Deltas::from([(day(3), maintenance)]);
        assert_eq!(uptimes(None, &only_maintenance, now)[4].1, None);
    }

    #[test]
    fn months_step_back_across_years() {
        // 2026-01-15T12:00:00Z
        let now = Timestamp(1_768_478_400_000);
        assert_eq!(month_start(now, 0).rfc3339(), "2026-01-01T00:00:00Z");
        assert_eq!(month_start(now, 1).rfc3339(), "2025-12-01T00:00:00Z");
        assert_eq!(month_start(now, 13).rfc3339(), "2024-12-01T00:00:00Z");
    }
}
