use super::*;

#[test]
fn dates_cover_whole_days_and_instants_are_exact() {
    let day: Date = "2026-11-01".parse().unwrap();
    assert_eq!(day.start().rfc3339(), "2026-11-01T00:00:00Z");
    assert_eq!(day.end().rfc3339(), "2026-11-02T00:00:00Z");
    let at: Date = "2026-11-01T12:30:00+01:00".parse().unwrap();
    assert_eq!(at.start().rfc3339(), "2026-11-01T11:30:00Z");
    assert_eq!(at.end(), at.start());
    assert!(
        "yesterday"
            .parse::<Date>()
            .unwrap_err()
            .contains("RFC 3339")
    );
}

#[test]
fn csv_cells_are_quoted_and_formulas_defused() {
    assert_eq!(csv_cell(&json!("plain")), "plain");
    assert_eq!(csv_cell(&json!("a,b")), "\"a,b\"");
    assert_eq!(csv_cell(&json!("say \"hi\"")), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_cell(&json!("=HYPERLINK(1)")), "'=HYPERLINK(1)");
    assert_eq!(csv_cell(&json!(-3)), "-3");
    assert_eq!(csv_cell(&Value::Null), "");
}

#[test]
fn a_day_counts_its_unobserved_time_up_to_now() {
    let start: Date = "2026-11-01".parse().unwrap();
    let start = start.start();
    let day = Rollup {
        up_ms: 20 * 3_600_000,
        down_ms: 3_600_000,
        maintenance_ms: 1_800_000,
        probes_up: 10,
        probes_down: 2,
        ..Rollup::default()
    };
    let table = daily_table(&[(start, day)], Timestamp(start.0 + 2 * DAY_MS));
    let row = &table.rows[0];
    assert_eq!(row[0], json!("2026-11-01"));
    assert_eq!(row[1], json!(95.2381));
    assert_eq!(row[6], json!(3 * 3_600_000 - 1_800_000), "no data");
    assert_eq!(row[7], json!(12));
    let today = daily_table(&[(start, day)], Timestamp(start.0 + 22 * 3_600_000));
    assert_eq!(
        today.rows[0][6],
        json!(3_600_000 - 1_800_000),
        "only up to now"
    );
}
