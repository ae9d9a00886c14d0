//! The discovery documents: authorization server metadata (RFC 8414 §2) and protected resource
//! metadata (RFC 9728 §2), built from plain inputs. Endpoint URLs are the issuer joined with the
//! [`crate::paths`] constants, the same ones the Worker routes on.
//!
//! The issuer's canonical form is `scheme://host[:port]`: lowercase scheme and host, the port
//! only when it is not the scheme's default, no path and no trailing slash
//! ([`issuer_from_origin`]). It is the request's origin, exactly as `url::Url::origin` serialises
//! it. The same string is the `iss` of every token and of every authorization response (RFC 9207
//! §2), so the documents copy it verbatim and never canonicalise it themselves: RFC 8414 §3.3
//! needs it byte for byte.
//!
//! Not advertised, because not served: the implicit and password grants, `plain` PKCE, tokens in
//! the query string or body, and Client ID Metadata Documents (turned on by a later change).

use serde::Serialize;

use crate::paths;

/// The `response_types_supported` value: only the authorization code flow. OAuth 2.1 drops the
/// implicit grant, and RFC 9700 §2.1.2 says clients SHOULD NOT use it.
const RESPONSE_TYPES: &[&str] = &["code"];
/// The `response_modes_supported` value. RFC 8414 §2: "If omitted, the default is `["query",
/// "fragment"]`", so it is listed to rule out `fragment`.
const RESPONSE_MODES: &[&str] = &["query"];
/// The `grant_types_supported` value. RFC 8414 §2: "If omitted, the default value is
/// `["authorization_code", "implicit"]`", so it is listed to rule out `implicit`.
/// The device code grant (RFC 8628 §3.4) is listed with its endpoint (§4).
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    crate::grants::device_code::GRANT_TYPE,
];
/// Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1, RFC 7591 §2):
/// `none` for public clients, which RFC 7009 §2.1 lets revoke their own tokens.
const CLIENT_AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post"];
/// Client authentication at the introspection endpoint: RFC 7662 §2.1 "the endpoint MUST also
/// require some form of authorization to access this endpoint", so never `none`.
const INTROSPECTION_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];
/// The `code_challenge_methods_supported` value (RFC 8414 §2; methods from RFC 7636 §4.2): only
/// `S256`. We refuse `plain` because it sends the verifier itself in the authorization request:
/// RFC 9700 §2.1.1 says clients SHOULD use a method that does not expose it, and `S256` is the
/// only such method.
const CODE_CHALLENGE_METHODS: &[&str] = &["S256"];
/// The `bearer_methods_supported` value (RFC 9728 §2): the `Authorization` header only (RFC 6750
/// §2.1). We refuse the form-body and query methods (RFC 6750 §2.2, §2.3): tokens in URLs end up
/// in logs, and RFC 9700 §4.3.2 says clients MUST NOT send them in the query.
const BEARER_METHODS: &[&str] = &["header"];

/// The discovery document `document` of the site, serialized: authorization server metadata
/// (RFC 8414 §2), or the protected resource metadata of the resource the path names (RFC 9728
/// §3.1: `/.well-known/oauth-protected-resource/mcp` is about `https://app.example/mcp`, and
/// §3.3 requires the `resource` returned to be that identifier; the bare form is about the
/// app's own resource).
pub fn document(
    site: &crate::site::Site<'_>,
    cimd: bool,
    document: paths::WellKnown,
) -> Result<Vec<u8>, serde_json::Error> {
    let scopes: Vec<String> = site
        .app
        .scopes
        .iter()
        .map(|(scope, _)| scope.as_str().to_owned())
        .collect();
    match document {
        paths::WellKnown::AuthorizationServer => serde_json::to_vec(
            &AuthorizationServerMetadata::new(&site.issuer, &scopes)
                .with_client_id_metadata_documents(cimd),
        ),
        paths::WellKnown::ProtectedResource { resource_path } => {
            let resource = match resource_path.as_str() {
                "" => site.resource.clone(),
                path => format!("{}/{path}", site.origin),
            };
            let metadata = ProtectedResourceMetadata::new(&resource, &site.issuer, &scopes)
                .with_resource_name(&site.app.name);
            serde_json::to_vec(&metadata)
        }
    }
}

/// The canonical issuer for a request origin: `scheme://host[:port]`, lowercase, with the port
/// dropped when it is the scheme's default (80 for `http`, 443 for `https`; RFC 6454 §4) and no
/// trailing slash (RFC 8414 §2: the issuer has "no query or fragment components", and §3.1 would
/// remove a terminating `/` anyway when building the metadata URL).
///
/// `scheme` may carry the trailing `:` of JavaScript's `URL.protocol`. `host` is as a URL parser
/// serialises it (`url::Url::host_str`): a registered name, an IPv4 address or a bracketed IPv6
/// address; an unbracketed IPv6 address is bracketed. For example `("https", "Auth.Example.com",
/// Some(443))` gives `https://auth.example.com`, `("http", "127.0.0.1", Some(8787))` gives
/// `http://127.0.0.1:8787`.
pub fn issuer_from_origin(scheme: &str, host: &str, port: Option<u16>) -> String {
    let scheme = scheme
        .strip_suffix(':')
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    match port.filter(|&port| Some(port) != default_port(&scheme)) {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// The default port of a scheme this server can be reached through (RFC 9110 §4.2.1, §4.2.2).
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// `issuer` joined with an absolute `path` from [`crate::paths`].
fn endpoint(issuer: &str, path: &str) -> String {
    format!("{issuer}{path}")
}

/// Authorization server metadata (RFC 8414 §2), with the RFC 9207 §3 and Client ID Metadata
/// Document parameters that the MCP authorization spec reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthorizationServerMetadata {
    /// REQUIRED (RFC 8414 §2). RFC 8414 §3.3: "The `issuer` value returned MUST be identical to
    /// the authorization server's issuer identifier value into which the well-known URI string
    /// was inserted to create the URL used to retrieve the metadata."
    pub issuer: String,
    /// The authorization endpoint (RFC 6749 §3.1); REQUIRED here since the code grant uses it.
    pub authorization_endpoint: String,
    /// The token endpoint (RFC 6749 §3.2); REQUIRED unless only the implicit grant is supported.
    pub token_endpoint: String,
    /// The dynamic client registration endpoint (RFC 7591 §3).
    pub registration_endpoint: String,
    /// The revocation endpoint (RFC 7009 §2; RFC 8414 §2).
    pub revocation_endpoint: String,
    /// The introspection endpoint (RFC 7662 §2; RFC 8414 §2).
    pub introspection_endpoint: String,
    /// The device authorization endpoint (RFC 8628 §4).
    pub device_authorization_endpoint: String,
    /// The JWK Set that verifies access tokens and origin assertions (RFC 8414 §2, RFC 7517 §5).
    pub jwks_uri: String,
    /// The scopes the app offers; RECOMMENDED (RFC 8414 §2). Omitted when there are none, since
    /// an empty list tells a client nothing it can ask for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// REQUIRED (RFC 8414 §2): `["code"]`.
    pub response_types_supported: &'static [&'static str],
    /// RFC 8414 §2: `["query"]`.
    pub response_modes_supported: &'static [&'static str],
    /// RFC 8414 §2: `authorization_code`, `refresh_token` and the device code grant.
    pub grant_types_supported: &'static [&'static str],
    /// RFC 8414 §2: `none`, `client_secret_basic`, `client_secret_post`.
    pub token_endpoint_auth_methods_supported: &'static [&'static str],
    /// RFC 8414 §2: the same methods as the token endpoint.
    pub revocation_endpoint_auth_methods_supported: &'static [&'static str],
    /// RFC 8414 §2: `client_secret_basic`, `client_secret_post`; never `none` (RFC 7662 §2.1).
    pub introspection_endpoint_auth_methods_supported: &'static [&'static str],
    /// RFC 8414 §2: `["S256"]`; `plain` is refused (RFC 9700 §2.1.1).
    pub code_challenge_methods_supported: &'static [&'static str],
    /// RFC 9207 §3: every authorization response, success or error, carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// Whether a `client_id` may be an https URL naming a Client ID Metadata Document
    /// (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25 "Client ID Metadata
    /// Documents"). Follows the `CIMD` setting ([`Self::with_client_id_metadata_documents`]).
    pub client_id_metadata_document_supported: bool,
}

impl AuthorizationServerMetadata {
    /// The document for `issuer`, which must be in canonical form ([`issuer_from_origin`]): it is
    /// copied verbatim into `issuer` (RFC 8414 §3.3) and prefixes every endpoint. `scopes` are
    /// listed in the order given.
    pub fn new(issuer: &str, scopes: &[String]) -> Self {
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: endpoint(issuer, paths::AUTHORIZE),
            token_endpoint: endpoint(issuer, paths::TOKEN),
            registration_endpoint: endpoint(issuer, paths::REGISTER),
            revocation_endpoint: endpoint(issuer, paths::REVOKE),
            introspection_endpoint: endpoint(issuer, paths::INTROSPECT),
            device_authorization_endpoint: endpoint(issuer, paths::DEVICE_AUTHORIZATION),
            jwks_uri: endpoint(issuer, paths::JWKS),
            scopes_supported: scopes.to_vec(),
            response_types_supported: RESPONSE_TYPES,
            response_modes_supported: RESPONSE_MODES,
            grant_types_supported: GRANT_TYPES,
            token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: INTROSPECTION_AUTH_METHODS,
            code_challenge_methods_supported: CODE_CHALLENGE_METHODS,
            authorization_response_iss_parameter_supported: true,
            client_id_metadata_document_supported: false,
        }
    }

    /// The same document, advertising Client ID Metadata Documents when `supported` (the
    /// operator's `CIMD` setting). Clients using them authenticate with `none`, which
    /// `token_endpoint_auth_methods_supported` lists.
    pub fn with_client_id_metadata_documents(mut self, supported: bool) -> Self {
        self.client_id_metadata_document_supported = supported;
        self
    }
}

/// Protected resource metadata (RFC 9728 §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    /// REQUIRED (RFC 9728 §2): the resource identifier, the URL clients send as RFC 8707
    /// `resource`. RFC 9728 §3.3: it MUST be identical to the resource identifier the
    /// well-known URI was built from.
    pub resource: String,
    /// The issuers whose tokens the resource accepts (RFC 9728 §2): this server's issuer only.
    pub authorization_servers: Vec<String>,
    /// The scopes the resource understands; RECOMMENDED (RFC 9728 §2). Omitted when there are
    /// none: MCP clients ask for the listed scopes, and an empty list would have them send an
    /// empty `scope`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// RFC 9728 §2: `["header"]`.
    pub bearer_methods_supported: &'static [&'static str],
    /// A name for the resource to show the person (RFC 9728 §2); omitted unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

impl ProtectedResourceMetadata {
    /// The document for `resource`, copied verbatim (RFC 9728 §3.3), whose tokens come from
    /// `issuer` (canonical form, [`issuer_from_origin`]). `scopes` are listed in the order given.
    pub fn new(resource: &str, issuer: &str, scopes: &[String]) -> Self {
        Self {
            resource: resource.to_owned(),
            authorization_servers: vec![issuer.to_owned()],
            scopes_supported: scopes.to_vec(),
            bearer_methods_supported: BEARER_METHODS,
            resource_name: None,
        }
    }

    /// The same document with `resource_name` (RFC 9728 §2) set to `name`.
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }
}

#[cfg(test)]
mod tests;
