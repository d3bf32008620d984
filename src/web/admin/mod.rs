//! The admin area and its JSON API: people annotate what watchpost detected, declare what it
//! cannot see, and plan maintenance. Every change goes through the store writer with a line in
//! the audit log; every form carries a CSRF token; nothing here exists without `[admin]`.

mod api;
mod auth;
mod forms;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
use tokio::sync::watch;

pub use auth::Throttle;

use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::config;
use crate::maintenance::{Recurring, Schedule};
use crate::store::{AdminWrite, Audit, MaintenanceEdit, Reader, Severity, Writer};

/// Largest form or JSON body the admin accepts.
const MAX_BODY: usize = 64 * 1024;
const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 20_000;
/// Statuses a timeline entry may have, in Statuspage's words.
pub const STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

/// What the admin area needs besides the public state.
pub struct AdminHandles {
    pub config: config::Admin,
    pub writer: Writer,
    /// Republished after every maintenance change, so the recorder sees it at once.
    pub schedule: watch::Sender<Arc<Schedule>>,
    pub recurring: Vec<Recurring>,
    pub throttle: Throttle,
    /// Set `Secure` on the session cookie (the public URL is https).
    pub secure_cookies: bool,
    /// Wakes the history refresher after a change to what uptime counts (false alarms).
    pub poke: Arc<tokio::sync::Notify>,
}

impl AdminHandles {
    /// Marks (or unmarks) a false alarm as `actor`, then refreshes the uptime it changes.
    async fn set_false_alarm(
        &self,
        id: i64,
        false_alarm: bool,
        actor: &str,
    ) -> Result<(), WebError> {
        let action = if false_alarm {
            "mark false alarm"
        } else {
            "unmark false alarm"
        };
        let audit = Audit {
            actor: actor.to_string(),
            action: action.to_string(),
            target: format!("incident {id}"),
            detail: String::new(),
        };
        self.writer
            .admin(AdminWrite::SetFalseAlarm { id, false_alarm }, Some(audit))
            .await?;
        self.poke.notify_one();
        Ok(())
    }

    /// Re-reads one-off windows and publishes the schedule.
    async fn republish(&self, reader: &Reader) -> Result<(), WebError> {
        let one_off = reader.maintenance(Timestamp::now()).await?;
        self.schedule.send_replace(Arc::new(Schedule {
            recurring: self.recurring.clone(),
            one_off,
        }));
        Ok(())
    }
}

/// The admin routes, under `/admin` and `/api/v1/admin`.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/admin", get(forms::dashboard))
        .route("/admin/login", get(forms::login_page).post(forms::login))
        .route("/admin/logout", post(forms::logout))
        .route(
            "/admin/incidents/new",
            get(forms::new_incident_page).post(forms::create_incident),
        )
        .route(
            "/admin/incidents/{id}",
            get(forms::incident_page).post(forms::edit_incident),
        )
        .route("/admin/incidents/{id}/updates", post(forms::add_update))
        .route(
            "/admin/incidents/{id}/false-alarm",
            post(forms::false_alarm),
        )
        .route(
            "/admin/maintenance",
            get(forms::maintenance_page).post(forms::create_maintenance),
        )
        .route(
            "/admin/maintenance/{id}",
            get(forms::maintenance_edit_page).post(forms::edit_maintenance),
        )
        .route(
            "/admin/maintenance/{id}/cancel",
            post(forms::cancel_maintenance),
        )
        .route("/admin/audit", get(forms::audit_page))
        .route("/api/v1/admin/incidents", post(api::create_incident))
        .route("/api/v1/admin/incidents/{id}", patch(api::edit_incident))
        .route(
            "/api/v1/admin/incidents/{id}/updates",
            post(api::add_update),
        )
        .route("/api/v1/admin/maintenance", post(api::create_maintenance))
        .route(
            "/api/v1/admin/maintenance/{id}",
            delete(api::cancel_maintenance),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A checked title: present, one line, not too long.
fn title(raw: &str) -> Result<String, WebError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(WebError::BadRequest("The title must not be empty.".into()));
    }
    if t.chars().count() > MAX_TITLE || t.contains(['\n', '\r']) {
        return Err(WebError::BadRequest(format!(
            "The title must be one line of at most {MAX_TITLE} characters."
        )));
    }
    Ok(t.to_string())
}

/// A checked Markdown text, at most [`MAX_TEXT`] characters.
fn text(raw: &str, what: &str) -> Result<String, WebError> {
    if raw.chars().count() > MAX_TEXT {
        return Err(WebError::BadRequest(format!(
            "The {what} must be at most {MAX_TEXT} characters."
        )));
    }
    Ok(raw.trim().replace("\r\n", "\n"))
}

/// A checked timeline entry: Markdown, not empty, not too long.
fn update_body(raw: &str) -> Result<String, WebError> {
    let body = text(raw, "update")?;
    if body.is_empty() {
        return Err(WebError::BadRequest("The update must not be empty.".into()));
    }
    Ok(body)
}

fn status(raw: &str) -> Result<String, WebError> {
    STATUSES
        .iter()
        .find(|s| **s == raw)
        .map(|s| s.to_string())
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "Unknown status {raw:?}: use {}.",
                STATUSES.join(", ")
            ))
        })
}

fn impact(raw: &str) -> Result<Severity, WebError> {
    Severity::parse(raw).ok_or_else(|| {
        WebError::BadRequest(format!(
            "Unknown impact {raw:?}: use none, minor, major or critical."
        ))
    })
}

/// Check ids that exist in the config, or an error naming the first that does not.
fn checks(state: &WebState, ids: &[String]) -> Result<Vec<String>, WebError> {
    let snapshot = state.snapshot();
    for id in ids {
        if snapshot.get(id).is_none() {
            return Err(WebError::BadRequest(format!("There is no check {id:?}.")));
        }
    }
    Ok(ids.to_vec())
}

/// A checked one-off maintenance window.
fn maintenance_edit(
    state: &WebState,
    title: &str,
    body: &str,
    ids: &[String],
    starts_at: Timestamp,
    ends_at: Timestamp,
) -> Result<MaintenanceEdit, WebError> {
    if ends_at <= starts_at {
        return Err(WebError::BadRequest(
            "The window must end after it starts.".into(),
        ));
    }
    if ids.is_empty() {
        return Err(WebError::BadRequest(
            "Choose at least one check the window covers.".into(),
        ));
    }
    Ok(MaintenanceEdit {
        title: self::title(title)?,
        body: text(body, "details")?,
        checks: checks(state, ids)?,
        starts_at,
        ends_at,
    })
}

/// A maintenance window in one line, for the audit log.
fn describe(m: &MaintenanceEdit) -> String {
    format!(
        "{} → {}: {}",
        m.starts_at.rfc3339(),
        m.ends_at.rfc3339(),
        m.title
    )
}
