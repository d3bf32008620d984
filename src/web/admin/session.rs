//! Signing in and out: the login form, the password check behind the throttle, and the
//! session cookie.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::admin;
use super::auth;
use super::form::{FormData, Posted, frame};
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
    if let Some(wait) = admin.throttle.wait(&user, ip) {
        return Err(WebError::TooManyAttempts(wait));
    }
    let hash = admin
        .config
        .users
        .iter()
        .find(|u| u.name == user)
        .map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(hash.as_deref(), &password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    if !ok {
        admin.throttle.failed(&user, ip);
        tracing::warn!(user = %user, ip = ?ip, "failed admin sign-in");
        let mut r = login_form(&state, Some("Wrong user name or password.")).into_response();
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(r);
    }
    admin.throttle.succeeded(&user, ip);
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
    let cookie = format!(
        "{}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        auth::COOKIE,
        auth::ABSOLUTE.as_secs()
    );
    let mut r = Redirect::to("/admin").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(r)
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
