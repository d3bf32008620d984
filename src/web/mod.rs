//! The web layer: status pages, the JSON APIs (native and Statuspage-compatible), feeds, badges,
//! `/metrics` and `/healthz`.
//!
//! It only reads, but for the admin area and the subscription routes (`subscribe`): "now" from
//! the recorder's snapshot, uptime and bars from the history snapshot, incidents from the store's
//! read connections. Every piece of untrusted text goes through maud's escaping, the JSON
//! responder (serde, with `<`, `>` and `&` escaped too) or the feed writers' XML escaping.

pub mod admin;
mod api;
mod badges;
mod cache;
mod chart;
mod checked;
mod feeds;
pub mod front;
mod json;
mod language;
mod layout;
pub mod markdown;
mod overall;
pub mod pages;
mod planned;
pub(crate) mod serve;
mod statuspage;
pub mod subscribe;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use tokio::sync::watch;

use crate::maintenance::Schedule;
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
    /// Maintenance windows, for the public page.
    pub schedule: watch::Receiver<Arc<Schedule>>,
    /// The admin area; `None` when `[admin]` is not configured.
    pub admin: Option<Arc<admin::AdminHandles>>,
    /// Email subscriptions; `None` unless `[subscriptions] email = true`.
    pub subscriptions: Option<Arc<subscribe::Desk>>,
    /// Every check's 90-day bar, rendered once per history refresh.
    pub bars: watch::Receiver<Arc<front::Bars>>,
    /// The rendered front page, reused while nothing it shows has changed.
    pub front: Arc<front::FrontCache>,
    /// The address the server is bound to: links use it when `public_url` is not set.
    pub local_addr: SocketAddr,
    /// Whether the database can be written: `/healthz`, the admin banner and the metrics say so.
    pub store_health: crate::store::Health,
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
    let admin = if state.admin.is_some() {
        admin::router()
    } else {
        Router::new()
    };
    let subscriptions = if state.subscriptions.is_some() {
        subscribe::router()
    } else {
        Router::new()
    };
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
            get(statuspage::upcoming),
        )
        .route(
            "/api/v2/scheduled-maintenances/active.json",
            get(statuspage::active),
        )
        .route("/feed.atom", get(feeds::atom))
        .route("/history.atom", get(feeds::atom))
        .route("/feed.rss", get(feeds::rss))
        .route("/history.rss", get(feeds::rss))
        .layer(middleware::from_fn_with_state(cache::DATA, cache::public))
        .layer(middleware::from_fn(cache::preflight));
    let badges = Router::new()
        .route("/badge/{id}/status.svg", get(badges::status))
        .route("/badge/{id}/uptime/{window}", get(badges::uptime))
        .route("/badge/{id}/response-time.svg", get(badges::response_time))
        .layer(middleware::from_fn_with_state(cache::BADGE, cache::public))
        .layer(middleware::from_fn(cache::preflight));
    Router::new()
        .merge(admin)
        .merge(subscriptions)
        .route("/", get(front::index))
        .route("/checks/{id}", get(pages::check))
        .route("/groups/{slug}", get(front::group_page))
        .route("/fragments/group/{slug}", get(front::fragment))
        .route("/search", get(front::search))
        .route("/incidents/{id}", get(pages::incident))
        .route("/history", get(pages::history))
        .route("/assets/style.css", get(|| async { asset(CSS, STYLE) }))
        .route("/assets/admin.js", get(|| async { asset(JS, ADMIN_JS) }))
        .route("/assets/bars.js", get(|| async { asset(JS, BARS_JS) }))
        .route("/assets/time.js", get(|| async { asset(JS, TIME_JS) }))
        .route("/embed.js", get(embed_js))
        .merge(data)
        .merge(badges)
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async { WebError::NotFound })
        .layer(axum::middleware::from_fn(cache::pages))
        .layer(axum::middleware::from_fn(language::negotiate))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// The one error type of handlers: 4xx carry a message for people, 5xx a generic body.
#[derive(Debug)]
pub enum WebError {
    NotFound,
    /// The input is wrong; the message says how.
    BadRequest(String),
    /// The request is refused (CSRF, origin); the message says why.
    Forbidden(String),
    /// The change is refused by the data (say, a false alarm on an open incident).
    Conflict(String),
    /// The admin area needs a session: redirect to the login page.
    SignIn,
    /// The admin API needs a bearer token.
    Unauthorized,
    TooManyAttempts(std::time::Duration),
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
        match e {
            crate::store::Error::NotFound => WebError::NotFound,
            crate::store::Error::Refused(why) => WebError::Conflict(why),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // The pages' own words follow the visitor's language; a message given in English
        // (`why`) stays in a frame in English.
        let txt = language::current().strings();
        let page = |code: StatusCode, title: &str, text: &str| {
            (code, layout::message(crate::i18n::ENGLISH, title, text)).into_response()
        };
        match self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                layout::message(txt, txt.not_found_title, txt.not_found_text),
            )
                .into_response(),
            WebError::BadRequest(why) => page(StatusCode::BAD_REQUEST, "That did not work", &why),
            WebError::Forbidden(why) => page(StatusCode::FORBIDDEN, "Refused", &why),
            WebError::Conflict(why) => page(StatusCode::CONFLICT, "That cannot be done", &why),
            WebError::SignIn => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin/login")]).into_response()
            }
            WebError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({"error": "a valid bearer token is required"})),
            )
                .into_response(),
            WebError::TooManyAttempts(wait) => {
                let secs = wait.as_secs().max(1);
                let mut r = page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    &format!("Too many failed sign-ins. Try again in {secs} seconds."),
                );
                if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            WebError::Api(status, error) => {
                (status, json::Json(ApiErrorDto { error })).into_response()
            }
            WebError::Internal(e) => {
                tracing::error!(error = %crate::logline::escaped(&e), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    layout::message(txt, txt.error_title, txt.error_text),
                )
                    .into_response()
            }
        }
    }
}

const STYLE: &str = include_str!("../../assets/style.css");
const ADMIN_JS: &str = include_str!("../../assets/admin.js");
const EMBED_JS: &str = include_str!("../../assets/embed.js");
const BARS_JS: &str = include_str!("../../assets/bars.js");
const TIME_JS: &str = include_str!("../../assets/time.js");

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// One of our own assets, compiled in: cached for an hour.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// `/embed.js`, for other sites: open to every origin, cached for ten minutes.
async fn embed_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, JS),
            (header::CACHE_CONTROL, "public, max-age=600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        EMBED_JS,
    )
}

/// Headers every response carries; HTML gets a strict CSP (no inline script), admin pages are
/// never framed nor cached.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let is_admin = req.uri().path().starts_with("/admin");
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        let frames = if is_admin { "'none'" } else { "'self'" };
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frames}"
        );
        if let Ok(v) = header::HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(
            header::X_FRAME_OPTIONS,
            header::HeaderValue::from_static(if is_admin { "DENY" } else { "SAMEORIGIN" }),
        );
    }
    if is_admin {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    r
}

async fn metrics(State(state): State<WebState>) -> Result<Response, WebError> {
    let health = &state.store_health;
    state
        .metrics
        .set_store(health.fault().is_none(), health.held(), health.dropped());
    let pieces = state
        .metrics
        .exposition()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        axum::body::Body::new(Exposition(pieces)),
    )
        .into_response())
}

/// The `/metrics` body: each piece is written when the connection takes it, never all at once.
struct Exposition(crate::metrics::Exposition);

impl hyper::body::Body for Exposition {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        let piece = self.get_mut().0.next();
        std::task::Poll::Ready(piece.map(|text| Ok(hyper::body::Frame::data(text.into()))))
    }
}

/// `ok`, or `degraded: ...` while the database cannot be written or once the full check after
/// start found it damaged. Always 200: the daemon still probes and holds the results, and a
/// liveness check that restarted it would lose them; alert on the body or on
/// `watchpost_store_writable`.
async fn healthz(State(state): State<WebState>) -> String {
    let health = &state.store_health;
    let mut out = match health.fault() {
        None => String::new(),
        Some(f) => format!(
            "degraded: the database cannot be written since {} ({}); {} writes held in memory (at most {}), {} dropped\n",
            f.since.rfc3339(),
            f.error.replace(['\n', '\r'], " "),
            health.held(),
            crate::store::HELD_MAX,
            health.dropped()
        ),
    };
    if let Some(d) = health.damage() {
        out.push_str(&format!(
            "degraded: the full check after start found the database damaged ({})\n",
            d.error.replace(['\n', '\r'], " ")
        ));
    }
    if out.is_empty() {
        out.push_str("ok\n");
    }
    out
}
