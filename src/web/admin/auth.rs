//! Who is asking: admin sessions (a random token in an HttpOnly cookie, only its SHA-256 in the
//! database, idle and absolute expiry), CSRF tokens, same-origin checks, bearer tokens for the
//! JSON API; the login throttle with its device cookies ([`throttle`]) and the password check
//! ([`password`]) live beside it. Constant-time comparisons throughout.

mod password;
mod throttle;

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::AdminHandles;
use crate::clock::Timestamp;
use crate::store::{AdminWrite, Audit};
use crate::web::{WebError, WebState};

pub use password::check_password;
pub use throttle::{DEVICE_LIFETIME, Throttle};

/// The session cookie's name.
pub const COOKIE: &str = "watchpost_session";
/// A session unused for this long has expired.
pub const IDLE: Duration = Duration::from_secs(2 * 3600);
/// A session older than this has expired, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// The device cookie's name: a browser that signed in before (see [`throttle`]).
pub const DEVICE_COOKIE: &str = "watchpost_device";

/// A signed-in admin.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    pub token_hash: String,
}

/// 32 random bytes as hex: session tokens and CSRF tokens.
pub fn random_token() -> Result<String, WebError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebError::Internal("the system random source failed".into()))?;
    Ok(hex(&bytes))
}

/// The SHA-256 of a token, as stored; the token itself never is.
pub fn hash_token(token: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Refuses a state-changing request that comes from another site: a cross-site `Sec-Fetch-Site`
/// or an `Origin` whose host is not this request's host.
pub fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    let forbidden = || WebError::Forbidden("This form was sent from another site.".into());
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return Err(forbidden());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin == "null" || origin_host != host {
            return Err(forbidden());
        }
    }
    Ok(())
}

impl Session {
    /// Checks a form's CSRF token and origin; every state-changing form goes through this.
    pub fn check_form(&self, headers: &HeaderMap, csrf: Option<&str>) -> Result<(), WebError> {
        same_origin(headers)?;
        match csrf {
            Some(t) if ct_eq(t.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(WebError::Forbidden(
                "The form's security token is missing or stale. Reload the page and try again."
                    .into(),
            )),
        }
    }
}

impl FromRequestParts<WebState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Session, WebError> {
        let admin = state.admin.as_ref().ok_or(WebError::NotFound)?;
        let token = cookie(&parts.headers, COOKIE).ok_or(WebError::SignIn)?;
        let token_hash = hash_token(token);
        let row = state
            .reader
            .session(token_hash.clone())
            .await?
            .ok_or(WebError::SignIn)?;
        let now = Timestamp::now();
        let known = admin.config.users.iter().any(|u| u.name == row.user);
        if !known || now.since(row.last_seen_at) > IDLE || now.since(row.created_at) > ABSOLUTE {
            let _ = write_session(admin, AdminWrite::DeleteSession { token_hash }, None).await;
            return Err(WebError::SignIn);
        }
        if now.since(row.last_seen_at) > Duration::from_secs(60) {
            let touch = AdminWrite::TouchSession {
                token_hash: token_hash.clone(),
            };
            write_session(admin, touch, None).await?;
        }
        Ok(Session {
            user: row.user,
            csrf: row.csrf,
            token_hash,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is case-insensitive
/// (RFC 9110, section 11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim_start())
}

/// Writes a session change (with its audit line, if any); sessions cause no event.
pub async fn write_session(
    admin: &AdminHandles,
    write: AdminWrite,
    audit: Option<Audit>,
) -> Result<(), WebError> {
    admin
        .actions
        .writer
        .admin(write, audit, Timestamp::now(), Box::new(|_| None))
        .await?;
    Ok(())
}

/// A script authorized by `Authorization: Bearer <one of [admin] api_tokens>`.
pub struct ApiClient;

impl FromRequestParts<WebState> for ApiClient {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<ApiClient, WebError> {
        let admin = state.admin.as_ref().ok_or(WebError::NotFound)?;
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or(WebError::Unauthorized)?;
        let matches = admin.config.api_tokens.iter().fold(false, |found, t| {
            found | ct_eq(t.as_bytes(), presented.as_bytes())
        });
        if matches {
            Ok(ApiClient)
        } else {
            Err(WebError::Unauthorized)
        }
    }
}

/// The client's address, when the server was started with connection info.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientIp(info.map(|c| c.0.ip())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearerabc"), None);
    }

    #[test]
    fn tokens_are_random_and_compared_in_constant_time() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(ct_eq(a.as_bytes(), a.as_bytes()));
        assert!(!ct_eq(a.as_bytes(), b.as_bytes()));
        assert_eq!(hash_token("x").len(), 64);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; watchpost_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
    }
}
