//! A front page with more checks than fit open: groups with a check down are open, the others
//! folded with a link to their own page (`/groups/{slug}`, for visitors without JavaScript) and
//! the address of their list (`/fragments/group/{slug}`, fetched when the group is opened), both
//! revalidated by ETag; an unknown group is a 404. Checks can be searched by name or group. All
//! of it in the visitor's language, like every public page.

use std::time::Duration;

use crate::daemon::{self, Daemon};

/// A daemon with `checks` TCP checks named "Service number N" in `groups` groups ("Group N",
/// round robin); every fiftieth check, from the first, is down (a closed port). Keep the
/// listener alive while the daemon runs.
pub(crate) async fn big_site(
    dir: &std::path::Path,
    checks: usize,
    groups: usize,
) -> (Daemon, std::net::TcpListener) {
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let accepting = up.try_clone().unwrap();
    std::thread::spawn(move || accepting.incoming().for_each(drop));
    let closed_port = crate::daemon::refused_port();
    let port = up.local_addr().unwrap().port();
    let mut toml = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\ntitle = \"Big status\"\n[storage]\npath = \"{db}\"\n[defaults]\ninterval = \"10s\"\ntimeout = \"2s\"\nfailure_threshold = 1\n",
    );
    for i in 0..checks {
        let port = if i % 50 == 0 { closed_port } else { port };
        toml.push_str(&format!(
            "[[check]]\nid = \"c{i}\"\nname = \"Service number {i}\"\ngroup = \"Group {}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            i % groups
        ));
    }
    (daemon::start(dir, &toml).await, up)
}

/// GETs `path` with `If-None-Match` set to its own ETag until the answer is `304` (the list says
/// "checked N s ago", so a second may pass between the two requests).
async fn revalidates(d: &Daemon, path: &str) {
    for _ in 0..20 {
        let first = d.get(path).await;
        assert_eq!(first.status, 200, "{path}");
        let tag = first.header("etag").expect("an ETag").to_string();
        assert!(tag.starts_with("W/\""), "{tag}");
        let again = daemon::get_with(d.addr, path, &[("If-None-Match", tag.as_str())]).await;
        if again.status == 304 {
            assert_eq!(again.body, "");
            return;
        }
        assert_eq!(again.status, 200, "{path}");
    }
    panic!("{path} never answered 304 to its own ETag");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_front_page_folds_quiet_groups_and_serves_them_apart() {
    let up = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let accepting = up.try_clone().unwrap();
    std::thread::spawn(move || accepting.incoming().for_each(drop));
    let port = up.local_addr().unwrap().port();
    let mut toml = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\ntitle = \"Big status\"\n[storage]\npath = \"{db}\"\n[defaults]\ninterval = \"3s\"\ntimeout = \"2s\"\nfailure_threshold = 1\n",
    );
    let groups = [("Core", 5), ("Edge nodes", 100), ("Edge-nodes", 3), ("", 2)];
    for (g, (group, n)) in groups.iter().enumerate() {
        for i in 0..*n {
            // The first check of Core is down: nothing listens on port 1.
            let port = if g == 0 && i == 0 { 1 } else { port };
            toml.push_str(&format!(
                "[[check]]\nid = \"g{g}c{i}\"\nname = \"Check {i} of group {g}\"\ngroup = \"{group}\"\ntype = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n"
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(dir.path(), &toml).await;
    let front = d
        .wait_page("/", Duration::from_secs(20), |body| {
            body.contains("1 of 5 down")
        })
        .await
        .body;
    assert!(
        front.contains("<details class=\"group\" open><summary><h2>Core</h2>"),
        "{front}"
    );
    for (slug, title, n) in [
        ("edge-nodes", "Edge nodes", 100),
        ("edge-nodes-2", "Edge-nodes", 3),
        ("other", "Other checks", 2),
    ] {
        let folded = format!(
            "<details class=\"group\" data-fragment=\"/fragments/group/{slug}\"><summary><h2>{title}</h2>"
        );
        assert!(front.contains(&folded), "{folded}: {front}");
        let link = format!("<a href=\"/groups/{slug}\">Show the {n} checks of {title}</a>");
        assert!(front.contains(&link), "{link}: {front}");
    }
    assert_eq!(
        front.matches("<li class=\"check\">").count(),
        5,
        "only Core's checks are on the page"
    );

    let fragment = d.get("/fragments/group/edge-nodes").await;
    assert_eq!(fragment.status, 200);
    assert_eq!(
        fragment.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(fragment.header("cache-control"), Some("public, max-age=10"));
    assert!(
        fragment.body.starts_with("<ul class=\"checks\">"),
        "{}",
        fragment.body
    );
    assert!(fragment.body.ends_with("</ul>"), "{}", fragment.body);
    assert_eq!(fragment.body.matches("<li class=\"check\">").count(), 100);
    assert!(
        fragment
            .body
            .contains("<a class=\"name\" href=\"/checks/g1c99\">Check 99 of group 1</a>")
    );
    assert!(!fragment.body.contains("<html"), "a fragment, not a page");
    revalidates(&d, "/fragments/group/edge-nodes").await;

    let page = d.get("/groups/edge-nodes-2").await;
    assert_eq!(page.status, 200);
    assert!(page.body.starts_with("<!DOCTYPE html>"), "{}", page.body);
    assert!(
        page.body.contains("<title>Edge-nodes</title>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<h1>Edge-nodes <span class=\"state"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<a href=\"/\">All checks</a>"));
    assert!(page.body.contains("<script src=\"/assets/bars.js\" defer"));
    assert_eq!(page.body.matches("<li class=\"check\">").count(), 3);
    revalidates(&d, "/groups/edge-nodes-2").await;
    let core = d.get("/groups/core").await.body;
    assert!(
        core.contains("<h1>Core <span class=\"state down\">1 of 5 down</span></h1>"),
        "{core}"
    );

    // Search: by name or group, case ignored, the first hundred listed.
    assert!(
        front.contains("<form class=\"search\" action=\"/search\" method=\"get\" role=\"search\">")
    );
    let one = d.get("/search?q=CHECK%2099%20of").await.body;
    assert!(
        one.contains("<p role=\"status\">1 check matches.</p>"),
        "{one}"
    );
    assert!(one.contains("href=\"/checks/g1c99\""), "{one}");
    assert!(one.contains("value=\"CHECK 99 of\""), "{one}");
    let many = d.get("/search?q=edge").await.body;
    assert!(
        many.contains("103 checks match; the first 100 are shown."),
        "{many}"
    );
    assert_eq!(many.matches("<li class=\"check\">").count(), 100);
    let none = d.get("/search?q=%3Cb%3E").await.body;
    assert!(none.contains("No check matches."), "{none}");
    assert!(none.contains("value=\"&lt;b&gt;\""), "{none}");
    let empty = d.get("/search").await;
    assert_eq!(empty.status, 200);
    assert!(!empty.body.contains("role=\"status\""), "{}", empty.body);

    for missing in ["/fragments/group/nope", "/groups/nope", "/groups/Core"] {
        assert_eq!(d.get(missing).await.status, 404, "{missing}");
    }
    drop(up);
    d.stop().await;
}

/// The answer is a page or a fragment in French, and says it varies by language.
fn assert_french(r: &daemon::Response, path: &str) {
    assert_eq!(r.status, 200, "{path}");
    assert_eq!(r.header("content-language"), Some("fr"), "{path}");
    let vary: Vec<String> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("accept-language")),
        "{path}: {vary:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folded_groups_their_pages_and_the_search_speak_french_to_a_french_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (d, _up) = big_site(dir.path(), 150, 5).await;
    // Every fiftieth check is down, all three in group 0: it is open, groups 1 to 4 folded.
    d.wait_page("/", Duration::from_secs(60), |body| {
        body.contains("3 of 30 down") && body.matches("All 30 operational").count() == 4
    })
    .await;
    let french = [("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.8")];

    let front = daemon::get_with(d.addr, "/", &french).await;
    assert_french(&front, "/");
    let body = &front.body;
    assert!(body.contains("<html lang=\"fr\">"), "{body}");
    assert!(
        body.contains(concat!(
            "<details class=\"group\" data-fragment=\"/fragments/group/group-1\">",
            "<summary><h2>Group 1</h2><span class=\"state up\">Opérationnel\u{a0}: 30 sur 30</span></summary>",
            "<p class=\"fold\"><a href=\"/groups/group-1\">Afficher les 30 vérifications du groupe Group 1</a></p></details>"
        )),
        "{body}"
    );
    assert!(
        body.contains("<h2>Group 0</h2><span class=\"state down\">En panne\u{a0}: 3 sur 30</span>"),
        "{body}"
    );
    assert!(
        body.contains("<label for=\"q\">Trouver une vérification</label>"),
        "{body}"
    );
    assert!(body.contains("<button>Rechercher</button>"), "{body}");
    assert!(!body.contains("Show the"), "{body}");

    let page = daemon::get_with(d.addr, "/groups/group-1", &french).await;
    assert_french(&page, "/groups/group-1");
    let body = &page.body;
    assert!(body.contains("<html lang=\"fr\">"), "{body}");
    assert!(
        body.contains("<a href=\"/\">Toutes les vérifications</a>"),
        "{body}"
    );
    assert!(
        body.contains(
            "<h1>Group 1 <span class=\"state up\">Opérationnel\u{a0}: 30 sur 30</span></h1>"
        ),
        "{body}"
    );
    assert_eq!(body.matches("Dernière vérification").count(), 30, "{body}");
    assert!(!body.contains("Last checked"), "{body}");

    let fragment = daemon::get_with(d.addr, "/fragments/group/group-2", &french).await;
    assert_french(&fragment, "/fragments/group/group-2");
    assert_eq!(fragment.body.matches("Dernière vérification").count(), 30);
    let english = d.get("/fragments/group/group-2").await;
    assert_eq!(english.header("content-language"), Some("en"));
    assert_eq!(english.body.matches("Last checked").count(), 30);

    let found = daemon::get_with(d.addr, "/search?q=number%2012", &french).await;
    assert_french(&found, "/search");
    let body = &found.body;
    assert!(body.contains("<h1>Trouver une vérification</h1>"), "{body}");
    assert!(
        body.contains("<label for=\"q\">Nom ou groupe</label>"),
        "{body}"
    );
    // "Service number 12" and 120 to 129.
    assert!(
        body.contains("<p role=\"status\">11 vérifications correspondent.</p>"),
        "{body}"
    );
    let other = daemon::get_with(d.addr, "/groups/other", &french).await;
    assert_eq!(other.status, 404);
    d.stop().await;
}
