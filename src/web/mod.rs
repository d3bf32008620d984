//! The web layer: status pages, the JSON APIs (native and Statuspage-compatible), feeds, badges,
//! `/metrics` and `/healthz`.
//!
//! It only reads: "now" from the recorder's snapshot, uptime and bars from the history snapshot,
//! incidents from the store's read connections. Every piece of untrusted text goes through
//! maud's escaping, the JSON responder (serde, with `<`, `>` and `&` escaped too) or the feed
//! writers' XML escaping.

mod api;
mod badges;
mod cache;
mod feeds;
mod json;
mod pages;
mod statuspage;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::snapshot::{History, Snapshot};
use crate::store::Reader;

/// Everything a handler may read; cheap to clone.
#[derive(Clone)]
pub struct WebState {
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub history: watch::Receiver<Arc<History>>,
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    /// The address the server is bound to: links use it when `public_url` is not set.
    pub local_addr: SocketAddr,
}

impl WebState {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    fn history(&self) -> Arc<History> {
        self.history.borrow().clone()
    }

    /// The base of absolute links (feeds, Statuspage `url` and `shortlink`), without a trailing
    /// slash: `public_url`, else `http://` and the bound address.
    fn base_url(&self) -> String {
        match &self.snapshot.borrow().config.server.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", self.local_addr),
        }
    }
}

/// The whole router.
pub fn router(state: WebState) -> Router {
    // Public machine-readable data: CORS, ETag, 304 and caching from one middleware.
    let data = Router::new()
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/incidents", get(api::incidents))
        .route("/api/v1/checks/{id}/results", get(api::results))
        .route("/api/v1/checks/{id}/uptime", get(api::uptime))
        .route("/api/v2/summary.json", get(statuspage::summary))
        .route("/api/v2/status.json", get(statuspage::status))
        .route("/api/v2/components.json", get(statuspage::components))
        .route("/api/v2/incidents.json", get(statuspage::incidents))
        .route(
            "/api/v2/incidents/unresolved.json",
            get(statuspage::unresolved),
        )
        .route(
            "/api/v2/scheduled-maintenances.json",
            get(statuspage::maintenances),
        )
        .route(
            "/api/v2/scheduled-maintenances/upcoming.json",
            get(statuspage::maintenances),
        )
        .route(
            "/api/v2/scheduled-maintenances/active.json",
            get(statuspage::maintenances),
        )
        .route("/feed.atom", get(feeds::atom))
        .route("/history.atom", get(feeds::atom))
        .route("/feed.rss", get(feeds::rss))
        .route("/history.rss", get(feeds::rss))
        .layer(middleware::from_fn_with_state(cache::DATA, cache::public));
    let badges = Router::new()
        .route("/badge/{id}/status.svg", get(badges::status))
        .route("/badge/{id}/uptime/{window}", get(badges::uptime))
        .route("/badge/{id}/response-time.svg", get(badges::response_time))
        .layer(middleware::from_fn_with_state(cache::BADGE, cache::public));
    Router::new()
        .route("/", get(pages::index))
        .route("/checks/{id}", get(pages::check))
        .route("/incidents/{id}", get(pages::incident))
        .route("/assets/style.css", get(style))
        .merge(data)
        .merge(badges)
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async { WebError::NotFound })
        .with_state(state)
}

/// The one error type of handlers: 4xx carry a message for people, 5xx a generic body.
#[derive(Debug)]
pub enum WebError {
    NotFound,
    /// An API error: this status with a JSON body `{"error": message}`.
    Api(StatusCode, String),
    Internal(String),
}

/// The body of [`WebError::Api`].
#[derive(serde::Serialize)]
struct ApiErrorDto {
    error: String,
}

impl From<crate::store::Error> for WebError {
    fn from(e: crate::store::Error) -> WebError {
        WebError::Internal(e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                pages::message("Not found", "There is nothing at this address."),
            )
                .into_response(),
            WebError::Api(status, error) => {
                (status, json::Json(ApiErrorDto { error })).into_response()
            }
            WebError::Internal(e) => {
                tracing::error!(error = %e, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    pages::message(
                        "Something went wrong",
                        "The error was logged. Please try again in a moment.",
                    ),
                )
                    .into_response()
            }
        }
    }
}

const STYLE: &str = include_str!("../../assets/style.css");

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

async fn metrics(State(state): State<WebState>) -> Result<Response, WebError> {
    let text = state
        .metrics
        .render()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

async fn healthz() -> &'static str {
    "ok\n"
}
