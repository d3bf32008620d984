//! The native JSON API, `/api/v1/*`. Its DTOs are its own types: serialization is a promise.
//! Bad parameters get a 400 with a JSON `{"error": …}` body saying what to send instead, query
//! strings and path segments that do not even parse included (see [`Query`] and [`Path`]).

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::json::Json;
use super::{WebError, WebState};
use crate::clock::{DAY_MS, Timestamp};
use crate::redact::{Subject, public_stored};
use crate::store::{Evidence, IncidentRow};
use crate::uptime::cover;

/// Query parameters whose rejection (a wrong type, a repeated key) is a JSON 400 like every
/// other error of this API, not axum's plain text.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Query<T>, WebError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(q)) => Ok(Query(q)),
            Err(e) => Err(bad_request(&e.body_text())),
        }
    }
}

/// Path parameters whose rejection (say, a segment that is not UTF-8) is a JSON 400.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, WebError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(p)) => Ok(Path(p)),
            Err(e) => Err(WebError::Api(e.status(), e.body_text())),
        }
    }
}

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
                kind: check.kind().as_str(),
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
    /// The check of an automatic incident; null for one an admin declared (see `checks`).
    pub check: Option<String>,
    /// Every affected check: the check of an automatic incident, or those an admin chose.
    pub checks: Vec<String>,
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
            checks: i.checks.clone(),
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

/// A check's raw results, newest first.
#[derive(Serialize)]
pub struct ResultsDto {
    pub check: String,
    pub results: Vec<ResultDto>,
}

#[derive(Serialize)]
pub struct ResultDto {
    /// RFC 3339 with milliseconds: probes a second apart or closer stay distinct.
    pub at: String,
    /// up | degraded | down
    pub status: &'static str,
    pub latency_ms: f64,
    pub code: Option<u16>,
    /// The failure class (`refused`, `timeout`, `http_status`, …), null when up.
    pub reason: Option<&'static str>,
    /// The error in its public form (the check's `public_details`), null when up.
    pub message: Option<String>,
}

impl From<&Evidence> for ResultDto {
    fn from(r: &Evidence) -> ResultDto {
        ResultDto {
            at: r.at.rfc3339_millis(),
            status: r.status.as_str(),
            latency_ms: r.latency_us as f64 / 1000.0,
            code: r.code,
            reason: r.reason.map(|x| x.as_str()),
            message: r.message.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    since: Option<String>,
    limit: Option<String>,
}

/// `/api/v1/checks/{id}/results?since=RFC3339&limit=N`: raw results at or after `since`, newest
/// first, at most `limit` (default 100, at most 1000). Raw results are kept `keep_raw`.
pub async fn results(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Json<ResultsDto>, WebError> {
    let slug = configured(&state, &id)?;
    let since = match q.since.as_deref() {
        None => Timestamp(i64::MIN),
        Some(s) => time_param("since", s)?,
    };
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| bad_request("limit must be a whole number from 1 to 1000"))?
            .clamp(1, 1000),
    };
    let rows = state
        .reader
        .results_since(slug.clone(), since, limit)
        .await?;
    let snapshot = state.snapshot();
    let subject = snapshot
        .get(&slug)
        .map_or(Subject::unconfigured(&slug), |(c, _)| c.into());
    let results = rows
        .iter()
        .map(|r| ResultDto {
            message: public_stored(subject, r.reason, r.message.as_deref(), r.code),
            ..ResultDto::from(r)
        })
        .collect();
    Ok(Json(ResultsDto {
        check: slug,
        results,
    }))
}

/// Uptime over a range, with the time it was computed from.
#[derive(Serialize)]
pub struct RangeUptimeDto {
    pub check: String,
    /// The range covered: the one asked for, widened to whole hours (the finest rollup).
    pub from: String,
    pub to: String,
    /// 1 − down / observed, in [0, 1]; null when nothing was observed.
    pub uptime: Option<f64>,
    pub observed_ms: i64,
    pub down_ms: i64,
    pub degraded_ms: i64,
    pub maintenance_ms: i64,
}

#[derive(Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `/api/v1/checks/{id}/uptime?from=&to=`: uptime over `[from, to)` (default: the last 24 whole
/// hours, the current one included), from daily rollups for whole days and hourly ones for the ends
/// (an end older than `keep_hourly` finds no hourly rows: only its whole days count).
pub async fn uptime(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<RangeUptimeDto>, WebError> {
    let slug = configured(&state, &id)?;
    let to = match q.to.as_deref() {
        None => Timestamp::now(),
        Some(s) => time_param("to", s)?,
    };
    let from = match q.from.as_deref() {
        // The 24 whole hours that end with the current (or given) one.
        None => Timestamp(to.hour_ceil().0.saturating_sub(DAY_MS)),
        Some(s) => time_param("from", s)?,
    };
    if from >= to {
        return Err(bad_request("from must be earlier than to"));
    }
    let plan = cover(from, to);
    let (hours, days) = state.reader.rollups_in(slug.clone(), plan.clone()).await?;
    let total = plan.sum(&hours, &days);
    Ok(Json(RangeUptimeDto {
        check: slug,
        from: plan.from.rfc3339(),
        to: plan.to.rfc3339(),
        uptime: total.uptime(),
        observed_ms: total.observed_ms(),
        down_ms: total.down_ms.max(0),
        degraded_ms: total.degraded_ms.max(0),
        maintenance_ms: total.maintenance_ms.max(0),
    }))
}

/// The slug of a configured check, or a JSON 404.
fn configured(state: &WebState, id: &str) -> Result<String, WebError> {
    match state.snapshot().get(id) {
        Some((check, _)) => Ok(check.id.to_string()),
        None => Err(WebError::Api(
            StatusCode::NOT_FOUND,
            "no check has this id".to_string(),
        )),
    }
}

/// Parses a time parameter; a space stands for the `+` of an offset that was not percent-encoded.
fn time_param(name: &str, value: &str) -> Result<Timestamp, WebError> {
    Timestamp::parse_rfc3339(&value.replace(' ', "+")).ok_or_else(|| {
        bad_request(&format!(
            "{name} must be an RFC 3339 time such as 2026-11-22T10:00:00Z"
        ))
    })
}

fn bad_request(message: &str) -> WebError {
    WebError::Api(StatusCode::BAD_REQUEST, message.to_string())
}
