//! What the origin receives: a short-lived identity assertion (a JWT signed with gatehouse's
//! keys, verifiable with the published JWKS) and plain convenience headers, never the client's
//! own credentials; and which headers pass in each direction.

use serde::{Deserialize, Serialize};

use crate::gatekeeper::Identity;
use crate::jose::jws;
use crate::jose::signer::Signer;
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
    jws::sign(signer, TYP, claims)
        .await
        .map_err(|e| StoreError(e.0))
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

/// Headers that say where a request came from or what it was before a proxy rewrote it:
/// gatehouse sets `X-Forwarded-For`, `-Host` and `-Proto` from what the platform saw, and
/// drops the rest, so a client cannot claim another address, host, scheme, port, prefix or URL
/// to the origin (every `X-Forwarded-*` goes, see [`FORWARDING_PREFIX`]).
const FORWARDING: &[&str] = &[
    "forwarded",
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-original-url",
    "x-original-uri",
    "x-original-host",
    "x-rewrite-url",
    "x-host",
];

/// `X-Forwarded-For`, `-Host`, `-Proto`, `-Port`, `-Prefix`, `-Scheme`, `-Ssl`, `-Server`,
/// `-Uri` and any other: none of the client's pass.
const FORWARDING_PREFIX: &str = "x-forwarded-";

/// Headers that make frameworks act on another method than the request's (Rails, Express's
/// `method-override`, Symfony, ASP.NET): the gate judged the request's own method, so the
/// origin must act on it.
const METHOD_OVERRIDE: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// A request header's name as origins may read it: lower case, with `_` and `.` read as `-`.
/// CGI and WSGI turn `-` into `_` ("has all occurrences of "-" replaced with "_"", RFC 3875
/// §4.1.18), so `Gatehouse_Email` reaches a WSGI origin as `HTTP_GATEHOUSE_EMAIL`, as
/// `Gatehouse-Email` does; some servers read `.` the same way.
fn canonical_name(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'_' | b'.' => '-',
            b => char::from(b.to_ascii_lowercase()),
        })
        .collect()
}

/// Whether a request header passes to the origin. Every name is compared as origins may read
/// it ([`canonical_name`]). Dropped: hop-by-hop headers and any that `Connection` names, the
/// client's `Authorization` (the origin gets an assertion instead), forwarding headers and
/// method overrides (gatehouse sets its own forwarding headers), and anything starting
/// `Gatehouse-` or `Cf-Access-` (only gatehouse may set those; a client sending its own
/// `Gatehouse-Email`, `Gatehouse_Email` or `Cf-Access-Authenticated-User-Email` must not reach
/// the origin, whichever identity the app uses). `Host` and `Content-Length` are set by the
/// platform.
pub fn forwards_request_header(name: &str, connection: Option<&str>) -> bool {
    let name = canonical_name(name);
    let name = name.as_str();
    !HOP_BY_HOP.contains(&name)
        && !FORWARDING.contains(&name)
        && !METHOD_OVERRIDE.contains(&name)
        && !name.starts_with(FORWARDING_PREFIX)
        && !named_by_connection(name, connection)
        && name != "authorization"
        && name != "host"
        && name != "content-length"
        && !name.starts_with(HEADER_PREFIX)
        && !name.starts_with(super::access::HEADER_PREFIX)
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
/// the origin's) and without `CF_Authorization` (only gatehouse may give the origin one, see
/// `access::cookie_header`); `None` when nothing is left. Pairs are separated by `;` and rejoined with
/// `"; "` (RFC 6265 §4.2.1).
pub fn strip_gatehouse_cookies(header: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty()
                && !pair.starts_with(COOKIE_PREFIX)
                && !super::access::is_authorization_cookie(pair)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// A change to a copy of a message's headers. The Worker copies the headers in one call and
/// applies these, rather than rebuilding them one by one.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderEdit<'h> {
    /// Remove every value of the header.
    Delete(&'h str),
    /// Replace the header's value.
    Set(&'h str, String),
    /// Add a value (a `Set-Cookie` put back after all of them were deleted).
    Append(&'h str, &'h str),
}

/// The value of `name` among `headers` (any case; RFC 9110 §5.1); the first when it repeats.
pub fn header_value<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    name: &str,
) -> Option<&'h str> {
    headers
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// What to change in a copy of the client's `headers` before it goes to the origin: every header
/// [`forwards_request_header`] refuses goes, and `Cookie` loses gatehouse's cookies (and goes if
/// nothing is left).
pub fn request_edits<'h>(headers: &[(&'h str, &'h str)]) -> Vec<HeaderEdit<'h>> {
    let connection = header_value(headers.iter().copied(), "connection");
    let mut edits = Vec::new();
    for &(name, value) in headers {
        if name.eq_ignore_ascii_case("cookie") {
            match strip_gatehouse_cookies(value) {
                Some(kept) if kept == value => {}
                Some(kept) => edits.push(HeaderEdit::Set(name, kept)),
                None => edits.push(HeaderEdit::Delete(name)),
            }
        } else if !forwards_request_header(name, connection) {
            edits.push(HeaderEdit::Delete(name));
        }
    }
    edits
}

/// Hop-by-hop headers that only frame the message on its connection. The runtime's HTTP server
/// writes its own for every response it serves and never passes a Worker's on (the end-to-end
/// test "an origin's framing headers never reach the client" checks it), so removing them
/// alone is not worth copying a response.
const FRAMING: &[&str] = &["connection", "keep-alive", "transfer-encoding"];

/// What to change in a copy of the origin's response `headers` before it goes to the client:
/// hop-by-hop headers (RFC 9110 §7.6.1) go, and when the origin tries to set one of gatehouse's
/// cookies, every `Set-Cookie` goes and the others are put back. Nothing to change: the
/// response can pass as it came. That includes a response whose only hop-by-hop headers are
/// [`FRAMING`], as every HTTP/1.1 origin's are (`Connection: keep-alive`).
pub fn response_edits<'h>(headers: &[(&'h str, &'h str)]) -> Vec<HeaderEdit<'h>> {
    let connection = header_value(headers.iter().copied(), "connection");
    let mut edits: Vec<HeaderEdit<'h>> = headers
        .iter()
        .filter(|(name, _)| !forwards_response_header(name, connection))
        .map(|&(name, _)| HeaderEdit::Delete(name))
        .collect();
    let cookies = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"));
    if cookies
        .clone()
        .any(|(_, value)| !forwards_set_cookie(value))
    {
        edits.push(HeaderEdit::Delete("set-cookie"));
        edits.extend(
            cookies
                .filter(|(_, value)| forwards_set_cookie(value))
                .map(|&(_, value)| HeaderEdit::Append("set-cookie", value)),
        );
    }
    if edits.iter().all(deletes_framing) {
        edits.clear();
    }
    edits
}

fn deletes_framing(edit: &HeaderEdit<'_>) -> bool {
    matches!(edit, HeaderEdit::Delete(name)
        if FRAMING.iter().any(|framing| name.eq_ignore_ascii_case(framing)))
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

    /// Issue 15: only names starting `gatehouse-` were dropped, so `Gatehouse_Email` reached a
    /// WSGI origin as `HTTP_GATEHOUSE_EMAIL` beside gatehouse's own, and the forwarding and
    /// method-override headers below passed as the client wrote them.
    #[test]
    fn lookalike_identity_names_forwarding_headers_and_method_overrides_stay_behind() {
        for name in [
            "Gatehouse_Email",
            "Gatehouse.Email",
            "gatehouse_assertion",
            "GATEHOUSE.CLIENT_ID",
            "X_Forwarded_For",
            "X-Forwarded-Port",
            "X-Forwarded-Prefix",
            "X-Forwarded-Scheme",
            "X-Forwarded-Ssl",
            "X-Forwarded-Server",
            "X-Forwarded-Uri",
            "x.forwarded.host",
            "True-Client-IP",
            "X-Client-IP",
            "X-Real_IP",
            "X-Original-URL",
            "X-Rewrite-URL",
            "X-HTTP-Method-Override",
            "X-HTTP-Method",
            "X-Method-Override",
            "x_http_method_override",
            "Proxy_Authorization",
            "Cf-Access-Jwt-Assertion",
            "cf-access-authenticated-user-email",
            "Cf_Access_Jwt_Assertion",
            "CF.ACCESS.AUTHENTICATED.USER.EMAIL",
            "Cf-Access-Client-Id",
        ] {
            assert!(!forwards_request_header(name, None), "{name}");
        }
        for name in [
            "X-Request-Id",
            "X_Custom",
            "Accept-Language",
            "Gatehouses",
            "X-Forwarded",
        ] {
            assert!(forwards_request_header(name, None), "{name}");
        }
    }

    #[test]
    fn the_clients_credentials_spoofed_identity_and_gatehouse_cookies_never_reach_the_origin() {
        let headers = [
            ("authorization", "Bearer at"),
            ("gatehouse-email", "mallory@example.com"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "secret"),
            ("cookie", "theme=dark; __Host-gatehouse-session=s"),
            ("x-forwarded-for", "203.0.113.9"),
            ("accept", "*/*"),
        ];
        assert_eq!(
            request_edits(&headers),
            [
                HeaderEdit::Delete("authorization"),
                HeaderEdit::Delete("gatehouse-email"),
                HeaderEdit::Delete("connection"),
                HeaderEdit::Delete("x-hop"),
                HeaderEdit::Set("cookie", "theme=dark".into()),
                HeaderEdit::Delete("x-forwarded-for"),
            ]
        );
        let only_ours = [(
            "cookie",
            "__Host-gatehouse-session=s; __Host-gatehouse-csrf=c",
        )];
        assert_eq!(request_edits(&only_ours), [HeaderEdit::Delete("cookie")]);
        let clean = [("accept", "*/*"), ("cookie", "a=1; b=2")];
        assert_eq!(request_edits(&clean), []);
    }

    #[test]
    fn a_planted_cookie_and_hop_by_hop_headers_stay_behind_and_a_clean_response_passes_as_is() {
        let headers = [
            ("connection", "close, x-origin-hop"),
            ("x-origin-hop", "secret"),
            ("set-cookie", "theme=dark; Path=/"),
            ("set-cookie", "__Host-gatehouse-session=planted; Path=/"),
            ("set-cookie", "lang=en"),
            ("content-type", "text/plain"),
        ];
        assert_eq!(
            response_edits(&headers),
            [
                HeaderEdit::Delete("connection"),
                HeaderEdit::Delete("x-origin-hop"),
                HeaderEdit::Delete("set-cookie"),
                HeaderEdit::Append("set-cookie", "theme=dark; Path=/"),
                HeaderEdit::Append("set-cookie", "lang=en"),
            ]
        );
        let clean = [("content-type", "application/json"), ("set-cookie", "a=1")];
        assert_eq!(response_edits(&clean), []);
    }

    #[test]
    fn framing_alone_needs_no_edit_but_goes_with_any_other_edit() {
        let framed = [
            ("Connection", "keep-alive"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("content-type", "application/json"),
        ];
        assert_eq!(response_edits(&framed), []);
        let named = [
            ("connection", "keep-alive, x-hop"),
            ("keep-alive", "timeout=5"),
            ("x-hop", "internal"),
        ];
        assert_eq!(
            response_edits(&named),
            [
                HeaderEdit::Delete("connection"),
                HeaderEdit::Delete("keep-alive"),
                HeaderEdit::Delete("x-hop"),
            ]
        );
        let planted = [
            ("connection", "keep-alive"),
            ("set-cookie", "__Host-gatehouse-session=planted"),
        ];
        assert_eq!(
            response_edits(&planted),
            [
                HeaderEdit::Delete("connection"),
                HeaderEdit::Delete("set-cookie"),
            ]
        );
        let proxy = [("keep-alive", "timeout=5"), ("Proxy-Authenticate", "Basic")];
        assert_eq!(
            response_edits(&proxy),
            [
                HeaderEdit::Delete("keep-alive"),
                HeaderEdit::Delete("Proxy-Authenticate"),
            ]
        );
    }

    /// Any name, or one of those the rules single out, in any case and with `-`, `_` or `.`
    /// between its words.
    fn header_name() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let known = [
            HOP_BY_HOP,
            FORWARDING,
            METHOD_OVERRIDE,
            &[
                "authorization",
                "cookie",
                "set-cookie",
                "gatehouse-email",
                "gatehouse-assertion",
                "x-forwarded-for",
                "x-forwarded-port",
                "x-forwarded-prefix",
                "cf-access-jwt-assertion",
                "cf-access-authenticated-user-email",
            ],
        ]
        .concat();
        let separator = proptest::sample::select(vec!["-", "_", "."]);
        prop_oneof![
            "[A-Za-z_.-]{0,12}",
            (proptest::sample::select(known), any::<bool>(), separator).prop_map(
                |(name, upper, separator)| {
                    let name = name.replace('-', separator);
                    if upper {
                        name.to_ascii_uppercase()
                    } else {
                        name
                    }
                }
            ),
        ]
    }

    /// The names among `headers` that `must_go` (given the name in lower case) picks out and
    /// `edits` do not delete.
    fn kept<'h>(
        headers: &[(&'h str, &'h str)],
        edits: Vec<HeaderEdit<'h>>,
        must_go: impl Fn(&str) -> bool,
    ) -> Vec<&'h str> {
        let deleted: Vec<&str> = edits
            .into_iter()
            .filter_map(|edit| match edit {
                HeaderEdit::Delete(name) => Some(name),
                _ => None,
            })
            .collect();
        headers
            .iter()
            .map(|&(name, _)| name)
            .filter(|name| must_go(&name.to_ascii_lowercase()) && !deleted.contains(name))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn edits_never_panic_and_never_keep_what_may_not_pass(
            headers in proptest::collection::vec((header_name(), ".{0,40}"), 0..8)
        ) {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            // Compared as a CGI or WSGI origin reads names: `_` (and `.`) for `-`.
            let spoofed = kept(&headers, request_edits(&headers), |name| {
                let name = name.replace(['_', '.'], "-");
                name == "authorization"
                    || name.starts_with(HEADER_PREFIX)
                    || name.starts_with("cf-access-")
                    || name.starts_with("x-forwarded-")
                    || FORWARDING.contains(&name.as_str())
                    || METHOD_OVERRIDE.contains(&name.as_str())
            });
            proptest::prop_assert!(spoofed.is_empty(), "{spoofed:?} kept");
            // Every hop-by-hop header but the runtime's own framing.
            let never = ["proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade"];
            let hop_by_hop = kept(&headers, response_edits(&headers), |name| never.contains(&name));
            proptest::prop_assert!(hop_by_hop.is_empty(), "{hop_by_hop:?} kept");
        }
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
        assert_eq!(
            strip_gatehouse_cookies("a=1; CF_Authorization=forged; cf_authorization=x").as_deref(),
            Some("a=1")
        );
    }
}
