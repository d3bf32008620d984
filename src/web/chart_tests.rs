use std::time::Duration;

use super::*;
use crate::i18n::{ENGLISH, Lang};
use crate::model::Status;
use crate::probe::Phases;
use crate::uptime::Rollup;

/// An hour of probes that took `ms` each and timed `phases`.
fn hour(ms: i64, phases: Phases) -> Rollup {
    let mut r = Rollup::default();
    for _ in 0..10 {
        r.count_probe(Status::Up, ms * 1000);
        r.count_phases(&phases);
    }
    r
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

/// 2026-12-03T00:00:00Z, a day's start.
const DAY: Timestamp = Timestamp(1_796_256_000_000);

fn at(slot: i64) -> Timestamp {
    Timestamp(DAY.0 + slot * HOUR_MS)
}

#[test]
fn a_gap_breaks_the_lines_and_the_axes_say_time_and_milliseconds() {
    let phases = Phases {
        connect: ms(20),
        processing: ms(60),
        ..Phases::default()
    };
    let mut hours = Deltas::new();
    for slot in [0, 1, 2, 7, 8] {
        hours.insert(at(slot), hour(80, phases));
    }
    // An isolated hour: a point without a line.
    hours.insert(at(20), hour(80, phases));
    let html = latency_chart(ENGLISH, &hours, DAY, at(24)).into_string();
    assert_eq!(
        html.matches("<polyline class=\"p50\"").count(),
        3,
        "one line per run of hours with data (a lone hour's is a point), none across a gap: {html}"
    );
    assert_eq!(html.matches("<line class=\"dot p50\"").count(), 6);
    for tick in ["00:00", "06:00", "12:00", "18:00"] {
        assert!(html.contains(&format!(">{tick}</span>")), "{tick}: {html}");
    }
    assert!(html.contains(">0 ms</span>"), "{html}");
    assert!(html.contains(" ms</span>"), "{html}");
    assert!(html.contains("18 hours have no data"), "{html}");
    assert!(html.contains("</svg>") && html.contains("<table"), "{html}");
}

#[test]
fn a_phase_no_probe_timed_gets_no_bar_and_no_key() {
    // A refused connection times no connect phase: resolving only.
    let refused = Phases {
        resolve: ms(3),
        ..Phases::default()
    };
    let mut hours = Deltas::new();
    hours.insert(at(0), hour(3, refused));
    hours.insert(at(1), hour(3, refused));
    let html = latency_chart(ENGLISH, &hours, DAY, at(24)).into_string();
    assert!(html.contains("class=\"ph0\""), "resolve is drawn: {html}");
    for k in 1..Phase::COUNT {
        assert!(!html.contains(&format!("ph{k}")), "no phase {k}: {html}");
    }
    assert!(!html.contains(">connect<"), "{html}");
}

#[test]
fn no_data_is_said_not_drawn() {
    let html = latency_chart(ENGLISH, &Deltas::new(), DAY, at(24)).into_string();
    assert_eq!(
        html,
        "<p class=\"small\">No probes in the last 24 hours.</p>"
    );
}

#[test]
fn ticks_are_round() {
    assert_eq!(step(80.0), 20.0);
    assert_eq!(step(900.0), 500.0);
    assert_eq!(ms_label(ENGLISH, 1500.0), "1.5 s");
    assert_eq!(ms_label(ENGLISH, 2000.0), "2 s");
    assert_eq!(ms_label(ENGLISH, 0.5), "0.5 ms");
}

#[test]
fn the_chart_speaks_the_page_s_language() {
    let phases = Phases {
        connect: ms(20),
        processing: ms(1500),
        ..Phases::default()
    };
    let mut hours = Deltas::new();
    for slot in [0, 1, 2, 7] {
        hours.insert(at(slot), hour(1520, phases));
    }
    let html = latency_chart(Lang::Fr.strings(), &hours, DAY, at(24)).into_string();
    for french in [
        "20\u{a0}heures n’ont pas de données",
        "— médiane",
        "— 95e centile",
        ">connexion<",
        " · par heure, heures UTC",
        "Chiffres par heure",
        "Heure (UTC)",
        ",5 s</span>",
    ] {
        assert!(html.contains(french), "{french}: {html}");
    }
    assert!(
        !html.contains("1.5 s") && !html.contains("no data"),
        "{html}"
    );
    assert_eq!(ms_label(Lang::Fr.strings(), 1500.0), "1,5 s");
    assert_eq!(
        latency_chart(Lang::Fr.strings(), &Deltas::new(), DAY, at(24)).into_string(),
        "<p class=\"small\">Aucune sonde ces dernières 24 heures.</p>"
    );
}
