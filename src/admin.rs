//! The admin API's endpoints (the decisions are in `gatehouse_core::admin`): JSON in and out,
//! authenticated by `Authorization: Bearer <ADMIN_TOKEN>` or by the browser session of a person
//! the `ADMINS` policy admits.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::decision::DecisionLog;
use gatehouse_core::error::Reason;
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::server::Failure;
use gatehouse_core::signer::Signer;
use gatehouse_core::store::Store;
use serde::Serialize;
use worker::{Response, Result};

use crate::http;
use crate::oauth::{AuthServer, CSRF_COOKIE};
use crate::request::Incoming;

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
