//! Every path gatehouse serves, in one place: the Worker's router and the discovery documents
//! ([`crate::metadata`]) both read these constants, so an endpoint cannot move without its
//! advertisement moving too.
//!
//! [`well_known`] classifies a request path into the discovery document it asks for, accepting
//! the forms unmodified clients probe (RFC 8414 §3.1, OpenID Connect Discovery 1.0 §4, RFC 9728
//! §3.1 and the MCP authorization spec's probe order). It deliberately does not accept a
//! path-appending form for `oauth-authorization-server` or `oauth-protected-resource`
//! (`/<path>/.well-known/oauth-authorization-server`): RFC 8414 §3.1 and RFC 9728 §3.1 define
//! path insertion only, and every such path is one the protected app could serve itself.

/// Authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE: &str = "/oauth/authorize";
/// Token endpoint (RFC 6749 §3.2).
pub const TOKEN: &str = "/oauth/token";
/// Dynamic client registration endpoint (RFC 7591 §3).
pub const REGISTER: &str = "/oauth/register";
/// Token revocation endpoint (RFC 7009 §2).
pub const REVOKE: &str = "/oauth/revoke";
/// Token introspection endpoint (RFC 7662 §2).
pub const INTROSPECT: &str = "/oauth/introspect";
/// The JWK Set of the token signing keys, advertised as `jwks_uri` (RFC 8414 §2, RFC 7517 §5).
pub const JWKS: &str = "/oauth/jwks.json";
/// Device authorization endpoint (RFC 8628 §3.1), advertised as
/// `device_authorization_endpoint` (RFC 8628 §4).
pub const DEVICE_AUTHORIZATION: &str = "/oauth/device_authorization";
/// The device grant's verification page (RFC 8628 §3.3 `verification_uri`): the person types
/// the user code here (`GET` shows the form, `POST` submits it; CSRF-protected).
pub const DEVICE: &str = "/.gatehouse/device";
/// The login form's target (gatehouse's own page, not an OAuth endpoint).
pub const LOGIN: &str = "/.gatehouse/login";
/// Starts an upstream OpenID Connect login (`POST` from the login page, CSRF-protected).
pub const OIDC_START: &str = "/.gatehouse/oidc/start";
/// Where upstream OpenID Connect providers send the browser back: the redirect URI to register
/// at the provider is the app's URL followed by this path.
pub const OIDC_CALLBACK: &str = "/.gatehouse/oidc/callback";
/// The person's connected agents at this app (`GET`; JSON when `Accept` asks for it).
pub const AGENTS: &str = "/.gatehouse/agents";
/// Revokes one of them (`POST`, CSRF-protected).
pub const AGENTS_REVOKE: &str = "/.gatehouse/agents/revoke";
/// Admin API: an app's grants by person or client (`GET`, `ADMIN_TOKEN` bearer).
pub const ADMIN_GRANTS: &str = "/.gatehouse/admin/grants";
/// Admin API: revoke by grant, person or client (`POST`).
pub const ADMIN_REVOKE: &str = "/.gatehouse/admin/revoke";
/// Admin API: the audit log by person, client or time (`GET`).
pub const ADMIN_AUDIT: &str = "/.gatehouse/admin/audit";
/// Admin API: disable a client at every app and revoke its grants (`POST`).
pub const ADMIN_DISABLE_CLIENT: &str = "/.gatehouse/admin/clients/disable";
/// Admin API: the writes migration mode holds until the drain (`GET`).
pub const ADMIN_HELD: &str = "/.gatehouse/admin/held";
/// Admin console: the grants page, filtered by person, client, app, scope and state (`GET`,
/// an `ADMINS` browser session).
pub const ADMIN_CONSOLE_GRANTS: &str = "/.gatehouse/admin/console/grants";
/// Admin console: revoke the checked grants (`POST`, CSRF-protected), then back to the page.
pub const ADMIN_CONSOLE_REVOKE: &str = "/.gatehouse/admin/console/grants/revoke";
/// Admin console: the agents (clients) page, with a confirmation before a change (`GET`).
pub const ADMIN_CONSOLE_CLIENTS: &str = "/.gatehouse/admin/console/clients";
/// Admin console: disable a client, as the admin API does (`POST`, CSRF-protected).
pub const ADMIN_CONSOLE_DISABLE: &str = "/.gatehouse/admin/console/clients/disable";
/// Admin console: enable a disabled client again (`POST`, CSRF-protected).
pub const ADMIN_CONSOLE_ENABLE: &str = "/.gatehouse/admin/console/clients/enable";
/// Admin console: people, their sessions and agents (`GET`).
pub const ADMIN_CONSOLE_PEOPLE: &str = "/.gatehouse/admin/console/people";
/// Admin console: end a person's sessions and revoke their grants at every app (`POST`,
/// CSRF-protected).
pub const ADMIN_CONSOLE_REVOKE_PERSON: &str = "/.gatehouse/admin/console/people/revoke";
/// Admin console: migration mode, the held writes and the health check (`GET`).
pub const ADMIN_CONSOLE_STATE: &str = "/.gatehouse/admin/console/state";
/// Admin console: the audit log searched, paged and exported (`GET`).
pub const ADMIN_CONSOLE_AUDIT: &str = "/.gatehouse/admin/console/audit";
/// Ends the person's session (`POST`, CSRF-protected).
pub const LOGOUT: &str = "/.gatehouse/logout";
/// The consent form's target (gatehouse's own page, not an OAuth endpoint).
pub const CONSENT: &str = "/.gatehouse/consent";
/// The Access-compatible assertion's verification keys, where an app written for Cloudflare
/// Access fetches them (`<team domain>/cdn-cgi/access/certs`): apps with
/// `"identity": "cloudflare-access"` only, under their path prefix.
pub const ACCESS_CERTS: &str = "/cdn-cgi/access/certs";
/// The person's identity for a browser session, as Access answers it.
pub const ACCESS_GET_IDENTITY: &str = "/cdn-cgi/access/get-identity";
/// Health of the bindings, for operators and load balancers.
pub const HEALTHZ: &str = "/healthz";

/// Authorization server metadata (RFC 8414 §3, well-known URI suffix registered in §7.3).
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4: where OIDC-minded clients look for the same document
/// (RFC 8414 §5 "Compatibility Notes").
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// Protected resource metadata (RFC 9728 §3, well-known URI suffix registered in §8.3).
pub const OAUTH_PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";

/// Whether `path` is in one of gatehouse's own namespaces (`/oauth/`, `/.gatehouse/`,
/// `/.well-known/`, `/healthz`), which are never forwarded to the app, so an app cannot be made
/// to answer in gatehouse's name and a client cannot reach the app's own routes of that name.
pub fn is_reserved(path: &str) -> bool {
    ["/oauth/", "/.gatehouse/", "/.well-known/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
        || path == HEALTHZ
}

/// Longest issuer or resource path accepted after (or before) a well-known prefix, in bytes.
/// Real resource paths are a few segments long; anything longer is not a discovery probe.
pub const MAX_WELL_KNOWN_SUFFIX_BYTES: usize = 256;

/// Which discovery document a request path asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WellKnown {
    /// Authorization server metadata (RFC 8414 §2), whichever well-known form asked for it.
    AuthorizationServer,
    /// Protected resource metadata (RFC 9728 §2) for the resource at `resource_path`.
    ProtectedResource {
        /// The path of the protected resource within the app, without its leading slash: `mcp`
        /// for `/.well-known/oauth-protected-resource/mcp` (resource `https://app.example/mcp`),
        /// empty for `/.well-known/oauth-protected-resource` (the app's root). Only unreserved
        /// characters (RFC 3986 §2.3) in non-empty segments that do not start with `.`.
        resource_path: String,
    },
}

/// Classifies a request path (the percent-encoded path of the request URL, without query) into
/// the discovery document it asks for, or `None` when it is not a discovery request.
///
/// Accepted forms:
/// - RFC 8414 §3.1 (path insertion): `/.well-known/oauth-authorization-server` and
///   `/.well-known/oauth-authorization-server/<issuer-path>`;
/// - OpenID Connect Discovery 1.0 §4: `/.well-known/openid-configuration`, its path-appending
///   form `/<issuer-path>/.well-known/openid-configuration` (§4.1), and the path-insertion form
///   `/.well-known/openid-configuration/<issuer-path>` (RFC 8414 §5) — the MCP authorization
///   spec (2025-11-25, "Authorization Server Metadata Discovery") has clients probe all three;
/// - RFC 9728 §3.1: `/.well-known/oauth-protected-resource` and
///   `/.well-known/oauth-protected-resource/<resource-path>`.
///
/// A suffix (or the appended form's prefix) with `..` or `.` segments, empty segments (`//`, a
/// trailing `/`), percent-encoding (so no encoded `/` or `.`), characters outside RFC 3986 §2.3
/// "unreserved", or more than [`MAX_WELL_KNOWN_SUFFIX_BYTES`] is refused: such a path is not
/// something a conforming client builds, and it must not reach the document as a resource.
pub fn well_known(path: &str) -> Option<WellKnown> {
    if let Some(rest) = path.strip_prefix(OAUTH_PROTECTED_RESOURCE) {
        // RFC 9728 §3.1: the resource's path follows the well-known suffix, and §3.3 requires the
        // `resource` returned to be identical to the resource identifier the client started
        // from, so the path is kept, not discarded.
        return suffix(rest).map(|resource_path| WellKnown::ProtectedResource {
            resource_path: resource_path.to_owned(),
        });
    }
    // This server's issuer is its origin and has no path (see `metadata::issuer_from_origin`), so
    // every issuer-path form below answers with the same document: a client that derived an
    // issuer with a path from a resource URL (the app's `/mcp`, say) still finds the metadata, and
    // the `issuer` inside tells it the real issuer (RFC 8414 §3.3 lets it compare).
    for prefix in [OAUTH_AUTHORIZATION_SERVER, OPENID_CONFIGURATION] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return suffix(rest).map(|_| WellKnown::AuthorizationServer);
        }
    }
    // OpenID Connect Discovery 1.0 §4.1: "/.well-known/openid-configuration" appended to the
    // issuer, path included.
    let issuer_path = path.strip_suffix(OPENID_CONFIGURATION)?;
    match suffix(issuer_path) {
        Some(segments) if !segments.is_empty() => Some(WellKnown::AuthorizationServer),
        _ => None,
    }
}

/// The path whose app a discovery request is about: the issuer or resource path the client put
/// after (or, for `openid-configuration`, before) the well-known part, `/` when there is none. An
/// app mounted at `/wiki` has its metadata at `/.well-known/oauth-authorization-server/wiki`
/// (RFC 8414 §3.1) and `/.well-known/oauth-protected-resource/wiki` (RFC 9728 §3.1).
pub fn document_path(path: &str) -> Option<String> {
    let inner = if let Some(rest) = path.strip_prefix(OAUTH_PROTECTED_RESOURCE) {
        suffix(rest)?
    } else if let Some(rest) = path
        .strip_prefix(OAUTH_AUTHORIZATION_SERVER)
        .or_else(|| path.strip_prefix(OPENID_CONFIGURATION))
    {
        suffix(rest)?
    } else {
        suffix(path.strip_suffix(OPENID_CONFIGURATION)?)?
    };
    Some(format!("/{inner}"))
}

/// The path after a well-known prefix (or before an appended well-known suffix): empty, or `/`
/// followed by clean segments; returns the segments without the leading `/`.
fn suffix(rest: &str) -> Option<&str> {
    if rest.is_empty() {
        return Some("");
    }
    let segments = rest.strip_prefix('/')?;
    (segments.len() <= MAX_WELL_KNOWN_SUFFIX_BYTES && segments.split('/').all(is_clean_segment))
        .then_some(segments)
}

/// A path segment a conforming client puts after a well-known prefix: non-empty, made of RFC 3986
/// §2.3 unreserved characters only (so no `%`-encoding, which could hide `/` or `..`), and not
/// starting with `.` (so neither the dot-segments `.` and `..` of RFC 3986 §5.2.4 nor
/// `.well-known` or `.gatehouse` can be named as a resource).
fn is_clean_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests;
