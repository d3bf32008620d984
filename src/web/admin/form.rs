//! What every admin page shares: posted forms with their CSRF check, the page frame with its
//! navigation, and the form widgets (checks, impact, status, times). Plain HTML forms (maud),
//! no framework; `admin.js` only shows times in the viewer's zone and sends that zone.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::auth::Session;
use crate::clock::Timestamp;
use crate::model::{Impact, IncidentStatus};
use crate::web::WebState;
use crate::web::pages::{impact_label, page};

/// The fields of a posted form; repeated keys (checkboxes) keep every value.
pub(super) struct FormData(Vec<(String, String)>);

impl FormData {
    pub(super) fn parse(body: &Bytes) -> FormData {
        FormData(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn text(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A posted admin form from a signed-in admin, its CSRF token and origin checked: the
/// preamble of every form handler, as an extractor whose rejection is our error.
pub(super) struct Posted {
    pub(super) session: Session,
    pub(super) form: FormData,
}

impl FromRequest<WebState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &WebState) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        // A body over the limit keeps its own answer (413).
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = FormData::parse(&body);
        session
            .check_form(&headers, form.get("csrf"))
            .map_err(IntoResponse::into_response)?;
        Ok(Posted { session, form })
    }
}

pub(super) fn frame(
    state: &WebState,
    title: &str,
    session: Option<&Session>,
    body: Markup,
) -> Markup {
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
                    a href="/admin/notifications" { "Notifications" } " "
                    a href="/admin/audit" { "Audit log" } " "
                    form.inline method="post" action="/admin/logout" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        button { "Sign out " (s.user) }
                    }
                }
                @if let Some(fault) = state.store_health.fault() {
                    p.error.banner role="alert" {
                        strong { "The database cannot be written" }
                        " since " (time(fault.since)) " (" (fault.error) "). Probing goes on; "
                        (state.store_health.held()) " results wait in memory and are written when it can be again. "
                        "Changes made here fail until then. Free disk space or fix the file's permissions."
                    }
                }
            }
            (body)
        },
    )
}

pub(super) fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

pub(super) fn time(t: Timestamp) -> Markup {
    html! { time datetime=(t.rfc3339()) { (t.rfc3339()) } }
}

pub(super) fn check_boxes(state: &WebState, chosen: &[String]) -> Markup {
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

pub(super) fn impact_select(current: Impact) -> Markup {
    html! {
        label { "Impact "
            select name="impact" {
                @for s in Impact::ALL {
                    option value=(s.as_str()) selected[s == current] { (s.as_str()) " — " (impact_label(crate::i18n::ENGLISH, s)) }
                }
            }
        }
    }
}

pub(super) fn status_select(current: IncidentStatus) -> Markup {
    html! {
        label { "Status "
            select name="status" {
                @for s in IncidentStatus::ALL { option value=(s.as_str()) selected[s == current] { (s.as_str()) } }
            }
        }
    }
}
