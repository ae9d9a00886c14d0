//! The provider's discovery document (OpenID Connect Discovery 1.0 §3, §4): fetched from
//! `<issuer>/.well-known/openid-configuration`, and accepted only when its `issuer` is exactly
//! the configured one (§4.3), every endpoint gatehouse calls passes the outbound rule of
//! `crate::net` (`https` to a public host), and the browser's endpoint is `https`.

use serde::Deserialize;

use super::provider::Provider;
use crate::net::SafeUrl;

/// What gatehouse uses of a provider's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer, identical to the configured one.
    pub issuer: String,
    /// Where the browser is sent (OpenID Connect Core §3.1.2).
    pub authorization_endpoint: String,
    /// Where the code is exchanged (§3.1.3).
    pub token_endpoint: SafeUrl,
    /// The provider's signing keys.
    pub jwks_uri: SafeUrl,
    /// RFC 9207 §3: the provider sends `iss` in every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// Why a discovery document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Not JSON, or a required member is missing.
    Malformed,
    /// Its `issuer` differs from the configured issuer.
    IssuerMismatch,
    /// An endpoint is not `https` (or loopback `http` where allowed), or one gatehouse calls
    /// is on a loopback, private or reserved address.
    InsecureEndpoint,
}

/// The discovery URL of `issuer` (Discovery §4.1: the issuer with any trailing `/` removed,
/// followed by `/.well-known/openid-configuration`).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

impl ProviderMetadata {
    /// Parses and checks the document for `provider`.
    pub fn parse(provider: &Provider, document: &str) -> Result<Self, DiscoveryError> {
        let raw: RawMetadata =
            serde_json::from_str(document).map_err(|_| DiscoveryError::Malformed)?;
        // Discovery §4.3: "The issuer value returned MUST be identical to the Issuer URL that was
        // used as the prefix to /.well-known/openid-configuration to retrieve the configuration
        // information."
        if raw.issuer != provider.issuer {
            return Err(DiscoveryError::IssuerMismatch);
        }
        let endpoint = |url: &str| {
            provider
                .endpoint(url)
                .map_err(|_| DiscoveryError::InsecureEndpoint)
        };
        let token_endpoint = endpoint(&raw.token_endpoint)?;
        let jwks_uri = endpoint(&raw.jwks_uri)?;
        if !provider.browser_endpoint_allowed(&raw.authorization_endpoint) {
            return Err(DiscoveryError::InsecureEndpoint);
        }
        Ok(Self {
            issuer: raw.issuer,
            authorization_endpoint: raw.authorization_endpoint,
            token_endpoint,
            jwks_uri,
            authorization_response_iss_parameter_supported: raw
                .authorization_response_iss_parameter_supported,
        })
    }
}
