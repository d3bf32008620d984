//! Parts of a big front page on their own: `/groups/{slug}`, a page with one group's checks and
//! bars for visitors without JavaScript (and for links); `/fragments/group/{slug}`, the same
//! list alone, which `/assets/bars.js` fetches into a folded group when it is opened; and
//! `/search?q=`, the checks whose name or group contains the words. All are rendered per request
//! from the rendered bars, in the visitor's language like every public page; the pages
//! middleware gives them an ETag and `304`, the language middleware `Vary`. They never render
//! the front page or read the store.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

use super::render::{FOUND_AT_MOST, render_group, render_search};
use crate::clock::Timestamp;
use crate::i18n::Lang;
use crate::web::layout::public;
use crate::web::{WebError, WebState};

/// What a group's routes answer: its title and state, and its list of checks as HTML.
struct Rendered {
    title: String,
    tag: Markup,
    list: String,
}

/// Renders the list of the group `slug` in `lang` on the blocking pool: a big group is many
/// bars.
async fn render(state: &WebState, slug: String, lang: Lang) -> Result<Rendered, WebError> {
    let snapshot = state.snapshot();
    let bars = state.bars.borrow().clone();
    let work = move || {
        let (title, tag, list) = render_group(&snapshot, &bars, &slug, Timestamp::now(), lang)
            .ok_or(WebError::NotFound)?;
        Ok(Rendered { title, tag, list })
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
}

/// As often as the front page may be reused by a cache: it shows the same checks.
fn fresh(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=10"),
    );
    response
}

/// `/groups/{slug}`: the group's checks with their bars, as a page of its own.
pub async fn page(
    State(state): State<WebState>,
    lang: Lang,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    let config = state.snapshot().config.clone();
    let g = render(&state, slug, lang).await?;
    let body = html! {
        p.small { a href="/" { (txt.all_checks) } }
        section.group {
            h1 { (g.title) " " (g.tag) }
            (PreEscaped(g.list))
        }
    };
    let page = public(txt, &g.title, &config, Some("/assets/bars.js"), body);
    Ok(fresh(page.into_response()))
}

/// `/fragments/group/{slug}`: the group's list of checks alone, for a folded group opened on
/// the front page.
pub async fn fragment(
    State(state): State<WebState>,
    lang: Lang,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let g = render(&state, slug, lang).await?;
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    Ok(fresh(
        ([(header::CONTENT_TYPE, html)], g.list).into_response(),
    ))
}

/// The query of `/search`.
#[derive(serde::Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// The longest query searched for; longer ones are cut.
const QUERY_AT_MOST: usize = 100;

/// `/search?q=`: the checks whose name or group contains `q`, with their bars.
pub async fn search(
    State(state): State<WebState>,
    lang: Lang,
    axum::extract::Query(query): axum::extract::Query<SearchQuery>,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    let q: String = query
        .q
        .unwrap_or_default()
        .chars()
        .take(QUERY_AT_MOST)
        .collect();
    let snapshot = state.snapshot();
    let bars = state.bars.borrow().clone();
    let config = snapshot.config.clone();
    let work = {
        let q = q.clone();
        move || render_search(&snapshot, &bars, &q, Timestamp::now(), lang)
    };
    let (count, list) = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let body = html! {
        p.small { a href="/" { (txt.all_checks) } }
        h1 { (txt.find_check) }
        form.search action="/search" method="get" role="search" {
            label for="q" { (txt.name_or_group) }
            " "
            input #q type="search" name="q" value=(q) maxlength="100";
            " "
            button { (txt.search) }
        }
        @if !q.trim().is_empty() {
            p role="status" { ((txt.search_found)(count, FOUND_AT_MOST)) }
            section.group { (PreEscaped(list)) }
        }
    };
    let page = public(txt, txt.find_check, &config, Some("/assets/bars.js"), body);
    Ok(fresh(page.into_response()))
}
