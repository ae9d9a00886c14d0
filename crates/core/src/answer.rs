//! Each endpoint's outcome as the one [`Reply`]: which status, which headers, which page or JSON.
//! The features decide what happened; this module decides how HTTP says it, so the adapter
//! (`src/`) only reads requests, calls the core, and writes what it gets back.
//!
//! Not here: the shape of a reply and the HTTP rules every reply follows ([`crate::http`]), and
//! the rendering of pages (the adapter's templates).

use std::fmt::Display;

use serde::Serialize;

use crate::authorize::AuthorizeError;
use crate::authorize::flow::AuthorizeOutcome;
use crate::decision::DecisionLog;
use crate::device::verification::DevicePage;
use crate::error::{OAuthError, Reason};
use crate::failure::Failure;
use crate::gatekeeper::Gate;
use crate::http::cookie;
use crate::http::negotiation;
use crate::http::reply::Reply;
use crate::login::{LoginOutcome, LoginPrompt};
use crate::migration::Paused;
use crate::oidc::state::STATE_TTL_SECS;
use crate::oidc::{OidcFailure, OidcStart};
use crate::page::Page;
use crate::paths;
use crate::rng::Rng;
use crate::site::Site;
use crate::store::StoreError;

/// A reply whose page view is one of gatehouse's [`Page`]s.
pub type PageReply = Reply<Page>;

/// What a browser presents for pages with forms: its `Cookie` header, and the randomness for a
/// new CSRF token when it has none.
pub struct Browser<'a, R: ?Sized> {
    /// The `Cookie` header, if any.
    pub cookies: Option<&'a str>,
    /// Randomness for a new token.
    pub rng: &'a R,
}

impl<R: Rng + ?Sized> Browser<'_, R> {
    /// The CSRF token of this browser ([`cookie::csrf_token`]).
    pub fn csrf(&self) -> String {
        cookie::csrf_token(self.cookies, self.rng)
    }

    /// A page with forms: the token in the page and in the cookie.
    pub fn form_page(&self, status: u16, page: Page) -> PageReply {
        Reply::form_page(status, page, self.csrf())
    }
}

/// `503` + `Retry-After`: storage is down; logged for the operator, generic for the client.
pub fn store_unavailable(error: &impl Display) -> PageReply {
    Reply::error(&OAuthError::from(Reason::StoreUnavailable))
        .with_log(format!("storage unavailable: {error}"))
}

/// The `503` page a browser gets for a step migration mode refuses, with the operator's wait.
pub fn paused_page(paused: Paused) -> PageReply {
    Reply::page(
        503,
        Page::Paused {
            retry_after_secs: paused.retry_after_secs,
        },
    )
    .with_retry_after(paused.retry_after_secs)
}

/// A failed endpoint: the client's error (with the Basic challenge after HTTP Basic, RFC 6749
/// §5.2), `503` for a storage outage, or migration mode's `503` with the operator's wait. The
/// reason is noted for the request's log line.
pub fn failure(decision: &DecisionLog, failure: Failure) -> PageReply {
    match failure {
        Failure::OAuth {
            error,
            basic_challenge,
        } => Reply::error_after_basic(&decision.error(error), basic_challenge),
        Failure::Store(error) => store_unavailable(&error),
        Failure::Paused(paused) => {
            let error = decision.error(Reason::MigrationMode.into());
            Reply::error(&error).with_retry_after(paused.retry_after_secs)
        }
    }
}

/// The JSON answer of an endpoint (`200`), or its failure.
pub fn json_or_failure<T: Serialize>(
    decision: &DecisionLog,
    result: Result<T, Failure>,
) -> PageReply {
    match result {
        Ok(body) => Reply::json(200, &body),
        Err(error) => failure(decision, error),
    }
}

/// The form rule of the token, revocation, introspection and device authorization endpoints
/// (RFC 6749 §3.2: the client uses "application/x-www-form-urlencoded"), refusing anything else.
pub fn require_form(content_type: Option<&str>) -> Result<(), PageReply> {
    if crate::http::media_type::is(content_type, "application", "x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(Reply::error(&OAuthError::from(
            Reason::FormContentTypeRequired,
        )))
    }
}

/// The login page first, then back to `path` (a page under the app).
pub fn sign_in_first(site: &Site<'_>, path: &str) -> PageReply {
    let back: String = form_urlencoded::byte_serialize(site.path(path).as_bytes()).collect();
    Reply::redirect(
        302,
        &format!("{}?return_to={back}", site.path(paths::LOGIN)),
    )
}

/// What an authorization step leads to: a reply, or the login page (which may send the browser
/// straight on to the only upstream provider, an outbound step the adapter takes).
pub enum AuthorizeAnswer {
    /// Write this.
    Reply(PageReply),
    /// Ask the person to log in.
    Login(LoginPrompt),
}

/// `GET /oauth/authorize` and the consent form's `POST`: a page, a redirect to the client
/// (`302` after a GET, `303` after a POST), or an error page where a redirect would be unsafe
/// (`400` whatever the OAuth code's status: a page for the person, not an API answer).
pub fn authorize<R: Rng + ?Sized>(
    decision: &DecisionLog,
    issuer: &str,
    browser: &Browser<'_, R>,
    outcome: Result<AuthorizeOutcome, AuthorizeError>,
    redirect_status: u16,
) -> AuthorizeAnswer {
    AuthorizeAnswer::Reply(match outcome {
        Ok(AuthorizeOutcome::Login(prompt)) => return AuthorizeAnswer::Login(prompt),
        Ok(AuthorizeOutcome::Consent(prompt)) => browser.form_page(200, Page::Consent(prompt)),
        Ok(AuthorizeOutcome::Redirect(location)) => Reply::redirect(redirect_status, &location),
        Err(AuthorizeError::Render(reason)) => {
            Reply::page(400, Page::Error(decision.error(reason.into())))
        }
        Err(AuthorizeError::Redirect { to, state, error }) => Reply::redirect(
            redirect_status,
            &to.with_error(&decision.error(error), state.as_ref(), issuer),
        ),
        Err(AuthorizeError::Store(error)) => store_unavailable(&error),
        Err(AuthorizeError::Paused(paused)) => paused_page(paused),
    })
}

/// The login form's `POST`: the session opened (its cookie, then on to where the person was
/// going), the form again, `429` + `Retry-After` when throttled, or migration mode's page.
pub fn login<R: Rng + ?Sized>(
    site: &Site<'_>,
    browser: &Browser<'_, R>,
    outcome: Result<LoginOutcome, StoreError>,
) -> PageReply {
    match outcome {
        Ok(LoginOutcome::LoggedIn {
            session,
            max_age_secs,
            return_to,
        }) => Reply::session_opened(&site.session_cookie(), &session, max_age_secs, &return_to),
        Ok(LoginOutcome::Retry(prompt)) => browser.form_page(200, Page::Login(prompt)),
        Ok(LoginOutcome::Throttled {
            prompt,
            retry_after_secs,
        }) => browser
            .form_page(429, Page::Login(prompt))
            .with_retry_after(retry_after_secs),
        Ok(LoginOutcome::Paused(paused)) => paused_page(paused),
        Err(error) => store_unavailable(&error),
    }
}

/// `POST /.gatehouse/logout`: the session's cookie cleared, then the site's root.
pub fn logout(site: &Site<'_>, decision: &DecisionLog, result: Result<(), Failure>) -> PageReply {
    match result {
        Ok(()) => Reply::redirect(303, "/").with_cookie(cookie::clear(&site.session_cookie())),
        Err(error) => failure(decision, error),
    }
}

/// An upstream login started: to the provider, with the browser-binding cookie (set again
/// either way, so it outlives the state), or a page saying why not.
pub fn oidc_started(
    decision: &DecisionLog,
    site: &Site<'_>,
    started: Result<OidcStart, OidcFailure>,
    status: u16,
) -> PageReply {
    match started {
        Ok(OidcStart { location, binding }) => {
            Reply::redirect(status, &location).with_cookie(cookie::set(
                cookie::OIDC_BINDING_COOKIE,
                binding.expose_secret(),
                STATE_TTL_SECS,
            ))
        }
        Err(error) => oidc_failed(decision, site, error),
    }
}

/// The provider sent the browser back: the session opened, or a page saying why not.
pub fn oidc_callback(
    decision: &DecisionLog,
    site: &Site<'_>,
    outcome: Result<LoginOutcome, OidcFailure>,
) -> PageReply {
    match outcome {
        Ok(LoginOutcome::LoggedIn {
            session,
            max_age_secs,
            return_to,
        }) => Reply::session_opened(&site.session_cookie(), &session, max_age_secs, &return_to),
        // Upstream logins are neither checked against a password nor throttled here.
        Ok(LoginOutcome::Retry(_) | LoginOutcome::Throttled { .. }) => {
            oidc_failed(decision, site, OidcFailure::Refused(Reason::UpstreamDenied))
        }
        Ok(LoginOutcome::Paused(paused)) => paused_page(paused),
        Err(error) => oidc_failed(decision, site, error),
    }
}

/// A login that did not complete: a page saying why, never a redirect; `400` for a refusal,
/// `503` + `Retry-After` when the provider or storage is down.
pub fn oidc_failed(decision: &DecisionLog, site: &Site<'_>, failure: OidcFailure) -> PageReply {
    let (status, reason, log) = match failure {
        OidcFailure::Paused(paused) => return paused_page(paused),
        OidcFailure::Refused(reason) => (400, reason, format!("upstream login refused: {reason}")),
        OidcFailure::Unavailable(log) => (
            503,
            Reason::UpstreamUnavailable,
            format!("identity provider unavailable: {log}"),
        ),
        OidcFailure::Store(error) => (
            503,
            Reason::StoreUnavailable,
            format!("storage unavailable: {error}"),
        ),
    };
    let page = Page::LoginFailed {
        error: decision.error(reason.into()),
        login_path: site.path(paths::LOGIN),
    };
    let reply = Reply::page(status, page).with_log(log);
    match crate::http::reply::retry_after_secs(reason) {
        Some(secs) => reply.with_retry_after(secs),
        None => reply,
    }
}

/// `GET /.gatehouse/agents`: the login page first; then the person's connected agents as a page,
/// or as JSON for a client that asks for it by name ([`negotiation::wants_json`]).
pub fn agents<R: Rng + ?Sized>(
    site: &Site<'_>,
    browser: &Browser<'_, R>,
    accept: Option<&str>,
    view: Result<Option<crate::agents::AgentsView>, StoreError>,
) -> PageReply {
    match view {
        Ok(None) => sign_in_first(site, paths::AGENTS),
        Ok(Some(view)) if negotiation::wants_json(accept) => Reply::json(200, &view),
        Ok(Some(view)) => browser.form_page(200, Page::Agents(view)),
        Err(error) => store_unavailable(&error),
    }
}

/// A form that changes something, then back to `back` (`303`), or the failure.
pub fn changed(decision: &DecisionLog, back: &str, result: Result<(), Failure>) -> PageReply {
    match result {
        Ok(()) => Reply::redirect(303, back),
        Err(error) => failure(decision, error),
    }
}

/// The device verification page (RFC 8628 §3.3) in its current step.
pub fn device_page<R: Rng + ?Sized>(
    decision: &DecisionLog,
    browser: &Browser<'_, R>,
    page: Result<DevicePage, StoreError>,
    redirect_status: u16,
) -> PageReply {
    let page = match page {
        Ok(page) => page,
        Err(error) => return store_unavailable(&error),
    };
    let status = page.status();
    match page {
        DevicePage::Login(location) => Reply::redirect(redirect_status, &location),
        DevicePage::Enter(prompt) => browser.form_page(status, Page::DeviceEntry(prompt)),
        DevicePage::Confirm(prompt) => browser.form_page(status, Page::DeviceConsent(prompt)),
        DevicePage::Done { approved, app_name } => {
            Reply::page(status, Page::DeviceDone { approved, app_name })
        }
        DevicePage::Refused(reason) => {
            Reply::page(status, Page::DeviceRefused(decision.error(reason.into())))
        }
        DevicePage::Paused(paused) => paused_page(paused),
    }
}

/// The admin API's JSON, or its failure: `404` while the API is off, `401` with the admin
/// Bearer challenge for a wrong token.
pub fn admin<T: Serialize>(decision: &DecisionLog, result: Result<T, Failure>) -> PageReply {
    match result {
        Ok(body) => Reply::json(200, &body),
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminApiOff => {
            Reply::not_found()
        }
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminUnauthorized => {
            Reply::admin_unauthorized(&decision.error(error))
        }
        Err(error) => failure(decision, error),
    }
}

/// A console page, its forms carrying the CSRF token, or the failure as a page.
pub fn console_page<R: Rng + ?Sized, V>(
    decision: &DecisionLog,
    site: &Site<'_>,
    browser: &Browser<'_, R>,
    path: &str,
    view: Result<V, Failure>,
    page: impl FnOnce(V) -> Page,
) -> PageReply {
    match view {
        Ok(view) => browser.form_page(200, page(view)),
        Err(error) => console_failure(decision, site, path, error),
    }
}

/// The answer to a console change: back to the page it came from (`303`), or the failure as a
/// page.
pub fn console_changed(
    decision: &DecisionLog,
    site: &Site<'_>,
    path: &str,
    changed: Result<String, Failure>,
) -> PageReply {
    match changed {
        Ok(back) => Reply::redirect(303, &back),
        Err(error) => console_failure(decision, site, path, error),
    }
}

/// A console failure as a page: `404` while the admin API is off, the login page for a browser
/// without a live session (then back to `path`), `403` for a person who is no admin, the
/// migration-mode page for a change that cannot wait, the error page otherwise.
pub fn console_failure(
    decision: &DecisionLog,
    site: &Site<'_>,
    path: &str,
    error: Failure,
) -> PageReply {
    match error {
        Failure::OAuth { error, .. } if error.reason == Reason::AdminApiOff => Reply::page(
            404,
            Page::NotFound {
                app_href: site.path("/"),
            },
        ),
        Failure::OAuth { error, .. } if error.reason == Reason::ConsoleSignInRequired => {
            sign_in_first(site, path)
        }
        Failure::OAuth { error, .. }
            if matches!(
                error.reason,
                Reason::AdminUnauthorized | Reason::ConsoleNotAdmin
            ) =>
        {
            Reply::page(403, Page::Error(error))
        }
        Failure::OAuth { error, .. } => Reply::page(error.status(), Page::Error(error)),
        Failure::Paused(paused) => paused_page(paused),
        other => failure(decision, other),
    }
}

/// A path in gatehouse's own namespaces that no endpoint serves: a page for a browser
/// navigating, JSON for anything else. Never forwarded, whatever the app serves.
pub fn unknown_endpoint(
    site: &Site<'_>,
    method: &str,
    accept: Option<&str>,
    sec_fetch_mode: Option<&str>,
) -> PageReply {
    if negotiation::is_browser_navigation(method, accept, sec_fetch_mode) {
        Reply::page(
            404,
            Page::NotFound {
                app_href: site.path("/"),
            },
        )
    } else {
        Reply::not_found()
    }
}

/// What the gate decided, for the adapter: forward (with the identity, if any), or reply.
pub enum GateAnswer {
    /// Forward to the origin.
    Pass(Option<crate::gatekeeper::Identity>),
    /// Write this.
    Reply(PageReply),
}

/// The gate's decision as an answer: forward, the login page for a browser, the Bearer
/// challenge (RFC 6750 §3), or a `403` page for a person the app's policy does not admit.
pub fn gate<R: Rng + ?Sized>(
    site: &Site<'_>,
    browser: &Browser<'_, R>,
    gate: Result<Gate, StoreError>,
) -> GateAnswer {
    GateAnswer::Reply(match gate {
        Ok(Gate::Public) => return GateAnswer::Pass(None),
        Ok(Gate::Allow(identity)) => return GateAnswer::Pass(Some(identity)),
        Ok(Gate::Refused(error)) => Reply::error(&error),
        Ok(Gate::SignIn { location }) => Reply::redirect(302, &location),
        Ok(Gate::Challenge {
            status,
            www_authenticate,
            error,
        }) => Reply::bearer_challenge(status, &www_authenticate, error.as_ref()),
        Ok(Gate::Forbidden(person)) => browser.form_page(
            403,
            Page::Forbidden {
                app_name: site.app.name.clone(),
                email: person.email,
                logout_action: site.path(paths::LOGOUT),
            },
        ),
        Err(error) => store_unavailable(&error),
    })
}

#[cfg(test)]
mod tests;
