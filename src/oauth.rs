//! The authorization server's endpoints: HTTP in, core call, HTTP out. No protocol decision is
//! made here; each function only reads what the core needs and writes what it returns.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::{OAuthError, Reason};
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::login::LoginOutcome;
use gatehouse_core::registration::{self, MAX_REGISTRATION_BYTES};
use gatehouse_core::secret::CsrfToken;
use gatehouse_core::server::{AuthorizeOutcome, Server};
use gatehouse_core::signer::Signer;
use gatehouse_core::store::Store;
use worker::{Request, Response, Result};

use crate::random::PlatformRng;
use crate::{http, pages, platform};

/// The session cookie: who is logged in.
pub const SESSION_COOKIE: &str = "__Host-gatehouse-session";
/// The double-submit CSRF cookie of gatehouse's forms.
const CSRF_COOKIE: &str = "__Host-gatehouse-csrf";
/// The CSRF cookie outlives a slow login by a good margin.
const CSRF_COOKIE_MAX_AGE_SECS: u64 = 3600;

type AuthServer<'a, S, K> = Server<'a, S, K, PlatformRng>;

/// `POST /oauth/register`.
pub async fn register<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match http::body(req, MAX_REGISTRATION_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let ip = req.headers().get("CF-Connecting-IP")?.unwrap_or_default();
    match server
        .register(&body, &registration::source_network(&ip))
        .await
    {
        Ok(registered) => http::json(201, &registered.response()),
        Err(failure) => http::failure(failure),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Request,
) -> Result<Response> {
    let query = req.url()?.query().unwrap_or_default().to_owned();
    let session = http::cookie(req, SESSION_COOKIE);
    let outcome = server.authorize(&query, session.as_deref()).await;
    answer(server, req, outcome, 302)
}

/// `POST` of the consent form.
pub async fn consent<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let session = http::cookie(req, SESSION_COOKIE);
    let csrf = http::cookie(req, CSRF_COOKIE);
    let outcome = server
        .consent(&body, session.as_deref(), csrf.as_deref())
        .await;
    answer(server, req, outcome, 303)
}

/// Turns an authorization outcome into a page or a redirect.
fn answer<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Request,
    outcome: std::result::Result<AuthorizeOutcome, AuthorizeError>,
    redirect_status: u16,
) -> Result<Response> {
    match outcome {
        Ok(AuthorizeOutcome::Login(prompt)) => {
            with_csrf(server, req, |csrf| pages::login(&prompt, csrf))
        }
        Ok(AuthorizeOutcome::Consent(prompt)) => {
            with_csrf(server, req, |csrf| pages::consent(&prompt, csrf))
        }
        Ok(AuthorizeOutcome::Redirect(location)) => http::redirect(redirect_status, &location),
        // A page for the person, not an API answer: `400` whatever the OAuth code's status.
        Err(AuthorizeError::Render(reason)) => {
            http::page(400, pages::error(&OAuthError::from(reason)))
        }
        Err(AuthorizeError::Redirect { to, state, error }) => http::redirect(
            redirect_status,
            &to.with_error(&error, state.as_ref(), &server.site.issuer),
        ),
        Err(AuthorizeError::Store(error)) => http::unavailable(&error.to_string()),
    }
}

/// A form page with the CSRF token in both the form and the cookie.
fn with_csrf<S, K>(
    server: &AuthServer<'_, S, K>,
    req: &Request,
    render: impl FnOnce(&str) -> String,
) -> Result<Response> {
    let existing = http::cookie(req, CSRF_COOKIE).filter(|c| CsrfToken::is_well_formed(c));
    let token = existing.unwrap_or_else(|| CsrfToken::issue(server.rng).expose_secret().to_owned());
    let response = http::page(200, render(&token))?;
    http::set_cookie(
        response.headers(),
        CSRF_COOKIE,
        &token,
        CSRF_COOKIE_MAX_AGE_SECS,
    )?;
    Ok(response)
}

/// `POST` of the login form.
pub async fn login<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let csrf = http::cookie(req, CSRF_COOKIE);
    match server
        .login(&body, csrf.as_deref(), &platform::WebCryptoPbkdf2)
        .await
    {
        Ok(LoginOutcome::LoggedIn {
            session,
            max_age_secs,
            return_to,
        }) => {
            let response = http::redirect(303, &return_to)?;
            http::set_cookie(
                response.headers(),
                SESSION_COOKIE,
                session.expose_secret(),
                max_age_secs,
            )?;
            Ok(response)
        }
        Ok(LoginOutcome::Retry(prompt)) => {
            with_csrf(server, req, |csrf| pages::login(&prompt, csrf))
        }
        Err(error) => http::unavailable(&error.to_string()),
    }
}

/// Reads a form body for the token, revocation and introspection endpoints. RFC 6749 §3.2: the
/// client uses "application/x-www-form-urlencoded".
async fn form_body(req: &mut Request) -> std::result::Result<Vec<u8>, Result<Response>> {
    let content_type = req
        .headers()
        .get("Content-Type")
        .ok()
        .flatten()
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(http::oauth_error(&OAuthError::from(
            Reason::FormContentTypeRequired,
        )));
    }
    http::body(req, MAX_FORM_BYTES).await
}

/// `POST /oauth/token`.
pub async fn token<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match form_body(req).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let authorization = req.headers().get("Authorization")?;
    match server.token(&body, authorization.as_deref()).await {
        Ok(tokens) => http::json(200, &tokens),
        Err(failure) => http::failure(failure),
    }
}

/// `POST /oauth/revoke`: `200` with an empty body (RFC 7009 §2.2).
pub async fn revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match form_body(req).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let authorization = req.headers().get("Authorization")?;
    match server.revoke(&body, authorization.as_deref()).await {
        Ok(()) => {
            let mut response = Response::empty()?;
            response.headers_mut().set("Cache-Control", "no-store")?;
            Ok(response)
        }
        Err(failure) => http::failure(failure),
    }
}

/// `POST /oauth/introspect`.
pub async fn introspect<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match form_body(req).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let authorization = req.headers().get("Authorization")?;
    match server.introspect(&body, authorization.as_deref()).await {
        Ok(introspection) => http::json(200, &introspection),
        Err(failure) => http::failure(failure),
    }
}
