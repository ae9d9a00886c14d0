//! The discovery documents: authorization server metadata (RFC 8414 §2) and protected resource
//! metadata (RFC 9728 §2). Endpoint URLs are the issuer joined with [`crate::paths`].

use serde::Serialize;

use crate::paths;

/// RFC 8414 §2, with RFC 9207 §3 and the MCP authorization spec's additions.
#[derive(Debug, Serialize)]
pub struct AuthorizationServerMetadata {
    /// RFC 8414 §3.3: identical to the issuer the client built the metadata URL from.
    pub issuer: String,
    /// RFC 6749 §3.1.
    pub authorization_endpoint: String,
    /// RFC 6749 §3.2.
    pub token_endpoint: String,
    /// RFC 7591 §3.
    pub registration_endpoint: String,
    /// RFC 7009 §2.
    pub revocation_endpoint: String,
    /// RFC 7662 §2.
    pub introspection_endpoint: String,
    /// RFC 7517 §5.
    pub jwks_uri: String,
    /// The scopes the app offers.
    pub scopes_supported: Vec<String>,
    /// Only `code` (OAuth 2.1 removed the implicit grant).
    pub response_types_supported: [&'static str; 1],
    /// Only `query`.
    pub response_modes_supported: [&'static str; 1],
    /// The grants the token endpoint serves.
    pub grant_types_supported: [&'static str; 2],
    /// Public clients and both client-secret methods (RFC 6749 §2.3.1).
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    /// The same methods at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: [&'static str; 3],
    /// Introspection needs a confidential client: never `none`.
    pub introspection_endpoint_auth_methods_supported: [&'static str; 2],
    /// RFC 7636 §4.3: only `S256`; `plain` is refused.
    pub code_challenge_methods_supported: [&'static str; 1],
    /// RFC 9207 §3: every authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// Client ID Metadata Documents are not accepted yet.
    pub client_id_metadata_document_supported: bool,
}

const CLIENT_AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];

impl AuthorizationServerMetadata {
    /// The document for `issuer` (`scheme://host[:port]`, no trailing slash).
    pub fn new(issuer: &str, scopes: &[String]) -> Self {
        let at = |path: &str| format!("{issuer}{path}");
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: at(paths::AUTHORIZE),
            token_endpoint: at(paths::TOKEN),
            registration_endpoint: at(paths::REGISTER),
            revocation_endpoint: at(paths::REVOKE),
            introspection_endpoint: at(paths::INTROSPECT),
            jwks_uri: at(paths::JWKS),
            scopes_supported: scopes.to_vec(),
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: ["authorization_code", "refresh_token"],
            token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: [
                "client_secret_basic",
                "client_secret_post",
            ],
            code_challenge_methods_supported: ["S256"],
            authorization_response_iss_parameter_supported: true,
            client_id_metadata_document_supported: false,
        }
    }
}

/// RFC 9728 §2.
#[derive(Debug, Serialize)]
pub struct ProtectedResourceMetadata {
    /// The resource's identifier: the URL clients send as RFC 8707 `resource`.
    pub resource: String,
    /// The authorization servers that issue tokens for it: this one.
    pub authorization_servers: Vec<String>,
    /// The scopes it understands.
    pub scopes_supported: Vec<String>,
    /// Tokens go in the `Authorization` header only (RFC 6750 §2.1); query and body are refused.
    pub bearer_methods_supported: [&'static str; 1],
}

impl ProtectedResourceMetadata {
    /// The document for `resource`, protected by `issuer`.
    pub fn new(resource: &str, issuer: &str, scopes: &[String]) -> Self {
        Self {
            resource: resource.to_owned(),
            authorization_servers: vec![issuer.to_owned()],
            scopes_supported: scopes.to_vec(),
            bearer_methods_supported: ["header"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_server_document_advertises_exactly_what_is_served() {
        let doc = serde_json::to_value(AuthorizationServerMetadata::new(
            "https://wiki.example",
            &["read".into()],
        ))
        .unwrap();
        assert_eq!(doc["issuer"], "https://wiki.example");
        assert_eq!(
            doc["authorization_endpoint"],
            "https://wiki.example/oauth/authorize"
        );
        assert_eq!(doc["token_endpoint"], "https://wiki.example/oauth/token");
        assert_eq!(doc["jwks_uri"], "https://wiki.example/oauth/jwks.json");
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert!(
            !doc["introspection_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&"none".into())
        );
        assert_eq!(doc["scopes_supported"], serde_json::json!(["read"]));
    }

    #[test]
    fn the_protected_resource_document_points_at_its_authorization_server() {
        let doc = serde_json::to_value(ProtectedResourceMetadata::new(
            "https://wiki.example/mcp",
            "https://wiki.example",
            &[],
        ))
        .unwrap();
        assert_eq!(doc["resource"], "https://wiki.example/mcp");
        assert_eq!(
            doc["authorization_servers"],
            serde_json::json!(["https://wiki.example"])
        );
        assert_eq!(
            doc["bearer_methods_supported"],
            serde_json::json!(["header"])
        );
    }
}
