//! `WWW-Authenticate` challenges: `Bearer …` (RFC 6750 §3) with the protected resource metadata
//! URL (RFC 9728 §5.1), which is how an agent that hit a wall finds its way to a token; `Basic`
//! for a client that authenticated with HTTP Basic (RFC 6749 §5.2); and the admin API's Bearer
//! realm.

use crate::error::OAuthError;

/// A Bearer challenge naming the resource's metadata URL.
///
/// RFC 9728 §5.1: `resource_metadata` names the protected resource metadata URL; RFC 6750 §3:
/// `scope` lists the scopes needed, and `error`/`error_description` say what was wrong with the
/// token presented (omitted when none was). Values are gatehouse's own (URLs, scope tokens,
/// fixed descriptions), none of which can hold `"` or `\`.
pub fn bearer(resource_metadata: &str, scope: Option<&str>, error: Option<&OAuthError>) -> String {
    let mut challenge = format!("Bearer resource_metadata=\"{resource_metadata}\"");
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        challenge.push_str(&format!(", scope=\"{scope}\""));
    }
    if let Some(error) = error {
        challenge.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            error.code.as_str(),
            error.description
        ));
    }
    challenge
}

/// RFC 6749 §5.2: "If the client attempted to authenticate via the "Authorization" request
/// header field, the authorization server MUST respond with an HTTP 401 (Unauthorized) status
/// code and include the "WWW-Authenticate" response header field matching the authentication
/// scheme used by the client."
pub const BASIC: &str = "Basic realm=\"gatehouse\"";

/// The admin API's challenge for a missing or wrong `ADMIN_TOKEN` (RFC 6750 §3).
pub const ADMIN_BEARER: &str = "Bearer realm=\"gatehouse-admin\"";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;

    #[test]
    fn a_missing_token_gets_metadata_and_scope_but_no_error() {
        assert_eq!(
            bearer(
                "https://wiki.example/.well-known/oauth-protected-resource",
                Some("read"),
                None
            ),
            "Bearer resource_metadata=\"https://wiki.example/.well-known/oauth-protected-resource\", scope=\"read\""
        );
    }

    #[test]
    fn a_bad_token_gets_the_error_code() {
        let challenge = bearer(
            "https://wiki.example",
            None,
            Some(&OAuthError::from(Reason::TokenExpired)),
        );
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(!challenge.contains("scope="));
    }
}
