//! The device authorization grant's endpoints (RFC 8628): HTTP in, core call, HTTP out.

use gatehouse_core::device::verification::DevicePage;
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::store::{Store, StoreError};
use worker::{Response, Result};

use crate::oauth::{AuthServer, CSRF_COOKIE, client_request, json_or_failure, page_with_csrf};
use crate::request::Incoming;
use crate::{http, pages};

/// `POST /oauth/device_authorization` (RFC 8628 §3.1): a form request authenticated like one to
/// the token endpoint.
pub async fn authorization<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let client = match client_request(req).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    json_or_failure(
        &server.decision,
        server
            .device_authorization(&client.body, client.authorization.as_deref())
            .await,
    )
}

/// `GET /.gatehouse/device[?user_code=…]`: the form to type the code into.
pub async fn page<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> Result<Response> {
    let query = url.query.unwrap_or_default();
    let session = http::cookie(req, &server.site.session_cookie());
    let page = server.device_page(query, session.as_deref()).await;
    answer(server, req, page, 302)
}

/// `POST /.gatehouse/device`: a typed code, or the decision on it.
pub async fn submit<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    let page = server
        .device_submit(&body, session.as_deref(), csrf.as_deref())
        .await;
    answer(server, req, page, 303)
}

fn answer<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    page: std::result::Result<DevicePage, StoreError>,
    redirect_status: u16,
) -> Result<Response> {
    let page = match page {
        Ok(page) => page,
        Err(error) => return http::unavailable(&error.to_string()),
    };
    let status = page.status();
    match page {
        DevicePage::Login(location) => http::redirect(redirect_status, &location),
        DevicePage::Enter(prompt) => page_with_csrf(server, req, status, |csrf| {
            pages::device_entry(&prompt, csrf)
        }),
        DevicePage::Confirm(prompt) => page_with_csrf(server, req, status, |csrf| {
            pages::device_consent(&prompt, csrf)
        }),
        DevicePage::Done { approved, app_name } => {
            http::page(status, pages::device_done(approved, &app_name))
        }
        DevicePage::Refused(reason) => http::page(
            status,
            pages::device_refused(&server.decision.error(reason.into())),
        ),
        DevicePage::Paused(paused) => http::paused_page(paused),
    }
}
