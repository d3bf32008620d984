//! The native JSON API, `/api/v1/*`. Its DTOs are its own types: serialization is a promise.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::store::IncidentRow;

#[derive(Serialize)]
pub struct StatusDto {
    pub checks: Vec<CheckDto>,
}

#[derive(Serialize)]
pub struct CheckDto {
    pub id: String,
    pub name: String,
    pub group: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// up | degraded | down | maintenance | unknown
    pub state: &'static str,
    pub last_checked_at: Option<String>,
    pub latency_ms: Option<f64>,
    pub uptime: UptimeDto,
}

/// Uptime ratios in [0, 1]; null when the window has no data.
#[derive(Serialize)]
pub struct UptimeDto {
    #[serde(rename = "24h")]
    pub h24: Option<f64>,
    #[serde(rename = "7d")]
    pub d7: Option<f64>,
    #[serde(rename = "30d")]
    pub d30: Option<f64>,
    #[serde(rename = "90d")]
    pub d90: Option<f64>,
}

pub async fn status(State(state): State<WebState>) -> Json<StatusDto> {
    let snapshot = state.snapshot();
    let history = state.history();
    let now = Timestamp::now();
    let checks = snapshot
        .iter()
        .map(|(check, current)| {
            let uptime = history
                .checks
                .get(check.id.as_str())
                .map(|h| h.uptime)
                .unwrap_or_default();
            CheckDto {
                id: check.id.to_string(),
                name: check.name.clone(),
                group: check.group.clone(),
                kind: check.kind(),
                state: current.shown_state(check, now).as_str(),
                last_checked_at: current.last.as_ref().map(|l| l.at.rfc3339()),
                latency_ms: current
                    .last
                    .as_ref()
                    .map(|l| l.latency.as_secs_f64() * 1000.0),
                uptime: UptimeDto {
                    h24: uptime[0],
                    d7: uptime[1],
                    d30: uptime[2],
                    d90: uptime[3],
                },
            }
        })
        .collect();
    Json(StatusDto { checks })
}

#[derive(Serialize)]
pub struct IncidentsDto {
    pub incidents: Vec<IncidentDto>,
}

#[derive(Serialize)]
pub struct IncidentDto {
    pub id: i64,
    pub check: Option<String>,
    /// minor | major
    pub severity: &'static str,
    pub title: String,
    pub started_at: String,
    pub resolved_at: Option<String>,
}

impl From<&IncidentRow> for IncidentDto {
    fn from(i: &IncidentRow) -> IncidentDto {
        IncidentDto {
            id: i.id,
            check: i.check.clone(),
            severity: i.severity.as_str(),
            title: i.title.clone(),
            started_at: i.started_at.rfc3339(),
            resolved_at: i.resolved_at.map(|t| t.rfc3339()),
        }
    }
}

#[derive(Deserialize)]
pub struct IncidentsQuery {
    check: Option<String>,
    limit: Option<usize>,
}

/// Incidents, newest first: `?check=ID` for one check, `?limit=N` (at most 500, default 100).
pub async fn incidents(
    State(state): State<WebState>,
    Query(q): Query<IncidentsQuery>,
) -> Result<Json<IncidentsDto>, WebError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let rows = state.reader.incidents(q.check, limit).await?;
    Ok(Json(IncidentsDto {
        incidents: rows.iter().map(IncidentDto::from).collect(),
    }))
}
