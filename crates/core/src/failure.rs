//! How an endpoint fails: a refusal the client can act on (RFC 6749 §5.2), a storage outage, or
//! a write that waits for migration mode to end. Every feature below [`crate::server`] returns
//! it; the Worker turns it into a response.

use crate::client_auth::AuthError;
use crate::error::{OAuthError, Reason};
use crate::migration::Paused;
use crate::store::StoreError;

/// An endpoint's failure: a refusal the client can act on, or a storage outage.
#[derive(Debug)]
pub enum Failure {
    /// RFC 6749 §5.2 error response.
    OAuth {
        /// The error.
        error: OAuthError,
        /// The client authenticated with HTTP Basic: answer `WWW-Authenticate: Basic` (§5.2).
        basic_challenge: bool,
    },
    /// `503` + `Retry-After`.
    Store(StoreError),
    /// Migration mode: `503` + the operator's `Retry-After`.
    Paused(Paused),
}

impl From<Paused> for Failure {
    fn from(paused: Paused) -> Self {
        Self::Paused(paused)
    }
}

impl From<Reason> for Failure {
    fn from(reason: Reason) -> Self {
        Self::OAuth {
            error: OAuthError::from(reason),
            basic_challenge: false,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Refused { reason, used_basic } => Self::OAuth {
                error: OAuthError::from(reason),
                basic_challenge: used_basic,
            },
            AuthError::Store(e) => Self::Store(e),
        }
    }
}
