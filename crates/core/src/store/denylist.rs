//! The edge denylist of revoked grants (KV).

use crate::grant_id::GrantId;
use crate::model::grant::RevocationReason;
use crate::time::UnixTime;

use super::error::StoreError;

/// KV refuses an expiration less than 60 s ahead (or in the past): "Expiration times must be
/// at least 60 seconds in the future" (Cloudflare KV docs, "Expiring keys").
pub const KV_MIN_TTL_SECS: u64 = 60;

/// The edge denylist of revoked grants, read by the gatekeeper on every authenticated request.
/// Entries outlive every access token issued before the revocation.
#[allow(async_fn_in_trait)]
pub trait Denylist {
    /// Refuses tokens of this grant until `until`, keeping why. KV refuses an `until` less than
    /// [`KV_MIN_TTL_SECS`] after `now`, as does every implementation.
    async fn deny_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Whether tokens of this grant are refused: the gatekeeper's question, which
    /// implementations may answer from a per-isolate cache.
    async fn is_grant_denied(&self, grant_id: &GrantId) -> Result<bool, StoreError>;
    /// Why tokens of this grant are refused, if they are, read from the denylist itself: what a
    /// path that finishes a revocation D1 does not know needs. An entry of a build that kept no
    /// reason reads as [`RevocationReason::ClientRequest`].
    async fn denial(&self, grant_id: &GrantId) -> Result<Option<RevocationReason>, StoreError>;
}
