//! Incidents in the admin area: the list, declaring one, its page with updates, details, a
//! hold, the false-alarm switch and the evidence with the probes' full messages. Each change is one call of [`crate::actions`].

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};

use super::admin;
use super::auth::Session;
use super::form::{Posted, check_boxes, csrf, frame, impact_select, status_select, time};
use crate::actions;
use crate::clock::Timestamp;
use crate::model::{Impact, IncidentStatus};
use crate::web::layout::evidence_table;
use crate::web::{WebError, WebState, markdown};

pub async fn dashboard(
    State(state): State<WebState>,
    session: Session,
) -> Result<Markup, WebError> {
    let incidents = state.reader.admin_incidents(200).await?;
    let subscribers = match state.subscriptions {
        Some(_) => Some(state.reader.subscriber_counts(Timestamp::now()).await?),
        None => None,
    };
    Ok(frame(
        &state,
        "Incidents",
        Some(&session),
        html! {
            h1 { "Incidents" }
            p { a.button href="/admin/incidents/new" { "Declare an incident" } }
            @if let Some(c) = subscribers {
                p.small { "Email subscribers: " (c.confirmed) " confirmed, " (c.pending) " awaiting confirmation." }
            }
            @if incidents.is_empty() { p { "No incidents yet." } }
            table.list {
                thead { tr { th { "Incident" } th { "Impact" } th { "Status" } th { "Started" } th { "Resolved" } } }
                tbody {
                    @for i in &incidents {
                        tr {
                            td {
                                a href={ "/admin/incidents/" (i.id) } { (i.title) }
                                @if i.false_alarm { " " span.tag { "false alarm" } }
                                @if i.hold { " " span.tag { "held open" } }
                                @if !i.auto { " " span.tag { "manual" } }
                            }
                            td { (i.severity.as_str()) }
                            td { (i.status) }
                            td { (time(i.started_at)) }
                            td { @if let Some(r) = i.resolved_at { (time(r)) } @else { strong { "open" } } }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn new_page(State(state): State<WebState>, session: Session) -> Result<Markup, WebError> {
    Ok(frame(
        &state,
        "Declare an incident",
        Some(&session),
        html! {
            h1 { "Declare an incident" }
            p { "For what the probes cannot see. It shows on the status page at once." }
            form.stack method="post" action="/admin/incidents/new" {
                (csrf(&session))
                label { "Title " input name="title" required maxlength="200"; }
                (impact_select(Impact::Minor))
                (status_select(IncidentStatus::Investigating))
                (check_boxes(&state, &[]))
                label { "First update (Markdown) " textarea name="body" rows="5" {} }
                button { "Declare" }
            }
        },
    ))
}

pub async fn create(
    State(state): State<WebState>,
    Posted { session, form }: Posted,
) -> Result<Response, WebError> {
    let declare = actions::Declare {
        title: form.text("title").to_string(),
        impact: actions::parse(form.text("impact"))?,
        checks: form.all("checks"),
        status: actions::parse(form.get("status").unwrap_or("investigating"))?,
        body: form.text("body").to_string(),
    };
    let id = actions::declare(&admin(&state)?.actions, &session.user, declare).await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn page(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Markup, WebError> {
    let detail = state
        .reader
        .admin_incident(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let i = &detail.incident;
    let base = format!("/admin/incidents/{id}");
    Ok(frame(
        &state,
        &i.title,
        Some(&session),
        html! {
            h1 { (i.title) }
            p.small {
                @if i.auto { "Detected by watchpost" } @else { "Declared by an admin" }
                " · started " (time(i.started_at))
                @if let Some(r) = i.resolved_at { " · resolved " (time(r)) } @else { " · " strong { "open" } }
                @if i.false_alarm { " · " span.tag { "false alarm: hidden from the public, its time counts as up" } }
                " · " a href={ "/incidents/" (id) } { "public page" }
            }
            section {
                h2 { "Post an update" }
                form.stack method="post" action={ (base) "/updates" } {
                    (csrf(&session))
                    (status_select(if i.resolved_at.is_some() { IncidentStatus::Resolved } else { i.status }))
                    label { "Update (Markdown) " textarea name="body" rows="4" required {} }
                    button { "Post update" }
                }
                @if i.auto && i.resolved_at.is_none() {
                    p.small { "Automatic incidents resolve themselves when the probes recover, unless you hold them open below." }
                }
            }
            section {
                h2 { "Details" }
                form.stack method="post" action=(base) {
                    (csrf(&session))
                    label { "Title " input name="title" value=(i.title) required maxlength="200"; }
                    (impact_select(i.severity))
                    @if !i.auto { (check_boxes(&state, &i.checks)) }
                    label { "Cause (Markdown) " textarea name="cause" rows="3" { (i.cause.as_deref().unwrap_or("")) } }
                    label { "Postmortem (Markdown) " textarea name="postmortem" rows="6" { (i.postmortem.as_deref().unwrap_or("")) } }
                    @if i.auto {
                        label.check {
                            input type="checkbox" name="hold" value="1" checked[i.hold];
                            " Keep open in monitoring after the probes recover, until an admin resolves it"
                        }
                    }
                    button { "Save details" }
                }
            }
            @if i.auto && i.resolved_at.is_some() {
                section {
                    h2 { "False alarm" }
                    form.stack method="post" action={ (base) "/false-alarm" } {
                        (csrf(&session))
                        input type="hidden" name="value" value=(if i.false_alarm { "false" } else { "true" });
                        @if i.false_alarm {
                            p { "This incident is marked a false alarm." }
                            button { "It was real after all" }
                        } @else {
                            p { "The target was fine and the probe was wrong? Marking a false alarm hides the incident from the public and counts its time as up." }
                            button { "Mark as false alarm" }
                        }
                    }
                }
            }
            section {
                h2 { "Timeline" }
                ol.timeline {
                    @for u in &detail.updates {
                        li {
                            strong { (u.status) } " " (time(u.at)) " · " (u.author.as_deref().unwrap_or("watchpost"))
                            div.md { (PreEscaped(markdown::render(&u.body))) }
                        }
                    }
                }
            }
            @if !detail.evidence.is_empty() {
                section {
                    h2 { "Evidence" }
                    p.small { "The probes' full messages, for admins only: the public page shows each check's public_details." }
                    (evidence_table(crate::i18n::ENGLISH, &detail.evidence, crate::clock::Timestamp::now(), |e| e.message.clone()))
                }
            }
        },
    ))
}

pub async fn edit(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Result<Response, WebError> {
    let current = state
        .reader
        .admin_incident(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let auto = current.incident.auto;
    let edit = actions::Edit {
        title: Some(form.text("title").to_string()),
        impact: Some(actions::parse(form.text("impact"))?),
        checks: (!auto).then(|| form.all("checks")),
        cause: Some(form.text("cause").to_string()),
        postmortem: Some(form.text("postmortem").to_string()),
        hold: auto.then(|| form.get("hold") == Some("1")),
        false_alarm: None,
    };
    actions::edit(&admin(&state)?.actions, &session.user, id, edit).await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn add_update(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Result<Response, WebError> {
    let update = actions::Update {
        status: actions::parse(form.text("status"))?,
        body: form.text("body").to_string(),
    };
    actions::post_update(&admin(&state)?.actions, &session.user, id, update).await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

pub async fn false_alarm(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Posted { session, form }: Posted,
) -> Result<Response, WebError> {
    let value = form.get("value") != Some("false");
    actions::set_false_alarm(&admin(&state)?.actions, &session.user, id, value).await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}
