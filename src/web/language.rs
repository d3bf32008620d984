//! Which language a public page is written in: `?lang=` (a visitor's click on the footer's
//! switch, remembered in a cookie), else the `lang` cookie, else `Accept-Language`; the admin
//! area is English. Handlers take [`Lang`] as an extractor, error pages read [`current`]; the
//! middleware says on each HTML answer what it varies by. It never words anything itself (`i18n`
//! does).

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::i18n::Lang;

tokio::task_local! {
    /// The language of the request being answered, for the error pages.
    static CURRENT: Lang;
}

/// The language of the request being answered; English outside one.
pub(super) fn current() -> Lang {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

/// The cookie that remembers a visitor's choice.
const COOKIE: &str = "lang";

/// The language asked for by `?lang=`, if it names one of ours.
fn asked(uri: &Uri) -> Option<Lang> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::from_tag(&v))
}

/// The language remembered in the `lang` cookie.
fn remembered(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| Lang::from_tag(value))?
        })
}

/// The language of a request: `?lang=`, the cookie, then `Accept-Language`.
pub(super) fn of(uri: &Uri, headers: &HeaderMap) -> Lang {
    asked(uri)
        .or_else(|| remembered(headers))
        .unwrap_or_else(|| {
            let accept = headers
                .get_all(header::ACCEPT_LANGUAGE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",");
            Lang::negotiate(&accept)
        })
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(of(&parts.uri, &parts.headers))
    }
}

/// The middleware (use with `from_fn`, around the whole router): a public HTML answer says it
/// varies by `Accept-Language` and the cookie, and in which language it is; a `?lang=` choice is
/// remembered for a year, and that answer is for its visitor only.
pub async fn negotiate(request: Request, next: Next) -> Response {
    let admin = request.uri().path().starts_with("/admin");
    let lang = match admin {
        true => Lang::En,
        false => of(request.uri(), request.headers()),
    };
    let chosen = asked(request.uri());
    let mut response = CURRENT.scope(lang, next.run(request)).await;
    let h = response.headers_mut();
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/html"));
    if admin || !html {
        return response;
    }
    h.append(
        header::VARY,
        HeaderValue::from_static("accept-language, cookie"),
    );
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    if let Some(chosen) = chosen {
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            chosen.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.insert(header::SET_COOKIE, v);
        }
        if h.get(header::CACHE_CONTROL).is_none_or(|v| v != "no-store") {
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=0"),
            );
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::cache::headers;

    #[test]
    fn the_query_wins_over_the_cookie_over_the_header() {
        let uri = |u: &str| u.parse::<Uri>().unwrap();
        let french = headers(&[("accept-language", "fr-FR,fr;q=0.9,en;q=0.8")]);
        assert_eq!(of(&uri("/"), &french), Lang::Fr);
        assert_eq!(of(&uri("/?lang=en"), &french), Lang::En);
        assert_eq!(of(&uri("/?lang=xx"), &french), Lang::Fr);
        let both = headers(&[("accept-language", "fr"), ("cookie", "a=b; lang=en; c=d")]);
        assert_eq!(of(&uri("/history"), &both), Lang::En);
        assert_eq!(of(&uri("/history?page=1&lang=fr"), &both), Lang::Fr);
        assert_eq!(of(&uri("/"), &HeaderMap::new()), Lang::En);
        let split = headers(&[("accept-language", "de"), ("accept-language", "fr;q=0.5")]);
        assert_eq!(of(&uri("/"), &split), Lang::Fr);
    }
}
