//! Every path gatehouse serves, in one place: the Worker's router and the discovery documents
//! both read these, so an endpoint cannot move without its advertisement moving too.

/// Authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE: &str = "/oauth/authorize";
/// Token endpoint (RFC 6749 §3.2).
pub const TOKEN: &str = "/oauth/token";
/// Dynamic client registration (RFC 7591 §3).
pub const REGISTER: &str = "/oauth/register";
/// Token revocation (RFC 7009 §2).
pub const REVOKE: &str = "/oauth/revoke";
/// Token introspection (RFC 7662 §2).
pub const INTROSPECT: &str = "/oauth/introspect";
/// The JWK Set of the token signing keys (RFC 7517 §5).
pub const JWKS: &str = "/oauth/jwks.json";
/// The login form's target.
pub const LOGIN: &str = "/.gatehouse/login";
/// The consent form's target.
pub const CONSENT: &str = "/.gatehouse/consent";
/// Health of the bindings.
pub const HEALTHZ: &str = "/healthz";

/// RFC 8414 §3: authorization server metadata.
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4: the same document, where OIDC-minded clients look.
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// RFC 9728 §3: protected resource metadata.
pub const OAUTH_PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";

/// Which discovery document a path asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WellKnown {
    /// Authorization server metadata (RFC 8414).
    AuthorizationServer,
    /// Protected resource metadata (RFC 9728) for the resource at `resource_path` (no leading
    /// slash; empty for the app's root).
    ProtectedResource {
        /// The path of the resource within the app.
        resource_path: String,
    },
}

/// Classifies a request path. Accepts every form unmodified clients probe:
/// - RFC 8414 §3.1 path insertion, `/.well-known/oauth-authorization-server[/<issuer path>]`;
/// - OpenID Connect Discovery, `/.well-known/openid-configuration`, and the path-appending
///   `/<issuer path>/.well-known/openid-configuration` and path-inserting
///   `/.well-known/openid-configuration/<issuer path>` forms the MCP authorization spec lists in
///   its probe order;
/// - RFC 9728 §3.1, `/.well-known/oauth-protected-resource[/<resource path>]`.
///
/// This server's issuer is the origin, with no path, so every issuer-path form answers with the
/// same document: a client that derived the metadata URL from a resource URL with a path still
/// finds it. Suffixes with `..`, empty segments, percent-encoding or odd characters are refused.
pub fn well_known(path: &str) -> Option<WellKnown> {
    if let Some(rest) = path.strip_prefix(OAUTH_PROTECTED_RESOURCE) {
        return suffix(rest).map(|resource_path| WellKnown::ProtectedResource {
            resource_path: resource_path.to_owned(),
        });
    }
    for prefix in [OAUTH_AUTHORIZATION_SERVER, OPENID_CONFIGURATION] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return suffix(rest).map(|_| WellKnown::AuthorizationServer);
        }
    }
    let issuer_path = path.strip_suffix(OPENID_CONFIGURATION)?;
    suffix(issuer_path)
        .filter(|p| !p.is_empty())
        .map(|_| WellKnown::AuthorizationServer)
}

/// The path after a well-known prefix: empty, or `/` followed by clean segments.
fn suffix(rest: &str) -> Option<&str> {
    if rest.is_empty() {
        return Some("");
    }
    let inner = rest.strip_prefix('/')?;
    let clean = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    (inner.len() <= 256 && inner.split('/').all(clean)).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_probe_form_of_the_authorization_server_metadata_is_served() {
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-authorization-server/mcp",
            "/.well-known/openid-configuration",
            "/.well-known/openid-configuration/mcp",
            "/mcp/.well-known/openid-configuration",
            "/a/b/.well-known/openid-configuration",
        ] {
            assert_eq!(
                well_known(path),
                Some(WellKnown::AuthorizationServer),
                "{path}"
            );
        }
    }

    #[test]
    fn protected_resource_metadata_names_the_resource_path() {
        let pr = |p: &str| {
            Some(WellKnown::ProtectedResource {
                resource_path: p.to_owned(),
            })
        };
        assert_eq!(well_known("/.well-known/oauth-protected-resource"), pr(""));
        assert_eq!(
            well_known("/.well-known/oauth-protected-resource/mcp"),
            pr("mcp")
        );
        assert_eq!(
            well_known("/.well-known/oauth-protected-resource/api/v1"),
            pr("api/v1")
        );
    }

    #[test]
    fn hostile_or_odd_paths_are_not_discovery() {
        for path in [
            "/",
            "/.well-known",
            "/.well-known/oauth-authorization-serverX",
            "/.well-known/oauth-protected-resource/",
            "/.well-known/oauth-protected-resource//x",
            "/.well-known/oauth-protected-resource/../x",
            "/.well-known/oauth-protected-resource/%2e%2e/x",
            "/.well-known/oauth-protected-resource/a%2Fb",
            "/.well-known/oauth-authorization-server/a b",
            "//.well-known/openid-configuration",
            "/../.well-known/openid-configuration",
        ] {
            assert_eq!(well_known(path), None, "{path}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(path in ".{0,300}") {
            let _ = well_known(&path);
        }
    }
}
