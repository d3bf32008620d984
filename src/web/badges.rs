//! SVG badges in shields.io's "flat" look, for READMEs and dashboards: `/badge/{id}/status.svg`,
//! `/badge/{id}/uptime/{24h|7d|30d|90d}.svg` and `/badge/{id}/response-time.svg`.
//!
//! A grey label on the left, a value on the right coloured by state or threshold. Text widths are
//! estimated from Verdana's advance widths, so no font file is read; every text goes through
//! maud's escaping. Badges read only the in-memory snapshots, never SQLite.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::config::Check;
use crate::monitor::State as CheckState;
use crate::probe::{Status, fmt_duration};
use crate::snapshot::{CheckNow, Snapshot};
use crate::uptime::{WINDOWS, percent};

/// shields.io's colours.
const BRIGHTGREEN: &str = "#4c1";
const GREEN: &str = "#97ca00";
const YELLOWGREEN: &str = "#a4a61d";
const YELLOW: &str = "#dfb317";
const ORANGE: &str = "#fe7d37";
const RED: &str = "#e05d44";
const BLUE: &str = "#007ec6";
const GREY: &str = "#9f9f9f";

/// Labels longer than this many characters are cut, so a long check name keeps the badge small.
const MAX_LABEL: usize = 40;

/// A check by id with its state now, as a badge shows it.
fn now_of<'s>(
    snapshot: &'s Snapshot,
    id: &str,
) -> Result<(&'s Check, &'s CheckNow, CheckState), WebError> {
    let (check, current) = snapshot.get(id).ok_or(WebError::NotFound)?;
    Ok((check, current, current.shown_state(check, Timestamp::now())))
}

/// `/badge/{id}/status.svg`: the check's name and its state now.
pub async fn status(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let snapshot = state.snapshot();
    let (check, _, shown) = now_of(&snapshot, &id)?;
    let color = match shown {
        CheckState::Up => BRIGHTGREEN,
        CheckState::Degraded => YELLOW,
        CheckState::Down => RED,
        CheckState::Maintenance => BLUE,
        CheckState::Unknown => GREY,
    };
    let name = shorten(&check.name);
    let title = format!("{name}: {shown}", shown = shown.as_str());
    Ok(svg(&name, shown.as_str(), color, &title))
}

/// `/badge/{id}/uptime/{window}.svg`: uptime over one of the standard windows.
pub async fn uptime(
    State(state): State<WebState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let snapshot = state.snapshot();
    let (check, _) = snapshot.get(&id).ok_or(WebError::NotFound)?;
    let window = file.strip_suffix(".svg").ok_or(WebError::NotFound)?;
    let index = WINDOWS
        .iter()
        .position(|(label, _)| *label == window)
        .ok_or(WebError::NotFound)?;
    let ratio = state
        .history()
        .checks
        .get(check.id.as_str())
        .and_then(|h| h.uptime[index]);
    let label = format!("uptime {window}");
    let value = percent(ratio);
    let title = format!("{}: {label} {value}", shorten(&check.name));
    Ok(svg(&label, &value, uptime_color(ratio), &title))
}

/// `/badge/{id}/response-time.svg`: the latest probe's latency, coloured against the check's
/// `degraded_after` (1 s when unset).
pub async fn response_time(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let snapshot = state.snapshot();
    let (check, current, shown) = now_of(&snapshot, &id)?;
    let (value, color) = match &current.last {
        _ if shown == CheckState::Unknown => ("no data".to_string(), GREY),
        None => ("no data".to_string(), GREY),
        Some(last) if last.status == Status::Down => ("no response".to_string(), RED),
        Some(last) => {
            let limit = check
                .limits
                .degraded_after
                .unwrap_or(Duration::from_secs(1));
            (
                fmt_duration(last.latency),
                latency_color(last.latency, limit),
            )
        }
    };
    let title = format!("{}: response time {value}", shorten(&check.name));
    Ok(svg("response time", &value, color, &title))
}

fn uptime_color(ratio: Option<f64>) -> &'static str {
    match ratio {
        None => GREY,
        Some(r) if r >= 0.999 => BRIGHTGREEN,
        Some(r) if r >= 0.99 => GREEN,
        Some(r) if r >= 0.97 => YELLOWGREEN,
        Some(r) if r >= 0.95 => YELLOW,
        Some(r) if r >= 0.90 => ORANGE,
        Some(_) => RED,
    }
}

fn latency_color(latency: Duration, limit: Duration) -> &'static str {
    let ratio = latency.as_secs_f64() / limit.as_secs_f64().max(f64::EPSILON);
    match ratio {
        r if r <= 0.25 => BRIGHTGREEN,
        r if r <= 0.5 => GREEN,
        r if r <= 1.0 => YELLOW,
        _ => ORANGE,
    }
}

/// The badge response: `label | value`; `title` (with the check's name) is for screen readers.
fn svg(label: &str, value: &str, color: &str, title: &str) -> Response {
    let label_w = text_width(label) + 10;
    let value_w = text_width(value) + 10;
    let width = label_w + value_w;
    let body = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height="20" role="img" aria-label=(title) {
            title { (title) }
            linearGradient id="s" x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath id="r" { rect width=(width) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                rect width=(label_w) height="20" fill="#555" {}
                rect x=(label_w) width=(value_w) height="20" fill=(color) {}
                rect width=(width) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110" {
                @for (text, x, w) in [(label, label_w * 5, label_w - 10), (value, label_w * 10 + value_w * 5, value_w - 10)] {
                    text aria-hidden="true" x=(x) y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength=(w * 10) { (text) }
                    text x=(x) y="140" transform="scale(.1)" fill="#fff" textLength=(w * 10) { (text) }
                }
            }
        }
    };
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        body.into_string(),
    )
        .into_response()
}

/// At most [`MAX_LABEL`] characters, with an ellipsis when cut.
fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL {
        s.to_string()
    } else {
        let mut cut: String = s.chars().take(MAX_LABEL - 1).collect();
        cut.push('…');
        cut
    }
}

/// The width in pixels of `s` in 11 px Verdana, from its advance widths (rounded up).
fn text_width(s: &str) -> u32 {
    let tenths: u32 = s.chars().map(char_width_tenths).sum();
    tenths.div_ceil(10)
}

/// Verdana's advance width at 11 px, in tenths of a pixel; wide scripts count as a full em.
fn char_width_tenths(c: char) -> u32 {
    match c {
        'i' | 'l' | '\'' | '|' | '!' | '.' | ',' | ':' | ';' => 35,
        'j' | 'f' | 't' | 'r' | ' ' | '(' | ')' | '[' | ']' | 'I' | '-' => 43,
        '"' | '/' | '\\' | 'J' => 52,
        's' | 'c' | 'z' | 'F' | 'L' => 60,
        'm' => 107,
        'w' | '%' | 'W' | 'M' => 105,
        'A'..='Z' => 77,
        '0'..='9' | 'a'..='z' | '#' | '$' | '+' | '<' | '=' | '>' | '?' | '_' | '~' | '&' => 69,
        '@' => 100,
        c if c.is_ascii() => 69,
        c if (c as u32) >= 0x2E80 => 110,
        _ => 75,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_text_and_wide_letters() {
        assert_eq!(text_width(""), 0);
        assert!(text_width("up") < text_width("down"));
        assert!(text_width("iiii") < text_width("mmmm"));
        // shields.io draws "build" in about 31 px.
        assert!(
            (28..=34).contains(&text_width("build")),
            "{}",
            text_width("build")
        );
    }

    #[test]
    fn uptime_colours_step_down_with_the_ratio() {
        assert_eq!(uptime_color(Some(1.0)), BRIGHTGREEN);
        assert_eq!(uptime_color(Some(0.995)), GREEN);
        assert_eq!(uptime_color(Some(0.5)), RED);
        assert_eq!(uptime_color(None), GREY);
    }

    #[test]
    fn long_labels_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), MAX_LABEL);
        assert_eq!(shorten("short"), "short");
    }
}
