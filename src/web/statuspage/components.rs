//! Checks and groups as Statuspage components: a check's state in Statuspage's five words, the
//! group components and their ids. It never decides a check's state, only translates it.

use std::collections::HashMap;

use super::dto::{ComponentDto, ComponentStatus};
use crate::clock::Timestamp;
use crate::config::Check;
use crate::monitor::State as CheckState;
use crate::snapshot::{CheckNow, Snapshot};
use crate::store::CheckTimes;
use crate::web::overall::{groups, slug};

/// A check's component status.
///
/// Statuspage has no "unknown", and clients reject values outside its five. A check whose state is
/// unknown (no verdict yet, or no result for too long) is reported as `degraded_performance`:
/// `operational` would vouch for a service nobody is watching, and `major_outage` would page
/// people over a monitoring gap. The component's `description` says that the state is unknown.
fn component_status(s: CheckState) -> ComponentStatus {
    match s {
        CheckState::Up => ComponentStatus::Operational,
        CheckState::Degraded | CheckState::Unknown => ComponentStatus::DegradedPerformance,
        CheckState::Down => ComponentStatus::MajorOutage,
        CheckState::Maintenance => ComponentStatus::UnderMaintenance,
    }
}

/// Every check as a component, and every named group as a group component listed just before its
/// members, in the config's order. Positions count among siblings, from 1.
pub(super) fn components_of(
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
        .max()
        .unwrap_or(ComponentStatus::Operational);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_group_reads_as_its_worst_member_and_unknown_counts_as_degraded() {
        use CheckState::*;
        let group = |states: &[CheckState]| states.iter().map(|&s| component_status(s)).max();
        assert_eq!(
            group(&[Up, Maintenance, Unknown]),
            Some(ComponentStatus::DegradedPerformance)
        );
        assert_eq!(group(&[Degraded, Down]), Some(ComponentStatus::MajorOutage));
        assert_eq!(
            group(&[Up, Maintenance]),
            Some(ComponentStatus::UnderMaintenance)
        );
        let words: Vec<String> = [Up, Maintenance, Degraded, Down]
            .map(|s| serde_json::to_string(&component_status(s)).unwrap())
            .into();
        assert_eq!(
            words,
            [
                "\"operational\"",
                "\"under_maintenance\"",
                "\"degraded_performance\"",
                "\"major_outage\""
            ]
        );
    }
}
