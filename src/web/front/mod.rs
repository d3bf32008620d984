//! The front page, built to be cheap at any size: the 90-day bars are rendered once while their
//! data is unchanged and kept in a bounded cache ([`Bars`]), the page from them at most a few
//! times a second ([`FrontCache`]), and every request gets the stored bytes, already gzipped,
//! with an ETag and Last-Modified. Past [`FOLD_ABOVE`] checks the page folds the groups without
//! trouble; each folded group has its own page and fragment, and checks can be searched by name
//! (`group`). This file answers `/`
//! (content negotiation and validators); it never renders on its own.

mod bars;
mod cache;
mod group;
mod render;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use bars::{Bars, KEPT, spawn_bars};
pub use cache::{FrontCache, gzip};
pub use group::{fragment, page as group_page, search};
pub use render::{
    FOLD_ABOVE, FOUND_AT_MOST, Front, OPEN_AT_MOST, render_group, render_index, render_search,
};

use super::cache::{Validators, http_date};
use super::{WebError, WebState};

/// `/`: the stored page, gzipped when the client takes it, `304` when it has it already.
pub async fn index(
    State(state): State<WebState>,
    lang: crate::i18n::Lang,
    request: HeaderMap,
) -> Result<Response, WebError> {
    let page = state.front.get(&state, lang).await?;
    let modified = http_date(page.modified.into());
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    let validators = Validators::of(&request);
    let tag = page.etag.to_str().unwrap_or_default();
    let mut response = if validators.current(tag, Some(page.modified)) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(&request) {
        (
            [
                (header::CONTENT_TYPE, html),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            page.gzip.clone(),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, html)], page.html.clone()).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, page.etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=10"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    Ok(response)
}

/// Whether `Accept-Encoding` allows gzip (or anything, by `*`) with a non-zero quality.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::cache::headers;

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
