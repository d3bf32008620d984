//! The JSON shapes of Statuspage's public v2 API, field for field: a compatibility promise to
//! the widgets and bots written for Statuspage, kept apart from our domain types. Plain data:
//! nothing here decides a value.

use serde::Serialize;

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
    pub status: ComponentStatus,
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
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
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

/// A component's status, in Statuspage's words, ordered from best to worst so that a group reads
/// as its worst member (`max`). Statuspage's fifth, `partial_outage`, is never sent: a check is
/// degraded or down, never partly down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    MajorOutage,
}
