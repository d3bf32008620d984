//! The Atlassian Statuspage-compatible API, `/api/v2/*.json`: the same routes, field names and
//! enumerations as Statuspage's public v2 API, so widgets, bots and aggregators written for it
//! work against watchpost unchanged.
//!
//! Checks are components (id = the check's slug), groups are components with `group: true`,
//! automatic and manual incidents are incidents. Its DTOs are its own: Statuspage's shape is a
//! compatibility promise, not our domain model. It only reads.

mod components;
mod dto;
mod incidents;

use axum::extract::State;

use components::components_of;
use dto::{
    ComponentDto, ComponentsDto, IncidentsDto, MaintenancesDto, PageDto, PageStatusDto, StatusDto,
    SummaryDto,
};
use incidents::{Which, maintenance_list};

use super::json::Json;
use super::overall::Overall;
use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::snapshot::Snapshot;
use crate::store::{IncidentFilter, PageTimes};

/// Statuspage's `incidents.json` lists this many of the newest incidents.
const RECENT_INCIDENTS: usize = 50;

/// `/api/v2/summary.json`: page, components, unresolved incidents, maintenances and status.
pub async fn summary(State(state): State<WebState>) -> Result<Json<SummaryDto>, WebError> {
    let view = View::load(&state).await?;
    let open = state
        .reader
        .timelines(IncidentFilter::Open, RECENT_INCIDENTS)
        .await?;
    Ok(Json(SummaryDto {
        incidents: view.incidents(&open),
        status: view.status(),
        scheduled_maintenances: maintenance_list(&state, &view, Which::Active)
            .await?
            .into_iter()
            .chain(maintenance_list(&state, &view, Which::Upcoming).await?)
            .collect(),
        page: view.page,
        components: view.components,
    }))
}

/// `/api/v2/status.json`.
pub async fn status(State(state): State<WebState>) -> Result<Json<PageStatusDto>, WebError> {
    let view = View::load(&state).await?;
    Ok(Json(PageStatusDto {
        status: view.status(),
        page: view.page,
    }))
}

/// `/api/v2/components.json`.
pub async fn components(State(state): State<WebState>) -> Result<Json<ComponentsDto>, WebError> {
    let view = View::load(&state).await?;
    Ok(Json(ComponentsDto {
        page: view.page,
        components: view.components,
    }))
}

/// `/api/v2/incidents.json`: the newest incidents, resolved or not.
pub async fn incidents(State(state): State<WebState>) -> Result<Json<IncidentsDto>, WebError> {
    incident_list(&state, IncidentFilter::All).await
}

/// `/api/v2/incidents/unresolved.json`.
pub async fn unresolved(State(state): State<WebState>) -> Result<Json<IncidentsDto>, WebError> {
    incident_list(&state, IncidentFilter::Open).await
}

async fn incident_list(
    state: &WebState,
    filter: IncidentFilter,
) -> Result<Json<IncidentsDto>, WebError> {
    let view = View::load(state).await?;
    let rows = state.reader.timelines(filter, RECENT_INCIDENTS).await?;
    Ok(Json(IncidentsDto {
        incidents: view.incidents(&rows),
        page: view.page,
    }))
}

/// `/api/v2/scheduled-maintenances.json`: recent, in progress and upcoming windows.
pub async fn maintenances(
    State(state): State<WebState>,
) -> Result<Json<MaintenancesDto>, WebError> {
    maintenance_route(&state, Which::All).await
}

/// `/api/v2/scheduled-maintenances/upcoming.json`.
pub async fn upcoming(State(state): State<WebState>) -> Result<Json<MaintenancesDto>, WebError> {
    maintenance_route(&state, Which::Upcoming).await
}

/// `/api/v2/scheduled-maintenances/active.json`.
pub async fn active(State(state): State<WebState>) -> Result<Json<MaintenancesDto>, WebError> {
    maintenance_route(&state, Which::Active).await
}

async fn maintenance_route(
    state: &WebState,
    which: Which,
) -> Result<Json<MaintenancesDto>, WebError> {
    let view = View::load(state).await?;
    Ok(Json(MaintenancesDto {
        scheduled_maintenances: maintenance_list(state, &view, which).await?,
        page: view.page,
    }))
}

/// What every route starts from: the page, the components, and each check's state now.
struct View {
    page: PageDto,
    components: Vec<ComponentDto>,
    overall: Overall,
    base: String,
}

impl View {
    async fn load(state: &WebState) -> Result<View, WebError> {
        let times = state.reader.page_times().await?;
        Ok(View::new(
            &state.snapshot(),
            &times,
            state.base_url(),
            Timestamp::now(),
        ))
    }

    fn new(snapshot: &Snapshot, times: &PageTimes, base: String, now: Timestamp) -> View {
        let page_id = page_id(&base);
        let components = components_of(snapshot, &times.checks, &page_id, now);
        let updated = components
            .iter()
            .map(|c| c.updated_at.as_str())
            .chain(times.last_update.map(|t| t.rfc3339()).as_deref())
            .max()
            .map(str::to_string)
            .unwrap_or_else(|| Timestamp(0).rfc3339());
        View {
            page: PageDto {
                id: page_id,
                name: snapshot.config.server.title.clone(),
                url: base.clone(),
                time_zone: "Etc/UTC",
                updated_at: updated,
            },
            components,
            overall: Overall::at(snapshot, now),
            base,
        }
    }

    fn status(&self) -> StatusDto {
        page_status(self.overall)
    }
}

/// A stable page id: the host (and port) of the page's base URL, which names this status page.
fn page_id(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// The page's indicator from its checks' states: `none` when all are operational (or in
/// maintenance), `minor` when any is degraded or unknown (an unknown check's component reads
/// `degraded_performance`, so some unknown is `minor` even beside maintenance), `major` when
/// some are down, `critical` when every check with a known state is down.
fn page_status(overall: Overall) -> StatusDto {
    let (indicator, description) = match overall {
        Overall::MajorOutage => ("critical", "Major System Outage"),
        Overall::PartialOutage => ("major", "Partial System Outage"),
        Overall::Degraded => ("minor", "Partially Degraded Service"),
        Overall::Waiting
        | Overall::Maintenance { unknown: true }
        | Overall::Operational { unknown: true } => ("minor", "Status Unknown For Some Systems"),
        Overall::Maintenance { unknown: false } => ("none", "Service Under Maintenance"),
        Overall::NoChecks | Overall::Operational { unknown: false } => {
            ("none", "All Systems Operational")
        }
    };
    StatusDto {
        indicator,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::State as CheckState;

    fn check(states: &[CheckState], expected: &str) {
        assert_eq!(
            page_status(Overall::of(states)).indicator,
            expected,
            "{states:?}"
        );
    }

    #[test]
    fn indicator_follows_the_worst_check() {
        use CheckState::*;
        check(&[Up, Up], "none");
        check(&[Up, Maintenance], "none");
        check(&[Up, Degraded], "minor");
        check(&[Up, Unknown], "minor");
        check(&[Up, Down], "major");
        check(&[Down, Down], "critical");
        check(&[Down, Unknown], "critical");
        check(&[], "none");
    }

    #[test]
    fn page_id_is_the_host_of_the_base_url() {
        assert_eq!(
            page_id("https://status.example.org/sub"),
            "status.example.org"
        );
        assert_eq!(page_id("http://127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
