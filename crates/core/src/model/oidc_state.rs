//! A pending upstream OpenID Connect login (`oidc_states`), as stored. Deriving the `nonce`
//! and PKCE values from a state is `crate::oidc::state`'s.

use crate::secret::SecretHash;
use crate::time::UnixTime;

/// A pending upstream login, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateRecord {
    /// Hash of the `state`.
    pub state_hash: SecretHash,
    /// Hash of the browser-binding cookie of the browser that started the login.
    pub binding_hash: SecretHash,
    /// The provider's id.
    pub provider: String,
    /// The app (its canonical URL) the login is for.
    pub app: String,
    /// Where to send the person afterwards (already checked by `login::return_to`).
    pub return_to: String,
    /// When it stops being accepted.
    pub expires_at: UnixTime,
}

/// What consuming a state found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateUse {
    /// First use.
    Fresh(StateRecord),
    /// Used before: a replayed callback.
    Replayed,
    /// No such state.
    Unknown,
}
