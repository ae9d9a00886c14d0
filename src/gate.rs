//! Requests for the protected app: the core's gatekeeper decides and [`answer::gate`] says how
//! to answer; this module carries it out — forward to the origin (or the built-in demo app), or
//! write the reply (the login redirect, the Bearer challenge, a `403` page).

use gatehouse_core::answer::{self, GateAnswer};
use gatehouse_core::config::Origin;
use gatehouse_core::gatekeeper::request::READ_HEADERS;
use gatehouse_core::gatekeeper::{Gate, GateRequest, Identity};
use gatehouse_core::http::cookie;
use gatehouse_core::http::reply::Reply;
use gatehouse_core::jose::signer::{AccessSigner, Signer};
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::server::Server;
use gatehouse_core::store::Store;
use worker::worker_sys::web_sys;
use worker::{Env, Result};

use crate::prepared::{self, Kind};
use crate::random::PlatformRng;
use crate::request::Incoming;
use crate::verifier::CachedVerifier;
use crate::{demo, env, http, proxy};

/// Handles a request for the app.
pub async fn handle<S: Store, K: Signer + AccessSigner>(
    server: &Server<'_, S, K, PlatformRng>,
    env: &Env,
    mut req: Incoming,
    url: &RequestUrl<'_>,
) -> Result<web_sys::Response> {
    let method = req.method().to_owned();
    let session = http::cookie(&req, &server.site.session_cookie());
    let authorization = req.authorization().map(str::to_owned);
    let [accept, fetch_mode, cors_request_method] = READ_HEADERS.map(|name| req.header(name));
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
    let gate = server
        .gate(&gate_request, &CachedVerifier::new(server.signer))
        .await;
    // Without credentials the challenge depends on the app, the host and the route's scopes
    // alone, so each isolate builds it once, and answers it again to every request of the same
    // shape before routing it (`prepared::anonymous_key`).
    let prepared_key = match &gate {
        Ok(Gate::Challenge {
            status,
            www_authenticate,
            error: None,
        }) => {
            let key = format!("{status} {www_authenticate}");
            let shape = prepared::anonymous_key(&req, url.href);
            if let Some(answer) = prepared::answer(Kind::Challenge, &key) {
                if let Some(shape) = &shape {
                    prepared::keep_shape(&key, shape);
                }
                return answer;
            }
            Some((key, shape))
        }
        _ => None,
    };
    let browser = http::browser(server, &req);
    match answer::gate(&server.site, &browser, gate) {
        GateAnswer::Pass(identity) => pass(server, env, &mut req, url, identity.as_ref()).await,
        GateAnswer::Reply(reply) => {
            let response = http::write(reply)?;
            match prepared_key {
                Some((key, shape)) => {
                    let answer = prepared::keep(Kind::Challenge, &key, response);
                    if let Some(shape) = &shape {
                        prepared::keep_shape(&key, shape);
                    }
                    answer
                }
                None => Ok(response.into()),
            }
        }
    }
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
        Err(error) => return http::write(answer::store_unavailable(&error)).map(Into::into),
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
            let csrf = http::browser(server, req).csrf();
            let response = demo::respond(req, url, &server.site, &headers, &csrf).await?;
            response
                .headers()
                .append("Set-Cookie", &cookie::csrf_cookie(&csrf))?;
            Ok(response.into())
        }
    }
}

/// An app's origin names a service binding this deployment lacks: a misconfiguration, logged
/// with what to fix under a reference, and answered like every other one (`503` + the
/// reference, nothing of the configuration shown to the public).
fn unbound_service(binding: &str) -> Result<worker::Response> {
    let error = gatehouse_core::config::ConfigError {
        setting: gatehouse_core::config::names::APPS,
        problem: format!("origin \"service:{binding}\" names no service binding"),
        fix: "add a [[services]] binding of that name to wrangler.toml",
    };
    let reference = env::log_config_error(&error);
    http::write(Reply::misconfigured(&reference))
}
