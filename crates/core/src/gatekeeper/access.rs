//! What an app written for Cloudflare Access receives when its `"identity"` is
//! `"cloudflare-access"`: the application token Access sends in `Cf-Access-Jwt-Assertion`
//! (RS256, verifiable with the keys at `<team domain>/cdn-cgi/access/certs`), the person's
//! email in `Cf-Access-Authenticated-User-Email`, the token again as the `CF_Authorization`
//! cookie for browser sessions, and the documents of `/cdn-cgi/access/certs` and
//! `/cdn-cgi/access/get-identity`. The team domain is the app's URL on gatehouse
//! ([`Site::issuer`]): an app moves from Access by pointing its team-domain setting there.
//!
//! Shapes follow Cloudflare's documentation of application tokens ("Application token"), of
//! validating them ("Validate JWTs": `keys`, `public_cert`, `public_certs`) and of
//! `get-identity` ("User identity"); they are not an RFC.

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::gatekeeper::Identity;
use crate::jose::jwk::Jwk;
use crate::jose::jws;
use crate::jose::signer::{AccessSigner, RsaPublicKey};
use crate::rng::Rng;
use crate::site::Site;
use crate::store::{Person, Store, StoreError};
use crate::time::UnixTime;

/// The header carrying the application token.
pub const JWT_HEADER: &str = "Cf-Access-Jwt-Assertion";
/// The header carrying the person's email.
pub const EMAIL_HEADER: &str = "Cf-Access-Authenticated-User-Email";
/// Every header Access sets starts with this: a client's own never reach the origin, whatever
/// the app's `identity` (`assertion::forwards_request_header`).
pub const HEADER_PREFIX: &str = "cf-access-";
/// The cookie Access gives browsers; gatehouse adds it to the `Cookie` header the origin
/// receives for a browser session and drops any the client sent.
pub const COOKIE: &str = "CF_Authorization";
/// The token's lifetime. Access's own live as long as the session; gatehouse's are made per
/// request (and reused by the isolate) like `Gatehouse-Assertion`, so they stay short.
pub const TTL_SECS: u64 = 60;
/// `type` of an application token (a service token's is different, and not made here).
pub const TOKEN_TYPE: &str = "app";

/// The claims of an application token, then gatehouse's agent claims under their own names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The app's audience tags, as Access lists them.
    pub aud: Vec<String>,
    /// The person's email.
    pub email: String,
    /// Expires at.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// The team domain: the app's URL on gatehouse.
    pub iss: String,
    /// Always [`TOKEN_TYPE`].
    #[serde(rename = "type")]
    pub type_: String,
    /// Access's key to the identity behind the token; here a random value per token.
    pub identity_nonce: String,
    /// The person's stable subject.
    pub sub: String,
    /// The country the request came from (ISO 3166-1 alpha-2), when the platform knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The agent's client id, when an agent acts for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gatehouse_client_id: Option<String>,
    /// The agent's registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gatehouse_client_name: Option<String>,
    /// The grant the agent acts under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gatehouse_grant_id: Option<String>,
    /// The scopes in force: the token's for an agent, all the app's for the person.
    pub gatehouse_scope: String,
}

impl AccessClaims {
    /// The claims for `identity` at `site`, whose audience tags are `audience`. `nonce` is a
    /// fresh random value; `country` is the platform's (`request.cf.country`), never a header
    /// the client sent.
    pub fn new(
        site: &Site<'_>,
        audience: &[String],
        identity: &Identity,
        nonce: String,
        country: Option<String>,
        now: UnixTime,
    ) -> Self {
        Self {
            aud: audience.to_vec(),
            email: identity.person.email.clone(),
            exp: now.plus(TTL_SECS).0,
            iat: now.0,
            nbf: now.0,
            iss: site.issuer.clone(),
            type_: TOKEN_TYPE.into(),
            identity_nonce: nonce,
            sub: identity.person.subject.clone(),
            country,
            gatehouse_client_id: identity.agent.as_ref().map(|a| a.client_id.clone()),
            gatehouse_client_name: identity.agent.as_ref().and_then(|a| a.client_name.clone()),
            gatehouse_grant_id: identity.agent.as_ref().map(|a| a.grant_id.clone()),
            gatehouse_scope: identity.scopes.to_string(),
        }
    }
}

/// Signs an application token with the current RS256 key.
pub async fn sign(signer: &impl AccessSigner, claims: &AccessClaims) -> Result<String, StoreError> {
    jws::sign_rs256(signer, claims)
        .await
        .map_err(|e| StoreError(e.0))
}

/// Until when an isolate may reuse a signed token: half its life, like `Gatehouse-Assertion`.
pub fn reusable_until(claims: &AccessClaims) -> UnixTime {
    UnixTime(claims.exp.saturating_sub(TTL_SECS / 2))
}

/// The headers to set for the origin, as Access sets them: the token and the email, and for a
/// browser session (no agent) the `Cookie` with `CF_Authorization` added to `kept`, what is left
/// of the client's `Cookie` after `assertion::request_edits`.
pub fn headers(identity: &Identity, jwt: &str, kept: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (JWT_HEADER, jwt.to_owned()),
        (EMAIL_HEADER, identity.person.email.clone()),
    ];
    if identity.agent.is_none() {
        headers.push(("Cookie", cookie_header(kept, jwt)));
    }
    headers
}

/// The `Cookie` header for the origin of a browser session: what is left of the client's
/// (gatehouse's own cookies and any `CF_Authorization` already removed) followed by
/// `CF_Authorization=<jwt>` (RFC 6265 §4.2.1 pairs, `"; "` between them). The browser itself
/// never holds the token: gatehouse's session cookie stays its only credential.
pub fn cookie_header(kept: Option<&str>, jwt: &str) -> String {
    match kept {
        Some(kept) => format!("{kept}; {COOKIE}={jwt}"),
        None => format!("{COOKIE}={jwt}"),
    }
}

/// Whether a `Cookie` pair (`name=value`) is a `CF_Authorization` cookie, in any case: only
/// gatehouse may give the origin one.
pub fn is_authorization_cookie(pair: &str) -> bool {
    pair.split('=')
        .next()
        .is_some_and(|name| name.trim().eq_ignore_ascii_case(COOKIE))
}

/// A key as a PEM certificate, with its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PemCert {
    /// The key id.
    pub kid: String,
    /// The self-signed certificate, PEM.
    pub cert: String,
}

/// The `/cdn-cgi/access/certs` document: every key as a JWK (`keys`), the current one as a
/// certificate (`public_cert`) and every one as a certificate (`public_certs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertsDocument {
    /// The current key first, then keys still verifying tokens they signed earlier.
    /// The keys as JWKs (RFC 7517 §4, RFC 7518 §6.3.1), as Access publishes them.
    pub keys: Vec<Jwk>,
    /// The current key.
    pub public_cert: PemCert,
    /// Every key, in the order of `keys`.
    pub public_certs: Vec<PemCert>,
}

impl CertsDocument {
    /// The document for `keys` (the current key first); `None` without any key.
    pub fn new(keys: &[RsaPublicKey]) -> Option<Self> {
        let pem = |k: &RsaPublicKey| PemCert {
            kid: k.kid().to_owned(),
            cert: k.cert_pem.clone(),
        };
        Some(Self {
            public_cert: pem(keys.first()?),
            public_certs: keys.iter().map(pem).collect(),
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        })
    }
}

/// Where a person's identity came from, in the `get-identity` document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProvider {
    /// Always `gatehouse`.
    pub id: String,
    /// `local` for local accounts, `oidc` for an upstream provider.
    #[serde(rename = "type")]
    pub type_: String,
}

/// The country, in the `get-identity` document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// The `/cdn-cgi/access/get-identity` document for a browser session: the fields Access
/// answers that gatehouse knows; no device, WARP, Gateway or service-token fields are made up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDocument {
    /// The person's stable subject (Access: its user id).
    pub id: String,
    /// The same.
    pub user_uuid: String,
    /// The person's email.
    pub email: String,
    /// The person's identity-provider groups.
    pub groups: Vec<String>,
    /// Where they logged in.
    pub idp: IdentityProvider,
    /// Where the request came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
    /// When this document was made.
    pub iat: u64,
    /// Always `false`: no WARP client is involved.
    pub is_warp: bool,
    /// Always `false`: no Gateway session is involved.
    pub is_gateway: bool,
    /// Always `false`: a person, not a service token.
    pub service_token_status: bool,
}

impl IdentityDocument {
    /// The document for `person`, logged in with a browser session.
    pub fn new(person: &Person, country: Option<String>, now: UnixTime) -> Self {
        let idp = if person.subject.starts_with("local:") {
            "local"
        } else {
            "oidc"
        };
        Self {
            id: person.subject.clone(),
            user_uuid: person.subject.clone(),
            email: person.email.clone(),
            groups: person.groups.clone(),
            idp: IdentityProvider {
                id: "gatehouse".into(),
                type_: idp.into(),
            },
            geo: country.map(|country| Geo { country }),
            iat: now.0,
            is_warp: false,
            is_gateway: false,
            service_token_status: false,
        }
    }
}

/// `GET /cdn-cgi/access/get-identity` of an app with `"identity": "cloudflare-access"`: the
/// person of a live browser session whom the app's policy admits, as Access answers it; `None`
/// otherwise (and for agents, whose bearer tokens are not sessions).
pub(crate) async fn identity<S: Store, K, R: Rng>(
    cx: &Context<'_, S, K, R>,
    session: Option<&str>,
    country: Option<String>,
) -> Result<Option<IdentityDocument>, StoreError> {
    let Some(person) = crate::login::person(cx, session).await? else {
        return Ok(None);
    };
    if !crate::policy::admits(&cx.site, &person) {
        return Ok(None);
    }
    Ok(Some(IdentityDocument::new(&person, country, cx.now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gatehouse_gives_the_origin_a_cf_authorization_cookie() {
        assert!(is_authorization_cookie("CF_Authorization=forged"));
        assert!(is_authorization_cookie(" cf_authorization=x"));
        assert!(is_authorization_cookie("CF_AUTHORIZATION"));
        assert!(!is_authorization_cookie("CF_Authorization_x=1"));
        assert!(!is_authorization_cookie("theme=CF_Authorization"));
        assert_eq!(
            cookie_header(Some("a=1"), "j.w.t"),
            "a=1; CF_Authorization=j.w.t"
        );
        assert_eq!(cookie_header(None, "j.w.t"), "CF_Authorization=j.w.t");
    }

    #[test]
    fn a_browser_session_gets_the_cookie_and_an_agent_only_the_headers() {
        let person = Identity {
            person: Person {
                subject: "local:alice@example.com".into(),
                email: "alice@example.com".into(),
                groups: Vec::new(),
            },
            agent: None,
            scopes: crate::types::Scopes::parse("read").unwrap_or_else(|_| unreachable!()),
        };
        assert_eq!(
            headers(&person, "j.w.t", Some("a=1")),
            [
                (JWT_HEADER, "j.w.t".to_owned()),
                (EMAIL_HEADER, "alice@example.com".to_owned()),
                ("Cookie", "a=1; CF_Authorization=j.w.t".to_owned()),
            ]
        );
        let agent = Identity {
            agent: Some(crate::gatekeeper::Agent {
                client_id: "c_1".into(),
                client_name: None,
                grant_id: "g_1".into(),
            }),
            ..person
        };
        assert_eq!(
            headers(&agent, "j.w.t", Some("a=1")),
            [
                (JWT_HEADER, "j.w.t".to_owned()),
                (EMAIL_HEADER, "alice@example.com".to_owned()),
            ]
        );
    }
}
