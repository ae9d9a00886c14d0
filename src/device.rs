//! The device authorization grant's endpoints (RFC 8628): HTTP in, core call, HTTP out.

use gatehouse_core::answer::{self, PageReply};
use gatehouse_core::http::cookie::CSRF_COOKIE;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::store::Store;

use crate::http::{self, AuthServer, form_body};
use crate::oauth::client_request;
use crate::request::Incoming;

/// `POST /oauth/device_authorization` (RFC 8628 §3.1): a form request authenticated like one to
/// the token endpoint.
pub async fn authorization<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let client = match client_request(req).await {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    let result = server
        .device_authorization(&client.body, client.authorization.as_deref())
        .await;
    answer::json_or_failure(&server.decision, result)
}

/// `GET /.gatehouse/device[?user_code=…]`: the form to type the code into.
pub async fn page<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
) -> PageReply {
    let query = url.query.unwrap_or_default();
    let session = http::cookie(req, &server.site.session_cookie());
    let page = server.device_page(query, session.as_deref()).await;
    let browser = http::browser(server, req);
    answer::device_page(&server.decision, &browser, page, 302)
}

/// `POST /.gatehouse/device`: a typed code, or the decision on it.
pub async fn submit<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    let page = server
        .device_submit(&body, session.as_deref(), csrf.as_deref())
        .await;
    let browser = http::browser(server, req);
    answer::device_page(&server.decision, &browser, page, 303)
}
