//! The response-time chart of a check's page: hourly figures from the rollups drawn as
//! server-rendered SVG, with a time axis along the bottom and milliseconds up the side, a gap
//! wherever an hour has no data (no line is drawn across it), only the phases that happened,
//! and the same figures as a table for those who cannot see the chart, in the catalog's
//! language. It renders a fragment only; it never reads the store or the clock.

use maud::{Markup, html};

use crate::clock::{HOUR_MS, Timestamp};
use crate::i18n::Strings;
use crate::model::Phase;
use crate::uptime::{Deltas, PHASES};
use crate::words::decimal;

/// The drawing's size in SVG units; it stretches to the page's width at a fixed height, so a
/// phone's chart is as tall as a desktop's.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;
/// Room above the highest tick, in SVG units.
const HEADROOM: f64 = 6.0;

/// One hour of the chart: its slot, median, 95th percentile and mean phases, in ms.
struct HourPoint {
    slot: i64,
    at: Timestamp,
    p50: f64,
    p95: f64,
    phases: Option<[f64; Phase::COUNT]>,
}

/// The hours of `[from, to)` that have figures, oldest first.
fn points(hours: &Deltas, from: Timestamp, slots: i64) -> Vec<HourPoint> {
    (0..slots)
        .filter_map(|slot| {
            let at = Timestamp(from.0 + slot * HOUR_MS);
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
        .collect()
}

/// A round step for about four ticks up to `top` ms: 1, 2 or 5 times a power of ten.
fn step(top: f64) -> f64 {
    let rough = (top / 4.0).max(0.001);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power)
}

/// A tick's label: "0 ms", "250 ms", "1.5 s" ("1,5 s" in French).
fn ms_label(txt: &Strings, ms: f64) -> String {
    let english = if ms >= 1000.0 {
        let s = ms / 1000.0;
        if s.fract() == 0.0 {
            format!("{s:.0} {}", txt.unit_s)
        } else {
            format!("{s:.1} {}", txt.unit_s)
        }
    } else if ms >= 1.0 || ms == 0.0 {
        format!("{:.0} ms", ms.round())
    } else {
        format!("{ms:.1} ms")
    };
    decimal(txt, english)
}

/// Runs of consecutive slots: a line is drawn within a run, never across the gap between two.
fn runs(points: &[HourPoint]) -> Vec<&[HourPoint]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].slot != points[i - 1].slot + 1 {
            out.push(&points[start..i]);
            start = i;
        }
    }
    out
}

/// An SVG chart of the response time per hour over `[from, to)` (whole hours): the mean time of
/// each phase that happened stacked as a bar, the median and 95th percentile as lines broken
/// where an hour has no data, labelled axes, and a table of the same figures.
pub(super) fn latency_chart(
    txt: &Strings,
    hours: &Deltas,
    from: Timestamp,
    to: Timestamp,
) -> Markup {
    let slots = ((to.0 - from.0) / HOUR_MS).max(1);
    let points = points(hours, from, slots);
    if points.is_empty() {
        return html! { p.small { (txt.no_probes_24h) } };
    }
    let stacked = |p: &HourPoint| p.phases.map_or(0.0, |m| m.iter().sum());
    let highest = points
        .iter()
        .map(|p| p.p95.max(stacked(p)))
        .fold(0.0f64, f64::max);
    let step = step(highest);
    let ticks = (highest / step).ceil().max(1.0) as usize;
    let top = step * ticks as f64;
    let slot_width = WIDTH / slots as f64;
    let x = |slot: i64| (slot as f64 + 0.5) * slot_width;
    let y = |ms: f64| HEIGHT - ms / top * (HEIGHT - HEADROOM);
    let fixed = |v: f64| format!("{v:.1}");
    let line = |run: &[HourPoint], pick: fn(&HourPoint) -> f64| {
        run.iter()
            .map(|p| format!("{:.1},{:.1}", x(p.slot), y(pick(p))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Phases no probe timed (a refused connection has no connect time) get no bar and no key.
    let used: Vec<usize> = (0..PHASES.len())
        .filter(|&k| points.iter().any(|p| p.phases.is_some_and(|m| m[k] > 0.0)))
        .collect();
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
    // Time ticks on the hours divisible by six (UTC), a few across the day.
    let time_ticks: Vec<(i64, String)> = (0..slots)
        .filter_map(|slot| {
            let at = Timestamp(from.0 + slot * HOUR_MS);
            let hour = at.rfc3339().get(11..16)?.to_string();
            (at.0.rem_euclid(6 * HOUR_MS) == 0).then_some((slot, hour))
        })
        .collect();
    let missing = slots - points.len() as i64;
    let label = (txt.chart_label)(
        !used.is_empty(),
        &ms_label(txt, points.iter().map(|p| p.p95).fold(0.0, f64::max)),
        missing,
    );
    let percent = |v: f64, of: f64| format!("{:.2}%", v / of * 100.0);
    html! {
        figure.chart {
            div.plot {
                div.yaxis aria-hidden="true" {
                    @for t in (0..=ticks).rev() {
                        span style={ "top:" (percent(y(t as f64 * step), HEIGHT)) } { (ms_label(txt, t as f64 * step)) }
                    }
                }
                svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } preserveAspectRatio="none" role="img" aria-label=(label) {
                    @for t in 1..=ticks {
                        line.grid x1="0" x2=(WIDTH) y1=(fixed(y(t as f64 * step))) y2=(fixed(y(t as f64 * step))) {}
                    }
                    @for (slot, _) in &time_ticks {
                        line.grid x1=(fixed(*slot as f64 * slot_width)) x2=(fixed(*slot as f64 * slot_width)) y1="0" y2=(HEIGHT) {}
                    }
                    @for (slot, k, low, high) in &stacks {
                        rect class={ "ph" (k) } x=(fixed(x(*slot) - slot_width * 0.35)) y=(fixed(y(*high))) width=(fixed(slot_width * 0.7)) height=(fixed(y(*low) - y(*high))) {}
                    }
                    @for run in runs(&points) {
                        polyline.p95 points=(line(run, |p| p.p95)) {}
                        polyline.p50 points=(line(run, |p| p.p50)) {}
                    }
                    // Dots as lines of no length with round ends: round however the chart is stretched.
                    @for p in &points {
                        @for (class, ms) in [("dot p95", p.p95), ("dot p50", p.p50)] {
                            line class=(class) x1=(fixed(x(p.slot))) x2=(fixed(x(p.slot))) y1=(fixed(y(ms))) y2=(fixed(y(ms))) {}
                        }
                    }
                }
                div {}
                div.xaxis aria-hidden="true" {
                    @for (slot, hour) in &time_ticks {
                        @let edge = match *slot as f64 / slots as f64 { f if f < 0.1 => Some("start"), f if f > 0.9 => Some("end"), _ => None };
                        span class=[edge] style={ "left:" (percent(*slot as f64 * slot_width, WIDTH)) } { (hour) }
                    }
                }
            }
            figcaption.small {
                span.p50 { (txt.median) } " " span.p95 { (txt.p95_long) }
                @for k in &used { " " i class={ "ph" (k) } {} " " (txt.phases[PHASES[*k].index()]) }
                (txt.per_hour_note)
            }
            details.small {
                summary { (txt.figures_per_hour) }
                table.list {
                    thead { tr { th { (txt.hour_utc) } th { (txt.col_median) } th { (txt.p95_short) } @for k in &used { th { (txt.phases[PHASES[*k].index()]) } } } }
                    tbody {
                        @for p in points.iter().rev() {
                            tr {
                                td { (p.at.rfc3339().get(11..16).unwrap_or_default()) }
                                td { (ms_label(txt, p.p50)) }
                                td { (ms_label(txt, p.p95)) }
                                @for k in &used { td { @if let Some(m) = p.phases { (decimal(txt, format!("{:.1} ms", m[*k]))) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "chart_tests.rs"]
mod tests;
