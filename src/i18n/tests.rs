use super::*;

#[test]
fn accept_language_picks_the_best_quality_by_prefix() {
    let check = |header: &str, expected: Lang| {
        assert_eq!(Lang::negotiate(header), expected, "{header:?}");
    };
    check("fr-FR,fr;q=0.9,en;q=0.8", Lang::Fr);
    check("fr-CA", Lang::Fr);
    check("FR", Lang::Fr);
    check("en-GB,en;q=0.9,fr;q=0.8", Lang::En);
    check("de-DE,de;q=0.9,fr;q=0.5,en;q=0.4", Lang::Fr);
    check("de", Lang::En);
    check("", Lang::En);
    check("*", Lang::En);
    check("en;q=0, *", Lang::Fr);
    check("fr;q=0, *", Lang::En);
    check("fr;q=0", Lang::En);
    check("en;q=0.1, fr;q=0.2", Lang::Fr);
    check("en, fr", Lang::En);
    check("fr;q=2, en;q=0.5", Lang::En);
    check("fr;q=abc", Lang::En);
    check("garbage;;;,,==", Lang::En);
    check("\u{1F600}", Lang::En);
    check("fr-CA;q=0.8, fr;q=0", Lang::Fr);
}

#[test]
fn tags_name_a_language_by_their_primary_subtag() {
    assert_eq!(Lang::from_tag("fr"), Some(Lang::Fr));
    assert_eq!(Lang::from_tag("fr_BE"), Some(Lang::Fr));
    assert_eq!(Lang::from_tag("EN-us"), Some(Lang::En));
    assert_eq!(Lang::from_tag("fra"), None);
    assert_eq!(Lang::from_tag(""), None);
    for l in Lang::ALL {
        assert_eq!(Lang::ALL[l.index()], l);
        assert_eq!(Lang::from_tag(l.code()), Some(l));
    }
}

/// Every text of a catalog, its functions called with examples. The destructuring names every
/// field: a field added to `Strings` and not here does not compile.
fn texts(s: &Strings) -> Vec<String> {
    let Strings {
        code,
        name,
        decimal,
        colon,
        percent,
        months,
        months_long,
        day_month,
        day_month_year,
        unit_s,
        unit_min,
        unit_h,
        unit_d,
        under_a_second,
        just_now,
        days,
        ago,
        expires_in,
        expired,
        monitored_by,
        feed_atom,
        feed_rss,
        language,
        not_found_title,
        not_found_text,
        error_title,
        error_text,
        follow_updates,
        atom_feed,
        rss_feed,
        unknown,
        up,
        degraded,
        down,
        maintenance,
        group_all,
        group_some,
        investigating,
        identified,
        monitoring,
        resolved,
        ongoing,
        no_impact,
        minor_impact,
        major_impact,
        critical_impact,
        since,
        ongoing_for,
        lasted,
        certificate,
        issued_by,
        col_time,
        col_result,
        col_code,
        col_took,
        col_error,
        last_checked,
        took,
        code_of,
        no_data,
        no_checks,
        waiting,
        major_outage,
        partial_outage,
        degraded_performance,
        under_maintenance,
        all_known_operational,
        all_operational,
        active_incidents,
        maintenance_heading,
        in_progress,
        planned,
        past_incidents,
        incident_history,
        days_ago_90,
        today,
        uptime_of,
        no_data_yet,
        legend_up,
        legend_degraded,
        legend_partial,
        legend_down,
        legend_maintenance,
        legend_nodata,
        bar_label,
        day_down,
        day_uptime,
        day_no_data,
        day_maintenance,
        what_we_check,
        target,
        uptime,
        since_day,
        uptime_note,
        last_90_days,
        no_notable_days,
        notable_days,
        col_day,
        col_down,
        maintenance_aside,
        days_without_data,
        response_time_24h,
        no_probes_24h,
        chart_label,
        median,
        p95_long,
        p95_short,
        col_median,
        per_hour_note,
        figures_per_hour,
        hour_utc,
        phases,
        windows,
        incidents,
        no_incidents_recorded,
        false_alarms,
        quote,
        or,
        http_answers,
        after_redirects,
        body_contains,
        body_contains_expected,
        body_lacks,
        body_lacks_trouble,
        body_matches,
        json_equals,
        json_has,
        json_expected,
        any_certificate,
        tcp_accepts,
        and_tls,
        reply_contains,
        reply_contains_expected,
        reply_matches,
        dns_resolves,
        dns_answers,
        resolves_to,
        resolves_to_expected,
        nothing_else,
        slower_degraded,
        slower_down,
        cadence,
        affects,
        cause,
        postmortem,
        timeline,
        evidence,
        no_incidents_reported,
        maintenance_item,
        maintenance_in_progress_item,
        newer,
        older,
        get_email_from,
        subscribe_intro,
        email_address,
        about,
        leave_empty_for_all,
        everything_in,
        honeypot,
        confirm_first,
        subscribe,
        inbox_title,
        inbox_text,
        confirm_title,
        confirm,
        subscribed_title,
        scope_everything,
        scope_nothing,
        scope_group,
        and,
        subscribed_text,
        unsubscribe,
        unsubscribe_question,
        unsubscribed_title,
        unsubscribed_text,
        stale_title,
        stale_text,
        subscribe_again,
        to_get_a_new_one,
        choice_gone,
        too_many_title,
        too_many_text,
    } = s;
    let mut out: Vec<String> = [
        code,
        name,
        colon,
        percent,
        unit_s,
        unit_min,
        unit_h,
        unit_d,
        under_a_second,
        just_now,
        monitored_by,
        language,
        not_found_title,
        not_found_text,
        error_title,
        error_text,
        follow_updates,
        atom_feed,
        rss_feed,
        investigating,
        identified,
        monitoring,
        resolved,
        ongoing,
        no_impact,
        minor_impact,
        major_impact,
        critical_impact,
        since,
        ongoing_for,
        lasted,
        certificate,
        issued_by,
        col_time,
        col_result,
        col_code,
        col_took,
        col_error,
        last_checked,
        took,
        code_of,
        no_data,
        no_checks,
        waiting,
        major_outage,
        partial_outage,
        degraded_performance,
        under_maintenance,
        all_known_operational,
        all_operational,
        active_incidents,
        maintenance_heading,
        in_progress,
        planned,
        past_incidents,
        incident_history,
        days_ago_90,
        today,
        no_data_yet,
        legend_up,
        legend_degraded,
        legend_partial,
        legend_down,
        legend_maintenance,
        legend_nodata,
        bar_label,
        what_we_check,
        target,
        uptime,
        since_day,
        uptime_note,
        last_90_days,
        no_notable_days,
        notable_days,
        col_day,
        col_down,
        maintenance_aside,
        response_time_24h,
        no_probes_24h,
        median,
        p95_long,
        p95_short,
        col_median,
        per_hour_note,
        figures_per_hour,
        hour_utc,
        incidents,
        no_incidents_recorded,
        or,
        after_redirects,
        body_contains_expected,
        body_lacks_trouble,
        body_matches,
        json_expected,
        any_certificate,
        tcp_accepts,
        and_tls,
        reply_contains_expected,
        reply_matches,
        resolves_to_expected,
        nothing_else,
        affects,
        cause,
        postmortem,
        timeline,
        evidence,
        no_incidents_reported,
        maintenance_item,
        maintenance_in_progress_item,
        newer,
        older,
        subscribe_intro,
        email_address,
        about,
        leave_empty_for_all,
        everything_in,
        honeypot,
        confirm_first,
        subscribe,
        inbox_title,
        inbox_text,
        confirm_title,
        confirm,
        subscribed_title,
        scope_everything,
        scope_nothing,
        and,
        unsubscribe,
        unsubscribed_title,
        stale_title,
        stale_text,
        subscribe_again,
        to_get_a_new_one,
        choice_gone,
        too_many_title,
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    out.push(decimal.to_string());
    out.extend(
        months
            .iter()
            .chain(months_long)
            .chain(windows)
            .chain(phases)
            .map(|t| t.to_string()),
    );
    for w in [unknown, up, degraded, down, maintenance] {
        out.extend([w.label.to_string(), w.lower.to_string()]);
    }
    out.extend([
        day_month(3, "x"),
        day_month_year(3, "x", 2025),
        days(1),
        days(3),
        ago("x"),
        expires_in("x"),
        expired("x"),
        feed_atom("x"),
        feed_rss("x"),
        group_all(5, up),
        group_some(1, 5, down),
        uptime_of("x"),
        day_down("x", "y", "z"),
        day_uptime("x", "y"),
        day_no_data("x"),
        day_maintenance("x"),
        days_without_data(1),
        days_without_data(3),
        chart_label(true, "x", 0),
        chart_label(false, "x", 1),
        chart_label(false, "x", 3),
        false_alarms(1),
        false_alarms(2),
        quote("x"),
        http_answers("x", "y", "z"),
        body_contains("x"),
        body_lacks("x"),
        json_equals("x", "y"),
        json_has("x"),
        reply_contains("x"),
        dns_resolves("x"),
        dns_answers("x", "y"),
        resolves_to("x"),
        slower_degraded("x"),
        slower_down("x"),
        cadence("x", 1),
        cadence("x", 3),
        get_email_from("x"),
        scope_group("x"),
        subscribed_text("x"),
        unsubscribe_question("x"),
        unsubscribed_text("x"),
        too_many_text(3),
    ]);
    out
}

#[test]
fn every_catalog_says_every_message() {
    let english = texts(Lang::En.strings());
    for l in Lang::ALL {
        let all = texts(l.strings());
        assert_eq!(all.len(), english.len());
        for (n, t) in all.iter().enumerate() {
            assert!(!t.trim().is_empty(), "{l:?}: text {n} is empty");
        }
    }
    // The French catalog is French, not a copy.
    let french = texts(Lang::Fr.strings());
    let same = english.iter().zip(&french).filter(|(a, b)| a == b).count();
    assert!(
        same < english.len() / 4,
        "{same} texts are the same in both"
    );
}

#[test]
fn english_names_the_phases_as_the_model_does() {
    for p in crate::model::Phase::ALL {
        assert_eq!(ENGLISH.phases[p.index()], p.as_str());
    }
}
