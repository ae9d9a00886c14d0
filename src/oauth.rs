//! The authorization server's endpoints: HTTP in, core call, HTTP out. No protocol decision is
//! made here; each function only reads what the core needs and writes what it returns.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::decision::DecisionLog;
use gatehouse_core::error::{OAuthError, Reason};
use gatehouse_core::form::MAX_FORM_BYTES;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::login::{LoginOutcome, LoginPrompt};
use gatehouse_core::paths;
use gatehouse_core::registration::{self, MAX_REGISTRATION_BYTES};
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::secret::{CsrfToken, SessionId};
use gatehouse_core::server::{AuthorizeOutcome, Failure, Server};
use gatehouse_core::store::Store;
use worker::{Response, Result};

use crate::random::PlatformRng;
use crate::request::Incoming;
use crate::upstream::WorkerUpstream;
use crate::{http, oidc, pages, platform};

/// The double-submit CSRF cookie of gatehouse's forms.
pub const CSRF_COOKIE: &str = "__Host-gatehouse-csrf";
/// The CSRF cookie outlives a slow login by a good margin.
const CSRF_COOKIE_MAX_AGE_SECS: u64 = 3600;

pub(crate) type AuthServer<'a, S, K> = Server<'a, S, K, PlatformRng>;

/// `POST /oauth/register`.
pub async fn register<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_REGISTRATION_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let ip = req.header("CF-Connecting-IP").unwrap_or_default();
    match server
        .register(&body, &registration::source_network(&ip))
        .await
    {
        Ok(registered) => http::json(201, &registered.response()),
        Err(failure) => http::failure(&server.decision, failure),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
) -> Result<Response> {
    let query = url.query.unwrap_or_default();
    let session = http::cookie(req, &server.site.session_cookie());
    let outcome = server.authorize(query, session.as_deref()).await;
    answer(server, req, upstream, outcome, 302).await
}

/// `POST` of the consent form.
pub async fn consent<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
    upstream: &WorkerUpstream<'_>,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    let outcome = server
        .consent(&body, session.as_deref(), csrf.as_deref())
        .await;
    answer(server, req, upstream, outcome, 303).await
}

/// Turns an authorization outcome into a page or a redirect.
async fn answer<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    upstream: &WorkerUpstream<'_>,
    outcome: std::result::Result<AuthorizeOutcome, AuthorizeError>,
    redirect_status: u16,
) -> Result<Response> {
    match outcome {
        Ok(AuthorizeOutcome::Login(prompt)) => login_prompt(server, req, upstream, &prompt).await,
        Ok(AuthorizeOutcome::Consent(prompt)) => {
            with_csrf(server, req, |csrf| pages::consent(&prompt, csrf))
        }
        Ok(AuthorizeOutcome::Redirect(location)) => http::redirect(redirect_status, &location),
        // A page for the person, not an API answer: `400` whatever the OAuth code's status.
        Err(AuthorizeError::Render(reason)) => {
            http::page(400, pages::error(&server.decision.error(reason.into())))
        }
        Err(AuthorizeError::Redirect { to, state, error }) => http::redirect(
            redirect_status,
            &to.with_error(
                &server.decision.error(error),
                state.as_ref(),
                &server.site.issuer,
            ),
        ),
        Err(AuthorizeError::Store(error)) => http::unavailable(&error.to_string()),
        Err(AuthorizeError::Paused(paused)) => http::paused_page(paused),
    }
}

/// The CSRF token of this browser: its cookie's, if well formed, else a new one.
pub fn csrf_token<S, K>(server: &AuthServer<'_, S, K>, req: &Incoming) -> String {
    http::cookie(req, CSRF_COOKIE)
        .filter(|c| CsrfToken::is_well_formed(c))
        .unwrap_or_else(|| CsrfToken::issue(server.rng).expose_secret().to_owned())
}

/// Sets the CSRF cookie on a page that carries `token` in a form.
pub fn set_csrf_cookie(response: &Response, token: &str) -> Result<()> {
    http::set_cookie(
        response.headers(),
        CSRF_COOKIE,
        token,
        CSRF_COOKIE_MAX_AGE_SECS,
    )
}

/// A form page with the CSRF token in both the form and the cookie.
fn with_csrf<S, K>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    render: impl FnOnce(&str) -> String,
) -> Result<Response> {
    page_with_csrf(server, req, 200, render)
}

/// [`with_csrf`] with another status.
pub fn page_with_csrf<S, K>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    status: u16,
    render: impl FnOnce(&str) -> String,
) -> Result<Response> {
    let token = csrf_token(server, req);
    let response = http::page(status, render(&token))?;
    set_csrf_cookie(&response, &token)?;
    Ok(response)
}

/// `GET /.gatehouse/login?return_to=…`: the login page for a person who came to the app itself.
pub async fn login_page<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: &WorkerUpstream<'_>,
) -> Result<Response> {
    let return_to = form_urlencoded::parse(url.query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned());
    let prompt = LoginPrompt::for_app(
        server.config,
        &server.site,
        return_to.as_deref().unwrap_or("/"),
    );
    login_prompt(server, req, upstream, &prompt).await
}

/// The login page, or, when one upstream provider is the only way to log in, that provider.
async fn login_prompt<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
    upstream: &WorkerUpstream<'_>,
    prompt: &LoginPrompt,
) -> Result<Response> {
    match prompt.sole_provider() {
        Some(provider) => oidc::begin(server, req, upstream, provider, &prompt.return_to).await,
        None => with_csrf(server, req, |csrf| pages::login(prompt, csrf)),
    }
}

/// `POST /.gatehouse/logout`: ends the session and clears its cookie.
pub async fn logout<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    match server
        .logout(&body, session.as_deref(), csrf.as_deref())
        .await
    {
        Ok(()) => {
            let response = http::redirect(303, "/")?;
            http::set_cookie(response.headers(), &server.site.session_cookie(), "", 0)?;
            Ok(response)
        }
        Err(failure) => http::failure(&server.decision, failure),
    }
}

/// `POST` of the login form.
pub async fn login<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let csrf = http::cookie(req, CSRF_COOKIE);
    match server
        .login(&body, csrf.as_deref(), &platform::WebCryptoPbkdf2)
        .await
    {
        Ok(LoginOutcome::LoggedIn {
            session,
            max_age_secs,
            return_to,
        }) => logged_in(server, &session, max_age_secs, &return_to),
        Ok(LoginOutcome::Retry(prompt)) => {
            with_csrf(server, req, |csrf| pages::login(&prompt, csrf))
        }
        Ok(LoginOutcome::Throttled {
            prompt,
            retry_after_secs,
        }) => {
            let response = page_with_csrf(server, req, 429, |csrf| pages::login(&prompt, csrf))?;
            response
                .headers()
                .set("Retry-After", &retry_after_secs.to_string())?;
            Ok(response)
        }
        Ok(LoginOutcome::Paused(paused)) => http::paused_page(paused),
        Err(error) => http::unavailable(&error.to_string()),
    }
}

/// A session was opened: set its cookie and send the browser on (303: with GET, whatever
/// brought it here).
pub(crate) fn logged_in<S, K>(
    server: &AuthServer<'_, S, K>,
    session: &SessionId,
    max_age_secs: u64,
    return_to: &str,
) -> Result<Response> {
    let response = http::redirect(303, return_to)?;
    http::set_cookie(
        response.headers(),
        &server.site.session_cookie(),
        session.expose_secret(),
        max_age_secs,
    )?;
    Ok(response)
}

/// What the token, revocation and introspection endpoints read: the form body and the
/// `Authorization` header (client authentication, RFC 6749 §2.3.1).
pub(crate) struct ClientRequest {
    pub(crate) body: Vec<u8>,
    pub(crate) authorization: Option<String>,
}

/// Reads a client's form request. RFC 6749 §3.2: the client uses
/// "application/x-www-form-urlencoded"; `Err` carries the response refusing anything else.
pub(crate) async fn client_request(
    req: &mut Incoming,
) -> std::result::Result<ClientRequest, Result<Response>> {
    let content_type = req.header("Content-Type").unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(http::oauth_error(&OAuthError::from(
            Reason::FormContentTypeRequired,
        )));
    }
    let body = http::body(req, MAX_FORM_BYTES).await?;
    let authorization = req.header("Authorization");
    Ok(ClientRequest {
        body,
        authorization,
    })
}

/// The JSON answer of an endpoint, or its failure.
pub(crate) fn json_or_failure<T: serde::Serialize>(
    decision: &DecisionLog,
    result: std::result::Result<T, Failure>,
) -> Result<Response> {
    match result {
        Ok(body) => http::json(200, &body),
        Err(failure) => http::failure(decision, failure),
    }
}

/// `POST /oauth/token`.
pub async fn token<S: Store, K: Signer>(
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
            .token(&client.body, client.authorization.as_deref())
            .await,
    )
}

/// `POST /oauth/revoke`: `200` with an empty body (RFC 7009 §2.2).
pub async fn revoke<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let client = match client_request(req).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    match server
        .revoke(&client.body, client.authorization.as_deref())
        .await
    {
        Ok(()) => {
            let mut response = Response::empty()?;
            response.headers_mut().set("Cache-Control", "no-store")?;
            Ok(response)
        }
        Err(failure) => http::failure(&server.decision, failure),
    }
}

/// `POST /oauth/introspect`.
pub async fn introspect<S: Store, K: Signer>(
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
            .introspect(&client.body, client.authorization.as_deref())
            .await,
    )
}

/// `GET /.gatehouse/agents`: the person's connected agents, as a page or (for `Accept:
/// application/json`) JSON; without a session, the login page first.
pub async fn agents_page<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &Incoming,
) -> Result<Response> {
    let session = http::cookie(req, &server.site.session_cookie());
    match server.connected_agents(session.as_deref()).await {
        Ok(None) => {
            let back: String =
                form_urlencoded::byte_serialize(server.site.path(paths::AGENTS).as_bytes())
                    .collect();
            http::redirect(
                302,
                &format!("{}?return_to={back}", server.site.path(paths::LOGIN)),
            )
        }
        Ok(Some(view)) => {
            let accept = req.header("Accept").unwrap_or_default();
            if accept.contains("application/json") {
                http::json(200, &view)
            } else {
                with_csrf(server, req, |csrf| pages::agents(&view, csrf))
            }
        }
        Err(error) => http::unavailable(&error.to_string()),
    }
}

/// `POST /.gatehouse/agents/revoke`: revokes one, then back to the list.
pub async fn revoke_agent<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    req: &mut Incoming,
) -> Result<Response> {
    let body = match http::body(req, MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let session = http::cookie(req, &server.site.session_cookie());
    let csrf = http::cookie(req, CSRF_COOKIE);
    match server
        .revoke_agent(&body, session.as_deref(), csrf.as_deref())
        .await
    {
        Ok(()) => http::redirect(303, &server.site.path(paths::AGENTS)),
        Err(failure) => http::failure(&server.decision, failure),
    }
}
