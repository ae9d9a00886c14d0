//! A refresh token as stored (RFC 6749 §6, rotated on every use as RFC 9700 §4.14.2 asks).

use crate::grant_id::GrantId;
use crate::secret::SecretHash;
use crate::time::UnixTime;

/// A refresh token: one row per token ever issued, of which exactly one per grant is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Hash of the token.
    pub token_hash: SecretHash,
    /// The grant it refreshes.
    pub grant_id: GrantId,
    /// When it lapses.
    pub expires_at: UnixTime,
    /// When it was rotated (no longer live); `None` while live.
    pub rotated_at: Option<UnixTime>,
    /// Hash of the token it was rotated into.
    pub successor_hash: Option<SecretHash>,
}
