//! The audit log: who did what, newest first.

use axum::extract::State;
use maud::{Markup, html};

use super::auth::Session;
use super::form::{frame, time};
use crate::web::{WebError, WebState};

pub async fn page(State(state): State<WebState>, session: Session) -> Result<Markup, WebError> {
    let rows = state.reader.audit(500).await?;
    Ok(frame(
        &state,
        "Audit log",
        Some(&session),
        html! {
            h1 { "Audit log" }
            table.list {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "On" } th { "Detail" } } }
                tbody {
                    @for r in &rows {
                        tr { td { (time(r.at)) } td { (r.actor) } td { (r.action) } td { (r.target) } td { (r.detail) } }
                    }
                }
            }
        },
    ))
}
