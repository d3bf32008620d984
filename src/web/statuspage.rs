//! The Atlassian Statuspage-compatible API, `/api/v2/*.json`: the same routes, field names and
//! enumerations as Statuspage's public v2 API, so widgets, bots and aggregators written for it
//! work against watchpost unchanged.
//!
//! Checks are components (id = the check's slug), groups are components with `group: true`,
//! automatic and manual incidents are incidents. Its DTOs are its own: Statuspage's shape is a
//! compatibility promise, not our domain model. It only reads.

use std::collections::HashMap;

use axum::extract::State;
use serde::Serialize;

use super::json::Json;
use super::overall::{Overall, groups};
use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::config::Check;
use crate::maintenance::{Window, stages};
use crate::monitor::State as CheckState;
use crate::snapshot::{CheckNow, Snapshot};
use crate::store::{CheckTimes, IncidentFilter, IncidentTimeline, PageTimes, Severity};

/// Statuspage's `incidents.json` lists this many of the newest incidents.
const RECENT_INCIDENTS: usize = 50;

/// `page`: who is speaking; `updated_at` is the latest component change or incident update.
#[derive(Clone, Serialize)]
pub struct PageDto {
    pub id: String,
    pub name: String,
    pub url: String,
    pub time_zone: &'static str,
    pub updated_at: String,
}

/// `status`: the page's overall state.
#[derive(Serialize)]
pub struct StatusDto {
    /// none | minor | major | critical
    pub indicator: &'static str,
    pub description: &'static str,
}

/// A component: a check, or a group of checks (`group: true`, with member ids in `components`).
#[derive(Clone, Serialize)]
pub struct ComponentDto {
    pub id: String,
    pub name: String,
    /// operational | degraded_performance | partial_outage | major_outage | under_maintenance
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub position: usize,
    pub description: Option<String>,
    pub showcase: bool,
    pub start_date: Option<String>,
    pub group_id: Option<String>,
    pub page_id: String,
    pub group: bool,
    pub only_show_if_degraded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

/// An incident with its updates, newest first.
#[derive(Serialize)]
pub struct IncidentDto {
    pub id: String,
    pub name: String,
    /// investigating | identified | monitoring | resolved | postmortem
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub monitoring_at: Option<String>,
    pub resolved_at: Option<String>,
    /// none | minor | major | critical
    pub impact: &'static str,
    pub shortlink: String,
    pub started_at: String,
    pub page_id: String,
    pub incident_updates: Vec<UpdateDto>,
    pub components: Vec<ComponentDto>,
}

/// One entry of an incident's timeline.
#[derive(Serialize)]
pub struct UpdateDto {
    pub id: String,
    pub status: &'static str,
    pub body: String,
    pub incident_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub display_at: String,
    /// The component changes this update reports: for an automatic incident, its check going
    /// from operational to the outage at the first update and back at the resolution; null
    /// otherwise, as Statuspage sends for updates that change no component.
    pub affected_components: Option<Vec<AffectedDto>>,
}

/// One component's change of status in an update.
#[derive(Serialize)]
pub struct AffectedDto {
    pub code: String,
    pub name: String,
    pub old_status: &'static str,
    pub new_status: &'static str,
}

#[derive(Serialize)]
pub struct SummaryDto {
    pub page: PageDto,
    pub components: Vec<ComponentDto>,
    pub incidents: Vec<IncidentDto>,
    pub scheduled_maintenances: Vec<MaintenanceDto>,
    pub status: StatusDto,
}

#[derive(Serialize)]
pub struct PageStatusDto {
    pub page: PageDto,
    pub status: StatusDto,
}

#[derive(Serialize)]
pub struct ComponentsDto {
    pub page: PageDto,
    pub components: Vec<ComponentDto>,
}

#[derive(Serialize)]
pub struct IncidentsDto {
    pub page: PageDto,
    pub incidents: Vec<IncidentDto>,
}

/// Scheduled maintenances: the incident shape plus `scheduled_for` and `scheduled_until`.
#[derive(Serialize)]
pub struct MaintenancesDto {
    pub page: PageDto,
    pub scheduled_maintenances: Vec<MaintenanceDto>,
}

/// One maintenance window, as Statuspage describes a scheduled maintenance: the incident shape
/// (status scheduled | in_progress | completed, impact maintenance) plus its schedule.
#[derive(Serialize)]
pub struct MaintenanceDto {
    #[serde(flatten)]
    pub incident: IncidentDto,
    pub scheduled_for: String,
    pub scheduled_until: String,
}

/// Which windows a maintenance route lists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    /// Recent, in progress and upcoming.
    All,
    Upcoming,
    Active,
}

/// How far back and ahead the maintenance routes look.
const MAINTENANCE_HORIZON: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

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

/// The windows `which` asks for: in progress, then upcoming soonest first, then (for `All`) the
/// recent past newest first. One-off windows come from the store, which knows when each was
/// planned; occurrences of recurring ones from the schedule, announced a horizon ahead.
async fn maintenance_list(
    state: &WebState,
    view: &View,
    which: Which,
) -> Result<Vec<MaintenanceDto>, WebError> {
    let now = Timestamp::now();
    let schedule = state.schedule.borrow().clone();
    let horizon = MAINTENANCE_HORIZON.as_millis() as i64;
    let recurring = schedule
        .active(now)
        .into_iter()
        .chain(schedule.upcoming(now, MAINTENANCE_HORIZON))
        .filter(|w| w.id.is_none())
        .map(|w| (Timestamp(w.start.0 - horizon).min(now), w));
    let one_off = state
        .reader
        .planned_maintenance(500)
        .await?
        .into_iter()
        .filter(|p| !p.cancelled)
        .map(|p| (p.created, p.window));
    let mut windows: Vec<(Timestamp, Window)> = recurring.chain(one_off).collect();
    let rank = |w: &Window| {
        if w.start <= now && now < w.end {
            Some((0, w.start.0))
        } else if w.start > now && w.start.0 - now.0 <= horizon {
            Some((1, w.start.0))
        } else if w.end <= now && now.0 - w.end.0 <= horizon {
            Some((2, -w.end.0))
        } else {
            None
        }
    };
    let wanted = |w: &Window| match (which, rank(w)) {
        (_, None) => false,
        (Which::All, _) => true,
        (Which::Active, Some((r, _))) => r == 0,
        (Which::Upcoming, Some((r, _))) => r == 1,
    };
    windows.retain(|(_, w)| wanted(w));
    windows.sort_by_key(|(_, w)| rank(w));
    Ok(windows
        .iter()
        .map(|(planned, w)| view.maintenance(w, *planned, now))
        .collect())
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

    fn maintenance(&self, w: &Window, planned: Timestamp, now: Timestamp) -> MaintenanceDto {
        let id = match w.id {
            Some(id) => id.to_string(),
            None => format!("recurring-{}", w.start.0 / 1000),
        };
        let mut stages = stages(w, planned, None, now);
        stages.reverse();
        let (status, updated) = stages
            .first()
            .map_or(("scheduled", planned), |s| (s.status, s.at));
        let components = self
            .components
            .iter()
            .filter(|c| w.checks.iter().any(|k| k.as_str() == c.id))
            .cloned()
            .collect();
        let stamp = |t: Timestamp| t.rfc3339();
        MaintenanceDto {
            incident: IncidentDto {
                name: w.title.clone(),
                status,
                created_at: stamp(planned),
                updated_at: stamp(updated),
                monitoring_at: None,
                resolved_at: (status == "completed").then(|| stamp(w.end)),
                impact: "maintenance",
                shortlink: format!("{}/", self.base),
                started_at: stamp(w.start),
                page_id: self.page.id.clone(),
                incident_updates: stages
                    .iter()
                    .enumerate()
                    .map(|(n, s)| UpdateDto {
                        id: format!("{id}-{}", stages.len() - n),
                        status: s.status,
                        body: s.body.clone(),
                        incident_id: id.clone(),
                        created_at: stamp(s.at),
                        updated_at: stamp(s.at),
                        display_at: stamp(s.at),
                        affected_components: None,
                    })
                    .collect(),
                components,
                id,
            },
            scheduled_for: stamp(w.start),
            scheduled_until: stamp(w.end),
        }
    }

    fn incidents(&self, rows: &[IncidentTimeline]) -> Vec<IncidentDto> {
        rows.iter().map(|t| self.incident(t)).collect()
    }

    fn incident(&self, t: &IncidentTimeline) -> IncidentDto {
        let i = &t.incident;
        let id = i.id.to_string();
        let latest = t.updates.first();
        let status = match latest {
            Some(u) => incident_status(&u.status),
            None if i.resolved_at.is_some() => "resolved",
            None => "investigating",
        };
        let updated = latest.map_or(i.started_at, |u| u.at.max(i.started_at));
        let components: Vec<ComponentDto> = self
            .components
            .iter()
            .filter(|c| !c.group && i.checks.contains(&c.id))
            .cloned()
            .collect();
        // What the probes saw: the check went from operational to the outage when the incident
        // opened, and back when it resolved. Manual incidents report no component change.
        let outage = match i.severity {
            Severity::None => "operational",
            Severity::Minor => "degraded_performance",
            Severity::Major | Severity::Critical => "major_outage",
        };
        let changes = |old: &'static str, new: &'static str| {
            components
                .iter()
                .map(|c| AffectedDto {
                    code: c.id.clone(),
                    name: c.name.clone(),
                    old_status: old,
                    new_status: new,
                })
                .collect::<Vec<_>>()
        };
        let first = t.updates.len().saturating_sub(1);
        let monitoring_at = t
            .updates
            .iter()
            .find(|u| incident_status(&u.status) == "monitoring")
            .map(|u| u.at.rfc3339());
        IncidentDto {
            name: i.title.clone(),
            status,
            created_at: i.started_at.rfc3339(),
            updated_at: updated.rfc3339(),
            monitoring_at,
            resolved_at: i.resolved_at.map(|r| r.rfc3339()),
            impact: i.severity.as_str(),
            shortlink: format!("{}/incidents/{id}", self.base),
            started_at: i.started_at.rfc3339(),
            page_id: self.page.id.clone(),
            incident_updates: t
                .updates
                .iter()
                .enumerate()
                .map(|(n, u)| UpdateDto {
                    id: u.id.to_string(),
                    status: incident_status(&u.status),
                    body: u.body.clone(),
                    incident_id: id.clone(),
                    created_at: u.at.rfc3339(),
                    updated_at: u.at.rfc3339(),
                    display_at: u.at.rfc3339(),
                    affected_components: match (i.auto, incident_status(&u.status)) {
                        (false, _) => None,
                        (true, "resolved") => Some(changes(outage, "operational")),
                        (true, _) if n == first => Some(changes("operational", outage)),
                        _ => None,
                    },
                })
                .collect(),
            components,
            id,
        }
    }
}

/// A stable page id: the host (and port) of the page's base URL, which names this status page.
fn page_id(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// Our timeline statuses are Statuspage's; anything else (never written today) reads as
/// `investigating`, the one every client shows as "not over yet".
fn incident_status(s: &str) -> &'static str {
    match s {
        "identified" => "identified",
        "monitoring" => "monitoring",
        "resolved" => "resolved",
        "postmortem" => "postmortem",
        _ => "investigating",
    }
}

/// A check's component status.
///
/// Statuspage has no "unknown", and clients reject values outside its five. A check whose state is
/// unknown (no verdict yet, or no result for too long) is reported as `degraded_performance`:
/// `operational` would vouch for a service nobody is watching, and `major_outage` would page
/// people over a monitoring gap. The component's `description` says that the state is unknown.
fn component_status(s: CheckState) -> &'static str {
    match s {
        CheckState::Up => "operational",
        CheckState::Degraded | CheckState::Unknown => "degraded_performance",
        CheckState::Down => "major_outage",
        CheckState::Maintenance => "under_maintenance",
    }
}

/// How bad a component status is, for a group's worst member.
fn severity(status: &str) -> u8 {
    match status {
        "operational" => 0,
        "under_maintenance" => 1,
        "degraded_performance" => 2,
        "partial_outage" => 3,
        _ => 4,
    }
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

/// Every check as a component, and every named group as a group component listed just before its
/// members, in the config's order. Positions count among siblings, from 1.
fn components_of(
    snapshot: &Snapshot,
    times: &HashMap<String, CheckTimes>,
    page_id: &str,
    now: Timestamp,
) -> Vec<ComponentDto> {
    let mut out = Vec::new();
    let mut group_ids: Vec<String> = Vec::new();
    let mut top = 0;
    for (group, members) in groups(snapshot) {
        let group_id = (!group.is_empty()).then(|| unique_group_id(&group, &mut group_ids));
        let mut children: Vec<ComponentDto> = members
            .iter()
            .enumerate()
            .map(|(i, (check, current))| {
                let position = match group_id {
                    Some(_) => i + 1,
                    None => {
                        top += 1;
                        top
                    }
                };
                check_component(check, current, times, position, now, page_id)
            })
            .collect();
        if let Some(gid) = group_id {
            top += 1;
            for c in &mut children {
                c.group_id = Some(gid.clone());
            }
            out.push(group_component(gid, group, &children, top, page_id));
        }
        out.extend(children);
    }
    out
}

fn check_component(
    check: &Check,
    current: &CheckNow,
    times: &HashMap<String, CheckTimes>,
    position: usize,
    now: Timestamp,
    page_id: &str,
) -> ComponentDto {
    let state = current.shown_state(check, now);
    let t = times.get(check.id.as_str()).copied().unwrap_or(CheckTimes {
        created: now,
        changed: now,
    });
    ComponentDto {
        id: check.id.to_string(),
        name: check.name.clone(),
        status: component_status(state),
        created_at: t.created.rfc3339(),
        updated_at: t.changed.rfc3339(),
        position,
        description: (state == CheckState::Unknown)
            .then(|| "No recent probe result: the state is unknown.".to_string()),
        showcase: true,
        start_date: Some(t.created.date()),
        group_id: None,
        page_id: page_id.to_string(),
        group: false,
        only_show_if_degraded: false,
        components: None,
    }
}

/// A group component: the worst status of its members, created with its oldest member.
fn group_component(
    id: String,
    name: String,
    members: &[ComponentDto],
    position: usize,
    page_id: &str,
) -> ComponentDto {
    let worst = members
        .iter()
        .map(|m| m.status)
        .max_by_key(|s| severity(s))
        .unwrap_or("operational");
    let created = members.iter().map(|m| m.created_at.clone()).min();
    let updated = members.iter().map(|m| m.updated_at.clone()).max();
    ComponentDto {
        id,
        name,
        status: worst,
        created_at: created.unwrap_or_default(),
        updated_at: updated.unwrap_or_default(),
        position,
        description: None,
        showcase: false,
        start_date: None,
        group_id: None,
        page_id: page_id.to_string(),
        group: true,
        only_show_if_degraded: false,
        components: Some(members.iter().map(|m| m.id.clone()).collect()),
    }
}

/// `group-<slug of the name>`, with `-2`, `-3` … when two names make the same slug.
fn unique_group_id(name: &str, taken: &mut Vec<String>) -> String {
    let base = format!("group-{}", slug(name));
    let mut id = base.clone();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    taken.push(id.clone());
    id
}

/// Lowercase ASCII letters and digits, every other run of characters one `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn group_ids_are_slugs_made_unique() {
        let mut taken = Vec::new();
        assert_eq!(
            unique_group_id("<i>Group</i>", &mut taken),
            "group-i-group-i"
        );
        assert_eq!(
            unique_group_id("Mapping & Data", &mut taken),
            "group-mapping-data"
        );
        assert_eq!(
            unique_group_id("mapping data", &mut taken),
            "group-mapping-data-2"
        );
        assert_eq!(unique_group_id("Карты", &mut taken), "group-unnamed");
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
