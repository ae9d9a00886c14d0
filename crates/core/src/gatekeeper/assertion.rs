//! What the origin receives: a short-lived identity assertion (a JWT signed with gatehouse's
//! keys, verifiable with the published JWKS) and plain convenience headers, never the client's
//! own credentials; and which headers pass in each direction.

use serde::{Deserialize, Serialize};

use crate::gatekeeper::Identity;
use crate::jws;
use crate::signer::Signer;
use crate::site::Site;
use crate::store::StoreError;
use crate::time::UnixTime;

/// The header carrying the assertion JWT.
pub const HEADER: &str = "Gatehouse-Assertion";
/// The assertion's JWT `typ` (RFC 8725 §3.11), so it can never pass as an access token.
pub const TYP: &str = "gatehouse-assertion+jwt";
/// The assertion's lifetime: long enough for clock skew at the origin, short enough that a
/// leaked one is soon useless.
pub const TTL_SECS: u64 = 60;
/// Every header gatehouse sets for the origin starts with this; the client's own are dropped.
pub const HEADER_PREFIX: &str = "gatehouse-";
/// Cookies gatehouse sets start with this; they are not forwarded to the origin.
pub const COOKIE_PREFIX: &str = "__Host-gatehouse-";

/// The claims of an identity assertion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// gatehouse's issuer for this app.
    pub iss: String,
    /// The app: an assertion for one app is no assertion for another.
    pub aud: String,
    /// The person's stable subject.
    pub sub: String,
    /// The person's email.
    pub email: String,
    /// The person's identity-provider groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The agent's client id, when an agent acts for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The agent's registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The grant the agent acts under: what revocation and the audit log name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The scopes in force: the token's for an agent, all the app's for the person.
    pub scope: String,
    /// Issued at.
    pub iat: u64,
    /// Expires at.
    pub exp: u64,
}

impl AssertionClaims {
    /// The claims for `identity` at `site`.
    pub fn new(site: &Site<'_>, identity: &Identity, now: UnixTime) -> Self {
        Self {
            iss: site.issuer.clone(),
            aud: site.resource.clone(),
            sub: identity.person.subject.clone(),
            email: identity.person.email.clone(),
            groups: identity.person.groups.clone(),
            client_id: identity.agent.as_ref().map(|a| a.client_id.clone()),
            client_name: identity.agent.as_ref().and_then(|a| a.client_name.clone()),
            grant_id: identity.agent.as_ref().map(|a| a.grant_id.clone()),
            scope: identity.scopes.to_string(),
            iat: now.0,
            exp: now.plus(TTL_SECS).0,
        }
    }
}

/// Signs an assertion.
pub async fn sign(signer: &impl Signer, claims: &AssertionClaims) -> Result<String, StoreError> {
    jws::sign(signer, TYP, claims).await
}

/// The plain headers for origins that trust the network instead of verifying the JWT. The
/// client name is percent-encoded (UTF-8), since header values are ASCII.
pub fn plain_headers(identity: &Identity) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Gatehouse-Email", identity.person.email.clone()),
        ("Gatehouse-Subject", identity.person.subject.clone()),
        ("Gatehouse-Scope", identity.scopes.to_string()),
    ];
    if let Some(agent) = &identity.agent {
        headers.push(("Gatehouse-Client-Id", agent.client_id.clone()));
        headers.push(("Gatehouse-Grant-Id", agent.grant_id.clone()));
        if let Some(name) = &agent.client_name {
            let encoded =
                percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
            headers.push(("Gatehouse-Client-Name", encoded.to_string()));
        }
    }
    headers
}

/// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that say where a request came from: gatehouse sets them from what the platform saw,
/// so a client cannot claim another address or host to the origin.
const FORWARDING: &[&str] = &[
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Whether a request header passes to the origin. Dropped: hop-by-hop headers and any that
/// `Connection` names, the client's `Authorization` (the origin gets an assertion instead),
/// forwarding headers (gatehouse sets its own), and anything starting `Gatehouse-` (only
/// gatehouse may set those; a client sending its own `Gatehouse-Email` must not reach the
/// origin). `Host` and `Content-Length` are set by the platform.
pub fn forwards_request_header(name: &str, connection: Option<&str>) -> bool {
    let name = name.to_ascii_lowercase();
    !HOP_BY_HOP.contains(&name.as_str())
        && !FORWARDING.contains(&name.as_str())
        && !named_by_connection(&name, connection)
        && name != "authorization"
        && name != "host"
        && name != "content-length"
        && !name.starts_with(HEADER_PREFIX)
}

/// Whether an origin's `Set-Cookie` passes to the client: not when it would set one of
/// gatehouse's own cookies (an origin must not plant or replace a person's session).
pub fn forwards_set_cookie(value: &str) -> bool {
    !value.trim_start().starts_with(COOKIE_PREFIX)
}

/// Whether a response header passes back to the client: all but hop-by-hop ones.
pub fn forwards_response_header(name: &str, connection: Option<&str>) -> bool {
    let name = name.to_ascii_lowercase();
    !HOP_BY_HOP.contains(&name.as_str()) && !named_by_connection(&name, connection)
}

fn named_by_connection(name: &str, connection: Option<&str>) -> bool {
    connection.is_some_and(|c| {
        c.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case(name))
    })
}

/// The `Cookie` header without gatehouse's own cookies (the session is gatehouse's business, not
/// the origin's); `None` when nothing is left.
pub fn strip_gatehouse_cookies(header: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !pair.starts_with(COOKIE_PREFIX))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Signs assertions once per identity and reuses them until shortly before they expire, so an
/// agent's burst of requests costs one signature (the Worker keeps one per isolate).
pub fn reusable_until(claims: &AssertionClaims) -> UnixTime {
    UnixTime(claims.exp.saturating_sub(TTL_SECS / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_hop_by_hop_and_spoofed_identity_headers_stay_behind() {
        for name in [
            "Authorization",
            "Connection",
            "Keep-Alive",
            "Transfer-Encoding",
            "Upgrade",
            "TE",
            "Host",
            "Gatehouse-Email",
            "gatehouse-assertion",
            "GATEHOUSE-CLIENT-ID",
            "Proxy-Authorization",
            "Content-Length",
        ] {
            assert!(!forwards_request_header(name, None), "{name}");
        }
        for name in [
            "Accept",
            "Content-Type",
            "X-Request-Id",
            "Cookie",
            "User-Agent",
            "If-None-Match",
        ] {
            assert!(forwards_request_header(name, None), "{name}");
        }
        assert!(
            !forwards_request_header("X-Secret", Some("keep-alive, X-Secret")),
            "named by Connection"
        );
        assert!(!forwards_response_header("Transfer-Encoding", None));
        assert!(forwards_response_header("Set-Cookie", None));
    }

    #[test]
    fn only_gatehouse_cookies_are_removed() {
        assert_eq!(
            strip_gatehouse_cookies(
                "a=1; __Host-gatehouse-session=s3cret; b=2; __Host-gatehouse-csrf=x"
            )
            .as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(strip_gatehouse_cookies("__Host-gatehouse-session=s"), None);
        assert_eq!(
            strip_gatehouse_cookies("__Host-other=1").as_deref(),
            Some("__Host-other=1")
        );
    }
}
