//! Dispatches a request to its handler by method and path.

use gatehouse_core::answer::{self, PageReply};
use gatehouse_core::config::{ConfigError, OriginIdentity};
use gatehouse_core::error::{OAuthError, Reason};
use gatehouse_core::gatekeeper::access::CertsDocument;
use gatehouse_core::http::reply::{self, Allow, Reply};
use gatehouse_core::jose::signer::{AccessSigner, Signer};
use gatehouse_core::metadata;
use gatehouse_core::paths;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::server::Server;
use gatehouse_core::site::Site;
use gatehouse_core::time::Clock;
use worker::worker_sys::web_sys;
use worker::{Context, Env, Method, Result};

use crate::bindings::Bindings;
use crate::keys::WebCryptoSigner;
use crate::platform::WorkerClock;
use crate::prepared::{self, Kind};
use crate::random::PlatformRng;
use crate::request::Incoming;
use crate::store::WorkerStore;
use crate::upstream::WorkerUpstream;
use crate::{admin, device, env, gate, health, http, oauth, oidc};

/// The response to `req`: gatehouse's own, or the app's as its origin sent it (handed back as the
/// runtime's `Response`, untouched, see `proxy::forward`).
pub async fn route(req: Incoming, env: &Env, ctx: &Context) -> Result<web_sys::Response> {
    let href = req.url();
    let Some(url) = RequestUrl::split(&href) else {
        return write(Reply::error(&OAuthError::from(Reason::NotHttpUrl)));
    };
    let path = url.path.to_owned();
    // gatehouse's own endpoints serve the methods `worker::Method` names; any other is `None`
    // there (405), and goes to the gate as it came.
    let method = req.endpoint_method();
    // Discovery documents are at the host's root and name the app by the path after them;
    // everything else belongs to the app whose path prefix covers it.
    let document = paths::well_known(&path);
    // A document this isolate served already: its URL decides it, since the configuration
    // changes only with a deployment, and a deployment starts new isolates.
    let document_url = href.split('?').next().unwrap_or_default();
    if document.is_some()
        && matches!(method, Some(Method::Get))
        && let Some(answer) = prepared::answer(Kind::Document, document_url)
    {
        return answer;
    }
    // A request without credentials of a shape this isolate challenged already: the same answer
    // (`prepared::anonymous_key`), before the request is routed.
    if document.is_none()
        && let Some(shape) = prepared::anonymous_key(&req, &href)
        && let Some(answer) = prepared::shape_answer(&shape)
    {
        return answer;
    }
    // Both answers above decide nothing worth a log line, so the clock is read only from here.
    let started = js_sys::Date::now();
    let healthz = path == paths::HEALTHZ;
    if healthz && !matches!(method, Some(Method::Get)) {
        return write(Reply::method_not_allowed(Allow::Get));
    }
    // Without credentials, `/healthz` is the liveness answer: no storage is touched.
    if healthz && !req.has_credentials() {
        return write(health::liveness(env::config(env).as_deref()));
    }
    let config = match env::config(env) {
        Ok(config) => config,
        Err(error) if healthz => return write(health::liveness(Err(&error))),
        Err(error) => return write(misconfigured(&error)),
    };
    let (origin, host) = (url.origin(), url.authority());
    let app_path = paths::document_path(&path)
        .filter(|_| document.is_some())
        .unwrap_or_else(|| path.clone());
    let Some(site) = Site::resolve(&config.apps, &origin, &host, &app_path) else {
        // The deep check, like the admin API, is served on an app's host.
        if healthz {
            return write(health::liveness(Ok(config.as_ref())));
        }
        return write(Reply::not_found());
    };
    // Discovery needs no storage: answered before any binding is looked up.
    if let Some(document) = document {
        return match method {
            Some(Method::Get) => {
                let body = metadata::document(&site, config.cimd.enabled, document)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                let response = http::write(Reply::public_json(body).with_cors())?;
                prepared::keep(Kind::Document, document_url, response)
            }
            Some(Method::Options) => write(Reply::preflight()),
            _ => write(Reply::method_not_allowed(Allow::GetOptions)),
        };
    }
    let bindings = Bindings::new(env);
    let store = WorkerStore::new(&bindings);
    let clock = WorkerClock;
    let signer = WebCryptoSigner::new(
        &bindings,
        &config.secret,
        config.signing_key_rotation_secs,
        clock.now(),
        config.migration.is_some(),
    );
    let source = req.header("CF-Connecting-IP");
    let server =
        Server::new(&config, site, &store, &signer, &PlatformRng, &clock).with_source(source);
    let upstream = WorkerUpstream::new(&bindings, server.now.0);

    let local = server.site.local_path(&path).to_owned();
    let response = if healthz {
        write(health::respond(&server, env, &req).await)
    } else {
        dispatch(
            &server,
            Event { env, ctx },
            req,
            &url,
            &upstream,
            method,
            &local,
        )
        .await
    };
    log_decision(&server, &local, started, &response);
    response
}

/// The one place a request's decision is written to the log: one JSON line, built once from
/// what the core noted ([`gatehouse_core::decision`]) and the response's status. Discovery
/// documents, the anonymous liveness answer, requests for no app and the challenge to a request
/// for an app without credentials decide nothing and are not logged.
fn log_decision<S, K, R>(
    server: &Server<'_, S, K, R>,
    local: &str,
    started: f64,
    response: &Result<web_sys::Response>,
) {
    if !server.decision.is_logged() {
        return;
    }
    let event = match paths::is_reserved(local) {
        true => local.rsplit('/').next().unwrap_or(local),
        false => "gate",
    };
    let status = response.as_ref().map_or(500, web_sys::Response::status);
    // Wall time, I/O included: the Workers clock does not advance during computation.
    let duration_ms = (js_sys::Date::now() - started).max(0.0) as u64;
    let line = server.decision.line(
        &server.config.secret,
        event,
        &server.site.resource,
        status,
        duration_ms,
    );
    worker::console_log!("{line}");
}

/// What the runtime handed the request with: the bindings, and the context whose `waitUntil`
/// runs work after the response.
#[derive(Clone, Copy)]
struct Event<'a> {
    env: &'a Env,
    ctx: &'a Context,
}

/// The response of gatehouse's endpoint at `local`, or the gate's for the app.
async fn dispatch<S: gatehouse_core::store::Store, K: Signer + AccessSigner>(
    server: &Server<'_, S, K, PlatformRng>,
    Event { env, ctx }: Event<'_>,
    mut req: Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
    method: Option<Method>,
    local: &str,
) -> Result<web_sys::Response> {
    // gatehouse's endpoints for an app live under its path prefix.
    let cors = reply::has_cors(local);
    // Access's endpoints, for the apps that get Access's headers (see `gatekeeper::access`).
    let access = matches!(
        server.site.app.identity,
        OriginIdentity::CloudflareAccess { .. }
    );
    let reply: PageReply = match (method, local) {
        (Some(Method::Options), _) if cors => Reply::preflight(),
        (Some(Method::Get), paths::ACCESS_CERTS) if access => {
            match server.signer.access_keys().await {
                Ok(keys) => match CertsDocument::new(&keys) {
                    Some(certs) => public_json(&certs)?,
                    None => answer::store_unavailable(&"signing keys: no RS256 key to publish"),
                },
                Err(error) => answer::store_unavailable(&error),
            }
        }
        (Some(Method::Get), paths::ACCESS_GET_IDENTITY) if access => {
            let session = http::cookie(&req, &server.site.session_cookie());
            match server
                .access_identity(session.as_deref(), req.country())
                .await
            {
                Ok(Some(identity)) => Reply::json(200, &identity),
                Ok(None) => Reply::error(&OAuthError::from(Reason::AccessSessionMissing)),
                Err(error) => answer::store_unavailable(&error),
            }
        }
        (_, paths::ACCESS_CERTS | paths::ACCESS_GET_IDENTITY) if access => {
            Reply::method_not_allowed(Allow::Get)
        }
        (Some(Method::Get), paths::JWKS) => match server.signer.jwks().await {
            Ok(jwks) => public_json(&jwks)?,
            Err(error) => answer::store_unavailable(&error),
        },
        (Some(Method::Post), paths::REGISTER) => oauth::register(server, &mut req).await,
        (Some(Method::Get), paths::AUTHORIZE) => {
            oauth::authorize(server, &req, url, upstream).await
        }
        (Some(Method::Get), paths::LOGIN) => oauth::login_page(server, &req, url, upstream).await,
        (Some(Method::Post), paths::OIDC_START) => oidc::start(server, &mut req, upstream).await,
        (Some(Method::Get), paths::OIDC_CALLBACK) => {
            oidc::callback(server, &req, url, upstream).await
        }
        (Some(Method::Post), paths::LOGIN) => oauth::login(server, &mut req).await,
        (Some(Method::Post), paths::LOGOUT) => oauth::logout(server, &mut req).await,
        (Some(Method::Get), paths::AGENTS) => oauth::agents_page(server, &req).await,
        (Some(Method::Get), paths::ADMIN_GRANTS) => admin::grants(server, &req, url).await,
        (Some(Method::Post), paths::ADMIN_REVOKE) => admin::revoke(server, &mut req).await,
        (Some(Method::Get), paths::ADMIN_AUDIT) => admin::audit(server, &req, url).await,
        (Some(Method::Get), paths::ADMIN_HELD) => admin::held(server, &req).await,
        (Some(Method::Get), paths::ADMIN_CONSOLE_GRANTS) => {
            admin::console_grants(server, &req, url).await
        }
        (Some(Method::Post), paths::ADMIN_CONSOLE_REVOKE) => {
            admin::console_revoke(server, &mut req).await
        }
        (Some(Method::Get), paths::ADMIN_CONSOLE_AUDIT) => {
            admin::console_audit(server, &req, url).await
        }
        (Some(Method::Get), paths::ADMIN_CONSOLE_STATE) => {
            admin::console_state(server, env, &req).await
        }
        (Some(Method::Get), paths::ADMIN_CONSOLE_PEOPLE) => {
            admin::console_people(server, &req, url).await
        }
        (Some(Method::Post), paths::ADMIN_CONSOLE_REVOKE_PERSON) => {
            admin::console_revoke_person(server, &mut req).await
        }
        (Some(Method::Get), paths::ADMIN_CONSOLE_CLIENTS) => {
            admin::console_clients(server, &req, url).await
        }
        (Some(Method::Post), paths::ADMIN_CONSOLE_DISABLE) => {
            admin::console_client_change(server, &mut req, false).await
        }
        (Some(Method::Post), paths::ADMIN_CONSOLE_ENABLE) => {
            admin::console_client_change(server, &mut req, true).await
        }
        (Some(Method::Post), paths::ADMIN_DISABLE_CLIENT) => {
            admin::disable_client(server, &mut req).await
        }
        (Some(Method::Post), paths::AGENTS_REVOKE) => oauth::revoke_agent(server, &mut req).await,
        (Some(Method::Post), paths::CONSENT) => oauth::consent(server, &mut req, upstream).await,
        (Some(Method::Post), paths::TOKEN) => oauth::token(server, &mut req).await,
        (Some(Method::Post), paths::REVOKE) => oauth::revoke(server, &mut req, env, ctx).await,
        (Some(Method::Post), paths::INTROSPECT) => oauth::introspect(server, &mut req).await,
        (Some(Method::Post), paths::DEVICE_AUTHORIZATION) => {
            device::authorization(server, &mut req).await
        }
        (Some(Method::Get), paths::DEVICE) => device::page(server, &req, url).await,
        (Some(Method::Post), paths::DEVICE) => device::submit(server, &mut req).await,
        _ => match Allow::for_endpoint(local) {
            // A known endpoint and a method it does not serve: 405 with the methods it does.
            Some(allow) => Reply::method_not_allowed(allow),
            // gatehouse's own namespaces: never forwarded, whatever the app serves.
            None if paths::is_reserved(local) => answer::unknown_endpoint(
                &server.site,
                req.method(),
                req.header("Accept").as_deref(),
                req.header("Sec-Fetch-Mode").as_deref(),
            ),
            None => return gate::handle(server, env, req, url).await,
        },
    };
    let reply = if cors { reply.with_cors() } else { reply };
    write(reply)
}

/// A JSON document that may be cached briefly (JWKS, Access's certs).
fn public_json<T: serde::Serialize>(body: &T) -> Result<PageReply> {
    let bytes = serde_json::to_vec(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(Reply::public_json(bytes))
}

/// The runtime's response for `reply`.
fn write(reply: PageReply) -> Result<web_sys::Response> {
    http::write(reply).map(Into::into)
}

/// A configuration error: the detail is logged with a reference, and the public gets only a
/// `503` + `Retry-After` carrying that reference, so a visitor learns nothing of the
/// configuration and the operator can find the log line. Answered on every request until the
/// operator deploys a fixed configuration (`make check-config` catches it before that).
fn misconfigured(error: &ConfigError) -> PageReply {
    Reply::misconfigured(&env::log_config_error(error))
}
