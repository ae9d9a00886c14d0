//! Discovery: protected-resource metadata (RFC 9728), then the authorization server's metadata
//! (RFC 8414) in the order the MCP authorization spec probes.
//!
//! What we check, and why:
//! - the metadata's `resource` must cover the URL we were fetching (same origin, path prefix).
//!   RFC 9728 §3.3 asks for identity with the request URL when the metadata URL came from a
//!   challenge; resources (gatehouse included) name their origin, so like the MCP SDKs we accept
//!   a covering identifier and still refuse any other origin;
//! - the authorization server's `issuer` must be identical to the identifier we derived the
//!   metadata URL from (RFC 8414 §3.3), compared as strings;
//! - every endpoint is `https` or loopback `http` (`origin::require_secure`);
//! - PKCE S256 must be advertised (MCP: clients MUST refuse to proceed otherwise).

use crate::Error;
use crate::challenge::BearerChallenge;
use crate::http::Http;
use crate::origin::{self, covers};
use serde::Deserialize;
use url::Url;

/// RFC 9728 §2.
#[derive(Clone, Debug, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier.
    pub resource: String,
    /// Issuers that issue tokens for it.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource uses.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// RFC 8414 §2 (the fields this client uses).
#[derive(Clone, Debug, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// RFC 6749 §3.1.
    pub authorization_endpoint: Option<Url>,
    /// RFC 6749 §3.2.
    pub token_endpoint: Url,
    /// RFC 7591 §3.
    pub registration_endpoint: Option<Url>,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: Option<Url>,
    /// RFC 7009 §2.
    pub revocation_endpoint: Option<Url>,
    /// RFC 7636 §4.3.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 8414 §2.
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    /// RFC 9207 §3: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// draft-ietf-oauth-client-id-metadata-document: an https client id is accepted.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
}

/// RFC 8628 §3.4 grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl AuthorizationServerMetadata {
    /// Whether the server offers the device authorization grant.
    pub fn offers_device_grant(&self) -> bool {
        self.device_authorization_endpoint.is_some()
    }
}

/// What discovery found for a protected URL.
#[derive(Clone, Debug)]
pub struct Discovered {
    /// The resource indicator (RFC 8707) tokens are asked for, and bound to in the store.
    pub resource: Url,
    /// The resource's metadata.
    pub resource_metadata: ProtectedResourceMetadata,
    /// The authorization server's metadata, issuer checked.
    pub server: AuthorizationServerMetadata,
}

const PRM: &str = "/.well-known/oauth-protected-resource";

/// RFC 9728 §3.1 metadata URLs for `url`: the path-suffixed form first, then the root.
pub fn protected_resource_metadata_urls(url: &Url) -> Vec<Url> {
    let path = url.path().trim_end_matches('/');
    let mut out = Vec::new();
    for suffix in [path, ""] {
        let mut candidate = url.clone();
        candidate.set_query(None);
        candidate.set_fragment(None);
        candidate.set_path(&format!("{PRM}{suffix}"));
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// RFC 8414 §3.1 metadata URLs for an issuer, in the MCP order: path insertion for
/// `oauth-authorization-server`, path insertion for `openid-configuration`, then the path-appended
/// `openid-configuration` of OpenID Connect Discovery 1.0 §4. Without a path, the first two only.
pub fn authorization_server_metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let with_path = |p: String| {
        let mut u = issuer.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.set_path(&p);
        u
    };
    let mut out = vec![
        with_path(format!("/.well-known/oauth-authorization-server{path}")),
        with_path(format!("/.well-known/openid-configuration{path}")),
    ];
    if !path.is_empty() {
        out.push(with_path(format!(
            "{path}/.well-known/openid-configuration"
        )));
    }
    out
}

/// Runs discovery for `url`, which answered with `challenge`.
pub fn discover(http: &Http, url: &Url, challenge: &BearerChallenge) -> Result<Discovered, Error> {
    let prm = fetch_resource_metadata(http, url, challenge)?;
    let resource = Url::parse(&prm.resource)
        .map_err(|e| Error::Discovery(format!("resource {:?} is not a URL: {e}", prm.resource)))?;
    if !covers(&resource, url) {
        return Err(Error::Discovery(format!(
            "the metadata names resource {resource}, which does not cover {url}"
        )));
    }
    origin::require_secure(&resource, "resource")?;
    let issuer = prm
        .authorization_servers
        .first()
        .ok_or_else(|| Error::Discovery("the resource names no authorization server".into()))?;
    let server = fetch_server_metadata(http, issuer)?;
    Ok(Discovered {
        resource,
        resource_metadata: prm,
        server,
    })
}

fn fetch_resource_metadata(
    http: &Http,
    url: &Url,
    challenge: &BearerChallenge,
) -> Result<ProtectedResourceMetadata, Error> {
    let candidates =
        match &challenge.resource_metadata {
            Some(u) => vec![Url::parse(u).map_err(|e| {
                Error::Discovery(format!("resource_metadata {u:?} is not a URL: {e}"))
            })?],
            None => protected_resource_metadata_urls(url),
        };
    for candidate in &candidates {
        origin::require_secure(candidate, "resource metadata")?;
        let response = http.get_json::<ProtectedResourceMetadata>(candidate)?;
        match (response.status, response.body) {
            (200, Some(prm)) => return Ok(prm),
            (200, None) => {
                return Err(Error::Discovery(format!(
                    "{candidate} is not protected-resource metadata"
                )));
            }
            _ => continue,
        }
    }
    Err(Error::Discovery(format!(
        "no protected-resource metadata for {url}"
    )))
}

/// Fetches and checks an authorization server's metadata for `issuer`.
pub fn fetch_server_metadata(
    http: &Http,
    issuer: &str,
) -> Result<AuthorizationServerMetadata, Error> {
    let issuer_url = Url::parse(issuer)
        .map_err(|e| Error::Discovery(format!("issuer {issuer:?} is not a URL: {e}")))?;
    // RFC 8414 §2: the issuer has no query or fragment.
    if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
        return Err(Error::Discovery(format!(
            "issuer {issuer} has a query or fragment"
        )));
    }
    origin::require_secure(&issuer_url, "issuer")?;
    for candidate in authorization_server_metadata_urls(&issuer_url) {
        let response = http.get_json::<AuthorizationServerMetadata>(&candidate)?;
        let meta = match (response.status, response.body) {
            (200, Some(meta)) => meta,
            (200, None) => {
                return Err(Error::Discovery(format!(
                    "{candidate} is not authorization-server metadata"
                )));
            }
            _ => continue,
        };
        // RFC 8414 §3.3: "The issuer value returned MUST be identical to the authorization
        // server's issuer identifier value into which the well-known URI string was inserted".
        if meta.issuer != issuer {
            return Err(Error::Discovery(format!(
                "{candidate} names issuer {:?}, not {issuer:?}",
                meta.issuer
            )));
        }
        check_endpoints(&meta)?;
        return Ok(meta);
    }
    Err(Error::Discovery(format!(
        "no authorization-server metadata for {issuer}"
    )))
}

fn check_endpoints(meta: &AuthorizationServerMetadata) -> Result<(), Error> {
    origin::require_secure(&meta.token_endpoint, "token_endpoint")?;
    for (name, endpoint) in [
        ("authorization_endpoint", &meta.authorization_endpoint),
        ("registration_endpoint", &meta.registration_endpoint),
        (
            "device_authorization_endpoint",
            &meta.device_authorization_endpoint,
        ),
        ("revocation_endpoint", &meta.revocation_endpoint),
    ] {
        if let Some(url) = endpoint {
            origin::require_secure(url, name)?;
        }
    }
    if meta.authorization_endpoint.is_some()
        && !meta
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    {
        return Err(Error::Discovery(
            "the authorization server does not advertise PKCE S256".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn strs(v: Vec<Url>) -> Vec<String> {
        v.into_iter().map(String::from).collect()
    }

    #[test]
    fn resource_metadata_urls_follow_rfc9728() {
        assert_eq!(
            strs(protected_resource_metadata_urls(&u(
                "https://app.example/api/whoami?x=1#f"
            ))),
            [
                "https://app.example/.well-known/oauth-protected-resource/api/whoami",
                "https://app.example/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            strs(protected_resource_metadata_urls(&u(
                "http://127.0.0.1:8787/"
            ))),
            ["http://127.0.0.1:8787/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn server_metadata_urls_follow_the_mcp_order() {
        assert_eq!(
            strs(authorization_server_metadata_urls(&u(
                "https://as.example/tenant1"
            ))),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant1",
                "https://as.example/.well-known/openid-configuration/tenant1",
                "https://as.example/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            strs(authorization_server_metadata_urls(&u("https://as.example"))),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
    }

    proptest! {
        // Hostile paths (dot segments, encoded slashes, odd characters) never escape the
        // origin, never panic, and the original path can be read back from the built URL.
        #[test]
        fn urls_stay_on_the_origin_and_round_trip(host in "[a-z]{1,10}\\.example", path in "(/[a-zA-Z0-9%._~!$&'()*+,;=:@-]{0,12}){0,5}", query in proptest::option::of("[ -~]{0,20}")) {
            let mut url = Url::parse(&format!("https://{host}/")).unwrap();
            url.set_path(&path);
            url.set_query(query.as_deref());
            let normalised = url.path().trim_end_matches('/').to_string();
            let prm = protected_resource_metadata_urls(&url);
            prop_assert!(!prm.is_empty());
            for candidate in &prm {
                prop_assert!(same(candidate, &url));
                prop_assert!(candidate.query().is_none());
            }
            let first = prm.first().unwrap();
            prop_assert_eq!(first.path().strip_prefix(PRM), Some(normalised.as_str()));
            let asm = authorization_server_metadata_urls(&url);
            for candidate in &asm {
                prop_assert!(same(candidate, &url));
            }
            prop_assert_eq!(asm.first().unwrap().path().strip_prefix("/.well-known/oauth-authorization-server"), Some(normalised.as_str()));
        }
    }

    fn same(a: &Url, b: &Url) -> bool {
        origin::same_origin(a, b)
    }
}
