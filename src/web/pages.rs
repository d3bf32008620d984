//! Server-rendered HTML pages (maud) of one check, one incident and the incident history:
//! readable without JavaScript, every text escaped, every failure in its public form. The frame and the fragments they share
//! with the front page are in `layout`; it never renders the front page.

use axum::extract::{Path, State};
use maud::{Markup, PreEscaped, html};

use super::layout::{
    ago, at, certificate, evidence_table, incident_item, incident_times, last_failure, public,
    range, state_tag, status_label,
};
use super::{WebError, WebState, markdown};
use crate::clock::Timestamp;
use crate::i18n::{Lang, Strings};
use crate::redact::{Subject, public_stored};
use crate::store::{IncidentRow, Severity};
use crate::uptime::{PHASES, WINDOWS};
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

/// One hour of the chart: its slot, median, 95th percentile and mean phases, in ms.
struct HourPoint {
    slot: i64,
    at: Timestamp,
    p50: f64,
    p95: f64,
    phases: Option<[f64; crate::model::Phase::COUNT]>,
}

/// An SVG chart of the response time per hour over `[from, to)`: the mean time of each phase
/// stacked as a bar (where probes time their phases), the median and 95th percentile as lines,
/// and the same figures as a table for those who cannot see the chart.
fn latency_chart(
    txt: &Strings,
    hours: &crate::uptime::Deltas,
    from: Timestamp,
    to: Timestamp,
) -> Markup {
    let (width, height) = (720.0, 160.0);
    let slots = ((to.0 - from.0) / crate::clock::HOUR_MS).max(1);
    let points: Vec<HourPoint> = (0..slots)
        .filter_map(|slot| {
            let at = Timestamp(from.0 + slot * crate::clock::HOUR_MS);
            let r = hours.get(&at)?;
            let ms = |p| r.percentile(p).map(|d| d.as_secs_f64() * 1000.0);
            Some(HourPoint {
                slot,
                at,
                p50: ms(0.5)?,
                p95: ms(0.95)?,
                phases: r.phase_means().map(|m| m.map(|d| d.as_secs_f64() * 1000.0)),
            })
        })
        .collect();
    if points.is_empty() {
        return html! { p.small { (txt.no_probes_24h) } };
    }
    let stacked = |p: &HourPoint| p.phases.map_or(0.0, |m| m.iter().sum());
    let top = points
        .iter()
        .map(|p| p.p95.max(stacked(p)))
        .fold(1.0f64, f64::max)
        * 1.1;
    let slot_width = width / slots as f64;
    let x = |slot: i64| (slot as f64 + 0.5) * slot_width;
    let y = |ms: f64| height - ms / top * (height - 10.0);
    let line = |pick: fn(&HourPoint) -> f64| {
        points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.slot), y(pick(p))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let used: Vec<usize> = (0..PHASES.len())
        .filter(|&k| points.iter().any(|p| p.phases.is_some_and(|m| m[k] > 0.0)))
        .collect();
    let label = (txt.chart_label)(
        !used.is_empty(),
        &format!("{:.0} ms", points.iter().map(|p| p.p95).fold(0.0, f64::max)),
    );
    // Each hour's phases as (slot, phase, bottom, top), stacked in PHASES order.
    let stacks: Vec<(i64, usize, f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.slot, p.phases?)))
        .flat_map(|(slot, means)| {
            let mut below = 0.0;
            used.iter()
                .map(move |&k| {
                    let low = below;
                    below += means[k];
                    (slot, k, low, below)
                })
                .filter(|(_, _, low, high)| high > low)
                .collect::<Vec<_>>()
        })
        .collect();
    let fixed = |v: f64| format!("{v:.1}");
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (width) " " (height) } role="img" aria-label=(label) {
                @for (slot, k, low, high) in &stacks {
                    rect class={ "ph" (k) } x=(fixed(x(*slot) - slot_width * 0.35)) y=(fixed(y(*high))) width=(fixed(slot_width * 0.7)) height=(fixed(y(*low) - y(*high))) {}
                }
                polyline.p95 points=(line(|p| p.p95)) {}
                polyline.p50 points=(line(|p| p.p50)) {}
                @for p in &points {
                    circle.p95 cx=(fixed(x(p.slot))) cy=(fixed(y(p.p95))) r="2.5" {}
                    circle.p50 cx=(fixed(x(p.slot))) cy=(fixed(y(p.p50))) r="2.5" {}
                }
                text x="4" y="12" { (format!("{:.0} ms", top)) }
            }
            figcaption.small {
                span.p50 { (txt.median) } " " span.p95 { (txt.p95_long) }
                @for k in &used { " " i class={ "ph" (k) } {} " " (txt.phases[PHASES[*k].index()]) }
                (txt.hourly_oldest_left)
            }
            details.small {
                summary { (txt.figures_per_hour) }
                table.list {
                    thead { tr { th { (txt.hour_utc) } th { (txt.col_median) } th { (txt.p95_short) } @for k in &used { th { (txt.phases[PHASES[*k].index()]) } } } }
                    tbody {
                        @for p in points.iter().rev() {
                            tr {
                                td { (p.at.rfc3339().get(11..16).unwrap_or_default()) }
                                td { (format!("{:.0} ms", p.p50)) }
                                td { (format!("{:.0} ms", p.p95)) }
                                @for k in &used { td { @if let Some(m) = p.phases { (crate::words::decimal(txt, format!("{:.1} ms", m[*k]))) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/checks/{id}`: uptime per window, the bar, the latest error and the check's incidents.
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
    let day = crate::uptime::cover(Timestamp(now.0 - crate::clock::DAY_MS), now);
    let (hours, _) = state.reader.rollups_in(id.clone(), day.clone()).await?;
    let chart = latency_chart(txt, &hours, day.from, day.to);
    let shown = current.shown_state(check, now);
    let h = bars.history.checks.get(check.id.as_str());
    Ok(public(
        txt,
        &check.name,
        &snapshot.config.server.title,
        Some("/assets/bars.js"),
        html! {
            h1 { (check.name) " " (state_tag(txt, shown)) }
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
            h2 { (txt.response_time_24h) }
            (chart)
            @if let Some(h) = h {
                dl.uptime {
                    @for ((label, _), ratio) in txt.windows.iter().zip(WINDOWS).zip(h.uptime) {
                        div { dt { (label) } dd { (percent(txt, ratio)) } }
                    }
                }
                @if let Some(bar) = bars.bar(lang, check.id.as_str()) { (PreEscaped(bar)) }
            }
            h2 { (txt.incidents) }
            @if incidents.is_empty() { p { (txt.no_incidents_recorded) } }
            ul.incidents { @for i in &incidents { (incident_item(txt, i, now, None)) } }
            @if !false_alarms.is_empty() {
                p.small { ((txt.false_alarms)(false_alarms.len())) }
            }
        },
    ))
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
        &snapshot.config.server.title,
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
    let title = &snapshot.config.server.title;
    let txt = lang.strings();
    Ok(public(
        txt,
        txt.incident_history,
        title,
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
                                strong { (txt.maintenance_item) } (w.title)
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

    #[test]
    fn months_step_back_across_years() {
        // 2026-01-15T12:00:00Z
        let now = Timestamp(1_768_478_400_000);
        assert_eq!(month_start(now, 0).rfc3339(), "2026-01-01T00:00:00Z");
        assert_eq!(month_start(now, 1).rfc3339(), "2025-12-01T00:00:00Z");
        assert_eq!(month_start(now, 13).rfc3339(), "2024-12-01T00:00:00Z");
    }
}
