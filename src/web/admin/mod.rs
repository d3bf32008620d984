//! The admin area and its JSON API: people annotate what watchpost detected, declare what it
//! cannot see, and plan maintenance. Pages and API are thin callers of [`crate::actions`], which
//! decides and commits every change with its audit line; every form carries a CSRF token;
//! nothing here exists without `[admin]`.

mod api;
mod audit;
mod auth;
mod form;
mod incidents;
mod maintenance;
mod notifications;
mod session;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, delete, get, patch, post};

pub use auth::Throttle;
pub(crate) use auth::{ClientIp, same_origin};

use super::{WebError, WebState};
use crate::actions;
use crate::config;

/// Largest form or JSON body the admin accepts.
const MAX_BODY: usize = 64 * 1024;

/// What the admin area needs besides the public state.
pub struct AdminHandles {
    pub config: config::Admin,
    /// Every change goes through the actions.
    pub actions: actions::Handles,
    pub throttle: Throttle,
    /// Set `Secure` on the session cookie (the public URL is https).
    pub secure_cookies: bool,
    /// Asks the reloader to read the config again.
    pub reload: tokio::sync::mpsc::Sender<crate::reload::Request>,
}

/// The admin area of `state`, or 404 when there is none.
fn admin(state: &WebState) -> Result<&AdminHandles, WebError> {
    state.admin.as_deref().ok_or(WebError::NotFound)
}

/// The admin routes, under `/admin` and `/api/v1/admin`.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/admin", get(incidents::dashboard))
        .route("/admin/", get(incidents::dashboard))
        .route(
            "/admin/login",
            get(session::login_page).post(session::login),
        )
        .route("/admin/logout", post(session::logout))
        .route(
            "/admin/incidents/new",
            get(incidents::new_page).post(incidents::create),
        )
        .route(
            "/admin/incidents/{id}",
            get(incidents::page).post(incidents::edit),
        )
        .route("/admin/incidents/{id}/updates", post(incidents::add_update))
        .route(
            "/admin/incidents/{id}/false-alarm",
            post(incidents::false_alarm),
        )
        .route(
            "/admin/maintenance",
            get(maintenance::page).post(maintenance::create),
        )
        .route(
            "/admin/maintenance/{id}",
            get(maintenance::edit_page).post(maintenance::edit),
        )
        .route("/admin/maintenance/{id}/cancel", post(maintenance::cancel))
        .route("/admin/audit", get(audit::page))
        .route("/admin/notifications", get(notifications::page))
        .route(
            "/admin/notifications/{id}/retry",
            post(notifications::retry),
        )
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
        .route("/api/v1/admin/reload", post(api::reload))
        .route("/api/v1/admin/notifications", get(api::deliveries))
        .route(
            "/api/v1/admin/notifications/{id}/retry",
            post(api::retry_delivery),
        )
        .route("/api/v1/admin/{*rest}", any(api::not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

impl From<actions::Error> for WebError {
    fn from(e: actions::Error) -> WebError {
        match e {
            actions::Error::Invalid(why) => WebError::BadRequest(why),
            actions::Error::NotFound => WebError::NotFound,
            actions::Error::Conflict(why) => WebError::Conflict(why),
            actions::Error::Storage(e) => WebError::Internal(e.to_string()),
        }
    }
}
