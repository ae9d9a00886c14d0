//! Pending upstream OpenID Connect logins.

use crate::model::oidc_state::{StateRecord, StateUse};
use crate::secret::SecretHash;
use crate::time::UnixTime;

use super::error::StoreError;

/// Pending upstream OpenID Connect logins (`oidc_states`).
#[allow(async_fn_in_trait)]
pub trait OidcStateStore {
    /// Stores a new pending login.
    async fn insert_oidc_state(&self, state: &StateRecord, now: UnixTime)
    -> Result<(), StoreError>;
    /// Marks the state used in one atomic step (D1: `UPDATE … WHERE used_at IS NULL`).
    /// Exactly one caller ever receives `Fresh` for a given state, however many race; expiry is
    /// the caller's to check.
    async fn consume_oidc_state(
        &self,
        state_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<StateUse, StoreError>;
}
