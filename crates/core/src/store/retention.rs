//! Forgetting rows that no rule reads any more.

use crate::time::UnixTime;

use super::error::StoreError;

/// A kind of row that lapses, with the time before which a row of it is forgotten. Each names
/// the one column its cut-off is compared with; [`crate::retention`] chooses the cut-offs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lapsed {
    /// Authorization codes that expired before this time (`expires_at`), used or not.
    Codes(UnixTime),
    /// Refresh tokens that expired before this time (`expires_at`), rotated or live.
    ExpiredRefreshTokens(UnixTime),
    /// Refresh tokens rotated before this time (`rotated_at`).
    RotatedRefreshTokens(UnixTime),
    /// Browser sessions that expired before this time (`expires_at`), logged out or not.
    Sessions(UnixTime),
    /// Pending upstream logins that expired before this time (`expires_at`).
    OidcStates(UnixTime),
    /// Device codes that expired before this time (`expires_at`).
    DeviceCodes(UnixTime),
    /// Wrong user codes entered before this time (`failed_at`).
    WrongUserCodes(UnixTime),
    /// Client assertion ids whose assertion expired before this time (`expires_at`).
    AssertionIds(UnixTime),
    /// Audit events recorded before this time (`at`): only when the operator set a retention.
    AuditEvents(UnixTime),
}

/// Forgetting lapsed rows.
#[allow(async_fn_in_trait)]
pub trait Retention {
    /// Deletes at most `limit` rows of `lapsed`'s kind whose column is before its cut-off, and
    /// returns how many it deleted. Idempotent: a row is either kept whole or gone, and
    /// running it again deletes only what is still there. It never deletes a row any rule still
    /// reads: the cut-offs are past every window such a rule looks back over.
    async fn forget(&self, lapsed: Lapsed, limit: u32) -> Result<u32, StoreError>;
}
