//! The English catalog: the words the pages have always used. Text only; it never decides
//! anything.

use super::{StateWords, Strings};

pub(super) static EN: Strings = Strings {
    code: "en",
    name: "English",

    decimal: '.',
    colon: ": ",
    percent: "%",
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    months_long: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    day_month: |day, month| format!("{month} {day}"),
    day_month_year: |day, month, year| format!("{month} {day}, {year}"),
    unit_s: "s",
    unit_min: "min",
    unit_h: "h",
    unit_d: "d",
    under_a_second: "under 1 s",
    just_now: "just now",
    days: |n| match n {
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    },
    ago: |age| format!("{age} ago"),
    expires_in: |left| format!("expires in {left}"),
    expired: |ago| format!("expired {ago}"),

    monitored_by: "Monitored by ",
    feed_atom: |site| format!("{site} incident history (Atom)"),
    feed_rss: |site| format!("{site} incident history (RSS)"),
    language: "Language",
    not_found_title: "Not found",
    not_found_text: "There is nothing at this address.",
    error_title: "Something went wrong",
    error_text: "The error was logged. Please try again in a moment.",
    follow_updates: "Follow updates",
    atom_feed: "Atom feed",
    rss_feed: "RSS feed",

    unknown: StateWords {
        label: "Unknown",
        lower: "unknown",
    },
    up: StateWords {
        label: "Operational",
        lower: "operational",
    },
    degraded: StateWords {
        label: "Degraded",
        lower: "degraded",
    },
    down: StateWords {
        label: "Down",
        lower: "down",
    },
    maintenance: StateWords {
        label: "Under maintenance",
        lower: "under maintenance",
    },
    group_all: |total, s| format!("All {total} {}", s.lower),
    group_some: |n, total, s| format!("{n} of {total} {}", s.lower),
    investigating: "Investigating",
    identified: "Identified",
    monitoring: "Monitoring",
    resolved: "Resolved",
    ongoing: "Ongoing",
    no_impact: "No impact",
    minor_impact: "Degraded performance",
    major_impact: "Major outage",
    critical_impact: "Critical outage",

    since: "Since ",
    ongoing_for: " · ongoing for ",
    lasted: " · lasted ",
    certificate: "Certificate",
    issued_by: " · issued by ",
    col_time: "Time",
    col_result: "Result",
    col_code: "Code",
    col_took: "Took",
    col_error: "Error",
    last_checked: "Last checked ",
    took: " in ",
    code_of: " · code ",
    no_data: "no data",

    no_checks: "No checks are configured",
    waiting: "Status unknown: waiting for the first probes",
    major_outage: "Major outage",
    partial_outage: "Partial outage",
    degraded_performance: "Degraded performance",
    under_maintenance: "Under maintenance",
    all_known_operational: "All known systems operational",
    all_operational: "All systems operational",
    active_incidents: "Active incidents",
    maintenance_heading: "Maintenance",
    in_progress: "In progress",
    planned: "Planned",
    past_incidents: "Past incidents",
    incident_history: "Incident history",
    days_ago_90: "90 days ago",
    today: "today",
    uptime_of: |p| format!("{p} uptime"),
    no_data_yet: "no data yet",
    legend_up: "operational",
    legend_degraded: "degraded",
    legend_partial: "outage under 1 h",
    legend_down: "outage of 1 h or more",
    legend_maintenance: "maintenance",
    legend_nodata: "no data",

    other_checks: "Other checks",
    show_group: |n, group| match n {
        1 => format!("Show the check of {group}"),
        n => format!("Show the {n} checks of {group}"),
    },
    all_checks: "All checks",
    find_check: "Find a check",
    name_or_group: "Name or group",
    search: "Search",
    search_found: |n, shown| match n {
        0 => "No check matches.".to_string(),
        1 => "1 check matches.".to_string(),
        n if n > shown => format!("{n} checks match; the first {shown} are shown."),
        n => format!("{n} checks match."),
    },

    bar_label: "Daily status for the last 90 days, oldest first",
    day_down: |date, uptime, down| format!("{date}: {uptime} uptime, down {down}"),
    day_uptime: |date, uptime| format!("{date}: {uptime} uptime"),
    day_no_data: |date| format!("{date}: no data"),
    day_maintenance: |date| format!("{date}: maintenance"),

    what_we_check: "What we check: ",
    target: "Target: ",
    uptime: "Uptime",
    since_day: " since ",
    uptime_note: "Time under maintenance is left out; a window without any probe says “no data”.",
    last_90_days: "Last 90 days",
    no_notable_days: "No downtime, degradation, maintenance or incident on any day of the last 90.",
    notable_days: "Days with downtime, degradation, maintenance or incidents, newest first (UTC days)",
    col_day: "Day",
    col_down: "Down",
    maintenance_aside: " (maintenance)",
    days_without_data: |n| format!("{n} of the 90 days have no data."),
    response_time_24h: "Response time, last 24 hours",
    no_probes_24h: "No probes in the last 24 hours.",
    chart_label: |phases, slowest, missing| {
        format!(
            "Response time per hour: median and 95th percentile as lines{}; the slowest hour's 95th percentile was {slowest}{}",
            if phases {
                ", the mean time of each phase stacked as bars"
            } else {
                ""
            },
            match missing {
                0 => String::new(),
                1 => "; one hour has no data".to_string(),
                n => format!("; {n} hours have no data"),
            }
        )
    },
    median: "— median",
    p95_long: "— 95th percentile",
    p95_short: "95th",
    col_median: "Median",
    per_hour_note: " · per hour, times in UTC; no line where an hour has no data",
    figures_per_hour: "Figures per hour",
    hour_utc: "Hour (UTC)",
    phases: ["resolve", "connect", "tls", "processing", "transfer"],
    windows: ["24h", "7d", "30d", "90d", "1y"],
    incidents: "Incidents",
    no_incidents_recorded: "No incidents recorded.",
    false_alarms: |n| {
        format!(
            "{n} {} marked a false alarm by an admin: the probes were wrong, so that time counts as up in the figures above.",
            if n == 1 {
                "detected incident was"
            } else {
                "detected incidents were"
            }
        )
    },

    quote: |text| format!("“{text}”"),
    or: " or ",
    http_answers: |protocol, statuses, timeout| {
        format!("{protocol} answers {statuses} within {timeout}")
    },
    after_redirects: " (after redirects)",
    body_contains: |text| format!(", body contains {text}"),
    body_contains_expected: ", body contains an expected text",
    body_lacks: |text| format!(", body does not contain {text}"),
    body_lacks_trouble: ", body lacks a text that means trouble",
    body_matches: ", body matches an expected pattern",
    json_equals: |field, value| format!(", JSON field {field} equals {value}"),
    json_has: |field| format!(", JSON has the field {field}"),
    json_expected: ", JSON answer has the expected value",
    any_certificate: " (any certificate accepted)",
    tcp_accepts: "TCP port accepts a connection",
    and_tls: " and a TLS handshake",
    reply_contains: |text| format!(", reply contains {text}"),
    reply_contains_expected: ", reply contains an expected text",
    reply_matches: ", reply matches an expected pattern",
    dns_resolves: |record| format!("DNS {record} record resolves"),
    dns_answers: |record, rcode| format!("DNS {record} query answers {rcode}"),
    resolves_to: |answers| format!(" to {answers}"),
    resolves_to_expected: " to the expected answers",
    nothing_else: ", and nothing else",
    slower_degraded: |d| format!("; slower than {d} is degraded"),
    slower_down: |d| format!("; slower than {d} is down"),
    cadence: |every, failures| match failures {
        1 => format!("every {every}; down at the first failure"),
        n => format!("every {every}; down after {n} failures in a row"),
    },

    affects: "Affects: ",
    cause: "Cause",
    postmortem: "Postmortem",
    timeline: "Timeline",
    evidence: "Evidence",

    no_incidents_reported: "No incidents reported.",
    maintenance_item: "Maintenance: ",
    maintenance_in_progress_item: "Maintenance, in progress: ",
    newer: "← Newer",
    older: "Older →",

    get_email_from: |site| format!("Get email from {site}"),
    subscribe_intro: "We write when an incident opens, when it is updated and when it is resolved, and when maintenance is planned, begins and ends. Nothing else; every mail has a link to stop with one click.",
    email_address: "Email address ",
    about: "About",
    leave_empty_for_all: "Leave every box empty to hear about everything.",
    everything_in: " Everything in ",
    honeypot: "Leave this field empty ",
    confirm_first: "We send a link to confirm first. Your address is used for these mails only.",
    subscribe: "Subscribe",
    inbox_title: "Check your inbox",
    inbox_text: "If the address can get mail, a message is on its way with what to do next. The link in it works for 48 hours.",
    confirm_title: "Confirm your subscription",
    confirm: "Confirm",
    subscribed_title: "You are subscribed",
    scope_everything: "everything on the status page",
    scope_nothing: "nothing",
    scope_group: |group| format!("the group {group}"),
    and: " and ",
    subscribed_text: |scope| {
        format!("You will get email about {scope}. Every mail has a link to stop.")
    },
    unsubscribe: "Unsubscribe",
    unsubscribe_question: |site| format!("Stop getting email from {site}?"),
    unsubscribed_title: "You are unsubscribed",
    unsubscribed_text: |site| {
        format!("This address gets no more email from {site}. Its subscription was deleted.")
    },
    stale_title: "This link does not work (any more)",
    stale_text: "It may have expired (links work for 48 hours), been used already, or been cut short when it was copied. ",
    subscribe_again: "Subscribe again",
    to_get_a_new_one: " to get a new one.",
    choice_gone: "One of the choices is no longer on the status page. Reload the page and choose again.",
    too_many_title: "Too many requests",
    too_many_text: |minutes| {
        format!(
            "Too many requests to subscribe from here or for this address. Try again in {minutes} minutes."
        )
    },
};
