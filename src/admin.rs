//! The admin API's endpoints (the decisions are in `gatehouse_core::admin`): JSON in and out,
//! authenticated by `Authorization: Bearer <ADMIN_TOKEN>` or by the browser session of a person
//! the `ADMINS` policy admits; and the admin console's pages, which sit on the same core
//! functions.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::admin::audit::AuditAnswer;
use gatehouse_core::decision::DecisionLog;
use gatehouse_core::error::Reason;
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::paths;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::server::Failure;
use gatehouse_core::store::Store;
use serde::Serialize;
use worker::{Response, Result};

use crate::oauth::{self, AuthServer, CSRF_COOKIE};
use crate::request::Incoming;
use crate::{http, pages};

/// What the request presents: its `Authorization` header and its session and CSRF cookies.
pub(crate) struct Presented {
    authorization: Option<String>,
    session: Option<String>,
    csrf_cookie: Option<String>,
}

impl Presented {
    pub(crate) fn of<S, K>(server: &AuthServer<'_, S, K>, req: &Incoming) -> Result<Self> {
        Ok(Self {
            authorization: req.header("Authorization"),
            session: http::cookie(req, &server.site.session_cookie()),
            csrf_cookie: http::cookie(req, CSRF_COOKIE),
        })
    }

    pub(crate) fn credentials(&self) -> AdminCredentials<'_> {
        AdminCredentials {
            authorization: self.authorization.as_deref(),
            session: self.session.as_deref(),
            csrf_cookie: self.csrf_cookie.as_deref(),
        }
    }
}

/// `GET …/.gatehouse/admin/grants`.
pub async fn grants<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    let query = url.query.unwrap_or_default();
    answer(
        &server.decision,
        server.admin_grants(&presented.credentials(), query).await,
    )
}

/// `GET …/.gatehouse/admin/audit`.
pub async fn audit<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    let query = url.query.unwrap_or_default();
    answer(
        &server.decision,
        server.admin_audit(&presented.credentials(), query).await,
    )
}

/// `GET …/.gatehouse/admin/held`.
pub async fn held<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    answer(
        &server.decision,
        server.admin_held(&presented.credentials()).await,
    )
}

/// `POST …/.gatehouse/admin/revoke`.
pub async fn revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let presented = Presented::of(server, req)?;
    answer(
        &server.decision,
        server.admin_revoke(&presented.credentials(), &body).await,
    )
}

/// `POST …/.gatehouse/admin/clients/disable`.
pub async fn disable_client<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let presented = Presented::of(server, req)?;
    answer(
        &server.decision,
        server
            .admin_disable_client(&presented.credentials(), &body)
            .await,
    )
}

/// `GET …/.gatehouse/admin/console/grants`: the console's grants page. Without a session, the
/// login page first; a person who is no admin gets a page saying so.
pub async fn console_grants<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    let query = url.query.unwrap_or_default();
    let view = server.console_grants(&presented.credentials(), query).await;
    console_page(
        server,
        req,
        paths::ADMIN_CONSOLE_GRANTS,
        view,
        pages::console_grants,
    )
}

/// `POST …/.gatehouse/admin/console/grants/revoke`: revokes the checked grants, then back to
/// the page (`303`).
pub async fn console_revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let presented = Presented::of(server, req)?;
    let changed = server.console_revoke(&presented.credentials(), &body).await;
    after_change(
        server,
        paths::ADMIN_CONSOLE_GRANTS,
        changed.map(|(_, back)| back),
    )
}

/// `GET …/.gatehouse/admin/console/clients`: the console's agents page, with a confirmation
/// when one is asked for.
pub async fn console_clients<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    let query = url.query.unwrap_or_default();
    let view = server
        .console_clients(&presented.credentials(), query)
        .await;
    console_page(
        server,
        req,
        paths::ADMIN_CONSOLE_CLIENTS,
        view,
        pages::console_clients,
    )
}

/// `POST …/.gatehouse/admin/console/clients/disable` and `…/enable`: the change, then back to
/// the agents page (`303`).
pub async fn console_client_change<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    enable: bool,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let presented = Presented::of(server, req)?;
    let credentials = presented.credentials();
    let result = if enable {
        server.console_enable_client(&credentials, &body).await
    } else {
        server.console_disable_client(&credentials, &body).await
    };
    after_change(server, paths::ADMIN_CONSOLE_CLIENTS, result)
}

/// `GET …/.gatehouse/admin/console/people`: the console's people page.
pub async fn console_people<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    let query = url.query.unwrap_or_default();
    let view = server.console_people(&presented.credentials(), query).await;
    console_page(
        server,
        req,
        paths::ADMIN_CONSOLE_PEOPLE,
        view,
        pages::console_people,
    )
}

/// `POST …/.gatehouse/admin/console/people/revoke`: cuts the person off, then back (`303`).
pub async fn console_revoke_person<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let presented = Presented::of(server, req)?;
    let changed = server
        .console_revoke_person(&presented.credentials(), &body)
        .await;
    after_change(server, paths::ADMIN_CONSOLE_PEOPLE, changed)
}

/// `GET …/.gatehouse/admin/console/state`: migration mode, held writes, and the deep health
/// check's results.
pub async fn console_state<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    env: &worker::Env,
    req: &Incoming,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    match server.console_state(&presented.credentials()).await {
        Ok(view) => {
            // Only once the admin is known: the deep check makes storage round trips.
            let plan = gatehouse_core::health::Plan::for_config(server.config);
            let report = crate::health::deep(env, plan).await;
            http::page(200, pages::console_state(&view, &report))
        }
        Err(failure) => console_failure(server, paths::ADMIN_CONSOLE_STATE, failure),
    }
}

/// `GET …/.gatehouse/admin/console/audit`: the console's audit page, or its export.
pub async fn console_audit<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let presented = Presented::of(server, req)?;
    let query = url.query.unwrap_or_default();
    match server.console_audit(&presented.credentials(), query).await {
        Ok(AuditAnswer::Page(view)) => http::page(200, pages::console_audit(&view)),
        Ok(AuditAnswer::Export(export)) => {
            let mut response = Response::ok(export.body)?;
            let headers = response.headers_mut();
            headers.set("Content-Type", export.content_type)?;
            headers.set(
                "Content-Disposition",
                &format!("attachment; filename=\"{}\"", export.filename),
            )?;
            headers.set("Cache-Control", "no-store")?;
            headers.set("X-Content-Type-Options", "nosniff")?;
            Ok(response)
        }
        Err(failure) => console_failure(server, paths::ADMIN_CONSOLE_AUDIT, failure),
    }
}

/// A console page for `view`, its forms carrying the CSRF token, or the failure as a page.
fn console_page<S, K, V>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    page: &str,
    view: std::result::Result<V, Failure>,
    render: impl FnOnce(&V, &str) -> String,
) -> Result<Response> {
    match view {
        Ok(view) => oauth::page_with_csrf(server, req, 200, |csrf| render(&view, csrf)),
        Err(failure) => console_failure(server, page, failure),
    }
}

/// The answer to a console change: back to the page it came from (`303`), or the failure as a
/// page.
fn after_change<S, K>(
    server: &AuthServer<'_, S, K>,
    page: &str,
    changed: std::result::Result<String, Failure>,
) -> Result<Response> {
    match changed {
        Ok(back) => http::redirect(303, &back),
        Err(failure) => console_failure(server, page, failure),
    }
}

/// A console failure as a page: `404` while the admin API is off, the login page for a browser
/// without a live session (then back to `page`), `403` for a person who is no admin, the
/// migration-mode page for a change that cannot wait, the error page otherwise.
fn console_failure<S, K>(
    server: &AuthServer<'_, S, K>,
    page: &str,
    failure: Failure,
) -> Result<Response> {
    match failure {
        Failure::OAuth { error, .. } if error.reason == Reason::AdminApiOff => {
            http::page(404, pages::not_found(&server.site.path("/")))
        }
        Failure::OAuth { error, .. } if error.reason == Reason::ConsoleSignInRequired => {
            let back: String =
                form_urlencoded::byte_serialize(server.site.path(page).as_bytes()).collect();
            http::redirect(
                302,
                &format!("{}?return_to={back}", server.site.path(paths::LOGIN)),
            )
        }
        Failure::OAuth { error, .. }
            if matches!(
                error.reason,
                Reason::AdminUnauthorized | Reason::ConsoleNotAdmin
            ) =>
        {
            http::page(403, pages::error(&error))
        }
        Failure::OAuth { error, .. } => http::page(error.status(), pages::error(&error)),
        Failure::Paused(paused) => http::paused_page(paused),
        failure => http::failure(&server.decision, failure),
    }
}

/// JSON, or the failure: `404` while the API is off, `401` with a Bearer challenge for a wrong
/// token.
pub(crate) fn answer<T: Serialize>(
    decision: &DecisionLog,
    result: std::result::Result<T, Failure>,
) -> Result<Response> {
    match result {
        Ok(body) => http::json(200, &body),
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminApiOff => {
            http::not_found()
        }
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminUnauthorized => {
            let mut response = http::oauth_error(&decision.error(error))?;
            response
                .headers_mut()
                .set("WWW-Authenticate", "Bearer realm=\"gatehouse-admin\"")?;
            Ok(response)
        }
        Err(failure) => http::failure(decision, failure),
    }
}
