//! Refresh tokens.

use crate::model::grant::GrantRecord;
use crate::model::refresh::RefreshRecord;
use crate::secret::SecretHash;

use super::error::StoreError;

/// Refresh tokens.
#[allow(async_fn_in_trait)]
pub trait RefreshStore {
    /// The token with this hash, live or rotated.
    async fn refresh(&self, token_hash: &SecretHash) -> Result<Option<RefreshRecord>, StoreError>;
    /// The token with this hash and its grant, read together (one round trip for the refresh
    /// grant); `None` when either is unknown.
    async fn refresh_with_grant(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, GrantRecord)>, StoreError>;
}
