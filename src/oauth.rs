//! The authorization server's endpoints: HTTP in, core call, HTTP out. No protocol decision is
//! made here; each function only reads what the core needs and writes what it returns
//! ([`gatehouse_core::answer`] decides the reply).

use gatehouse_core::answer::{self, AuthorizeAnswer, PageReply};
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::http::cookie::CSRF_COOKIE;
use gatehouse_core::http::reply::Reply;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::login::LoginPrompt;
use gatehouse_core::page::Page;
use gatehouse_core::paths;
use gatehouse_core::registration::{self, MAX_REGISTRATION_BYTES};
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::store::Store;

use crate::http::{self, AuthServer, form_body};
use crate::request::Incoming;
use crate::upstream::WorkerUpstream;
use crate::{consumer, oidc, platform};
use worker::{Context, Env};

/// `POST /oauth/register`.
pub async fn register<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = match http::body(req, MAX_REGISTRATION_BYTES).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let ip = req.header("CF-Connecting-IP").unwrap_or_default();
    match server
        .register(&body, &registration::source_network(&ip))
        .await
    {
        Ok(registered) => Reply::json(201, &registered.response()),
        Err(failure) => answer::failure(&server.decision, failure),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
) -> PageReply {
    let query = url.query.unwrap_or_default();
    let session = http::cookie(req, &server.site.session_cookie());
    let outcome = server.authorize(query, session.as_deref()).await;
    authorized(server, req, upstream, outcome, 302).await
}

/// `POST` of the consent form.
pub async fn consent<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    upstream: &WorkerUpstream<'_>,
) -> PageReply {
    let body = form_body!(req);
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    let outcome = server
        .consent(&body, session.as_deref(), csrf.as_deref())
        .await;
    authorized(server, req, upstream, outcome, 303).await
}

/// An authorization step's reply; the login page when the person must log in first.
async fn authorized<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    upstream: &WorkerUpstream<'_>,
    outcome: Result<
        gatehouse_core::server::AuthorizeOutcome,
        gatehouse_core::authorize::AuthorizeError,
    >,
    redirect_status: u16,
) -> PageReply {
    let browser = http::browser(server, req);
    let issuer = &server.site.issuer;
    match answer::authorize(&server.decision, issuer, &browser, outcome, redirect_status) {
        AuthorizeAnswer::Reply(reply) => reply,
        AuthorizeAnswer::Login(prompt) => login_prompt(server, req, upstream, prompt).await,
    }
}

/// `GET /.gatehouse/login?return_to=…`: the login page for a person who came to the app itself.
pub async fn login_page<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
) -> PageReply {
    let return_to = form_urlencoded::parse(url.query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned());
    let prompt = LoginPrompt::for_app(
        server.config,
        &server.site,
        return_to.as_deref().unwrap_or("/"),
    );
    login_prompt(server, req, upstream, prompt).await
}

/// The login page, or, when one upstream provider is the only way to log in, that provider.
async fn login_prompt<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    upstream: &WorkerUpstream<'_>,
    prompt: LoginPrompt,
) -> PageReply {
    match prompt.sole_provider() {
        Some(provider) => oidc::begin(server, req, upstream, provider, &prompt.return_to).await,
        None => http::browser(server, req).form_page(200, Page::Login(prompt)),
    }
}

/// `POST /.gatehouse/logout`: ends the session and clears its cookie.
pub async fn logout<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    let result = server
        .logout(&body, session.as_deref(), csrf.as_deref())
        .await;
    answer::logout(&server.site, &server.decision, result)
}

/// `POST` of the login form.
pub async fn login<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let csrf = http::cookie(req, CSRF_COOKIE);
    let outcome = server
        .login(&body, csrf.as_deref(), &platform::WebCryptoPbkdf2)
        .await;
    let browser = http::browser(server, req);
    answer::login(&server.site, &browser, outcome)
}

/// What the token, revocation, introspection and device authorization endpoints read: the form
/// body and the `Authorization` header (client authentication, RFC 6749 §2.3.1).
pub(crate) struct ClientRequest {
    pub(crate) body: Vec<u8>,
    pub(crate) authorization: Option<String>,
}

/// Reads a client's form request; `Err` carries the reply refusing it (the core's form rule,
/// [`answer::require_form`], or the body's size).
pub(crate) async fn client_request(req: &mut Incoming) -> Result<ClientRequest, PageReply> {
    answer::require_form(req.header("Content-Type").as_deref())?;
    let body = http::body(req, MAX_FORM_BYTES).await?;
    let authorization = req.header("Authorization");
    Ok(ClientRequest {
        body,
        authorization,
    })
}

/// `POST /oauth/token`.
pub async fn token<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let client = match client_request(req).await {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    let result = server
        .token(&client.body, client.authorization.as_deref())
        .await;
    answer::json_or_failure(&server.decision, result)
}

/// `POST /oauth/revoke`: `200` with an empty body (RFC 7009 §2.2); what the revocation leaves
/// for after the answer runs under `waitUntil` ([`consumer::finish_after_answer`]).
pub async fn revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    env: &Env,
    ctx: &Context,
) -> PageReply {
    let client = match client_request(req).await {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    match server
        .revoke(&client.body, client.authorization.as_deref())
        .await
    {
        Ok(pending) => {
            consumer::finish_after_answer(ctx, env, pending);
            Reply::empty()
        }
        Err(failure) => answer::failure(&server.decision, failure),
    }
}

/// `POST /oauth/introspect`.
pub async fn introspect<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let client = match client_request(req).await {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    let result = server
        .introspect(&client.body, client.authorization.as_deref())
        .await;
    answer::json_or_failure(&server.decision, result)
}

/// `GET /.gatehouse/agents`: the person's connected agents, as a page or JSON; without a
/// session, the login page first.
pub async fn agents_page<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
) -> PageReply {
    let session = http::cookie(req, &server.site.session_cookie());
    let view = server.connected_agents(session.as_deref()).await;
    let browser = http::browser(server, req);
    answer::agents(
        &server.site,
        &browser,
        req.header("Accept").as_deref(),
        view,
    )
}

/// `POST /.gatehouse/agents/revoke`: revokes one, then back to the list.
pub async fn revoke_agent<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> PageReply {
    let body = form_body!(req);
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    let result = server
        .revoke_agent(&body, session.as_deref(), csrf.as_deref())
        .await;
    answer::changed(&server.decision, &server.site.path(paths::AGENTS), result)
}
