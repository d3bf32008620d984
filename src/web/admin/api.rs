//! The admin JSON API for scripts, authorized by `Authorization: Bearer <token>`: declare
//! incidents, post updates, edit incidents (false alarms included), plan and cancel maintenance.
//! Each answers the created or changed object.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::auth::ApiClient;
use crate::clock::Timestamp;
use crate::store::{AdminWrite, Audit, IncidentDetail, IncidentEdit};
use crate::web::{WebError, WebState};

fn audit(action: &str, target: String, detail: String) -> Option<Audit> {
    Some(Audit {
        actor: "api".into(),
        action: action.into(),
        target,
        detail,
    })
}

/// An incident as the admin API answers it.
#[derive(Serialize)]
pub struct IncidentDto {
    id: i64,
    title: String,
    impact: &'static str,
    status: String,
    checks: Vec<String>,
    automatic: bool,
    started_at: String,
    resolved_at: Option<String>,
    cause: Option<String>,
    postmortem: Option<String>,
    hold: bool,
    false_alarm: bool,
    updates: Vec<UpdateDto>,
}

#[derive(Serialize)]
struct UpdateDto {
    at: String,
    status: String,
    body: String,
    author: Option<String>,
}

impl From<IncidentDetail> for IncidentDto {
    fn from(d: IncidentDetail) -> IncidentDto {
        let i = d.incident;
        IncidentDto {
            id: i.id,
            title: i.title,
            impact: i.severity.as_str(),
            status: i.status,
            checks: i.checks,
            automatic: i.auto,
            started_at: i.started_at.rfc3339(),
            resolved_at: i.resolved_at.map(|t| t.rfc3339()),
            cause: i.cause,
            postmortem: i.postmortem,
            hold: i.hold,
            false_alarm: i.false_alarm,
            updates: d
                .updates
                .into_iter()
                .map(|u| UpdateDto {
                    at: u.at.rfc3339(),
                    status: u.status,
                    body: u.body,
                    author: u.author,
                })
                .collect(),
        }
    }
}

async fn answer(state: &WebState, id: i64) -> Result<Json<IncidentDto>, WebError> {
    let detail = state
        .reader
        .admin_incident(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Json(detail.into()))
}

fn admin(state: &WebState) -> Result<&super::AdminHandles, WebError> {
    state.admin.as_deref().ok_or(WebError::NotFound)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    title: String,
    #[serde(default)]
    checks: Vec<String>,
    impact: String,
    #[serde(default)]
    body: String,
    status: Option<String>,
}

/// `POST /api/v1/admin/incidents`: a manual incident.
pub async fn create_incident(
    State(state): State<WebState>,
    _: ApiClient,
    Json(n): Json<NewIncident>,
) -> Result<(StatusCode, Json<IncidentDto>), WebError> {
    let title = super::title(&n.title)?;
    let write = AdminWrite::CreateIncident {
        title: title.clone(),
        severity: super::impact(&n.impact)?,
        checks: super::checks(&state, &n.checks)?,
        status: super::status(n.status.as_deref().unwrap_or("investigating"))?,
        body: super::text(&n.body, "body")?,
    };
    let id = admin(&state)?
        .writer
        .admin(write, audit("declare incident", String::new(), title))
        .await?;
    Ok((StatusCode::CREATED, answer(&state, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    status: String,
    body: String,
}

/// `POST /api/v1/admin/incidents/{id}/updates`.
pub async fn add_update(
    State(state): State<WebState>,
    _: ApiClient,
    Path(id): Path<i64>,
    Json(u): Json<NewUpdate>,
) -> Result<Json<IncidentDto>, WebError> {
    let status = super::status(&u.status)?;
    let body = super::update_body(&u.body)?;
    let write = AdminWrite::AddUpdate {
        id,
        status: status.clone(),
        body,
    };
    admin(&state)?
        .writer
        .admin(
            write,
            audit("post update", format!("incident {id}"), status),
        )
        .await?;
    answer(&state, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    title: Option<String>,
    impact: Option<String>,
    cause: Option<String>,
    postmortem: Option<String>,
    hold: Option<bool>,
    false_alarm: Option<bool>,
}

/// `PATCH /api/v1/admin/incidents/{id}`.
pub async fn edit_incident(
    State(state): State<WebState>,
    _: ApiClient,
    Path(id): Path<i64>,
    Json(p): Json<Patch>,
) -> Result<Json<IncidentDto>, WebError> {
    let admin = admin(&state)?;
    let edit = IncidentEdit {
        title: p.title.as_deref().map(super::title).transpose()?,
        severity: p.impact.as_deref().map(super::impact).transpose()?,
        checks: None,
        cause: p
            .cause
            .as_deref()
            .map(|t| super::text(t, "cause"))
            .transpose()?,
        postmortem: p
            .postmortem
            .as_deref()
            .map(|t| super::text(t, "postmortem"))
            .transpose()?,
        hold: p.hold,
    };
    admin
        .writer
        .admin(
            AdminWrite::EditIncident { id, edit },
            audit("edit incident", format!("incident {id}"), String::new()),
        )
        .await?;
    if let Some(false_alarm) = p.false_alarm {
        admin.set_false_alarm(id, false_alarm, "api").await?;
    }
    answer(&state, id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMaintenance {
    title: String,
    #[serde(default)]
    body: String,
    checks: Vec<String>,
    starts_at: String,
    ends_at: String,
}

/// A maintenance window as the admin API answers it.
#[derive(Serialize)]
pub struct MaintenanceDto {
    id: i64,
    title: String,
    body: String,
    checks: Vec<String>,
    starts_at: String,
    ends_at: String,
    cancelled: bool,
}

fn rfc3339(s: &str) -> Result<Timestamp, WebError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| Timestamp(t.timestamp_millis()))
        .map_err(|_| {
            WebError::BadRequest(format!(
                "{s:?} is not an RFC 3339 time like 2026-11-28T18:00:00Z."
            ))
        })
}

async fn maintenance_answer(state: &WebState, id: i64) -> Result<Json<MaintenanceDto>, WebError> {
    let all = state.reader.all_maintenance(10_000).await?;
    let (w, cancelled) = all
        .into_iter()
        .find(|(w, _)| w.id == Some(id))
        .ok_or(WebError::NotFound)?;
    Ok(Json(MaintenanceDto {
        id,
        title: w.title,
        body: w.body,
        checks: w.checks.iter().map(|c| c.to_string()).collect(),
        starts_at: w.start.rfc3339(),
        ends_at: w.end.rfc3339(),
        cancelled,
    }))
}

/// `POST /api/v1/admin/maintenance`.
pub async fn create_maintenance(
    State(state): State<WebState>,
    _: ApiClient,
    Json(m): Json<NewMaintenance>,
) -> Result<(StatusCode, Json<MaintenanceDto>), WebError> {
    let edit = super::maintenance_edit(
        &state,
        &m.title,
        &m.body,
        &m.checks,
        rfc3339(&m.starts_at)?,
        rfc3339(&m.ends_at)?,
    )?;
    let detail = super::describe(&edit);
    let admin = admin(&state)?;
    let id = admin
        .writer
        .admin(
            AdminWrite::CreateMaintenance(edit),
            audit("plan maintenance", String::new(), detail),
        )
        .await?;
    admin.republish(&state.reader).await?;
    Ok((StatusCode::CREATED, maintenance_answer(&state, id).await?))
}

/// `DELETE /api/v1/admin/maintenance/{id}`: cancels the window.
pub async fn cancel_maintenance(
    State(state): State<WebState>,
    _: ApiClient,
    Path(id): Path<i64>,
) -> Result<Json<MaintenanceDto>, WebError> {
    let admin = admin(&state)?;
    admin
        .writer
        .admin(
            AdminWrite::CancelMaintenance { id },
            audit(
                "cancel maintenance",
                format!("maintenance {id}"),
                String::new(),
            ),
        )
        .await?;
    admin.republish(&state.reader).await?;
    maintenance_answer(&state, id).await
}
