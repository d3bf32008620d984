//! The French catalog, for the many volunteers who map in French-speaking countries. Text
//! only; it never decides anything. Spaces before `:` and `%` are no-break spaces.

use super::{StateWords, Strings};

pub(super) static FR: Strings = Strings {
    code: "fr",
    name: "Français",

    decimal: ',',
    colon: "\u{a0}: ",
    percent: "\u{a0}%",
    months: [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ],
    months_long: [
        "Janvier",
        "Février",
        "Mars",
        "Avril",
        "Mai",
        "Juin",
        "Juillet",
        "Août",
        "Septembre",
        "Octobre",
        "Novembre",
        "Décembre",
    ],
    day_month: |day, month| match day {
        1 => format!("1er {month}"),
        day => format!("{day} {month}"),
    },
    day_month_year: |day, month, year| match day {
        1 => format!("1er {month} {year}"),
        day => format!("{day} {month} {year}"),
    },
    unit_s: "s",
    unit_min: "min",
    unit_h: "h",
    unit_d: "j",
    under_a_second: "moins d’1 s",
    just_now: "à l’instant",
    days: |n| match n {
        1 => "1 jour".to_string(),
        n => format!("{n} jours"),
    },
    ago: |age| format!("il y a {age}"),
    expires_in: |left| format!("expire dans {left}"),
    expired: |ago| format!("expiré {ago}"),

    monitored_by: "Surveillé par ",
    feed_atom: |site| format!("{site}, historique des incidents (Atom)"),
    feed_rss: |site| format!("{site}, historique des incidents (RSS)"),
    language: "Langue",
    not_found_title: "Page introuvable",
    not_found_text: "Il n’y a rien à cette adresse.",
    error_title: "Une erreur est survenue",
    error_text: "L’erreur a été consignée. Réessayez dans un instant.",
    follow_updates: "Suivre les mises à jour",
    atom_feed: "Flux Atom",
    rss_feed: "Flux RSS",

    unknown: StateWords {
        label: "Inconnu",
        lower: "inconnu",
    },
    up: StateWords {
        label: "Opérationnel",
        lower: "opérationnel",
    },
    degraded: StateWords {
        label: "Dégradé",
        lower: "dégradé",
    },
    down: StateWords {
        label: "En panne",
        lower: "en panne",
    },
    maintenance: StateWords {
        label: "En maintenance",
        lower: "en maintenance",
    },
    // The state leads, so that no adjective has to agree with a number.
    group_all: |total, s| format!("{}\u{a0}: {total} sur {total}", s.label),
    group_some: |n, total, s| format!("{}\u{a0}: {n} sur {total}", s.label),
    investigating: "Analyse en cours",
    identified: "Cause identifiée",
    monitoring: "Sous surveillance",
    resolved: "Résolu",
    ongoing: "En cours",
    no_impact: "Sans impact",
    minor_impact: "Performances dégradées",
    major_impact: "Panne majeure",
    critical_impact: "Panne critique",

    since: "Depuis le ",
    ongoing_for: " · en cours depuis ",
    lasted: " · a duré ",
    certificate: "Certificat",
    issued_by: " · émis par ",
    col_time: "Heure",
    col_result: "Résultat",
    col_code: "Code",
    col_took: "Durée",
    col_error: "Erreur",
    last_checked: "Dernière vérification ",
    took: " en ",
    code_of: " · code ",
    no_data: "aucune donnée",

    no_checks: "Aucune vérification n’est configurée",
    waiting: "État inconnu\u{a0}: en attente des premières sondes",
    major_outage: "Panne majeure",
    partial_outage: "Panne partielle",
    degraded_performance: "Performances dégradées",
    under_maintenance: "En maintenance",
    all_known_operational: "Tous les systèmes connus sont opérationnels",
    all_operational: "Tous les systèmes sont opérationnels",
    active_incidents: "Incidents en cours",
    maintenance_heading: "Maintenance",
    in_progress: "En cours",
    planned: "Prévue",
    past_incidents: "Incidents passés",
    incident_history: "Historique des incidents",
    days_ago_90: "il y a 90 jours",
    today: "aujourd’hui",
    uptime_of: |p| format!("{p} de disponibilité"),
    no_data_yet: "pas encore de données",
    legend_up: "opérationnel",
    legend_degraded: "dégradé",
    legend_partial: "panne de moins d’1 h",
    legend_down: "panne d’1 h ou plus",
    legend_maintenance: "maintenance",
    legend_nodata: "aucune donnée",

    other_checks: "Autres vérifications",
    show_group: |n, group| match n {
        1 => format!("Afficher la vérification du groupe {group}"),
        n => format!("Afficher les {n} vérifications du groupe {group}"),
    },
    all_checks: "Toutes les vérifications",
    find_check: "Trouver une vérification",
    name_or_group: "Nom ou groupe",
    search: "Rechercher",
    search_found: |n, shown| match n {
        0 => "Aucune vérification ne correspond.".to_string(),
        1 => "1 vérification correspond.".to_string(),
        n if n > shown => {
            format!("{n} vérifications correspondent\u{a0}; les {shown} premières sont affichées.")
        }
        n => format!("{n} vérifications correspondent."),
    },

    bar_label: "État quotidien des 90 derniers jours, du plus ancien au plus récent",
    day_down: |date, uptime, down| {
        format!("{date}\u{a0}: {uptime} de disponibilité, en panne {down}")
    },
    day_uptime: |date, uptime| format!("{date}\u{a0}: {uptime} de disponibilité"),
    day_no_data: |date| format!("{date}\u{a0}: aucune donnée"),
    day_maintenance: |date| format!("{date}\u{a0}: maintenance"),

    what_we_check: "Ce que nous vérifions\u{a0}: ",
    target: "Cible\u{a0}: ",
    uptime: "Disponibilité",
    since_day: " depuis le ",
    uptime_note: "Le temps de maintenance n’est pas compté\u{a0}; une période sans aucune sonde indique «\u{a0}aucune donnée\u{a0}».",
    last_90_days: "90 derniers jours",
    no_notable_days: "Aucune panne, dégradation, maintenance ni aucun incident sur les 90 derniers jours.",
    notable_days: "Jours avec panne, dégradation, maintenance ou incident, du plus récent au plus ancien (jours UTC)",
    col_day: "Jour",
    col_down: "Temps en panne",
    maintenance_aside: " (maintenance)",
    days_without_data: |n| match n {
        1 => "1 des 90 jours n’a aucune donnée.".to_string(),
        n => format!("{n} des 90 jours n’ont aucune donnée."),
    },
    response_time_24h: "Temps de réponse, dernières 24 heures",
    no_probes_24h: "Aucune sonde ces dernières 24 heures.",
    chart_label: |phases, slowest, missing| {
        format!(
            "Temps de réponse par heure\u{a0}: médiane et 95e centile en lignes{}\u{a0}; le 95e centile de l’heure la plus lente était de {slowest}{}",
            if phases {
                ", durée moyenne de chaque phase empilée en barres"
            } else {
                ""
            },
            match missing {
                0 => String::new(),
                1 => "\u{a0}; une heure n’a pas de données".to_string(),
                n => format!("\u{a0}; {n}\u{a0}heures n’ont pas de données"),
            }
        )
    },
    median: "— médiane",
    p95_long: "— 95e centile",
    p95_short: "95e",
    col_median: "Médiane",
    per_hour_note: " · par heure, heures UTC\u{a0}; pas de ligne là où une heure n’a pas de données",
    figures_per_hour: "Chiffres par heure",
    hour_utc: "Heure (UTC)",
    phases: ["résolution", "connexion", "tls", "traitement", "transfert"],
    windows: ["24 h", "7 j", "30 j", "90 j", "1 an"],
    incidents: "Incidents",
    no_incidents_recorded: "Aucun incident enregistré.",
    false_alarms: |n| {
        format!(
            "{n} {} comme fausse alerte par un administrateur\u{a0}: les sondes se trompaient, ce temps compte donc comme disponible dans les chiffres ci-dessus.",
            if n == 1 {
                "incident détecté a été marqué"
            } else {
                "incidents détectés ont été marqués"
            }
        )
    },

    quote: |text| format!("«\u{a0}{text}\u{a0}»"),
    or: " ou ",
    http_answers: |protocol, statuses, timeout| {
        format!("{protocol} répond {statuses} en moins de {timeout}")
    },
    after_redirects: " (après redirections)",
    body_contains: |text| format!(", le corps contient {text}"),
    body_contains_expected: ", le corps contient un texte attendu",
    body_lacks: |text| format!(", le corps ne contient pas {text}"),
    body_lacks_trouble: ", le corps ne contient pas de texte signalant un problème",
    body_matches: ", le corps correspond à un motif attendu",
    json_equals: |field, value| format!(", le champ JSON {field} vaut {value}"),
    json_has: |field| format!(", le JSON contient le champ {field}"),
    json_expected: ", la réponse JSON a la valeur attendue",
    any_certificate: " (tout certificat accepté)",
    tcp_accepts: "Le port TCP accepte une connexion",
    and_tls: " et une négociation TLS",
    reply_contains: |text| format!(", la réponse contient {text}"),
    reply_contains_expected: ", la réponse contient un texte attendu",
    reply_matches: ", la réponse correspond à un motif attendu",
    dns_resolves: |record| format!("L’enregistrement DNS {record} se résout"),
    dns_answers: |record, rcode| format!("La requête DNS {record} reçoit la réponse {rcode}"),
    resolves_to: |answers| format!(" vers {answers}"),
    resolves_to_expected: " vers les réponses attendues",
    nothing_else: ", et rien d’autre",
    slower_degraded: |d| format!("\u{a0}; au-delà de {d}, dégradé"),
    slower_down: |d| format!("\u{a0}; au-delà de {d}, en panne"),
    cadence: |every, failures| match failures {
        1 => format!("à intervalles de {every}\u{a0}; en panne dès le premier échec"),
        n => format!("à intervalles de {every}\u{a0}; en panne après {n} échecs consécutifs"),
    },

    affects: "Concerne\u{a0}: ",
    cause: "Cause",
    postmortem: "Analyse après incident",
    timeline: "Chronologie",
    evidence: "Preuves",

    no_incidents_reported: "Aucun incident signalé.",
    maintenance_item: "Maintenance\u{a0}: ",
    maintenance_in_progress_item: "Maintenance en cours\u{a0}: ",
    newer: "← Plus récents",
    older: "Plus anciens →",

    get_email_from: |site| format!("Recevoir les e-mails de {site}"),
    subscribe_intro: "Nous écrivons quand un incident commence, évolue et se termine, et quand une maintenance est prévue, commence et se termine. Rien d’autre\u{a0}; chaque e-mail contient un lien pour arrêter en un clic.",
    email_address: "Adresse e-mail ",
    about: "Sujets",
    leave_empty_for_all: "Ne cochez rien pour tout recevoir.",
    everything_in: " Tout dans ",
    honeypot: "Laissez ce champ vide ",
    confirm_first: "Nous envoyons d’abord un lien de confirmation. Votre adresse ne sert qu’à ces e-mails.",
    subscribe: "S’abonner",
    inbox_title: "Consultez votre boîte de réception",
    inbox_text: "Si l’adresse peut recevoir du courrier, un message est en route avec la marche à suivre. Son lien est valable 48 heures.",
    confirm_title: "Confirmez votre abonnement",
    confirm: "Confirmer",
    subscribed_title: "Vous êtes abonné",
    scope_everything: "tout ce que montre la page d’état",
    scope_nothing: "rien",
    scope_group: |group| format!("le groupe {group}"),
    and: " et ",
    subscribed_text: |scope| {
        format!(
            "Vous recevrez des e-mails sur {scope}. Chaque e-mail contient un lien pour arrêter."
        )
    },
    unsubscribe: "Se désabonner",
    unsubscribe_question: |site| format!("Ne plus recevoir les e-mails de {site}\u{a0}?"),
    unsubscribed_title: "Vous êtes désabonné",
    unsubscribed_text: |site| {
        format!("Cette adresse ne recevra plus d’e-mails de {site}. Son abonnement a été supprimé.")
    },
    stale_title: "Ce lien ne fonctionne pas (ou plus)",
    stale_text: "Il a peut-être expiré (les liens sont valables 48 heures), déjà servi, ou été tronqué lors d’un copier-coller. ",
    subscribe_again: "Abonnez-vous à nouveau",
    to_get_a_new_one: " pour en recevoir un nouveau.",
    choice_gone: "Un des choix ne figure plus sur la page d’état. Rechargez la page et choisissez à nouveau.",
    too_many_title: "Trop de demandes",
    too_many_text: |minutes| {
        format!(
            "Trop de demandes d’abonnement depuis cet endroit ou pour cette adresse. Réessayez dans {minutes} minutes."
        )
    },
};
