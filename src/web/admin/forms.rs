//! The admin pages: sign-in, the incident list, incident editing and updates, false alarms,
//! manual incidents, maintenance planning and the audit log. Plain HTML forms (maud), no
//! framework; `admin.js` only shows times in the viewer's zone.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};

use super::auth::{self, Session};
use super::{AdminHandles, STATUSES};
use crate::clock::Timestamp;
use crate::store::{AdminWrite, Audit, IncidentEdit, MaintenanceEdit, Severity};
use crate::web::pages::{impact_label, page};
use crate::web::{WebError, WebState, markdown};

fn admin(state: &WebState) -> Result<&AdminHandles, WebError> {
    state.admin.as_deref().ok_or(WebError::NotFound)
}

/// The fields of a posted form; repeated keys (checkboxes) keep every value.
struct FormData(Vec<(String, String)>);

impl FormData {
    fn parse(body: &Bytes) -> FormData {
        FormData(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A posted form whose CSRF token and origin are checked.
fn posted(session: &Session, headers: &HeaderMap, body: &Bytes) -> Result<FormData, WebError> {
    let form = FormData::parse(body);
    session.check_form(headers, form.get("csrf"))?;
    Ok(form)
}

fn audit(session: &Session, action: &str, target: String, detail: String) -> Option<Audit> {
    Some(Audit {
        actor: session.user.clone(),
        action: action.to_string(),
        target,
        detail,
    })
}

fn frame(state: &WebState, title: &str, session: Option<&Session>, body: Markup) -> Markup {
    let site = format!("{} · admin", state.snapshot().config.server.title);
    page(
        title,
        &site,
        Some("/assets/admin.js"),
        html! {
            @if let Some(s) = session {
                nav.admin {
                    a href="/admin" { "Incidents" } " "
                    a href="/admin/maintenance" { "Maintenance" } " "
                    a href="/admin/audit" { "Audit log" } " "
                    form.inline method="post" action="/admin/logout" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        button { "Sign out " (s.user) }
                    }
                }
            }
            (body)
        },
    )
}

fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

fn time(t: Timestamp) -> Markup {
    html! { time datetime=(t.rfc3339()) { (t.rfc3339()) } }
}

/// `YYYY-MM-DDTHH:MM` in UTC, for a datetime-local input (admin.js shows it in local time).
fn input_time(t: Timestamp) -> String {
    t.rfc3339()[..16].to_string()
}

/// A datetime-local value in the viewer's zone (`tz` = minutes to add to reach UTC, as the
/// browser's getTimezoneOffset says; 0 without JavaScript), as UTC.
fn parse_time(value: &str, tz: &str) -> Result<Timestamp, WebError> {
    let bad = || {
        WebError::BadRequest(format!(
            "{value:?} is not a date and time like 2026-11-28T18:00."
        ))
    };
    let naive = chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| bad())?;
    let offset: i64 = tz.trim().parse().unwrap_or(0);
    if offset.abs() > 24 * 60 {
        return Err(WebError::BadRequest(
            "The time zone offset is out of range.".into(),
        ));
    }
    Ok(Timestamp(
        naive.and_utc().timestamp_millis() + offset * 60_000,
    ))
}

fn check_boxes(state: &WebState, chosen: &[String]) -> Markup {
    let snapshot = state.snapshot();
    html! {
        fieldset {
            legend { "Affected checks" }
            @for check in &snapshot.config.checks {
                label.check {
                    input type="checkbox" name="checks" value=(check.id) checked[chosen.iter().any(|c| c == check.id.as_str())];
                    " " (check.name)
                }
            }
        }
    }
}

fn impact_select(current: Severity) -> Markup {
    html! {
        label { "Impact "
            select name="impact" {
                @for s in Severity::ALL {
                    option value=(s.as_str()) selected[s == current] { (s.as_str()) " — " (impact_label(s)) }
                }
            }
        }
    }
}

fn status_select(current: &str) -> Markup {
    html! {
        label { "Status "
            select name="status" {
                @for s in STATUSES { option value=(s) selected[s == current] { (s) } }
            }
        }
    }
}

pub async fn login_page(State(state): State<WebState>) -> Result<Markup, WebError> {
    admin(&state)?;
    Ok(login_form(&state, None))
}

fn login_form(state: &WebState, error: Option<&str>) -> Markup {
    frame(
        state,
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.stack method="post" action="/admin/login" {
                label { "User " input name="user" autocomplete="username" required; }
                label { "Password " input name="password" type="password" autocomplete="current-password" required; }
                button { "Sign in" }
            }
        },
    )
}

pub async fn login(
    State(state): State<WebState>,
    auth::ClientIp(ip): auth::ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let admin = admin(&state)?;
    auth::same_origin(&headers)?;
    let form = FormData::parse(&body);
    let (user, password) = (
        form.text("user").trim().to_string(),
        form.text("password").to_string(),
    );
    if let Some(wait) = admin.throttle.wait(&user, ip) {
        return Err(WebError::TooManyAttempts(wait));
    }
    let hash = admin
        .config
        .users
        .iter()
        .find(|u| u.name == user)
        .map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(hash.as_deref(), &password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    if !ok {
        admin.throttle.failed(&user, ip);
        tracing::warn!(user = %user, ip = ?ip, "failed admin sign-in");
        let mut r = login_form(&state, Some("Wrong user name or password.")).into_response();
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(r);
    }
    admin.throttle.succeeded(&user, ip);
    let token = auth::random_token()?;
    let write = AdminWrite::CreateSession {
        token_hash: auth::hash_token(&token),
        user: user.clone(),
        csrf: auth::random_token()?,
    };
    let note = Audit {
        actor: user,
        action: "sign in".into(),
        target: String::new(),
        detail: ip.map(|ip| ip.to_string()).unwrap_or_default(),
    };
    admin.writer.admin(write, Some(note)).await?;
    let secure = if admin.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        auth::COOKIE,
        auth::ABSOLUTE.as_secs()
    );
    let mut r = Redirect::to("/admin").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(r)
}

pub async fn logout(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    posted(&session, &headers, &body)?;
    let write = AdminWrite::DeleteSession {
        token_hash: session.token_hash.clone(),
    };
    admin(&state)?
        .writer
        .admin(
            write,
            audit(&session, "sign out", String::new(), String::new()),
        )
        .await?;
    let mut r = Redirect::to("/admin/login").into_response();
    let clear = format!(
        "{}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
        auth::COOKIE
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

pub async fn dashboard(
    State(state): State<WebState>,
    session: Session,
) -> Result<Markup, WebError> {
    let incidents = state.reader.admin_incidents(200).await?;
    Ok(frame(
        &state,
        "Incidents",
        Some(&session),
        html! {
            h1 { "Incidents" }
            p { a.button href="/admin/incidents/new" { "Declare an incident" } }
            @if incidents.is_empty() { p { "No incidents yet." } }
            table.list {
                thead { tr { th { "Incident" } th { "Impact" } th { "Status" } th { "Started" } th { "Resolved" } } }
                tbody {
                    @for i in &incidents {
                        tr {
                            td {
                                a href={ "/admin/incidents/" (i.id) } { (i.title) }
                                @if i.false_alarm { " " span.tag { "false alarm" } }
                                @if i.hold { " " span.tag { "held open" } }
                                @if !i.auto { " " span.tag { "manual" } }
                            }
                            td { (i.severity.as_str()) }
                            td { (i.status) }
                            td { (time(i.started_at)) }
                            td { @if let Some(r) = i.resolved_at { (time(r)) } @else { strong { "open" } } }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn new_incident_page(
    State(state): State<WebState>,
    session: Session,
) -> Result<Markup, WebError> {
    Ok(frame(
        &state,
        "Declare an incident",
        Some(&session),
        html! {
            h1 { "Declare an incident" }
            p { "For what the probes cannot see. It shows on the status page at once." }
            form.stack method="post" action="/admin/incidents/new" {
                (csrf(&session))
                label { "Title " input name="title" required maxlength="200"; }
                (impact_select(Severity::Minor))
                (status_select("investigating"))
                (check_boxes(&state, &[]))
                label { "First update (Markdown) " textarea name="body" rows="5" {} }
                button { "Declare" }
            }
        },
    ))
}

pub async fn create_incident(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&session, &headers, &body)?;
    let title = super::title(form.text("title"))?;
    let write = AdminWrite::CreateIncident {
        title: title.clone(),
        severity: super::impact(form.text("impact"))?,
        checks: super::checks(&state, &form.all("checks"))?,
        status: super::status(form.get("status").unwrap_or("investigating"))?,
        body: super::text(form.text("body"), "update")?,
    };
    let id = admin(&state)?
        .writer
        .admin(
            write,
            audit(&session, "declare incident", String::new(), title),
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn incident_page(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Markup, WebError> {
    let detail = state
        .reader
        .admin_incident(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let i = &detail.incident;
    let base = format!("/admin/incidents/{id}");
    Ok(frame(
        &state,
        &i.title,
        Some(&session),
        html! {
            h1 { (i.title) }
            p.small {
                @if i.auto { "Detected by watchpost" } @else { "Declared by an admin" }
                " · started " (time(i.started_at))
                @if let Some(r) = i.resolved_at { " · resolved " (time(r)) } @else { " · " strong { "open" } }
                @if i.false_alarm { " · " span.tag { "false alarm: hidden from the public, its time counts as up" } }
                " · " a href={ "/incidents/" (id) } { "public page" }
            }
            section {
                h2 { "Post an update" }
                form.stack method="post" action={ (base) "/updates" } {
                    (csrf(&session))
                    (status_select(if i.resolved_at.is_some() { "resolved" } else { &i.status }))
                    label { "Update (Markdown) " textarea name="body" rows="4" required {} }
                    button { "Post update" }
                }
                @if i.auto && i.resolved_at.is_none() {
                    p.small { "Automatic incidents resolve themselves when the probes recover, unless you hold them open below." }
                }
            }
            section {
                h2 { "Details" }
                form.stack method="post" action=(base) {
                    (csrf(&session))
                    label { "Title " input name="title" value=(i.title) required maxlength="200"; }
                    (impact_select(i.severity))
                    @if !i.auto { (check_boxes(&state, &i.checks)) }
                    label { "Cause (Markdown) " textarea name="cause" rows="3" { (i.cause.as_deref().unwrap_or("")) } }
                    label { "Postmortem (Markdown) " textarea name="postmortem" rows="6" { (i.postmortem.as_deref().unwrap_or("")) } }
                    @if i.auto {
                        label.check {
                            input type="checkbox" name="hold" value="1" checked[i.hold];
                            " Keep open in monitoring after the probes recover, until an admin resolves it"
                        }
                    }
                    button { "Save details" }
                }
            }
            @if i.auto && i.resolved_at.is_some() {
                section {
                    h2 { "False alarm" }
                    form.stack method="post" action={ (base) "/false-alarm" } {
                        (csrf(&session))
                        input type="hidden" name="value" value=(if i.false_alarm { "false" } else { "true" });
                        @if i.false_alarm {
                            p { "This incident is marked a false alarm." }
                            button { "It was real after all" }
                        } @else {
                            p { "The target was fine and the probe was wrong? Marking a false alarm hides the incident from the public and counts its time as up." }
                            button { "Mark as false alarm" }
                        }
                    }
                }
            }
            section {
                h2 { "Timeline" }
                ol.timeline {
                    @for u in &detail.updates {
                        li {
                            strong { (u.status) } " " (time(u.at)) " · " (u.author.as_deref().unwrap_or("watchpost"))
                            div.md { (PreEscaped(markdown::render(&u.body))) }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn edit_incident(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&session, &headers, &body)?;
    let current = state
        .reader
        .admin_incident(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let title = super::title(form.text("title"))?;
    let edit = IncidentEdit {
        title: Some(title.clone()),
        severity: Some(super::impact(form.text("impact"))?),
        checks: if current.incident.auto {
            None
        } else {
            Some(super::checks(&state, &form.all("checks"))?)
        },
        cause: Some(super::text(form.text("cause"), "cause")?),
        postmortem: Some(super::text(form.text("postmortem"), "postmortem")?),
        hold: current.incident.auto.then(|| form.get("hold") == Some("1")),
    };
    admin(&state)?
        .writer
        .admin(
            AdminWrite::EditIncident { id, edit },
            audit(&session, "edit incident", format!("incident {id}"), title),
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn add_update(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&session, &headers, &body)?;
    let status = super::status(form.text("status"))?;
    let text = super::update_body(form.text("body"))?;
    let write = AdminWrite::AddUpdate {
        id,
        status: status.clone(),
        body: text,
    };
    admin(&state)?
        .writer
        .admin(
            write,
            audit(&session, "post update", format!("incident {id}"), status),
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn false_alarm(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&session, &headers, &body)?;
    let value = form.get("value") != Some("false");
    admin(&state)?
        .set_false_alarm(id, value, &session.user)
        .await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn maintenance_page(
    State(state): State<WebState>,
    session: Session,
) -> Result<Markup, WebError> {
    let admin = admin(&state)?;
    let windows = state.reader.all_maintenance(200).await?;
    let now = Timestamp::now();
    Ok(frame(
        &state,
        "Maintenance",
        Some(&session),
        html! {
            h1 { "Maintenance" }
            p { "During a window its checks are probed and recorded, but open no incident, send no notification, and the time is left out of uptime." }
            section {
                h2 { "Plan a window" }
                (maintenance_form(&state, &session, "/admin/maintenance", None))
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
            @if !admin.recurring.is_empty() {
                section {
                    h2 { "Recurring windows (from the config file)" }
                    ul {
                        @for r in &admin.recurring {
                            li { (r.title) " · " code { (r.cron.pattern.to_string()) } " UTC · " (crate::probe::fmt_duration(r.duration)) }
                        }
                    }
                }
            }
        },
    ))
}

fn maintenance_form(
    state: &WebState,
    session: &Session,
    action: &str,
    w: Option<&crate::maintenance::Window>,
) -> Markup {
    let now = Timestamp::now();
    let start = w.map_or(now, |w| w.start);
    let end = w.map_or(now.plus(std::time::Duration::from_secs(3600)), |w| w.end);
    let chosen: Vec<String> = w
        .map(|w| w.checks.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    html! {
        form.stack method="post" action=(action) {
            (csrf(session))
            input type="hidden" name="tz" value="0";
            label { "Title " input name="title" required maxlength="200" value=[w.map(|w| w.title.as_str())]; }
            label { "Starts (" span.tzlabel { "UTC" } ") " input type="datetime-local" name="starts" required value=(input_time(start)) data-utc=(start.rfc3339()); }
            label { "Ends (" span.tzlabel { "UTC" } ") " input type="datetime-local" name="ends" required value=(input_time(end)) data-utc=(end.rfc3339()); }
            (check_boxes(state, &chosen))
            label { "Details (Markdown) " textarea name="body" rows="4" { (w.map(|w| w.body.as_str()).unwrap_or("")) } }
            button { @if w.is_some() { "Save window" } @else { "Plan window" } }
        }
    }
}

fn maintenance_input(state: &WebState, form: &FormData) -> Result<MaintenanceEdit, WebError> {
    let starts_at = parse_time(form.text("starts"), form.text("tz"))?;
    let ends_at = parse_time(form.text("ends"), form.text("tz"))?;
    super::maintenance_edit(
        state,
        form.text("title"),
        form.text("body"),
        &form.all("checks"),
        starts_at,
        ends_at,
    )
}

pub async fn create_maintenance(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&session, &headers, &body)?;
    let edit = maintenance_input(&state, &form)?;
    let detail = super::describe(&edit);
    let admin = admin(&state)?;
    admin
        .writer
        .admin(
            AdminWrite::CreateMaintenance(edit),
            audit(&session, "plan maintenance", String::new(), detail),
        )
        .await?;
    admin.republish(&state.reader).await?;
    Ok(Redirect::to("/admin/maintenance").into_response())
}

pub async fn maintenance_edit_page(
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
            (maintenance_form(&state, &session, &format!("/admin/maintenance/{id}"), Some(w)))
        },
    ))
}

pub async fn edit_maintenance(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let form = posted(&session, &headers, &body)?;
    let edit = maintenance_input(&state, &form)?;
    let detail = super::describe(&edit);
    let admin = admin(&state)?;
    admin
        .writer
        .admin(
            AdminWrite::EditMaintenance { id, edit },
            audit(
                &session,
                "edit maintenance",
                format!("maintenance {id}"),
                detail,
            ),
        )
        .await?;
    admin.republish(&state.reader).await?;
    Ok(Redirect::to("/admin/maintenance").into_response())
}

pub async fn cancel_maintenance(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    posted(&session, &headers, &body)?;
    let admin = admin(&state)?;
    admin
        .writer
        .admin(
            AdminWrite::CancelMaintenance { id },
            audit(
                &session,
                "cancel maintenance",
                format!("maintenance {id}"),
                String::new(),
            ),
        )
        .await?;
    admin.republish(&state.reader).await?;
    Ok(Redirect::to("/admin/maintenance").into_response())
}

pub async fn audit_page(
    State(state): State<WebState>,
    session: Session,
) -> Result<Markup, WebError> {
    let rows = state.reader.audit(500).await?;
    Ok(frame(
        &state,
        "Audit log",
        Some(&session),
        html! {
            h1 { "Audit log" }
            table.list {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "On" } th { "Detail" } } }
                tbody {
                    @for r in &rows {
                        tr { td { (time(r.at)) } td { (r.actor) } td { (r.action) } td { (r.target) } td { (r.detail) } }
                    }
                }
            }
        },
    ))
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
}
