//! Notifications in the admin area: each destination with its type, last attempt, backlog and
//! dead letters; the delivery log, newest first, paged, with a retry button on each dead letter
//! (through [`actions::retry_delivery`]); and the public subscribers counted by scope.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::admin;
use super::auth::Session;
use super::form::{Posted, csrf, frame, time};
use crate::actions;
use crate::clock::Timestamp;
use crate::notify::message::Message;
use crate::notify::public::{self, Audience, Scope};
use crate::store::{DeliveryRow, LaneSummary};
use crate::web::{WebError, WebState};
use crate::words;

/// Rows of the delivery log on one page.
const PER_PAGE: usize = 50;

#[derive(serde::Deserialize)]
pub struct LogQuery {
    /// 1 for the newest rows.
    page: Option<usize>,
}

pub async fn page(
    State(state): State<WebState>,
    session: Session,
    Query(q): Query<LogQuery>,
) -> Result<Markup, WebError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let now = Timestamp::now();
    let config = state.snapshot().config.clone();
    let mut lanes: BTreeMap<String, (Option<&'static str>, LaneSummary)> = BTreeMap::new();
    for d in &config.notify.destinations {
        lanes.insert(
            d.name.clone(),
            (Some(d.target.kind()), LaneSummary::default()),
        );
    }
    if config.subscriptions.email {
        let name = public::DESTINATION.to_string();
        lanes.insert(name, (Some("subscribers"), LaneSummary::default()));
    }
    for s in state.reader.lane_summaries().await? {
        let name = s.destination.clone();
        lanes
            .entry(name)
            .or_insert((None, LaneSummary::default()))
            .1 = s;
    }
    // One more than a page tells whether there is an older page.
    let mut log = state
        .reader
        .deliveries(PER_PAGE + 1, (page - 1) * PER_PAGE)
        .await?;
    let older = log.len() > PER_PAGE;
    log.truncate(PER_PAGE);
    let scopes = match config.subscriptions.email {
        true => Some(state.reader.subscriber_scopes(now).await?),
        false => None,
    };
    let audience = Audience::new(&config);
    Ok(frame(
        &state,
        "Notifications",
        Some(&session),
        html! {
            h1 { "Notifications" }
            h2 { "Destinations" }
            @if lanes.is_empty() { p { "No destination is configured ([[notify]] in the config)." } }
            @else {
                table.list {
                    thead { tr { th { "Destination" } th { "Type" } th { "Last attempt" } th { "Pending" } th { "Oldest pending" } th { "Dead letters" } } }
                    tbody {
                        @for (name, (kind, s)) in &lanes {
                            tr {
                                td { (name) }
                                td { @match kind { Some(k) => (k), None => em { "no longer configured" } } }
                                td {
                                    @match &s.last_attempt {
                                        Some((at, state, error)) => {
                                            (time(*at)) " " (result(state, error.as_deref()))
                                        }
                                        None => "never",
                                    }
                                }
                                td { (s.pending) }
                                td { @match s.oldest_pending { Some(t) => (words::ago(crate::i18n::ENGLISH, now, t).replace(" ago", "")), None => "–" } }
                                td { @if s.dead > 0 { strong { (s.dead) } } @else { "0" } }
                            }
                        }
                    }
                }
            }
            h2 #log { "Delivery log" }
            @if log.is_empty() { p { "Nothing was sent yet." } }
            @else {
                table.list {
                    thead { tr { th { "#" } th { "Destination" } th { "Event" } th { "Attempts" } th { "Result" } th { "Last error" } th { "Written" } th { "Last attempt" } th { "Action" } } }
                    tbody {
                        @for r in &log { (row(&session, r)) }
                    }
                }
                nav.pages aria-label="Delivery log pages" {
                    @if page > 1 { a href={ "/admin/notifications?page=" (page - 1) "#log" } { "Newer" } " " }
                    @if older { a href={ "/admin/notifications?page=" (page + 1) "#log" } { "Older" } }
                }
            }
            @if let Some(scopes) = &scopes {
                h2 { "Subscribers" }
                @let confirmed: u64 = scopes.iter().map(|s| s.confirmed).sum();
                @let pending: u64 = scopes.iter().map(|s| s.pending).sum();
                p { (confirmed) " confirmed, " (pending) " awaiting confirmation." }
                @if !scopes.is_empty() {
                    table.list {
                        thead { tr { th { "Subscribed to" } th { "Confirmed" } th { "Awaiting confirmation" } } }
                        tbody {
                            @for s in scopes {
                                tr {
                                    td { @match &s.scope { Some(scope) => (scope_words(scope, &audience)), None => em { "unreadable scope" } } }
                                    td { (s.confirmed) }
                                    td { (s.pending) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// One row of the delivery log, with a retry button on a dead letter.
fn row(session: &Session, r: &DeliveryRow) -> Markup {
    let title = serde_json::from_str::<Message>(&r.payload)
        .map(|m| m.title)
        .unwrap_or_default();
    html! {
        tr {
            td { (r.id) }
            td { (r.destination) }
            td { code { (r.kind) } @if !title.is_empty() { br; (title) } }
            td { (r.attempts) }
            td { (result(&r.state, None)) }
            td { @if let Some(e) = &r.last_error { (e) } }
            td { (time(r.created_at)) }
            td { @if let Some(t) = r.delivered_at.or(r.attempted_at) { (time(t)) } }
            td {
                @if r.state == "dead" {
                    form.inline method="post" action={ "/admin/notifications/" (r.id) "/retry" } {
                        (csrf(session))
                        button { "Retry" }
                    }
                }
            }
        }
    }
}

/// A row's state in words, with the error when there is one.
fn result(state: &str, error: Option<&str>) -> Markup {
    let word = match state {
        "delivered" => "delivered",
        "dead" => "dead letter",
        "cancelled" => "cancelled",
        _ => "pending",
    };
    html! {
        @if state == "dead" { strong { (word) } } @else { (word) }
        @if let Some(e) = error { ": " (e) }
    }
}

fn scope_words(scope: &Scope, audience: &Audience) -> String {
    match scope {
        Scope::All => "everything".into(),
        some => some.describe(audience),
    }
}

pub async fn retry(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Posted { session, .. }: Posted,
) -> Result<Response, WebError> {
    actions::retry_delivery(&admin(&state)?.actions, &session.user, id).await?;
    Ok(Redirect::to("/admin/notifications").into_response())
}
