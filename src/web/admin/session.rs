//! Signing in and out: the login form, the password check behind the throttle (over-long names
//! and passwords refused before any work), the session cookie and the device cookie that lets a
//! browser that signed in before past a lockout others caused.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::admin;
use super::auth;
use super::form::{FormData, Posted, frame};
use crate::logline;
use crate::model::Action;
use crate::store::{AdminWrite, Audit};
use crate::web::{WebError, WebState};

pub async fn login_page(State(state): State<WebState>) -> Result<Markup, WebError> {
    admin(&state)?;
    Ok(login_form(&state, None))
}

fn login_form(state: &WebState, error: Option<&str>) -> Markup {
    frame(
        state,
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.stack method="post" action="/admin/login" {
                label { "User " input name="user" autocomplete="username" required; }
                label { "Password " input name="password" type="password" autocomplete="current-password" required; }
                button { "Sign in" }
            }
        },
    )
}

/// The longest user name accepted, in bytes; longer ones are refused before any work.
const MAX_USER_BYTES: usize = 128;
/// The longest password accepted, in bytes; longer ones are refused before hashing.
const MAX_PASSWORD_BYTES: usize = 1024;
/// The characters of a user name that go into the log, at most.
const LOGGED_NAME_CHARS: usize = 64;

pub async fn login(
    State(state): State<WebState>,
    auth::ClientIp(ip): auth::ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let admin = admin(&state)?;
    auth::same_origin(&headers)?;
    let form = FormData::parse(&body);
    let (user, password) = (
        form.text("user").trim().to_string(),
        form.text("password").to_string(),
    );
    if user.len() > MAX_USER_BYTES || password.len() > MAX_PASSWORD_BYTES {
        let why = format!(
            "User names are at most {MAX_USER_BYTES} bytes and passwords at most {MAX_PASSWORD_BYTES} bytes."
        );
        return Ok(with_status(
            StatusCode::BAD_REQUEST,
            login_form(&state, Some(&why)),
        ));
    }
    let device = auth::cookie(&headers, auth::DEVICE_COOKIE);
    let attempt = admin.throttle.attempt(&user, ip, device);
    if let Some(wait) = admin.throttle.wait(&attempt) {
        return Err(WebError::TooManyAttempts(wait));
    }
    let hash = admin
        .config
        .users
        .iter()
        .find(|u| u.name == user)
        .map(|u| u.password_hash.clone());
    let ok = auth::check_password(hash, password).await?;
    if !ok {
        admin.throttle.failed(&attempt);
        log_failed_sign_in(&user, ip);
        let form = login_form(&state, Some("Wrong user name or password."));
        return Ok(with_status(StatusCode::UNAUTHORIZED, form));
    }
    let device = auth::random_token()?;
    admin.throttle.succeeded(&attempt, &device);
    let token = auth::random_token()?;
    let write = AdminWrite::CreateSession {
        token_hash: auth::hash_token(&token),
        user: user.clone(),
        csrf: auth::random_token()?,
    };
    let note = Audit {
        actor: user,
        action: Action::SignIn,
        target: String::new(),
        detail: ip.map(|ip| ip.to_string()).unwrap_or_default(),
    };
    auth::write_session(admin, write, Some(note)).await?;
    let secure = if admin.secure_cookies { "; Secure" } else { "" };
    let cookies = [
        (auth::COOKIE, token, auth::ABSOLUTE),
        (auth::DEVICE_COOKIE, device, auth::DEVICE_LIFETIME),
    ];
    let mut r = Redirect::to("/admin").into_response();
    for (name, value, lifetime) in cookies {
        let cookie = format!(
            "{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            lifetime.as_secs()
        );
        r.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| WebError::Internal(e.to_string()))?,
        );
    }
    Ok(r)
}

fn with_status(status: StatusCode, page: Markup) -> Response {
    let mut r = page.into_response();
    *r.status_mut() = status;
    r
}

/// Logs a failed sign-in with an escaped excerpt of the name: never a second line, never 60 KB.
fn log_failed_sign_in(user: &str, ip: Option<IpAddr>) {
    tracing::warn!(
        user = %logline::excerpt(user, LOGGED_NAME_CHARS),
        ip = ?ip,
        "failed admin sign-in"
    );
}

pub async fn logout(
    State(state): State<WebState>,
    Posted { session, .. }: Posted,
) -> Result<Response, WebError> {
    let write = AdminWrite::DeleteSession {
        token_hash: session.token_hash.clone(),
    };
    let note = Audit {
        actor: session.user.clone(),
        action: Action::SignOut,
        target: String::new(),
        detail: String::new(),
    };
    auth::write_session(admin(&state)?, write, Some(note)).await?;
    let mut r = Redirect::to("/admin/login").into_response();
    let clear = format!(
        "{}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
        auth::COOKIE
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Regression: a user name with a newline forged a second log line, and a 60 KB name was
    /// logged whole.
    #[test]
    fn a_user_name_with_a_line_break_cannot_forge_a_log_line() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let name = format!(
            "ops\n2026-01-01T00:00:00Z  INFO watchpost: admin signed in{}",
            "A".repeat(60_000)
        );
        tracing::subscriber::with_default(subscriber, || log_failed_sign_in(&name, None));
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r"user=ops\n2026-01-01"), "{text}");
        assert!(text.len() < 500, "{text}");
    }
}
