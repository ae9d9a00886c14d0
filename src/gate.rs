//! Requests for the protected app: the core's gatekeeper decides, and this module carries the
//! decision out — forward to the origin (or the built-in demo app), redirect a browser to log in,
//! or refuse with the Bearer challenge.

use gatehouse_core::config::Origin;
use gatehouse_core::error::OAuthError;
use gatehouse_core::gatekeeper::{Gate, GateRequest, Identity};
use gatehouse_core::jose::signer::{AccessSigner, Signer};
use gatehouse_core::paths;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::server::Server;
use gatehouse_core::store::Store;
use worker::worker_sys::web_sys;
use worker::{Env, Response, Result};

use crate::prepared::{self, Kind};
use crate::random::PlatformRng;
use crate::request::Incoming;
use crate::verifier::CachedVerifier;
use crate::{demo, http, oauth, pages, proxy};

/// Handles a request for the app.
pub async fn handle<S: Store, K: Signer + AccessSigner>(
    server: &Server<'_, S, K, PlatformRng>,
    env: &Env,
    mut req: Incoming,
    url: &RequestUrl<'_>,
) -> Result<web_sys::Response> {
    let method = req.method().to_owned();
    let session = http::cookie(&req, &server.site.session_cookie());
    let [authorization, accept, fetch_mode, cors_request_method] = [
        "Authorization",
        "Accept",
        "Sec-Fetch-Mode",
        "Access-Control-Request-Method",
    ]
    .map(|name| req.header(name));
    let gate_request = GateRequest {
        method: &method,
        path: url.path,
        has_body: req.has_body(),
        query: url.query,
        authorization: authorization.as_deref(),
        session: session.as_deref(),
        accept: accept.as_deref(),
        sec_fetch_mode: fetch_mode.as_deref(),
        cors_request_method: cors_request_method.as_deref(),
    };
    let gate = match server
        .gate(&gate_request, &CachedVerifier::new(server.signer))
        .await
    {
        Ok(gate) => gate,
        Err(error) => return http::unavailable(&error.to_string()).map(Into::into),
    };
    let refusal = match gate {
        Gate::Refused(error) => http::oauth_error(&error),
        Gate::Public => return pass(server, env, &mut req, url, None).await,
        Gate::Allow(identity) => return pass(server, env, &mut req, url, Some(&identity)).await,
        Gate::SignIn { location } => http::redirect(302, &location),
        Gate::Challenge {
            status,
            www_authenticate,
            error,
        } => return challenge(status, &www_authenticate, error.as_ref()),
        Gate::Forbidden(person) => oauth::page_with_csrf(server, &req, 403, |csrf| {
            pages::forbidden(
                &server.site.app.name,
                &person.email,
                &server.site.path(paths::LOGOUT),
                csrf,
            )
        }),
    };
    refusal.map(Into::into)
}

/// Forwards to the origin, or lets the demo app answer when there is none.
async fn pass<S: Store, K: Signer + AccessSigner>(
    server: &Server<'_, S, K, PlatformRng>,
    env: &Env,
    req: &mut Incoming,
    url: &RequestUrl<'_>,
    identity: Option<&Identity>,
) -> Result<web_sys::Response> {
    let forwarded = proxy::Forwarded {
        site: &server.site,
        url,
        identity,
    };
    let headers = match proxy::origin_headers(req, &forwarded, server.signer, server.now).await {
        Ok(headers) => headers,
        // Signing the assertion needs the keys in D1: an outage, not a bug.
        Err(error) => return http::unavailable(&error.to_string()).map(Into::into),
    };
    match &server.site.app.origin {
        Some(Origin::Url(origin)) => {
            proxy::forward(req, url, proxy::Upstream::Url(origin), headers).await
        }
        Some(Origin::Service(binding)) => match env.service(binding) {
            Ok(fetcher) => {
                proxy::forward(req, url, proxy::Upstream::Service(fetcher), headers).await
            }
            Err(_) => unbound_service(binding).map(Into::into),
        },
        None => {
            let csrf = oauth::csrf_token(server, req);
            let response = demo::respond(req, url, &server.site, &headers, &csrf).await?;
            oauth::set_csrf_cookie(&response, &csrf)?;
            Ok(response.into())
        }
    }
}

/// An app's origin names a service binding this deployment lacks: a misconfiguration, named.
fn unbound_service(binding: &str) -> Result<Response> {
    let message = format!(
        "configuration error in APPS: origin \"service:{binding}\" names no service binding. Fix: add \
         [[services]] binding = \"{binding}\" to wrangler.toml"
    );
    worker::console_error!("{message}");
    http::json(
        500,
        &serde_json::json!({ "error": "server_error", "error_description": message }),
    )
}

/// The refusal: RFC 6750 §3 status and `WWW-Authenticate`, with a JSON body saying the same.
/// Without credentials the whole response depends on the app alone (its challenge names the
/// app's metadata and scopes), so each isolate builds it once.
fn challenge(
    status: u16,
    www_authenticate: &str,
    error: Option<&OAuthError>,
) -> Result<web_sys::Response> {
    let Some(error) = error else {
        let key = format!("{status} {www_authenticate}");
        if let Some(answer) = prepared::answer(Kind::Challenge, &key) {
            return answer;
        }
        let body = serde_json::json!({
            "error_description": "this resource needs a bearer token; WWW-Authenticate says where to get one"
        });
        let response = challenge_response(status, www_authenticate, &body)?;
        return prepared::keep(Kind::Challenge, &key, response);
    };
    challenge_response(status, www_authenticate, &error.body()).map(Into::into)
}

/// No CORS headers: which origins may read the app's responses is the app's policy (its
/// preflights reach it, see `gatekeeper`), which gatehouse does not know. A browser-based client
/// that cannot read the challenge finds the same metadata at the app's well-known URL, which
/// any origin may read (MCP authorization, "Protected Resource Metadata Discovery").
fn challenge_response<T: serde::Serialize>(
    status: u16,
    www_authenticate: &str,
    body: &T,
) -> Result<Response> {
    let response = http::json(status, body)?;
    let headers = response.headers();
    headers.set("WWW-Authenticate", www_authenticate)?;
    Ok(response)
}
