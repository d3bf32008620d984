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
use crate::i18n::{Lang, Strings};
use crate::redact::{Subject, public_stored};
use crate::store::{IncidentRow, Severity};
use crate::uptime::WINDOWS;
use crate::words::percent;

/// The page frame, where the admin pages have always found it.
pub(crate) use super::layout::page;

/// How an incident's impact reads on the page.
pub(crate) fn impact_label(txt: &Strings, s: Severity) -> &'static str {
    match s {
        Severity::None => txt.no_impact,
        Severity::Minor => txt.minor_impact,
        Severity::Major => txt.major_impact,
        Severity::Critical => txt.critical_impact,
    }
}

/// The uptime windows of a check's page: the front page's four, and a year from daily rows.
const YEAR_MS: i64 = 365 * crate::clock::DAY_MS;

/// `/checks/{id}`: what the check checks, its uptime per window, the 90-day bar with a table of
/// the days that were not all up, the response time, the latest error and the check's incidents.
pub async fn check(
    State(state): State<WebState>,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let txt = lang.strings();
    let snapshot = state.snapshot();
    let bars = state.bars.borrow().clone();
    let (check, current) = snapshot.get(&id).ok_or(WebError::NotFound)?;
    let incidents = state.reader.incidents(Some(id.clone()), 50).await?;
    let false_alarms = state.reader.false_alarms(id.clone()).await?;
    let now = Timestamp::now();
    let day = crate::uptime::Cover::hourly(Timestamp(now.0 - crate::clock::DAY_MS), now);
    let (hours, _) = state.reader.rollups_in(id.clone(), day.clone()).await?;
    let chart = chart::latency_chart(txt, &hours, day.from, day.to);
    let (_, year) = state.reader.rollups_in(id.clone(), year_cover(now)).await?;
    let shown = current.shown_state(check, now);
    let h = bars.history.checks.get(check.id.as_str());
    let uptime = uptimes(txt, h.map(|h| h.uptime), &year, now);
    let what = checked::describe(txt, check);
    Ok(public(
        txt,
        &check.name,
        &snapshot.config,
        Some("/assets/bars.js"),
        html! {
            h1 { (check.name) " " (state_tag(txt, shown)) }
            p.what {
                strong { (txt.what_we_check) } (what.expectation) ", " (what.cadence) "."
                @if let Some(target) = &what.target { br; (txt.target) code { (target) } }
            }
            @if let Some(last) = &current.last {
                p {
                    (txt.last_checked) (ago(txt, now, last.at)) (txt.took) (crate::words::latency(txt, last.latency))
                    @if let Some(code) = last.code { (txt.code_of) (code) }
                }
                @if let (Some(f), Some(failure)) = (&last.failure, last_failure(check, last)) {
                    p.error { (f.reason) ": " (failure) }
                }
                @if let Some(tls) = &last.tls { (certificate(txt, tls, check.public_details, now)) }
            }
            h2 { (txt.uptime) }
            dl.uptime {
                @for (label, ratio, since) in &uptime {
                    div {
                        dt { (label) }
                        dd { (percent(txt, *ratio)) @if let Some(since) = since { span.small.since { (txt.since_day) (since) } } }
                    }
                }
            }
            p.small { (txt.uptime_note) }
            @if let Some(h) = h {
                h2 { (txt.last_90_days) }
                @if let Some(bar) = bars.bar(lang, check.id.as_str()) { (PreEscaped(bar)) }
                (days_table(txt, &h.bar))
            }
            h2 { (txt.response_time_24h) }
            (chart)
            h2 { (txt.incidents) }
            @if incidents.is_empty() { p { (txt.no_incidents_recorded) } }
            ul.incidents { @for i in &incidents { (incident_item(txt, i, now, None)) } }
            @if !false_alarms.is_empty() {
                p.small { ((txt.false_alarms)(false_alarms.len())) }
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
    txt: &Strings,
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
            (Some(_), Some(day)) if day > start.day_start() => Some(crate::words::day(txt, day)),
            _ => None,
        }
    };
    let yearly = crate::uptime::Rollup::total(year.values()).uptime();
    let spans = WINDOWS.iter().map(|(_, span)| *span).chain([YEAR_MS]);
    let ratios = windows.unwrap_or([None; 4]).into_iter().chain([yearly]);
    txt.windows
        .iter()
        .zip(spans.zip(ratios))
        .map(|(label, (span, ratio))| (*label, ratio, since(span, ratio)))
        .collect()
}

/// The days of the bar that were not all up, newest first, in words: the uptime, the downtime
/// and the incidents of each, with links. It reads without hovering, scripts or colour.
fn days_table(txt: &Strings, bar: &crate::snapshot::DayBar) -> Markup {
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
            p.small { (txt.no_notable_days) }
        } @else {
            table.list.days {
                caption.small { (txt.notable_days) }
                thead { tr { th scope="col" { (txt.col_day) } th scope="col" { (txt.uptime) } th scope="col" { (txt.col_down) } th scope="col" { (txt.incidents) } } }
                tbody {
                    @for (cell, incidents) in &notable {
                        tr {
                            th scope="row" { time datetime=(cell.day.rfc3339().get(..10).unwrap_or_default()) { (crate::words::day(txt, cell.day)) } }
                            td { (percent(txt, cell.uptime())) @if cell.level == DayLevel::Maintenance { (txt.maintenance_aside) } }
                            td { @if cell.down_ms > 0 { (crate::words::duration(txt, std::time::Duration::from_millis(u64::from(cell.down_ms)))) } }
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
        @if empty > 0 { p.small { ((txt.days_without_data)(empty)) } }
    }
}

/// `/incidents/{id}`: one incident with its timeline and the failing probes as evidence.
pub async fn incident(
    State(state): State<WebState>,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<axum::response::Response, WebError> {
    use axum::response::IntoResponse;
    let txt = lang.strings();
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let detail = state.reader.incident(id).await?.ok_or(WebError::NotFound)?;
    let snapshot = state.snapshot();
    let i = &detail.incident;
    let now = Timestamp::now();
    let impact = impact_label(txt, i.severity);
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
        txt,
        &i.title,
        &snapshot.config,
        None,
        html! {
            h1 { (i.title) }
            p {
                span class={ "state " (if i.resolved_at.is_some() { "up" } else if matches!(i.severity, Severity::Major | Severity::Critical) { "down" } else { "degraded" }) } {
                    @if i.resolved_at.is_some() { (txt.resolved) } @else { (txt.ongoing) }
                }
                " " (impact)
                @if let (Some(slug), Some(name)) = (&i.check, &check_name) { " · " a href={ "/checks/" (slug) } { (name) } }
            }
            p.small { (incident_times(txt, i, now)) }
            @if !i.auto && !i.checks.is_empty() {
                p { (txt.affects)
                    @for (n, slug) in i.checks.iter().enumerate() {
                        @if n > 0 { ", " }
                        a href={ "/checks/" (slug) } { (snapshot.get(slug).map_or(slug.as_str(), |(c, _)| c.name.as_str())) }
                    }
                }
            }
            @if let Some(cause) = i.cause.as_deref().filter(|c| !c.is_empty()) {
                h2 { (txt.cause) }
                div.md { (PreEscaped(markdown::render(cause))) }
            }
            @if let Some(pm) = i.postmortem.as_deref().filter(|c| !c.is_empty()) {
                h2 { (txt.postmortem) }
                div.md { (PreEscaped(markdown::render(pm))) }
            }
            h2 { (txt.timeline) }
            ol.timeline {
                @for u in &detail.updates {
                    li {
                        strong { (status_label(txt, u.status)) } " · " (at(txt, u.at, now))
                        " · " (u.author.as_deref().unwrap_or("watchpost"))
                        div.md { (PreEscaped(markdown::render(&u.body))) }
                    }
                }
            }
            @if !detail.evidence.is_empty() {
                h2 { (txt.evidence) }
                (evidence_table(txt, &detail.evidence, now, |e| {
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
    lang: Lang,
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
    let txt = lang.strings();
    Ok(public(
        txt,
        txt.incident_history,
        &snapshot.config,
        None,
        html! {
            h1 { (txt.incident_history) }
            @for (start, end) in &months {
                @let name = crate::words::month(txt, *start);
                @let month: Vec<&IncidentRow> = incidents.iter().filter(|i| i.started_at >= *start && i.started_at < *end).collect();
                @let planned: Vec<_> = windows.iter().filter(|(w, cancelled)| !cancelled && w.start >= *start && w.start < *end).map(|(w, _)| w).collect();
                section {
                    h2 { (name) }
                    @if month.is_empty() && planned.is_empty() { p.small { (txt.no_incidents_reported) } }
                    ul.incidents {
                        @for i in &month { (incident_item(txt, i, now, None)) }
                        @for w in &planned {
                            li.incident.maintenance id=[w.id.map(|id| format!("maintenance-{id}"))] {
                                strong { @if w.start <= now && now < w.end { (txt.maintenance_in_progress_item) } @else { (txt.maintenance_item) } } (w.title)
                                p.small { (range(txt, w.start, w.end, now)) }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @if number > 0 { a href={ "/history?page=" (number - 1) } { (txt.newer) } " " }
                a href={ "/history?page=" (number + 1) } { (txt.older) }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::ENGLISH;

    #[test]
    fn a_window_without_data_says_so_and_maintenance_is_left_out() {
        use crate::clock::DAY_MS;
        use crate::uptime::{Deltas, Rollup};
        // 2026-01-15T12:00:00Z
        let now = Timestamp(1_768_478_400_000);
        let none = uptimes(ENGLISH, None, &Deltas::new(), now);
        let labels: Vec<&str> = none.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(labels, ["24h", "7d", "30d", "90d", "1y"]);
        assert!(
            none.iter()
                .all(|(_, r, since)| r.is_none() && since.is_none())
        );
        assert_eq!(percent(ENGLISH, none[4].1), "no data");

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
        let found = uptimes(ENGLISH, Some([None, None, None, None]), &year, now);
        let (label, ratio, since) = &found[4];
        assert_eq!(*label, "1y");
        assert_eq!(*ratio, Some(0.9));
        assert_eq!(since.as_deref(), Some("Oct 7"), "the first day with data");
        let french = uptimes(crate::i18n::Lang::Fr.strings(), None, &year, now);
        let labels: Vec<&str> = french.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(labels, ["24 h", "7 j", "30 j", "90 j", "1 an"]);
        assert_eq!(french[4].2.as_deref(), Some("7 oct."));
        let only_maintenance = Deltas::from([(day(3), maintenance)]);
        assert_eq!(uptimes(ENGLISH, None, &only_maintenance, now)[4].1, None);
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
