//! The words of the public pages, one catalog per language ([`Strings`]: `en.rs`, `fr.rs`), and
//! the choice of a language from `Accept-Language`. Every message is a field, so a language
//! missing one does not compile; messages with numbers are functions. Pure: it never reads a
//! request, the clock or the config (`web::language` brings the request; `words` the numbers).

mod en;
mod fr;

/// The English catalog, for text written once for everyone: timeline notes, feeds, the admin.
pub(crate) const ENGLISH: &Strings = Lang::En.strings();

/// A language the public pages are written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];
    pub const COUNT: usize = Lang::ALL.len();

    /// The language's tag, as `<html lang>` and `Content-Language` take it.
    pub fn code(self) -> &'static str {
        self.strings().code
    }

    /// Its position in [`Lang::ALL`], to keep one of something per language in an array.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The language's catalog.
    pub(crate) const fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &en::EN,
            Lang::Fr => &fr::FR,
        }
    }

    /// The language a tag names by its primary subtag: "fr", "FR", "fr-CA" are French.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The language `Accept-Language` prefers (RFC 9110 § 12.5.4): the highest quality wins,
    /// the first listed among equals; `*` stands for every language not named; `q=0` refuses.
    /// Anything malformed or unknown, or nothing acceptable, is English.
    pub fn negotiate(header: &str) -> Lang {
        let mut named = [None::<(f32, usize)>; Lang::COUNT];
        let mut any = None::<(f32, usize)>;
        for (position, item) in header.split(',').enumerate() {
            let mut parts = item.split(';').map(str::trim);
            let tag = parts.next().unwrap_or_default();
            let Some(q) = quality(parts) else { continue };
            let slot = match tag {
                "*" => &mut any,
                tag => match Lang::from_tag(tag) {
                    Some(l) => &mut named[l.index()],
                    None => continue,
                },
            };
            // A language listed twice ("fr-CA;q=0.8, fr;q=0.5") keeps its best quality.
            if slot.is_none_or(|(best, _)| q > best) {
                *slot = Some((q, position));
            }
        }
        Lang::ALL
            .into_iter()
            .filter_map(|l| named[l.index()].or(any).map(|(q, at)| (l, q, at)))
            .filter(|&(_, q, _)| q > 0.0)
            .min_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)))
            .map_or(Lang::En, |(l, _, _)| l)
    }
}

/// An item's quality: 1 without `q=`, `None` when its `q` is not a number from 0 to 1.
fn quality<'a>(mut params: impl Iterator<Item = &'a str>) -> Option<f32> {
    match params.find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))) {
        None => Some(1.0),
        Some(q) => q.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)),
    }
}

/// How each state of a check reads: as a label ("Degraded") and inside a sentence ("degraded").
pub(crate) struct StateWords {
    pub(crate) label: &'static str,
    pub(crate) lower: &'static str,
}

/// One language's words. A field per message; functions for the ones with numbers in them.
pub(crate) struct Strings {
    /// The language's tag ("en").
    pub(crate) code: &'static str,
    /// Its name in itself ("English"), for the switch in the footer.
    pub(crate) name: &'static str,

    // Numbers, dates and durations (used by `words`).
    pub(crate) decimal: char,
    /// Between a label and what it labels: ": ", or a no-break space and ": ".
    pub(crate) colon: &'static str,
    /// What follows a number to make it a percentage ("%", or a space and "%").
    pub(crate) percent: &'static str,
    pub(crate) months: [&'static str; 12],
    pub(crate) months_long: [&'static str; 12],
    /// A day of a month: "Dec 3", "3 déc.".
    pub(crate) day_month: fn(u32, &str) -> String,
    /// A day with its year: "Dec 3, 2025", "3 déc. 2025".
    pub(crate) day_month_year: fn(u32, &str, i32) -> String,
    pub(crate) unit_s: &'static str,
    pub(crate) unit_min: &'static str,
    pub(crate) unit_h: &'static str,
    pub(crate) unit_d: &'static str,
    pub(crate) under_a_second: &'static str,
    pub(crate) just_now: &'static str,
    /// "1 day", "12 days".
    pub(crate) days: fn(u64) -> String,
    /// "3 min ago", "il y a 3 min".
    pub(crate) ago: fn(&str) -> String,
    /// "expires in 5 h", "expire dans 5 h".
    pub(crate) expires_in: fn(&str) -> String,
    /// "expired 3 days ago".
    pub(crate) expired: fn(&str) -> String,

    // The frame.
    pub(crate) monitored_by: &'static str,
    pub(crate) feed_atom: fn(&str) -> String,
    pub(crate) feed_rss: fn(&str) -> String,
    pub(crate) language: &'static str,
    pub(crate) not_found_title: &'static str,
    pub(crate) not_found_text: &'static str,
    pub(crate) error_title: &'static str,
    pub(crate) error_text: &'static str,
    /// The header's corner of links to follow the page: its name, and the feeds' links (the
    /// subscription's link says [`Strings::subscribe`]).
    pub(crate) follow_updates: &'static str,
    pub(crate) atom_feed: &'static str,
    pub(crate) rss_feed: &'static str,

    // States, statuses and impacts.
    pub(crate) unknown: StateWords,
    pub(crate) up: StateWords,
    pub(crate) degraded: StateWords,
    pub(crate) down: StateWords,
    pub(crate) maintenance: StateWords,
    /// A group whose checks are all in one state: "All 5 operational".
    pub(crate) group_all: fn(usize, &StateWords) -> String,
    /// "1 of 5 down".
    pub(crate) group_some: fn(usize, usize, &StateWords) -> String,
    pub(crate) investigating: &'static str,
    pub(crate) identified: &'static str,
    pub(crate) monitoring: &'static str,
    pub(crate) resolved: &'static str,
    pub(crate) ongoing: &'static str,
    pub(crate) no_impact: &'static str,
    pub(crate) minor_impact: &'static str,
    pub(crate) major_impact: &'static str,
    pub(crate) critical_impact: &'static str,

    // Incidents and probes in lists.
    pub(crate) since: &'static str,
    pub(crate) ongoing_for: &'static str,
    pub(crate) lasted: &'static str,
    pub(crate) certificate: &'static str,
    pub(crate) issued_by: &'static str,
    pub(crate) col_time: &'static str,
    pub(crate) col_result: &'static str,
    pub(crate) col_code: &'static str,
    pub(crate) col_took: &'static str,
    pub(crate) col_error: &'static str,
    pub(crate) last_checked: &'static str,
    /// Between the age of a probe and its response time: "in", "en".
    pub(crate) took: &'static str,
    pub(crate) code_of: &'static str,
    pub(crate) no_data: &'static str,

    // The front page.
    pub(crate) no_checks: &'static str,
    pub(crate) waiting: &'static str,
    pub(crate) major_outage: &'static str,
    pub(crate) partial_outage: &'static str,
    pub(crate) degraded_performance: &'static str,
    pub(crate) under_maintenance: &'static str,
    pub(crate) all_known_operational: &'static str,
    pub(crate) all_operational: &'static str,
    pub(crate) active_incidents: &'static str,
    pub(crate) maintenance_heading: &'static str,
    pub(crate) in_progress: &'static str,
    pub(crate) planned: &'static str,
    pub(crate) past_incidents: &'static str,
    pub(crate) incident_history: &'static str,
    pub(crate) days_ago_90: &'static str,
    pub(crate) today: &'static str,
    /// "99.95% uptime".
    pub(crate) uptime_of: fn(&str) -> String,
    pub(crate) no_data_yet: &'static str,
    pub(crate) legend_up: &'static str,
    pub(crate) legend_degraded: &'static str,
    pub(crate) legend_partial: &'static str,
    pub(crate) legend_down: &'static str,
    pub(crate) legend_maintenance: &'static str,
    pub(crate) legend_nodata: &'static str,

    // A big front page's folded groups, a group's own page and the search.
    /// The heading of the checks outside any group, when they are folded.
    pub(crate) other_checks: &'static str,
    /// A folded group's link to its page: "Show the 60 checks of Edge" from the number of
    /// checks and the group's heading.
    pub(crate) show_group: fn(usize, &str) -> String,
    /// The link from a group's page and the search back to the front page.
    pub(crate) all_checks: &'static str,
    /// The search's title and the label of its box on the front page.
    pub(crate) find_check: &'static str,
    /// The label of the search's box on its own page.
    pub(crate) name_or_group: &'static str,
    pub(crate) search: &'static str,
    /// "103 checks match; the first 100 are shown." from the number found and the most listed.
    pub(crate) search_found: fn(usize, usize) -> String,

    // The 90-day bar.
    pub(crate) bar_label: &'static str,
    /// "Dec 3: 98.33% uptime, down 1 min" from the date, the uptime and the time down.
    pub(crate) day_down: fn(&str, &str, &str) -> String,
    pub(crate) day_uptime: fn(&str, &str) -> String,
    pub(crate) day_no_data: fn(&str) -> String,
    pub(crate) day_maintenance: fn(&str) -> String,

    // A check's page.
    pub(crate) what_we_check: &'static str,
    pub(crate) target: &'static str,
    pub(crate) uptime: &'static str,
    /// Before the first day with data of a window that reaches back further: " since ".
    pub(crate) since_day: &'static str,
    pub(crate) uptime_note: &'static str,
    pub(crate) last_90_days: &'static str,
    pub(crate) no_notable_days: &'static str,
    /// The caption of the table of days that were not all up.
    pub(crate) notable_days: &'static str,
    pub(crate) col_day: &'static str,
    pub(crate) col_down: &'static str,
    /// After a day's uptime when it had maintenance: " (maintenance)".
    pub(crate) maintenance_aside: &'static str,
    /// "3 of the 90 days have no data."
    pub(crate) days_without_data: fn(usize) -> String,
    pub(crate) response_time_24h: &'static str,
    pub(crate) no_probes_24h: &'static str,
    /// The chart's description: with phases or not, the slowest hour's 95th percentile, and how
    /// many hours have no data.
    pub(crate) chart_label: fn(bool, &str, i64) -> String,
    pub(crate) median: &'static str,
    pub(crate) p95_long: &'static str,
    pub(crate) p95_short: &'static str,
    pub(crate) col_median: &'static str,
    /// After the chart's key: per hour, in UTC, gaps where there is no data.
    pub(crate) per_hour_note: &'static str,
    pub(crate) figures_per_hour: &'static str,
    pub(crate) hour_utc: &'static str,
    /// The phases of a probe, in `model::Phase::ALL`'s order.
    pub(crate) phases: [&'static str; crate::model::Phase::COUNT],
    /// The uptime windows' names, in `uptime::WINDOWS`' order, then the year's.
    pub(crate) windows: [&'static str; 5],
    pub(crate) incidents: &'static str,
    pub(crate) no_incidents_recorded: &'static str,
    /// "2 detected incidents were marked a false alarm…".
    pub(crate) false_alarms: fn(usize) -> String,

    // What a check checks (`web::checked`), as "what we check: …".
    /// A text quoted: “ok”, « ok ».
    pub(crate) quote: fn(&str) -> String,
    /// Between alternatives: " or ".
    pub(crate) or: &'static str,
    /// "HTTPS answers 200–299 within 5 s" from the protocol, the statuses and the timeout.
    pub(crate) http_answers: fn(&str, &str, &str) -> String,
    pub(crate) after_redirects: &'static str,
    /// ", body contains “ok”".
    pub(crate) body_contains: fn(&str) -> String,
    pub(crate) body_contains_expected: &'static str,
    /// ", body does not contain “error”".
    pub(crate) body_lacks: fn(&str) -> String,
    pub(crate) body_lacks_trouble: &'static str,
    pub(crate) body_matches: &'static str,
    /// ", JSON field “status” equals “"ok"”" from the field and the value.
    pub(crate) json_equals: fn(&str, &str) -> String,
    /// ", JSON has the field “status”".
    pub(crate) json_has: fn(&str) -> String,
    pub(crate) json_expected: &'static str,
    pub(crate) any_certificate: &'static str,
    pub(crate) tcp_accepts: &'static str,
    pub(crate) and_tls: &'static str,
    /// ", reply contains “+OK”".
    pub(crate) reply_contains: fn(&str) -> String,
    pub(crate) reply_contains_expected: &'static str,
    pub(crate) reply_matches: &'static str,
    /// "DNS A record resolves" from the record type.
    pub(crate) dns_resolves: fn(&str) -> String,
    /// "DNS A query answers NXDOMAIN" from the record type and the answer code.
    pub(crate) dns_answers: fn(&str, &str) -> String,
    /// " to “93.184.216.34”" from the answers, quoted.
    pub(crate) resolves_to: fn(&str) -> String,
    pub(crate) resolves_to_expected: &'static str,
    pub(crate) nothing_else: &'static str,
    /// "; slower than 2 s is degraded".
    pub(crate) slower_degraded: fn(&str) -> String,
    /// "; slower than 10 s is down".
    pub(crate) slower_down: fn(&str) -> String,
    /// "every 30 s; down after 3 failures in a row" from the interval and the failures needed.
    pub(crate) cadence: fn(&str, u32) -> String,

    // An incident's page.
    pub(crate) affects: &'static str,
    pub(crate) cause: &'static str,
    pub(crate) postmortem: &'static str,
    pub(crate) timeline: &'static str,
    pub(crate) evidence: &'static str,

    // The history.
    pub(crate) no_incidents_reported: &'static str,
    pub(crate) maintenance_item: &'static str,
    pub(crate) maintenance_in_progress_item: &'static str,
    pub(crate) newer: &'static str,
    pub(crate) older: &'static str,

    // Subscriptions.
    pub(crate) get_email_from: fn(&str) -> String,
    pub(crate) subscribe_intro: &'static str,
    pub(crate) email_address: &'static str,
    pub(crate) about: &'static str,
    pub(crate) leave_empty_for_all: &'static str,
    pub(crate) everything_in: &'static str,
    pub(crate) honeypot: &'static str,
    pub(crate) confirm_first: &'static str,
    pub(crate) subscribe: &'static str,
    pub(crate) inbox_title: &'static str,
    pub(crate) inbox_text: &'static str,
    pub(crate) confirm_title: &'static str,
    pub(crate) confirm: &'static str,
    pub(crate) subscribed_title: &'static str,
    pub(crate) scope_everything: &'static str,
    pub(crate) scope_nothing: &'static str,
    /// "the group Core".
    pub(crate) scope_group: fn(&str) -> String,
    /// Before the last of a list: " and ".
    pub(crate) and: &'static str,
    /// "You will get email about {scope}…".
    pub(crate) subscribed_text: fn(&str) -> String,
    pub(crate) unsubscribe: &'static str,
    /// "Stop getting email from {site}?"
    pub(crate) unsubscribe_question: fn(&str) -> String,
    pub(crate) unsubscribed_title: &'static str,
    pub(crate) unsubscribed_text: fn(&str) -> String,
    pub(crate) stale_title: &'static str,
    pub(crate) stale_text: &'static str,
    pub(crate) subscribe_again: &'static str,
    pub(crate) to_get_a_new_one: &'static str,
    pub(crate) choice_gone: &'static str,
    pub(crate) too_many_title: &'static str,
    pub(crate) too_many_text: fn(u64) -> String,
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
