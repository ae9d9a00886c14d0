//! The upstream OpenID Connect providers people log in with (`OIDC_PROVIDERS`): parsed and
//! validated once per isolate, with errors that name the setting and the fix.
//!
//! Secure defaults: the issuer must be `https`; plain `http` is accepted only for a loopback
//! issuer and only with `allow_insecure_loopback_issuer` (tests run a provider on 127.0.0.1).
//! `email_verified` is required unless `trust_email` says the provider verifies every address.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::net::{InsecureLoopback, SafeUrl, UrlRefused};

/// Scopes asked for when a provider names none (OpenID Connect Core §5.4).
pub const DEFAULT_SCOPES: &str = "openid email profile";
/// The claim holding groups when a provider names none (Okta, Keycloak; Entra ID's is `groups`
/// too, carrying object ids).
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

const FIX: &str = "set OIDC_PROVIDERS to a JSON array of providers as documented in the README, e.g. \
                   [{\"id\":\"okta\",\"name\":\"Okta\",\"issuer\":\"https://example.okta.com\",\
                   \"client_id\":\"0oa…\",\"client_secret_env\":\"OKTA_CLIENT_SECRET\"}], or leave it unset";
const SECRET_FIX: &str = "set the secret that client_secret_env names: \
                          `npx wrangler secret put <NAME>` with the client secret from the identity provider";

/// One upstream provider.
#[derive(Debug)]
pub struct Provider {
    /// Short identifier, in forms and in the state record: `[a-z0-9_-]{1,32}`.
    pub id: String,
    /// Shown on the login page's button.
    pub name: String,
    /// The issuer identifier, exactly as the provider's discovery document must state it
    /// (OpenID Connect Discovery 1.0 §4.3).
    pub issuer: String,
    /// gatehouse's client id at the provider.
    pub client_id: String,
    /// The client secret (from the Worker secret `client_secret_env` names); `None` for a public
    /// client, which relies on PKCE alone.
    pub client_secret: Option<UpstreamClientSecret>,
    /// Space-separated scopes; always contains `openid`.
    pub scopes: String,
    /// The ID-token claim holding the person's groups.
    pub groups_claim: String,
    /// Email domains accepted from this provider (lowercase); empty accepts any.
    pub allowed_domains: Vec<String>,
    /// Accept an email without `email_verified: true` (for providers that verify every address
    /// but do not say so).
    pub trust_email: bool,
    /// Whether `http` endpoints on a loopback host are accepted (tests only).
    pub allow_insecure_loopback: bool,
}

/// gatehouse's client secret at an upstream provider. `Debug` is redacted.
pub struct UpstreamClientSecret(String);

impl UpstreamClientSecret {
    /// The raw secret.
    ///
    /// # Security
    ///
    /// Only for the `Authorization: Basic` header of the upstream token request.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UpstreamClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamClientSecret([redacted])")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: String,
    name: String,
    issuer: String,
    client_id: String,
    client_secret_env: Option<String>,
    #[serde(default)]
    public_client: bool,
    scopes: Option<String>,
    groups_claim: Option<String>,
    #[serde(default)]
    allowed_domains: Vec<String>,
    #[serde(default)]
    trust_email: bool,
    #[serde(default)]
    allow_insecure_loopback_issuer: bool,
}

fn error(problem: String) -> ConfigError {
    ConfigError {
        setting: "OIDC_PROVIDERS",
        problem,
        fix: FIX,
    }
}

/// The names of the Worker secrets `OIDC_PROVIDERS` refers to (`client_secret_env`), so the
/// Worker can read exactly those. Unparseable text yields none; [`parse`] then reports it.
pub fn secret_names(text: Option<&str>) -> Vec<String> {
    #[derive(Deserialize)]
    struct Named {
        client_secret_env: Option<String>,
    }
    text.and_then(|t| serde_json::from_str::<Vec<Named>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.client_secret_env)
        .collect()
}

/// Parses `OIDC_PROVIDERS`; `secrets` maps a secret's name to its value.
pub fn parse(
    text: Option<&str>,
    secrets: &BTreeMap<String, String>,
) -> Result<Vec<Provider>, ConfigError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let raw: Vec<RawProvider> =
        serde_json::from_str(text).map_err(|e| error(format!("it is not valid: {e}")))?;
    let providers = raw
        .into_iter()
        .map(|p| validate(p, secrets))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, p) in providers.iter().enumerate() {
        if providers.iter().skip(i + 1).any(|q| q.id == p.id) {
            return Err(error(format!("two providers have the id {:?}", p.id)));
        }
    }
    Ok(providers)
}

fn validate(raw: RawProvider, secrets: &BTreeMap<String, String>) -> Result<Provider, ConfigError> {
    let id = raw.id;
    let at = |what: &str| error(format!("provider {id:?}: {what}"));
    let id_ok = (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(error(format!(
            "provider id {id:?} must be 1 to 32 of a-z, 0-9, - and _"
        )));
    }
    if raw.name.trim().is_empty() {
        return Err(at("name is empty"));
    }
    check_issuer(&raw.issuer, raw.allow_insecure_loopback_issuer).map_err(|p| at(&p))?;
    if raw.client_id.is_empty() || raw.client_id.chars().any(char::is_control) {
        return Err(at("client_id is empty or has control characters"));
    }
    let client_secret = match (raw.client_secret_env, raw.public_client) {
        (Some(_), true) => {
            return Err(at(
                "set either client_secret_env or public_client: true, not both",
            ));
        }
        (None, false) => {
            return Err(at(
                "client_secret_env is missing: name the Worker secret holding the client secret, \
                 or set public_client: true for a client without one",
            ));
        }
        (None, true) => None,
        (Some(name), false) => match secrets.get(&name).map(|s| s.trim()) {
            Some(secret) if !secret.is_empty() => Some(UpstreamClientSecret(secret.to_owned())),
            _ => {
                return Err(ConfigError {
                    setting: "OIDC_PROVIDERS",
                    problem: format!(
                        "provider {id:?}: the secret {name:?} named by client_secret_env is not set"
                    ),
                    fix: SECRET_FIX,
                });
            }
        },
    };
    let scopes = raw.scopes.unwrap_or_else(|| DEFAULT_SCOPES.to_owned());
    let scope_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    };
    if !scopes.split(' ').all(scope_ok) || !scopes.split(' ').any(|s| s == "openid") {
        return Err(at(
            "scopes must be space-separated scope tokens including \"openid\"",
        ));
    }
    let groups_claim = raw
        .groups_claim
        .unwrap_or_else(|| DEFAULT_GROUPS_CLAIM.to_owned());
    if groups_claim.is_empty() {
        return Err(at("groups_claim is empty"));
    }
    let mut allowed_domains = Vec::with_capacity(raw.allowed_domains.len());
    for domain in raw.allowed_domains {
        let ok = !domain.is_empty()
            && !domain.contains('@')
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok {
            return Err(at(&format!(
                "allowed_domains entry {domain:?} is not a domain name"
            )));
        }
        allowed_domains.push(domain.to_ascii_lowercase());
    }
    Ok(Provider {
        id,
        name: raw.name,
        issuer: raw.issuer,
        client_id: raw.client_id,
        client_secret,
        scopes,
        groups_claim,
        allowed_domains,
        trust_email: raw.trust_email,
        allow_insecure_loopback: raw.allow_insecure_loopback_issuer,
    })
}

/// An issuer: an `https` URL on a public host, without query or fragment (OpenID Connect
/// Discovery 1.0 §2; the outbound rule of `crate::net`, since gatehouse fetches its discovery
/// document), or `http` on a loopback address when the test switch is on.
fn check_issuer(issuer: &str, allow_insecure_loopback: bool) -> Result<(), String> {
    let url =
        url::Url::parse(issuer).map_err(|e| format!("issuer {issuer:?} is not a URL: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "issuer {issuer:?} must not have a query, fragment or credentials"
        ));
    }
    match SafeUrl::parse(issuer, outbound(allow_insecure_loopback)) {
        Ok(_) => Ok(()),
        Err(UrlRefused::Scheme) if allow_insecure_loopback => Err(format!(
            "issuer {issuer:?}: allow_insecure_loopback_issuer permits http only for 127.0.0.1, [::1] or localhost"
        )),
        Err(UrlRefused::Address) => Err(format!(
            "issuer {issuer:?} is on a loopback, private or reserved address, which gatehouse does not call (for a provider on this machine in tests, use http with allow_insecure_loopback_issuer)"
        )),
        Err(UrlRefused::Scheme | UrlRefused::Invalid) => {
            Err(format!("issuer {issuer:?} must use https"))
        }
    }
}

fn outbound(allow_insecure_loopback: bool) -> InsecureLoopback {
    if allow_insecure_loopback {
        InsecureLoopback::Allowed
    } else {
        InsecureLoopback::Refused
    }
}

impl Provider {
    /// `url`, if gatehouse may call it for this provider: the outbound rule of `crate::net`,
    /// with plain `http` to loopback when the provider allows it.
    pub fn endpoint(&self, url: &str) -> Result<SafeUrl, UrlRefused> {
        SafeUrl::parse(url, outbound(self.allow_insecure_loopback))
    }

    /// Whether the browser may be sent to `url` (the authorization endpoint): `https`, or
    /// `http` on a loopback host when the provider allows it. Not held to the outbound rule:
    /// gatehouse never calls it, and a person's browser may reach what the Worker cannot.
    pub fn browser_endpoint_allowed(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|url| match url.scheme() {
            "https" => url.host().is_some(),
            "http" => self.allow_insecure_loopback && crate::http::loopback::is_loopback_url(&url),
            _ => false,
        })
    }
}
