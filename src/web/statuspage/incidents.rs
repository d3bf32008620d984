//! Incidents and maintenance windows in Statuspage's incident shape: the timelines, the
//! component changes an automatic incident reports, and which windows each maintenance route
//! lists. It only reads the store and the schedule.

use super::View;
use super::dto::{
    AffectedDto, ComponentDto, ComponentStatus, IncidentDto, MaintenanceDto, UpdateDto,
};
use crate::clock::Timestamp;
use crate::maintenance::{Window, stages};
use crate::store::{IncidentTimeline, Severity};
use crate::web::{WebError, WebState, planned};

/// Which windows a maintenance route lists.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Which {
    /// Recent, in progress and upcoming.
    All,
    Upcoming,
    Active,
}

/// How far back and ahead the maintenance routes look.
const MAINTENANCE_HORIZON: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// The windows `which` asks for: in progress, then upcoming soonest first, then (for `All`) the
/// recent past newest first. One-off windows come from the store, which knows when each was
/// planned; occurrences of recurring ones from the schedule, announced a horizon ahead.
pub(super) async fn maintenance_list(
    state: &WebState,
    view: &View,
    which: Which,
) -> Result<Vec<MaintenanceDto>, WebError> {
    let now = Timestamp::now();
    let schedule = state.schedule.borrow().clone();
    let horizon = MAINTENANCE_HORIZON.as_millis() as i64;
    let recurring = planned::recurring(&schedule, now, MAINTENANCE_HORIZON);
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

impl View {
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

    pub(super) fn incidents(&self, rows: &[IncidentTimeline]) -> Vec<IncidentDto> {
        rows.iter().map(|t| self.incident(t)).collect()
    }

    fn incident(&self, t: &IncidentTimeline) -> IncidentDto {
        let i = &t.incident;
        let id = i.id.to_string();
        let latest = t.updates.first();
        let status = match latest {
            Some(u) => u.status.as_str(),
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
            Severity::None => ComponentStatus::Operational,
            Severity::Minor => ComponentStatus::DegradedPerformance,
            Severity::Major | Severity::Critical => ComponentStatus::MajorOutage,
        };
        let changes = |old: ComponentStatus, new: ComponentStatus| {
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
            .find(|u| u.status.as_str() == "monitoring")
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
                    status: u.status.as_str(),
                    body: u.body.clone(),
                    incident_id: id.clone(),
                    created_at: u.at.rfc3339(),
                    updated_at: u.at.rfc3339(),
                    display_at: u.at.rfc3339(),
                    affected_components: match (i.auto, u.status.as_str()) {
                        (false, _) => None,
                        (true, "resolved") => Some(changes(outage, ComponentStatus::Operational)),
                        (true, _) if n == first => {
                            Some(changes(ComponentStatus::Operational, outage))
                        }
                        _ => None,
                    },
                })
                .collect(),
            components,
            id,
        }
    }
}
