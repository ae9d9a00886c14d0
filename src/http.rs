//! Writing the core's [`Reply`] onto the runtime's response, and reading bounded bodies. Nothing
//! here decides a status, a header or a page: the core did ([`gatehouse_core::answer`],
//! [`gatehouse_core::http::reply`]); this module copies it and renders the page view with the
//! templates of [`crate::pages`].

use futures_util::StreamExt as _;
use gatehouse_core::answer::{Browser, PageReply};
use gatehouse_core::error::{OAuthError, Reason};
use gatehouse_core::http::reply::{Body, Reply};
use gatehouse_core::page::Page;
use gatehouse_core::server::Server;
use worker::{Response, Result};

use crate::pages;
use crate::random::PlatformRng;
use crate::request::Incoming;

/// The server of one request, as every endpoint module takes it.
pub(crate) type AuthServer<'a, S, K> = Server<'a, S, K, PlatformRng>;

/// The runtime's response for `reply`: its status, its headers in order, and its body (a page
/// rendered with its templates, under the `Content-Security-Policy` that admits exactly their
/// stylesheet). The reply's log line, if any, goes to the operator's log.
pub fn write(reply: PageReply) -> Result<Response> {
    write_with(reply, render)
}

/// [`write`] for a reply whose page view `render` turns into HTML (the built-in demo app's page
/// is its own).
pub fn write_with<V>(reply: Reply<V>, render: impl FnOnce(V, &str) -> String) -> Result<Response> {
    let Reply {
        status,
        headers,
        body,
        log,
    } = reply;
    if let Some(line) = log {
        worker::console_error!("{line}");
    }
    let response = match body {
        Body::Empty => Response::empty()?,
        Body::Json(bytes) => {
            let response = Response::from_bytes(bytes)?;
            response.headers().set("Content-Type", "application/json")?;
            response
        }
        Body::Page { view, csrf } => {
            let response = Response::from_html(render(*view, csrf.as_deref().unwrap_or_default()))?;
            response
                .headers()
                .set("Content-Security-Policy", &pages::content_security_policy())?;
            response
        }
        Body::Download {
            content_type,
            bytes,
        } => {
            let response = Response::from_bytes(bytes)?;
            response.headers().set("Content-Type", content_type)?;
            response
        }
    };
    let response = response.with_status(status);
    let target = response.headers();
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("Set-Cookie") {
            target.append(name, value)?;
        } else {
            target.set(name, value)?;
        }
    }
    Ok(response)
}

/// A page view, rendered (`csrf` is the token its forms carry; empty for pages without forms).
fn render(view: Page, csrf: &str) -> String {
    match view {
        Page::Login(prompt) => pages::login(&prompt, csrf),
        Page::Consent(prompt) => pages::consent(&prompt, csrf),
        Page::Agents(view) => pages::agents(&view, csrf),
        Page::Error(error) => pages::error(&error),
        Page::LoginFailed { error, login_path } => pages::login_failed(&error, &login_path),
        Page::NotFound { app_href } => pages::not_found(&app_href),
        Page::Paused { retry_after_secs } => pages::paused(retry_after_secs),
        Page::Forbidden {
            app_name,
            email,
            logout_action,
        } => pages::forbidden(&app_name, &email, &logout_action, csrf),
        Page::DeviceEntry(prompt) => pages::device_entry(&prompt, csrf),
        Page::DeviceConsent(prompt) => pages::device_consent(&prompt, csrf),
        Page::DeviceDone { approved, app_name } => pages::device_done(approved, &app_name),
        Page::DeviceRefused(error) => pages::device_refused(&error),
        Page::ConsoleGrants(view) => pages::console_grants(&view, csrf),
        Page::ConsoleClients(view) => pages::console_clients(&view, csrf),
        Page::ConsolePeople(view) => pages::console_people(&view, csrf),
        Page::ConsoleState(view, report) => pages::console_state(&view, &report),
        Page::ConsoleAudit(view) => pages::console_audit(&view),
    }
}

/// Reads the body, refusing more than `max` bytes (`Err` carries the `413`, or the `400` for a
/// body the runtime could not deliver).
pub async fn body(req: &mut Incoming, max: usize) -> std::result::Result<Vec<u8>, PageReply> {
    let declared = req
        .header("Content-Length")
        .and_then(|l| l.parse::<usize>().ok());
    // A body also sent chunked is framed by its chunks, not by the length (RFC 9112 §6.3), and
    // workerd hands the Worker both headers as the client sent them: the length says nothing
    // about what the body will bring (e2e "a body that declares a small length but is sent
    // chunked").
    let chunked = req.header("Transfer-Encoding").is_some();
    let refused = |reason: Reason| Err(Reply::error(&OAuthError::from(reason)));
    match declared {
        Some(len) if len > max => return refused(Reason::BodyTooLarge),
        // A declared length alone frames the body: the runtime delivers exactly that many
        // bytes, so it can be read in one call, cheaper than the stream.
        Some(_) if !chunked => {
            return match req.bytes().await {
                Ok(body) if body.len() > max => refused(Reason::BodyTooLarge),
                Ok(body) => Ok(body),
                Err(_) => refused(Reason::MalformedBody),
            };
        }
        _ => {}
    }
    // Read chunk by chunk and stop at the limit: a chunked body declares no length, and reading
    // it whole first would let a client make the Worker buffer anything it sends.
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new());
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return refused(Reason::MalformedBody);
        };
        if body.len() + chunk.len() > max {
            return refused(Reason::BodyTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body of a form `POST` (at most [`gatehouse_core::form::MAX_FORM_BYTES`]), or, from the
/// calling handler, the reply refusing it.
macro_rules! form_body {
    ($req:expr) => {
        match $crate::http::body($req, gatehouse_core::form::MAX_FORM_BYTES).await {
            Ok(body) => body,
            Err(reply) => return reply,
        }
    };
}
pub(crate) use form_body;

/// What a request presents to the admin API and console: its `Authorization` header and its
/// session and CSRF cookies.
pub(crate) struct Presented {
    authorization: Option<String>,
    session: Option<String>,
    csrf_cookie: Option<String>,
}

impl Presented {
    pub(crate) fn of<S, K>(server: &AuthServer<'_, S, K>, req: &Incoming) -> Self {
        Self {
            authorization: req.header("Authorization"),
            session: cookie(req, &server.site.session_cookie()),
            csrf_cookie: cookie(req, gatehouse_core::http::cookie::CSRF_COOKIE),
        }
    }

    pub(crate) fn credentials(&self) -> gatehouse_core::admin::AdminCredentials<'_> {
        gatehouse_core::admin::AdminCredentials {
            authorization: self.authorization.as_deref(),
            session: self.session.as_deref(),
            csrf_cookie: self.csrf_cookie.as_deref(),
        }
    }
}

/// The browser behind `req`, for pages with forms (its CSRF cookie, or a new token).
pub(crate) fn browser<'a, S, K>(
    server: &'a AuthServer<'_, S, K>,
    req: &'a Incoming,
) -> Browser<'a, PlatformRng> {
    Browser {
        cookies: req.cookies(),
        rng: server.rng,
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(req: &Incoming, name: &str) -> Option<String> {
    gatehouse_core::http::cookie::read(req.cookies(), name).map(str::to_owned)
}
