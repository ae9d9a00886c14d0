//! Upstream OpenID Connect login: the provider buttons' `POST`, the callback, and sending the
//! browser straight to the provider when it is the only way to log in. The core decides; this
//! module reads the request and writes cookies, redirects and pages.

use gatehouse_core::error::Reason;
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::login::LoginOutcome;
use gatehouse_core::oidc::state::STATE_TTL_SECS;
use gatehouse_core::oidc::{OidcFailure, OidcStart};
use gatehouse_core::paths;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::store::Store;
use worker::{Response, Result};

use crate::oauth::AuthServer;
use crate::request::Incoming;
use crate::upstream::WorkerUpstream;
use crate::{http, oauth, pages};

/// The cookie binding an upstream login's `state` to this browser.
const BINDING_COOKIE: &str = "__Host-gatehouse-oidc";
/// Seconds a browser should wait before trying a provider that did not answer again.
const UPSTREAM_RETRY_AFTER_SECS: &str = "30";

/// `POST /.gatehouse/oidc/start`: a provider button on the login page.
pub async fn start<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    upstream: &WorkerUpstream<'_>,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let csrf = http::cookie(req, oauth::CSRF_COOKIE);
    let binding = http::cookie(req, BINDING_COOKIE);
    let started = server
        .oidc_start(&body, csrf.as_deref(), binding.as_deref(), upstream)
        .await;
    to_provider(server, started, 303)
}

/// Sends the browser to `provider` at once (it is the only way to log in), to come back to
/// `return_to`.
pub async fn begin<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    upstream: &WorkerUpstream<'_>,
    provider: &str,
    return_to: &str,
) -> Result<Response> {
    let binding = http::cookie(req, BINDING_COOKIE);
    let started = server
        .oidc_begin(provider, return_to, binding.as_deref(), upstream)
        .await;
    to_provider(server, started, 302)
}

fn to_provider<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    started: std::result::Result<OidcStart, OidcFailure>,
    status: u16,
) -> Result<Response> {
    match started {
        Ok(OidcStart { location, binding }) => {
            let response = http::redirect(status, &location)?;
            http::set_cookie(
                response.headers(),
                BINDING_COOKIE,
                binding.expose_secret(),
                STATE_TTL_SECS,
            )?;
            Ok(response)
        }
        Err(failure) => failed(server, failure),
    }
}

/// `GET /.gatehouse/oidc/callback`: the provider sends the browser back here.
pub async fn callback<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
) -> Result<Response> {
    let query = url.query.unwrap_or_default();
    let binding = http::cookie(req, BINDING_COOKIE);
    match server
        .oidc_callback(query, binding.as_deref(), upstream)
        .await
    {
        Ok(LoginOutcome::LoggedIn {
            session,
            max_age_secs,
            return_to,
        }) => oauth::logged_in(server, &session, max_age_secs, &return_to),
        // Upstream logins are neither checked against a password nor throttled here.
        Ok(LoginOutcome::Retry(_) | LoginOutcome::Throttled { .. }) => {
            failed(server, OidcFailure::Refused(Reason::UpstreamDenied))
        }
        Ok(LoginOutcome::Paused(paused)) => http::paused_page(paused),
        Err(failure) => failed(server, failure),
    }
}

/// A login that did not complete: a page saying why, never a redirect; `400` for a refusal,
/// `503` + `Retry-After` when the provider or storage is down.
fn failed<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    failure: OidcFailure,
) -> Result<Response> {
    let (status, reason, retry_after) = match failure {
        OidcFailure::Paused(paused) => return http::paused_page(paused),
        OidcFailure::Refused(reason) => {
            worker::console_warn!("upstream login refused: {reason}");
            (400, reason, None)
        }
        OidcFailure::Unavailable(log) => {
            worker::console_error!("identity provider unavailable: {log}");
            (
                503,
                Reason::UpstreamUnavailable,
                Some(UPSTREAM_RETRY_AFTER_SECS),
            )
        }
        OidcFailure::Store(error) => {
            worker::console_error!("storage unavailable: {error}");
            (503, Reason::StoreUnavailable, Some("5"))
        }
    };
    let mut response = http::page(
        status,
        pages::login_failed(
            &server.decision.error(reason.into()),
            &server.site.path(paths::LOGIN),
        ),
    )?;
    if let Some(secs) = retry_after {
        response.headers_mut().set("Retry-After", secs)?;
    }
    Ok(response)
}
