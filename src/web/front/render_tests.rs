use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::probe::Status;
use crate::snapshot::{History, LastProbe};

/// A snapshot of `groups` (name, checks, states of the first ones; the rest up), probed now.
fn snapshot(groups: &[(&str, usize, &[CheckState])], now: Timestamp) -> Snapshot {
    let mut toml = String::new();
    for (g, (name, n, _)) in groups.iter().enumerate() {
        for i in 0..*n {
            toml.push_str(&format!(
                "[[check]]\nid = \"g{g}c{i}\"\ngroup = \"{name}\"\ntype = \"tcp\"\nhost = \"h\"\nport = 1\n"
            ));
        }
    }
    let config = crate::config::parse(std::path::Path::new("t.toml"), &toml).unwrap();
    let states = groups.iter().flat_map(|(_, n, states)| {
        (0..*n).map(|i| states.get(i).copied().unwrap_or(CheckState::Up))
    });
    let mut snapshot = Snapshot::empty(Arc::new(config));
    for (index, state) in states.enumerate() {
        let last = (state != CheckState::Unknown).then_some(LastProbe {
            at: now,
            status: Status::Up,
            latency: Duration::from_millis(1),
            code: None,
            failure: None,
            tls: None,
        });
        let current = CheckNow {
            state: Some(state),
            last,
            incident: None,
        };
        snapshot.checks.set(index, current);
    }
    snapshot
}

fn open(snapshot: &Snapshot, now: Timestamp) -> Vec<(String, bool)> {
    layout(snapshot, now)
        .into_iter()
        .map(|g| (g.slug, g.open))
        .collect()
}

#[test]
fn small_pages_show_every_group_open() {
    use CheckState::*;
    let now = Timestamp(1_800_000_000_000);
    let s = snapshot(
        &[
            ("Core", 50, &[]),
            ("", 40, &[Down]),
            ("Edge", 10, &[Unknown]),
        ],
        now,
    );
    assert_eq!(s.config.checks.len(), FOLD_ABOVE);
    let all_open =
        [("core", true), ("other", true), ("edge", true)].map(|(s, o)| (s.to_string(), o));
    assert_eq!(open(&s, now), all_open);
}

#[test]
fn big_pages_open_groups_in_trouble_up_to_a_budget_and_fold_the_rest() {
    use CheckState::*;
    let now = Timestamp(1_800_000_000_000);
    let s = snapshot(
        &[
            ("A", 60, &[Up, Down]),
            ("B", 60, &[]),
            ("C", 60, &[Degraded]),
            ("D", 40, &[Down]),
            ("E", 10, &[Unknown]),
            ("F", 5, &[Maintenance]),
        ],
        now,
    );
    let expected = [
        ("a", true),
        ("b", false),
        ("c", true),
        ("d", false),
        ("e", false),
        ("f", true),
    ]
    .map(|(s, o)| (s.to_string(), o));
    assert_eq!(open(&s, now), expected);
    let groups = layout(&s, now);
    assert_eq!(
        groups[3].tally.worst, Down,
        "a folded group still says it is down"
    );
    let page = render_index(&Front {
        snapshot: &s,
        bars: &Bars::build(Arc::new(History::default()), None),
        schedule: &crate::maintenance::Schedule::default(),
        open: &[],
        recent: &[],
        now,
        lang: Lang::En,
    });
    assert_eq!(page.matches("<li class=\"check\">").count(), 60 + 60 + 5);
    assert!(
        page.contains(concat!(
            "<details class=\"group\" data-fragment=\"/fragments/group/b\"><summary><h2>B</h2>",
            "<span class=\"state up\">All 60 operational</span></summary>",
            "<p class=\"fold\"><a href=\"/groups/b\">Show the 60 checks of B</a></p></details>"
        )),
        "{page}"
    );
    assert!(page.contains("<summary><h2>D</h2><span class=\"state down\">1 of 40 down</span>"));
    assert!(page.contains("<details class=\"group\" open><summary><h2>A</h2>"));
}

#[test]
fn group_slugs_are_lowercase_ascii_words_and_unique() {
    let now = Timestamp(1_800_000_000_000);
    let s = snapshot(
        &[
            ("Edge nodes", 1, &[]),
            ("Edge-nodes", 1, &[]),
            ("", 1, &[]),
            ("!!!", 1, &[]),
            ("Ünï  Cøde!", 1, &[]),
            ("edge nodes 2", 1, &[]),
        ],
        now,
    );
    let slugs: Vec<String> = layout(&s, now).into_iter().map(|g| g.slug).collect();
    assert_eq!(
        slugs,
        [
            "edge-nodes",
            "edge-nodes-2",
            "other",
            "unnamed",
            "n-c-de",
            "edge-nodes-2-2"
        ]
    );
}
