//! The admin JSON API for scripts, authorized by `Authorization: Bearer <token>`: declare
//! incidents, post updates, edit incidents (false alarms included), plan and cancel maintenance,
//! read the delivery log and retry dead letters.
//! Each answers the created or changed object, and every error as JSON `{"error": "…"}` with
//! its status: bodies, paths and methods that do not parse included.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::admin;
use super::auth::ApiClient;
use crate::actions;
use crate::clock::Timestamp;
use crate::store::IncidentDetail;
use crate::web::json::{self, Json};
use crate::web::{WebError, WebState};

/// Who the audit log names for changes made through the API.
const ACTOR: &str = "api";

/// A handler error, answered as JSON whatever it is.
pub struct ApiError(WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

#[derive(Serialize)]
struct ErrorDto {
    error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match self.0 {
            WebError::NotFound => (StatusCode::NOT_FOUND, "not found".to_string()),
            WebError::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, why),
            WebError::Conflict(why) => (StatusCode::CONFLICT, why),
            WebError::Api(status, why) => (status, why),
            WebError::Internal(e) => {
                tracing::error!(error = %crate::logline::escaped(&e), "admin API request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; it was logged".to_string(),
                )
            }
            // Already JSON (a bearer challenge) or not an API answer: keep their own form.
            other @ (WebError::Unauthorized | WebError::SignIn | WebError::TooManyAttempts(_)) => {
                return other.into_response();
            }
        };
        (status, json::Json(ErrorDto { error })).into_response()
    }
}

/// A JSON body whose rejection (bad JSON, wrong type, unknown field, wrong content type,
/// too large) is a JSON error.
pub struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body<T>, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(e) => Err(rejected(e.status(), e.body_text())),
        }
    }
}

/// A path parameter whose rejection is a JSON error.
pub struct Id(i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Id, ApiError> {
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Id(id)),
            Err(e) => Err(rejected(e.status(), e.body_text())),
        }
    }
}

fn rejected(status: StatusCode, text: String) -> ApiError {
    ApiError(WebError::Api(status, text.chars().take(300).collect()))
}

// Keep the rejection types named, so a change of axum's extractors shows here.
const _: fn(JsonRejection, PathRejection) = |_, _| {};

/// What a reload changed, by check id.
#[derive(Serialize)]
pub struct ReloadDto {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
}

/// `POST /api/v1/admin/reload`: reads the config file again, as SIGHUP does. A bad config is
/// refused with its problems (`file:line:column: message`, one per line) and the running one
/// stays.
pub async fn reload(State(state): State<WebState>, _: ApiClient) -> Answer<Json<ReloadDto>> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let gone = || ApiError(WebError::Internal("the reloader has stopped".into()));
    admin(&state)?
        .reload
        .send(reply)
        .await
        .map_err(|_| gone())?;
    let changes = answer
        .await
        .map_err(|_| gone())?
        .map_err(|why| ApiError(WebError::BadRequest(why)))?;
    let names = |ids: Vec<crate::model::CheckId>| ids.iter().map(|c| c.to_string()).collect();
    Ok(Json(ReloadDto {
        added: names(changes.added),
        removed: names(changes.removed),
        changed: names(changes.changed),
    }))
}

/// Any other path under `/api/v1/admin/`.
pub async fn not_found(_: ApiClient) -> ApiError {
    ApiError(WebError::NotFound)
}

type Answer<T> = Result<T, ApiError>;

/// An incident as the admin API answers it.
#[derive(Serialize)]
pub struct IncidentDto {
    id: i64,
    title: String,
    impact: &'static str,
    status: &'static str,
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
    status: &'static str,
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
            status: i.status.as_str(),
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
                    status: u.status.as_str(),
                    body: u.body,
                    author: u.author,
                })
                .collect(),
        }
    }
}

async fn answer(state: &WebState, id: i64) -> Answer<Json<IncidentDto>> {
    let detail = state
        .reader
        .admin_incident(id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Json(detail.into()))
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
    Body(n): Body<NewIncident>,
) -> Answer<(StatusCode, Json<IncidentDto>)> {
    let declare = actions::Declare {
        title: n.title,
        impact: actions::parse(&n.impact)?,
        checks: n.checks,
        status: actions::parse(n.status.as_deref().unwrap_or("investigating"))?,
        body: n.body,
    };
    let id = actions::declare(&admin(&state)?.actions, ACTOR, declare).await?;
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
    Id(id): Id,
    Body(u): Body<NewUpdate>,
) -> Answer<Json<IncidentDto>> {
    let update = actions::Update {
        status: actions::parse(&u.status)?,
        body: u.body,
    };
    actions::post_update(&admin(&state)?.actions, ACTOR, id, update).await?;
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

/// `PATCH /api/v1/admin/incidents/{id}`: all of it in one transaction, or nothing.
pub async fn edit_incident(
    State(state): State<WebState>,
    _: ApiClient,
    Id(id): Id,
    Body(p): Body<Patch>,
) -> Answer<Json<IncidentDto>> {
    let edit = actions::Edit {
        title: p.title,
        impact: p.impact.as_deref().map(actions::parse).transpose()?,
        checks: None,
        cause: p.cause,
        postmortem: p.postmortem,
        hold: p.hold,
        false_alarm: p.false_alarm,
    };
    actions::edit(&admin(&state)?.actions, ACTOR, id, edit).await?;
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
    /// Under way now; a window planned with a start that had passed begins when planned, so its
    /// `starts_at` is then later than the one sent.
    in_progress: bool,
}

fn rfc3339(s: &str) -> Result<Timestamp, WebError> {
    Timestamp::parse_rfc3339(s).ok_or_else(|| {
        WebError::BadRequest(format!(
            "{:?} is not an RFC 3339 time like 2026-11-28T18:00:00Z between 1970 and 9999.",
            s.chars().take(40).collect::<String>()
        ))
    })
}

async fn maintenance_answer(state: &WebState, id: i64) -> Answer<Json<MaintenanceDto>> {
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
        in_progress: !cancelled && w.start <= Timestamp::now() && Timestamp::now() < w.end,
        cancelled,
    }))
}

/// `POST /api/v1/admin/maintenance`.
pub async fn create_maintenance(
    State(state): State<WebState>,
    _: ApiClient,
    Body(m): Body<NewMaintenance>,
) -> Answer<(StatusCode, Json<MaintenanceDto>)> {
    let plan = actions::Plan {
        title: m.title,
        body: m.body,
        checks: m.checks,
        starts_at: rfc3339(&m.starts_at)?,
        ends_at: rfc3339(&m.ends_at)?,
    };
    let id = actions::plan(&admin(&state)?.actions, ACTOR, plan).await?;
    Ok((StatusCode::CREATED, maintenance_answer(&state, id).await?))
}

/// `DELETE /api/v1/admin/maintenance/{id}`: cancels the window.
pub async fn cancel_maintenance(
    State(state): State<WebState>,
    _: ApiClient,
    Id(id): Id,
) -> Answer<Json<MaintenanceDto>> {
    actions::cancel_window(&admin(&state)?.actions, ACTOR, id).await?;
    maintenance_answer(&state, id).await
}

/// Rows of the delivery log in one answer of `GET /api/v1/admin/notifications`.
const DELIVERIES_PER_PAGE: usize = 100;

/// `?page=N` (1 for the newest rows), refused as JSON when it does not parse.
pub struct PageQuery(usize);

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PageQuery, ApiError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Q {
            page: Option<usize>,
        }
        match axum::extract::Query::<Q>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(Q { page })) => Ok(PageQuery(page.unwrap_or(1))),
            Err(e) => Err(rejected(e.status(), e.body_text())),
        }
    }
}

/// Each destination's backlog and the delivery log, newest first, as the admin page shows them.
#[derive(Serialize)]
pub struct DeliveriesDto {
    destinations: Vec<LaneDto>,
    deliveries: Vec<DeliveryDto>,
    /// The `page` that holds older rows, when there are any.
    next_page: Option<usize>,
}

#[derive(Serialize)]
struct LaneDto {
    name: String,
    pending: u64,
    oldest_pending_at: Option<String>,
    dead: u64,
    last_attempt_at: Option<String>,
    last_result: Option<String>,
    last_error: Option<String>,
}

#[derive(Serialize)]
struct DeliveryDto {
    id: i64,
    destination: String,
    event: String,
    /// `pending`, `delivered`, `dead` or `cancelled`; a `dead` one can be retried.
    state: String,
    attempts: u32,
    last_error: Option<String>,
    created_at: String,
    attempted_at: Option<String>,
    delivered_at: Option<String>,
}

/// `GET /api/v1/admin/notifications?page=N`: what the notifications page shows, for scripts
/// that watch for dead letters.
pub async fn deliveries(
    State(state): State<WebState>,
    _: ApiClient,
    PageQuery(page): PageQuery,
) -> Answer<Json<DeliveriesDto>> {
    if !(1..=100_000).contains(&page) {
        return Err(WebError::BadRequest("page is a number from 1 to 100000.".into()).into());
    }
    let destinations = state
        .reader
        .lane_summaries()
        .await?
        .into_iter()
        .map(|s| {
            let (at, result, error) = match s.last_attempt {
                Some((at, result, error)) => (Some(at.rfc3339()), Some(result), error),
                None => (None, None, None),
            };
            LaneDto {
                name: s.destination,
                pending: s.pending,
                oldest_pending_at: s.oldest_pending.map(|t| t.rfc3339()),
                dead: s.dead,
                last_attempt_at: at,
                last_result: result,
                last_error: error,
            }
        })
        .collect();
    let mut log = state
        .reader
        .deliveries(DELIVERIES_PER_PAGE + 1, (page - 1) * DELIVERIES_PER_PAGE)
        .await?;
    let older = log.len() > DELIVERIES_PER_PAGE;
    log.truncate(DELIVERIES_PER_PAGE);
    Ok(Json(DeliveriesDto {
        destinations,
        deliveries: log
            .into_iter()
            .map(|r| DeliveryDto {
                id: r.id,
                destination: r.destination,
                event: r.kind,
                state: r.state,
                attempts: r.attempts,
                last_error: r.last_error,
                created_at: r.created_at.rfc3339(),
                attempted_at: r.attempted_at.map(|t| t.rfc3339()),
                delivered_at: r.delivered_at.map(|t| t.rfc3339()),
            })
            .collect(),
        next_page: older.then_some(page + 1),
    }))
}

/// What a retry changed.
#[derive(Serialize)]
pub struct RetriedDto {
    id: i64,
    state: &'static str,
}

/// `POST /api/v1/admin/notifications/{id}/retry`: a dead letter goes back to pending with a
/// fresh deadline, as the page's Retry does; 409 unless it is dead and its destination still
/// configured.
pub async fn retry_delivery(
    State(state): State<WebState>,
    _: ApiClient,
    Id(id): Id,
) -> Answer<Json<RetriedDto>> {
    actions::retry_delivery(&admin(&state)?.actions, ACTOR, id).await?;
    Ok(Json(RetriedDto {
        id,
        state: "pending",
    }))
}
