//! The admin API's endpoints (the decisions are in `gatehouse_core::admin`): JSON in and out,
//! authenticated by `Authorization: Bearer <ADMIN_TOKEN>`.

use gatehouse_core::error::Reason;
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::server::{Failure, Server};
use gatehouse_core::signer::Signer;
use gatehouse_core::store::Store;
use serde::Serialize;
use worker::{Request, Response, Result};

use crate::http;
use crate::random::PlatformRng;

type AdminServer<'a, S, K> = Server<'a, S, K, PlatformRng>;

/// `GET …/.gatehouse/admin/grants`.
pub async fn grants<S: Store, K: Signer>(
    server: &AdminServer<'_, S, K>,
    req: &Request,
) -> Result<Response> {
    let (authorization, query) = (
        req.headers().get("Authorization")?,
        req.url()?.query().unwrap_or_default().to_owned(),
    );
    answer(server.admin_grants(authorization.as_deref(), &query).await)
}

/// `POST …/.gatehouse/admin/revoke`.
pub async fn revoke<S: Store, K: Signer>(
    server: &AdminServer<'_, S, K>,
    req: &mut Request,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let authorization = req.headers().get("Authorization")?;
    answer(server.admin_revoke(authorization.as_deref(), &body).await)
}

/// `GET …/.gatehouse/admin/audit`.
pub async fn audit<S: Store, K: Signer>(
    server: &AdminServer<'_, S, K>,
    req: &Request,
) -> Result<Response> {
    let (authorization, query) = (
        req.headers().get("Authorization")?,
        req.url()?.query().unwrap_or_default().to_owned(),
    );
    answer(server.admin_audit(authorization.as_deref(), &query).await)
}

/// JSON, or the failure: `404` while the API is off, `401` with a Bearer challenge for a wrong
/// token.
fn answer<T: Serialize>(result: std::result::Result<T, Failure>) -> Result<Response> {
    match result {
        Ok(body) => http::json(200, &body),
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminApiOff => {
            http::not_found()
        }
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminUnauthorized => {
            let mut response = http::oauth_error(&error)?;
            response
                .headers_mut()
                .set("WWW-Authenticate", "Bearer realm=\"gatehouse-admin\"")?;
            Ok(response)
        }
        Err(failure) => http::failure(failure),
    }
}
