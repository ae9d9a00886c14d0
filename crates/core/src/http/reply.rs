//! The one reply type: status, headers and a body (JSON, a page view, or nothing; a redirect is
//! an empty body with `Location`). Every answer gatehouse writes itself is built here, so the
//! status of an error, `Cache-Control`, `Retry-After`, `Allow`, CORS and `Set-Cookie` are decided
//! in the core and tested natively; the adapter only copies a [`Reply`] onto the runtime's
//! response and renders a page view with its templates.
//!
//! A reply is generic over the page view `V` (the view models the features return and the
//! adapter renders), so this layer names no feature type.

use serde::Serialize;

use super::challenge;
use super::cookie;
use crate::error::{OAuthError, Reason};

/// Seconds a client should wait after a `503` for a storage outage.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;
/// Seconds a browser should wait before trying an identity provider that did not answer again.
pub const UPSTREAM_RETRY_AFTER_SECS: u64 = 30;
/// `Retry-After` while the configuration is invalid: fixing it takes the operator a deploy, so
/// clients need not come back sooner than a minute.
pub const MISCONFIGURED_RETRY_AFTER_SECS: u64 = 60;
/// How long clients may cache discovery documents and the JWKS.
pub const METADATA_MAX_AGE_SECS: u64 = 300;
/// How long a browser may cache a CORS preflight's answer (Fetch Standard,
/// `Access-Control-Max-Age`).
const PREFLIGHT_MAX_AGE_SECS: u64 = 86_400;

/// What a reply carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<V> {
    /// No content (redirects, `204`, revocation's `200`).
    Empty,
    /// A JSON document, serialized (`Content-Type: application/json`).
    Json(Vec<u8>),
    /// A page for a person: the view to render, and the CSRF token its forms carry (the same
    /// token is in the reply's `Set-Cookie`).
    Page {
        /// The page's view model.
        view: Box<V>,
        /// The token for the page's forms, when it has any.
        csrf: Option<String>,
    },
    /// A file to download (the admin console's audit export), of this content type.
    Download {
        /// Its `Content-Type`.
        content_type: &'static str,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

/// An HTTP reply: status, headers in order, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply<V> {
    /// The status code.
    pub status: u16,
    /// The headers, in order; a name may repeat (`Set-Cookie`).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Body<V>,
    /// A line for the operator's log, never sent: why storage or a provider failed.
    pub log: Option<String>,
}

impl<V> Reply<V> {
    fn new(status: u16, body: Body<V>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
            log: None,
        }
    }

    /// Sets header `name` to `value`, replacing any earlier value.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
        self
    }

    /// Adds a `Set-Cookie` (a `__Host-` cookie, [`cookie::set`]).
    pub fn with_cookie(mut self, set_cookie: String) -> Self {
        self.headers.push(("Set-Cookie", set_cookie));
        self
    }

    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A JSON reply with `Cache-Control: no-store`: nothing gatehouse answers in JSON is meant to
    /// be cached by an intermediary (RFC 6749 §5.1 requires it for tokens; RFC 7662 §4 and
    /// RFC 7591 §3.2.1 carry credentials too).
    pub fn json<T: Serialize>(status: u16, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => Self::new(status, Body::Json(bytes))
                .with("Cache-Control", "no-store")
                .with("Pragma", "no-cache"),
            // Serializing the core's own documents cannot fail; answer something valid anyway.
            Err(_) => Self::new(500, Body::Json(br#"{"error":"server_error"}"#.to_vec()))
                .with("Cache-Control", "no-store"),
        }
    }

    /// A JSON document that may be cached briefly (discovery metadata, JWKS, Access's certs),
    /// serialized already.
    pub fn public_json(bytes: Vec<u8>) -> Self {
        Self::new(200, Body::Json(bytes)).with(
            "Cache-Control",
            format!("public, max-age={METADATA_MAX_AGE_SECS}"),
        )
    }

    /// An error response (RFC 6749 §5.2): the JSON body of `error`, its status
    /// ([`error_status`]), and `Retry-After` where the reason has a known wait
    /// ([`retry_after_secs`]).
    pub fn error(error: &OAuthError) -> Self {
        let reply = Self::json(error_status(error), &error.body());
        match retry_after_secs(error.reason) {
            Some(secs) => reply.with_retry_after(secs),
            None => reply,
        }
    }

    /// A client error after HTTP Basic authentication was tried: the Basic challenge too
    /// (RFC 6749 §5.2).
    pub fn error_after_basic(error: &OAuthError, basic_challenge: bool) -> Self {
        let reply = Self::error(error);
        if basic_challenge {
            reply.with("WWW-Authenticate", challenge::BASIC)
        } else {
            reply
        }
    }

    /// The admin API's refusal of a wrong or missing `ADMIN_TOKEN`: `401` with its Bearer
    /// challenge (RFC 6750 §3).
    pub fn admin_unauthorized(error: &OAuthError) -> Self {
        Self::error(error).with("WWW-Authenticate", challenge::ADMIN_BEARER)
    }

    /// The refusal of a request for a protected app: RFC 6750 §3 status and `WWW-Authenticate`,
    /// with a JSON body saying the same. Without credentials (`error` is `None`) the body has no
    /// error code (RFC 6750 §3.1: "the resource server SHOULD NOT include an error code or other
    /// error information"), only a pointer to the challenge. No CORS headers: which origins may
    /// read the app's responses is the app's policy, which gatehouse does not know; a
    /// browser-based client finds the same metadata at the app's well-known URL, which any
    /// origin may read (MCP authorization, "Protected Resource Metadata Discovery").
    pub fn bearer_challenge(
        status: u16,
        www_authenticate: &str,
        error: Option<&OAuthError>,
    ) -> Self {
        #[derive(Serialize)]
        struct NoCredentials {
            error_description: &'static str,
        }
        let reply = match error {
            Some(error) => Self::json(status, &error.body()),
            None => Self::json(
                status,
                &NoCredentials {
                    error_description: "this resource needs a bearer token; WWW-Authenticate says where to get one",
                },
            ),
        };
        reply.with("WWW-Authenticate", www_authenticate)
    }

    /// The answer while the configuration is invalid: `503` + `Retry-After`, and only a
    /// reference to the log line that says what is wrong (a misconfiguration can name secrets'
    /// shapes and hosts, so the public never sees it).
    pub fn misconfigured(reference: &str) -> Self {
        #[derive(Serialize)]
        struct Misconfigured<'a> {
            error: crate::error::ErrorCode,
            error_description: &'static str,
            reference: &'a str,
        }
        let error = OAuthError::from(Reason::Misconfigured);
        Self::json(
            error_status(&error),
            &Misconfigured {
                error: error.code,
                error_description: error.description,
                reference,
            },
        )
        .with_retry_after(MISCONFIGURED_RETRY_AFTER_SECS)
    }

    /// The answer for a path gatehouse does not serve (RFC 9110 §15.5.5).
    pub fn not_found() -> Self {
        Self::error(&OAuthError::from(Reason::EndpointUnknown))
    }

    /// The answer for a known path and a method it does not serve: `405` with the methods it
    /// does (RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field").
    pub fn method_not_allowed(allow: Allow) -> Self {
        Self::error(&OAuthError::from(Reason::MethodNotAllowed)).with("Allow", allow.as_str())
    }

    /// The same reply with a line for the operator's log.
    pub fn with_log(mut self, line: impl Into<String>) -> Self {
        self.log = Some(line.into());
        self
    }

    /// `Retry-After` in seconds (RFC 9110 §10.2.3).
    pub fn with_retry_after(self, secs: u64) -> Self {
        self.with("Retry-After", secs.to_string())
    }

    /// A redirect (`302` after a GET, `303` after a form POST, RFC 9110 §15.4).
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::new(status, Body::Empty)
            .with("Location", location)
            .with("Cache-Control", "no-store")
    }

    /// An empty `200` that must not be cached (revocation, RFC 7009 §2.2).
    pub fn empty() -> Self {
        Self::new(200, Body::Empty).with("Cache-Control", "no-store")
    }

    /// A page for a person. Pages carry `Cache-Control: no-store`, `Referrer-Policy:
    /// no-referrer`, `X-Content-Type-Options: nosniff` and `X-Frame-Options: DENY`; the adapter
    /// adds the `Content-Security-Policy` that admits exactly its stylesheet.
    pub fn page(status: u16, view: V) -> Self {
        Self::page_body(status, view, None)
    }

    /// A page whose forms carry `csrf`, with the CSRF cookie set to the same token
    /// (double submit, [`crate::csrf`]).
    pub fn form_page(status: u16, view: V, csrf: String) -> Self {
        let set_cookie = cookie::csrf_cookie(&csrf);
        Self::page_body(status, view, Some(csrf)).with_cookie(set_cookie)
    }

    fn page_body(status: u16, view: V, csrf: Option<String>) -> Self {
        Self::new(
            status,
            Body::Page {
                view: Box::new(view),
                csrf,
            },
        )
        .with("Cache-Control", "no-store")
        .with("Referrer-Policy", "no-referrer")
        .with("X-Content-Type-Options", "nosniff")
        .with("X-Frame-Options", "DENY")
    }

    /// A file to download as `filename` (the audit export), never cached or sniffed.
    pub fn download(content_type: &'static str, filename: &str, bytes: Vec<u8>) -> Self {
        Self::new(
            200,
            Body::Download {
                content_type,
                bytes,
            },
        )
        .with(
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        )
        .with("Cache-Control", "no-store")
        .with("X-Content-Type-Options", "nosniff")
    }

    /// A session was opened: its cookie, and the browser sent on to `return_to` (`303`: with GET,
    /// whatever brought it here).
    pub fn session_opened(
        cookie_name: &str,
        session: &crate::secret::SessionId,
        max_age_secs: u64,
        return_to: &str,
    ) -> Self {
        Self::redirect(303, return_to).with_cookie(cookie::set(
            cookie_name,
            session.expose_secret(),
            max_age_secs,
        ))
    }

    /// CORS for endpoints that browser-based clients call (metadata, registration, token,
    /// revocation, JWKS, device authorization; [`Cors::for_endpoint`]): any origin, no cookies.
    /// gatehouse never reads cookies on these endpoints, so a cross-origin caller gains nothing
    /// it could not do from a server. A challenge (`WWW-Authenticate`, on a failed client
    /// authentication) is not a CORS-safelisted response header, so it is exposed where there is
    /// one (Fetch Standard, `Access-Control-Expose-Headers`); elsewhere that header would say
    /// nothing, and every header costs the runtime CPU to write.
    pub fn with_cors(self) -> Self {
        let challenged = self.header("WWW-Authenticate").is_some();
        let reply = self.with("Access-Control-Allow-Origin", "*");
        if challenged {
            reply.with("Access-Control-Expose-Headers", "WWW-Authenticate")
        } else {
            reply
        }
    }

    /// The answer to a CORS preflight (Fetch Standard, "CORS-preflight request").
    pub fn preflight() -> Self {
        Self::new(204, Body::Empty)
            .with("Access-Control-Allow-Origin", "*")
            .with("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            .with(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, MCP-Protocol-Version",
            )
            .with("Access-Control-Max-Age", PREFLIGHT_MAX_AGE_SECS.to_string())
    }

    /// The same reply with another page view type (for a reply that has no page).
    pub fn map_view<W>(self, f: impl FnOnce(V) -> W) -> Reply<W> {
        let body = match self.body {
            Body::Empty => Body::Empty,
            Body::Json(bytes) => Body::Json(bytes),
            Body::Page { view, csrf } => Body::Page {
                view: Box::new(f(*view)),
                csrf,
            },
            Body::Download {
                content_type,
                bytes,
            } => Body::Download {
                content_type,
                bytes,
            },
        };
        Reply {
            status: self.status,
            headers: self.headers,
            body,
            log: self.log,
        }
    }
}

/// The HTTP status of a direct error response: the code's ([`crate::error::ErrorCode::status`]),
/// except where HTTP has a more precise one for the reason: `404` for no such endpoint
/// (RFC 9110 §15.5.5), `405` for a method the endpoint does not serve (§15.5.6), `413` for a
/// body over the limit (§15.5.14), `502` for an origin that did not answer (§15.6.3).
pub fn error_status(error: &OAuthError) -> u16 {
    match error.reason {
        Reason::OriginUnreachable => 502,
        Reason::EndpointUnknown => 404,
        Reason::MethodNotAllowed => 405,
        Reason::BodyTooLarge => 413,
        _ => error.status(),
    }
}

/// How long a client should wait before retrying after this refusal (RFC 9110 §10.2.3), where
/// gatehouse knows: a storage outage, an identity provider that did not answer, an invalid
/// configuration. Migration mode's wait is the operator's ([`crate::migration::Paused`]), added
/// by the caller.
pub fn retry_after_secs(reason: Reason) -> Option<u64> {
    match reason {
        Reason::StoreUnavailable => Some(STORE_RETRY_AFTER_SECS),
        Reason::UpstreamUnavailable => Some(UPSTREAM_RETRY_AFTER_SECS),
        Reason::Misconfigured => Some(MISCONFIGURED_RETRY_AFTER_SECS),
        _ => None,
    }
}

/// Whether the endpoint at `local` (a path under the app's prefix) answers cross-origin callers
/// (browser-based clients): registration, token, revocation, JWKS and device authorization.
/// The discovery documents are answered with CORS too, before any endpoint is looked up.
pub fn has_cors(local: &str) -> bool {
    use crate::paths;
    matches!(
        local,
        paths::REGISTER | paths::TOKEN | paths::REVOKE | paths::JWKS | paths::DEVICE_AUTHORIZATION
    )
}

/// The methods an endpoint serves, for `Allow` (RFC 9110 §10.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allow {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `GET, POST`.
    GetPost,
    /// `GET, OPTIONS` (CORS).
    GetOptions,
    /// `POST, OPTIONS` (CORS).
    PostOptions,
}

impl Allow {
    /// The header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::GetPost => "GET, POST",
            Self::GetOptions => "GET, OPTIONS",
            Self::PostOptions => "POST, OPTIONS",
        }
    }

    /// The methods gatehouse's own endpoint at `local` (a path under the app's prefix) serves;
    /// `None` for a path that is no endpoint of its own. The preflight (`OPTIONS`) is listed
    /// where CORS applies ([`has_cors`]). `/healthz` is the host's, not an app's: `GET` only.
    pub fn for_endpoint(local: &str) -> Option<Self> {
        use crate::paths as p;
        Some(match local {
            p::JWKS => Self::GetOptions,
            p::DEVICE_AUTHORIZATION | p::REGISTER | p::TOKEN | p::REVOKE => Self::PostOptions,
            p::DEVICE | p::LOGIN => Self::GetPost,
            p::AUTHORIZE
            | p::AGENTS
            | p::ADMIN_GRANTS
            | p::ADMIN_AUDIT
            | p::ADMIN_HELD
            | p::ADMIN_CONSOLE_GRANTS
            | p::ADMIN_CONSOLE_CLIENTS
            | p::ADMIN_CONSOLE_PEOPLE
            | p::ADMIN_CONSOLE_STATE
            | p::ADMIN_CONSOLE_AUDIT
            | p::OIDC_CALLBACK => Self::Get,
            p::OIDC_START
            | p::LOGOUT
            | p::CONSENT
            | p::INTROSPECT
            | p::AGENTS_REVOKE
            | p::ADMIN_REVOKE
            | p::ADMIN_CONSOLE_REVOKE
            | p::ADMIN_CONSOLE_DISABLE
            | p::ADMIN_CONSOLE_ENABLE
            | p::ADMIN_CONSOLE_REVOKE_PERSON
            | p::ADMIN_DISABLE_CLIENT => Self::Post,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
