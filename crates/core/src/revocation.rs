//! Revocation that is never lost: every revocation is applied at once where storage is writable
//! and put on the `revocations` Queue; the Queue's consumer applies it again (idempotently), so
//! one that could not be applied at once — storage down, or being moved — still takes effect.

use crate::config::MAX_ACCESS_TOKEN_TTL_SECS;
use crate::grant_id::GrantId;
use crate::queue::QueueMessage;
use crate::store::{RevocationReason, Store, StoreError};
use crate::time::UnixTime;

/// Revokes a grant now and queues the same command. Succeeds when either took effect: applied,
/// or durably queued for the consumer. Fails only when neither did.
pub async fn revoke(
    store: &impl Store,
    grant_id: &GrantId,
    reason: RevocationReason,
    now: UnixTime,
) -> Result<(), StoreError> {
    let applied = apply(store, grant_id, reason, now).await;
    let queued = store
        .enqueue(&QueueMessage::RevokeGrant {
            grant_id: grant_id.clone(),
            reason,
            at: now,
        })
        .await;
    match (applied, queued) {
        (Err(error), Err(_)) => Err(error),
        _ => Ok(()),
    }
}

/// What the consumer does with a queued command, and what [`revoke`] does at once: the grant and
/// its refresh tokens revoked in storage, and the grant on the edge denylist for longer than any
/// access token issued before `at` can live. Idempotent.
pub async fn apply(
    store: &impl Store,
    grant_id: &GrantId,
    reason: RevocationReason,
    at: UnixTime,
) -> Result<(), StoreError> {
    store.revoke_grant(grant_id, reason, at).await?;
    store
        .deny_grant(grant_id, at.plus(MAX_ACCESS_TOKEN_TTL_SECS))
        .await
}
