//! Public email subscriptions: `/subscribe` (the form and its post), `/subscribe/confirm` (the
//! double opt-in's link: a page with a button, then the post that confirms) and `/unsubscribe`
//! (a page with a button, and the post that RFC 8058's one-click unsubscribe sends too).
//!
//! The only public routes that write (the architecture test allows exactly these three), each
//! through one call of the store writer, the same-origin check of every form and a budget per
//! client and per address (`limit`). The answer to a subscription never says whether the
//! address was known: the same page after the same work, and the mail, sent later from a queue,
//! says the rest. Nothing here exists without `[subscriptions] email = true`.

mod limit;
mod pages;

use std::collections::HashSet;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use limit::Limit;

use super::admin::{ClientIp, same_origin};
use super::{WebError, WebState};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::i18n::{Lang, Strings};
use crate::model::CheckId;
use crate::notify::public::{Audience, Scope};
use crate::notify::subscribers::{self, Keys, Notice, Notices, token};
use crate::store::{Subscribed, Subscription, Writer};

/// Largest form accepted.
const MAX_BODY: usize = 16 * 1024;
/// How long a confirmation link works.
pub const CONFIRM_FOR: Duration = Duration::from_secs(48 * 3600);

/// What the subscription routes need besides the public state.
pub struct Desk {
    pub writer: Writer,
    pub keys: Keys,
    pub notices: Notices,
    pub limit: Limit,
}

/// The subscription routes.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/subscribe", get(form).post(subscribe))
        .route("/subscribe/confirm", get(confirm_page).post(confirm))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(private))
}

/// Nothing on these pages is for a cache: they answer one person, some carry a token.
async fn private(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn desk(state: &WebState) -> Result<&Desk, WebError> {
    state.subscriptions.as_deref().ok_or(WebError::NotFound)
}

/// The fields of a posted form; repeated keys (checkboxes) keep every value.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn text(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        self.0
            .iter()
            .filter(|(k, v)| k == key && seen.insert(v.as_str()))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

async fn form(State(state): State<WebState>, lang: Lang) -> Result<Response, WebError> {
    let txt = lang.strings();
    desk(&state)?;
    let config = state.snapshot().config.clone();
    Ok(pages::form(txt, &config, None, &pages::Sent::default()).into_response())
}

async fn subscribe(
    State(state): State<WebState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    let desk = desk(&state)?;
    same_origin(&headers)?;
    let config = state.snapshot().config.clone();
    if let Err(wait) = desk.limit.client(ip) {
        return Ok(too_many(txt, &config, wait));
    }
    let fields = Fields::parse(&body);
    if !fields.text(pages::HONEYPOT).is_empty() {
        return Ok(pages::inbox(txt, &config).into_response());
    }
    let sent = pages::Sent {
        email: fields.text("email"),
        groups: fields.all("groups"),
        checks: fields.all("checks"),
    };
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            pages::form(txt, &config, Some(why), &sent),
        )
            .into_response()
    };
    let address = match subscribers::address(sent.email) {
        Ok(a) => a,
        Err(why) => return Ok(refuse(why)),
    };
    let Some(scope) = scope(&config, &sent) else {
        return Ok(refuse(txt.choice_gone));
    };
    if let Err(wait) = desk.limit.address(address.as_ref()) {
        return Ok(too_many(txt, &config, wait));
    }
    let confirm = token::random()
        .ok_or_else(|| WebError::Internal("the system random source failed".into()))?;
    let now = Timestamp::now();
    let request = Subscription {
        address: address.to_string(),
        scope: scope.clone(),
        confirm_hash: token::hash(&confirm),
        unsubscribe_hash: token::hash(&desk.keys.unsubscribe(address.as_ref(), now)),
        now,
        expires: now.plus(CONFIRM_FOR),
    };
    let audience = Audience::new(&config);
    let words = scope.describe(&audience);
    let notice = match desk.writer.add_subscriber(request).await? {
        Subscribed::Confirm => Notice::Confirm {
            to: address,
            token: confirm,
            scope: words,
        },
        Subscribed::Already { created_at } => Notice::Already {
            unsubscribe: desk.keys.unsubscribe(address.as_ref(), created_at),
            to: address,
            scope: words,
        },
        Subscribed::Change {
            current,
            created_at,
        } => Notice::Change {
            unsubscribe: desk.keys.unsubscribe(address.as_ref(), created_at),
            to: address,
            token: confirm,
            scope: words,
            current: current.describe(&audience),
        },
    };
    desk.notices.send(notice);
    Ok(pages::inbox(txt, &config).into_response())
}

/// The scope chosen: everything when nothing is ticked; `None` when a choice is not configured.
fn scope(config: &Config, sent: &pages::Sent<'_>) -> Option<Scope> {
    if sent.groups.is_empty() && sent.checks.is_empty() {
        return Some(Scope::All);
    }
    let groups = sent
        .groups
        .iter()
        .map(|g| {
            config
                .checks
                .iter()
                .any(|c| !c.group.is_empty() && &c.group == g)
                .then(|| g.clone())
        })
        .collect::<Option<Vec<_>>>()?;
    let checks = sent
        .checks
        .iter()
        .map(|id| {
            let id = CheckId::new(id).ok()?;
            config.checks.iter().any(|c| c.id == id).then_some(id)
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Scope::Some { checks, groups })
}

/// A scope in the visitor's words, for the page (mails say it in English: `Scope::describe`).
fn scope_words(txt: &Strings, config: &Config, scope: &Scope) -> String {
    let Scope::Some { checks, groups } = scope else {
        return txt.scope_everything.to_string();
    };
    let mut parts: Vec<String> = groups.iter().map(|g| (txt.scope_group)(g)).collect();
    parts.extend(checks.iter().map(|id| {
        let check = config.checks.iter().find(|c| c.id == *id);
        check.map_or(id.to_string(), |c| c.name.clone())
    }));
    match parts.as_slice() {
        [] => txt.scope_nothing.to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}{}{last}", rest.join(", "), txt.and),
    }
}

fn too_many(txt: &Strings, config: &Config, wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let text = (txt.too_many_text)(secs.div_ceil(60));
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        pages::message(txt, config, txt.too_many_title, &text),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The `token` of a query string or a form body, if it has a token's shape.
fn token_in(text: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(text?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| token::well_formed(t))
}

fn stale(txt: &Strings, config: &Config) -> Response {
    (StatusCode::NOT_FOUND, pages::stale(txt, config)).into_response()
}

async fn confirm_page(
    State(state): State<WebState>,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    desk(&state)?;
    let config = state.snapshot().config.clone();
    Ok(match token_in(query.as_deref()) {
        Some(t) => pages::confirm(txt, &config, &t).into_response(),
        None => stale(txt, &config),
    })
}

async fn confirm(
    State(state): State<WebState>,
    lang: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    let desk = desk(&state)?;
    same_origin(&headers)?;
    let config = state.snapshot().config.clone();
    let Some(t) = token_in(std::str::from_utf8(&body).ok()) else {
        return Ok(stale(txt, &config));
    };
    Ok(
        match desk
            .writer
            .confirm(token::hash(&t), Timestamp::now())
            .await?
        {
            Some(scope) => {
                pages::confirmed(txt, &config, &scope_words(txt, &config, &scope)).into_response()
            }
            None => stale(txt, &config),
        },
    )
}

async fn unsubscribe_page(
    State(state): State<WebState>,
    lang: Lang,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    desk(&state)?;
    let config = state.snapshot().config.clone();
    Ok(match token_in(query.as_deref()) {
        Some(t) => pages::unsubscribe(txt, &config, &t).into_response(),
        None => stale(txt, &config),
    })
}

/// Unsubscribes the token in the query (RFC 8058's one-click post, or the page's button);
/// the same answer whether it still had a subscription or not.
async fn unsubscribe(
    State(state): State<WebState>,
    lang: Lang,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let txt = lang.strings();
    let desk = desk(&state)?;
    same_origin(&headers)?;
    let config = state.snapshot().config.clone();
    let Some(t) = token_in(query.as_deref()) else {
        return Ok(stale(txt, &config));
    };
    desk.writer.unsubscribe(token::hash(&t)).await?;
    Ok(pages::unsubscribed(txt, &config).into_response())
}
