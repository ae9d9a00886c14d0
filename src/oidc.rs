//! Upstream OpenID Connect login: the provider buttons' `POST`, the callback, and sending the
//! browser straight to the provider when it is the only way to log in. The core decides; this
//! module reads the request and writes what [`gatehouse_core::answer`] replies.

use gatehouse_core::answer::{self, PageReply};
use gatehouse_core::http::cookie::{CSRF_COOKIE, OIDC_BINDING_COOKIE};
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::store::Store;

use crate::http::{self, AuthServer, form_body};
use crate::request::Incoming;
use crate::upstream::WorkerUpstream;

/// `POST /.gatehouse/oidc/start`: a provider button on the login page.
pub async fn start<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    upstream: &WorkerUpstream<'_>,
) -> PageReply {
    let body = form_body!(req);
    let csrf = http::cookie(req, CSRF_COOKIE);
    let binding = http::cookie(req, OIDC_BINDING_COOKIE);
    let started = server
        .oidc_start(&body, csrf.as_deref(), binding.as_deref(), upstream)
        .await;
    answer::oidc_started(&server.decision, &server.site, started, 303)
}

/// Sends the browser to `provider` at once (it is the only way to log in), to come back to
/// `return_to`.
pub async fn begin<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    upstream: &WorkerUpstream<'_>,
    provider: &str,
    return_to: &str,
) -> PageReply {
    let binding = http::cookie(req, OIDC_BINDING_COOKIE);
    let started = server
        .oidc_begin(provider, return_to, binding.as_deref(), upstream)
        .await;
    answer::oidc_started(&server.decision, &server.site, started, 302)
}

/// `GET /.gatehouse/oidc/callback`: the provider sends the browser back here.
pub async fn callback<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
) -> PageReply {
    let query = url.query.unwrap_or_default();
    let binding = http::cookie(req, OIDC_BINDING_COOKIE);
    let outcome = server
        .oidc_callback(query, binding.as_deref(), upstream)
        .await;
    answer::oidc_callback(&server.decision, &server.site, outcome)
}
