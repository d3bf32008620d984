//! Maintenance in the admin area: planning, editing and cancelling one-off windows, in the
//! admin's own time zone, and the list of windows (recurring ones come from the config).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::admin;
use super::auth::Session;
use super::form::{FormData, Posted, check_boxes, csrf, frame, time};
use crate::actions;
use crate::clock::Timestamp;
use crate::web::{WebError, WebState};

/// `?started={id}`: the window just planned is already in progress (its start had passed).
#[derive(serde::Deserialize)]
pub struct Answered {
    started: Option<i64>,
}

pub async fn page(
    State(state): State<WebState>,
    session: Session,
    Query(answered): Query<Answered>,
) -> Result<Markup, WebError> {
    let admin = admin(&state)?;
    let recurring = admin.actions.schedule.borrow().recurring.clone();
    let windows = state.reader.all_maintenance(200).await?;
    let now = Timestamp::now();
    let started = answered
        .started
        .and_then(|id| windows.iter().find(|(w, _)| w.id == Some(id)))
        .map(|(w, _)| w);
    Ok(frame(
        &state,
        "Maintenance",
        Some(&session),
        html! {
            h1 { "Maintenance" }
            @if let Some(w) = started {
                p.notice role="status" {
                    strong { "In progress: " } "“" (w.title) "” had a start that had already passed, so it began when you saved it, at "
                    (time(w.start)) ", and runs until " (time(w.end)) ". Time before that stays as it was recorded."
                }
            }
            p { "During a window its checks are probed and recorded, but open no incident, send no notification, and the time is left out of uptime." }
            section {
                h2 { "Plan a window" }
                (maintenance_form(&state, &session, "/admin/maintenance", &Fields::of(None)))
            }
            section {
                h2 { "Planned windows" }
                table.list {
                    thead { tr { th { "Window" } th { "Starts" } th { "Ends" } th { "Checks" } th {} } }
                    tbody {
                        @for (w, cancelled) in &windows {
                            tr {
                                td {
                                    @if let Some(id) = w.id { a href={ "/admin/maintenance/" (id) } { (w.title) } }
                                    @if *cancelled { " " span.tag { "cancelled" } }
                                    @else if w.end <= now { " " span.tag { "past" } }
                                    @else if w.start <= now { " " span.tag { "in progress" } }
                                }
                                td { (time(w.start)) } td { (time(w.end)) }
                                td { (w.checks.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
                                td {
                                    @if !*cancelled && w.end > now {
                                        @if let Some(id) = w.id {
                                            form.inline method="post" action={ "/admin/maintenance/" (id) "/cancel" } {
                                                (csrf(&session)) button { "Cancel" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !recurring.is_empty() {
                section {
                    h2 { "Recurring windows (from the config file)" }
                    ul {
                        @for r in &recurring {
                            li { (r.title) " · " code { (r.cron.pattern.to_string()) } " UTC · " (crate::probe::fmt_duration(r.duration)) }
                        }
                    }
                }
            }
        },
    ))
}

/// What the form shows: a window's values, a new window's defaults, or what was posted when it
/// was refused (times as typed, in the zone they were typed in).
struct Fields {
    title: String,
    body: String,
    checks: Vec<String>,
    /// Each time as the input's value, with its UTC instant for admin.js when known.
    starts: (String, Option<String>),
    ends: (String, Option<String>),
    editing: bool,
}

impl Fields {
    fn of(w: Option<&crate::maintenance::Window>) -> Fields {
        let now = Timestamp::now();
        let start = w.map_or(now, |w| w.start);
        let end = w.map_or(now.plus(std::time::Duration::from_secs(3600)), |w| w.end);
        let both = |t: Timestamp| (input_time(t), Some(t.rfc3339()));
        Fields {
            title: w.map(|w| w.title.clone()).unwrap_or_default(),
            body: w.map(|w| w.body.clone()).unwrap_or_default(),
            checks: w
                .map(|w| w.checks.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default(),
            starts: both(start),
            ends: both(end),
            editing: w.is_some(),
        }
    }

    fn posted(form: &FormData, editing: bool) -> Fields {
        Fields {
            title: form.text("title").to_string(),
            body: form.text("body").to_string(),
            checks: form.all("checks"),
            starts: (form.text("starts").to_string(), None),
            ends: (form.text("ends").to_string(), None),
            editing,
        }
    }
}

fn maintenance_form(state: &WebState, session: &Session, action: &str, f: &Fields) -> Markup {
    html! {
        form.stack method="post" action=(action) {
            (csrf(session))
            input type="hidden" name="tz" value="UTC";
            label { "Title " input name="title" required maxlength="200" value=(f.title); }
            label { "Starts (" span.tzlabel { "UTC" } ") " input type="datetime-local" name="starts" required value=(f.starts.0) data-utc=[f.starts.1.as_deref()]; }
            label { "Ends (" span.tzlabel { "UTC" } ") " input type="datetime-local" name="ends" required value=(f.ends.0) data-utc=[f.ends.1.as_deref()]; }
            p.small { "A start that has already passed begins the window now, in progress." }
            (check_boxes(state, &f.checks))
            label { "Details (Markdown) " textarea name="body" rows="4" { (f.body) } }
            button { @if f.editing { "Save window" } @else { "Plan window" } }
        }
    }
}

/// The form again with what was posted and why it was refused, as a 400.
fn refused(
    state: &WebState,
    session: &Session,
    action: &str,
    fields: &Fields,
    why: &str,
) -> Response {
    let heading = if fields.editing {
        "Edit window"
    } else {
        "Plan a window"
    };
    let page = frame(
        state,
        heading,
        Some(session),
        html! {
            h1 { (heading) }
            p.error role="alert" { (why) }
            (maintenance_form(state, session, action, fields))
        },
    );
    (axum::http::StatusCode::BAD_REQUEST, page).into_response()
}

/// Plans or edits through `act`; a refusal of the input answers the form again, kept.
async fn answer<F, Fut>(
    state: &WebState,
    session: &Session,
    form: &FormData,
    action: &str,
    editing: bool,
    act: F,
) -> Result<Response, WebError>
where
    F: FnOnce(actions::Plan) -> Fut,
    Fut: std::future::Future<Output = Result<i64, actions::Error>>,
{
    let done = match plan(form) {
        Ok(p) => {
            let asked = p.starts_at;
            act(p).await.map(|id| (id, asked)).map_err(WebError::from)
        }
        Err(e) => Err(e),
    };
    match done {
        Ok((id, asked)) => {
            // A start that had passed was moved to the moment of planning: say so.
            let windows = state.reader.all_maintenance(10_000).await?;
            let moved = windows
                .iter()
                .any(|(w, _)| w.id == Some(id) && w.start != asked);
            let to = match moved {
                true => format!("/admin/maintenance?started={id}"),
                false => "/admin/maintenance".to_string(),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(WebError::BadRequest(why)) => Ok(refused(
            state,
            session,
            action,
            &Fields::posted(form, editing),
            &why,
        )),
        Err(e) => Err(e),
    }
}

fn plan(form: &FormData) -> Result<actions::Plan, WebError> {
    Ok(actions::Plan {
        title: form.text("title").to_string(),
        body: form.text("body").to_string(),
        checks: form.all("checks"),
        starts_at: parse_time(form.text("starts"), form.text("tz"))?,
        ends_at: parse_time(form.text("ends"), form.text("tz"))?,
    })
}

pub async fn create(
    State(state): State<WebState>,
    Posted { session, form }: Posted,
) -> Result<Response, WebError> {
    let handles = &admin(&state)?.actions;
    let user = session.user.clone();
    answer(&state, &session, &form, "/admin/maintenance", false, |p| {
        actions::plan(handles, &user, p)
    })
    .await
}

pub async fn edit_page(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Markup, WebError> {
    let windows = state.reader.all_maintenance(1000).await?;
    let (w, _) = windows
        .iter()
        .find(|(w, _)| w.id == Some(id))
        .ok_or(WebError::NotFound)?;
    Ok(frame(
        &state,
        &w.title,
        Some(&session),
        html! {
            h1 { "Edit " (w.title) }
            (maintenance_form(&state, &session, &format!("/admin/maintenance/{id}"), &Fields::of(Some(w))))
        },
    ))
}

pub async fn edit(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Result<Response, WebError> {
    let handles = &admin(&state)?.actions;
    let user = session.user.clone();
    let action = format!("/admin/maintenance/{id}");
    answer(&state, &session, &form, &action, true, |p| async move {
        actions::edit_window(handles, &user, id, p)
            .await
            .map(|()| id)
    })
    .await
}

pub async fn cancel(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Posted { session, .. }: Posted,
) -> Result<Response, WebError> {
    actions::cancel_window(&admin(&state)?.actions, &session.user, id).await?;
    Ok(Redirect::to("/admin/maintenance").into_response())
}

/// `YYYY-MM-DDTHH:MM` in UTC, for a datetime-local input (admin.js shows it in local time).
fn input_time(t: Timestamp) -> String {
    t.rfc3339()[..16].to_string()
}

/// A datetime-local value in the viewer's time zone, as UTC. `tz` is the IANA name the
/// browser reports (admin.js), so the offset is the one in force on that date, across
/// daylight-saving changes; without JavaScript it is `UTC`. A number is taken as minutes to add
/// to reach UTC (getTimezoneOffset), as forms of earlier versions sent.
fn parse_time(value: &str, tz: &str) -> Result<Timestamp, WebError> {
    let bad = || {
        WebError::BadRequest(format!(
            "{:?} is not a date and time like 2026-11-28T18:00.",
            value.chars().take(40).collect::<String>()
        ))
    };
    let local: jiff::civil::DateTime = value.trim().parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&local.year()) {
        return Err(bad());
    }
    let tz = tz.trim();
    let zone = if tz.is_empty() {
        jiff::tz::TimeZone::UTC
    } else if let Ok(minutes) = tz.parse::<i32>() {
        let offset = (minutes.abs() <= 24 * 60)
            .then(|| jiff::tz::Offset::from_seconds(-minutes * 60).ok())
            .flatten()
            .ok_or_else(|| WebError::BadRequest("The time zone offset is out of range.".into()))?;
        jiff::tz::TimeZone::fixed(offset)
    } else {
        jiff::tz::TimeZone::get(tz).map_err(|_| {
            WebError::BadRequest(format!(
                "Unknown time zone {:?}.",
                tz.chars().take(40).collect::<String>()
            ))
        })?
    };
    let at = zone.to_timestamp(local).map_err(|_| bad())?;
    Ok(Timestamp(at.as_millisecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_stored_in_utc() {
        // 18:00 in UTC+1 (getTimezoneOffset = -60) is 17:00 UTC.
        let t = parse_time("2026-11-28T18:00", "-60").unwrap();
        assert_eq!(t.rfc3339(), "2026-11-28T17:00:00Z");
        assert_eq!(
            parse_time("2026-11-28T18:00", "").unwrap().rfc3339(),
            "2026-11-28T18:00:00Z"
        );
        assert!(parse_time("tomorrow", "0").is_err());
        assert_eq!(input_time(t), "2026-11-28T17:00");
    }

    #[test]
    fn a_window_across_a_daylight_saving_change_is_right_to_the_minute() {
        // Berlin leaves CET (UTC+1) for CEST (UTC+2) at 02:00 on 29 March 2026.
        let start = parse_time("2026-03-28T20:00", "Europe/Berlin").unwrap();
        let end = parse_time("2026-03-29T20:00", "Europe/Berlin").unwrap();
        assert_eq!(start.rfc3339(), "2026-03-28T19:00:00Z");
        assert_eq!(end.rfc3339(), "2026-03-29T18:00:00Z");
        assert_eq!(end.since(start), std::time::Duration::from_secs(23 * 3600));
        // And back in the autumn: New York's 25-hour day.
        let a = parse_time("2026-10-31T12:00", "America/New_York").unwrap();
        let b = parse_time("2026-11-01T12:00", "America/New_York").unwrap();
        assert_eq!(b.since(a), std::time::Duration::from_secs(25 * 3600));
        assert!(parse_time("2026-03-28T20:00", "Mars/Olympus").is_err());
        assert!(parse_time("1960-01-01T00:00", "UTC").is_err());
    }
}
