//! Building the redirect that answers an authorization request (RFC 6749 §4.1.2, RFC 9207).

use url::Url;

use crate::error::{OAuthError, Reason};
use crate::types::{RedirectUri, State};

/// A redirect URI that matched the client's registration. Only the authorization request checks
/// build one, so nothing else can redirect a person anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredRedirect {
    /// Exactly as the client sent it: the token request must repeat it byte for byte. It passed
    /// the registration rules, since it equals a registered URI but for a loopback port or an
    /// empty path.
    uri: RedirectUri,
}

impl RegisteredRedirect {
    /// Wraps a redirect URI that was just matched against a registration.
    pub(super) fn new(uri: &str) -> Result<Self, Reason> {
        Ok(Self {
            uri: RedirectUri::parse(uri)?,
        })
    }

    /// The redirect URI as the client sent it (and as the token request must repeat it).
    pub fn as_str(&self) -> &str {
        self.uri.as_str()
    }

    /// What the consent page shows as the destination ([`RedirectUri::destination`]).
    pub fn destination(&self) -> &str {
        self.uri.destination()
    }

    /// Whether codes go to a program on the person's own machine (RFC 8252 §7.3): any local
    /// program could be listening there, so the consent page warns.
    pub fn is_loopback(&self) -> bool {
        self.uri.is_loopback()
    }

    /// Whether codes go to an app on the person's device through a private-use scheme
    /// (RFC 8252 §7.1): the consent page says which scheme.
    pub fn is_private_use(&self) -> bool {
        self.uri.is_private_use()
    }

    /// The success redirect: `code`, `state`, and `iss` (RFC 9207 §2).
    pub fn with_code(&self, code: &str, state: Option<&State>, issuer: &str) -> String {
        self.with(&[("code", code)], state, issuer)
    }

    /// The error redirect (RFC 6749 §4.1.2.1): `error`, `error_description`, `state`, `iss`.
    pub fn with_error(&self, error: &OAuthError, state: Option<&State>, issuer: &str) -> String {
        self.with(
            &[
                ("error", error.code.as_str()),
                ("error_description", error.description),
            ],
            state,
            issuer,
        )
    }

    /// Appends the parameters to the redirect URI's query, keeping any query it has
    /// (RFC 6749 §3.1.2: "MUST retain the query component").
    fn with(&self, params: &[(&str, &str)], state: Option<&State>, issuer: &str) -> String {
        let mut url: Url = self.uri.url().clone();
        {
            let mut query = url.query_pairs_mut();
            query.extend_pairs(params);
            if let Some(state) = state {
                query.append_pair("state", state.as_str());
            }
            query.append_pair("iss", issuer);
        }
        url.into()
    }
}
