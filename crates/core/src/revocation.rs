//! Revocation that is never lost: every revocation is applied at once where storage is writable
//! and put on the `revocations` Queue; the Queue's consumer applies it again (idempotently), so
//! one that could not be applied at once — storage down, or being moved — still takes effect.
//!
//! When D1 cannot take the write (migration mode, or an outage), the grant goes on the edge
//! denylist at once and the D1 side waits in KV as a [`HeldWrite`] until
//! [`crate::migration::drain`] writes it.

use crate::config::MAX_ACCESS_TOKEN_TTL_SECS;
use crate::grant_id::GrantId;
use crate::migration::HeldWrite;
use crate::queue::QueueMessage;
use crate::store::{RevocationReason, Store, StoreError};
use crate::time::UnixTime;

/// Revokes a grant now and queues the same command. Succeeds when the revocation is durable:
/// applied to D1, held in KV, or queued for the consumer. Fails only when none of these took.
pub async fn revoke(
    store: &impl Store,
    grant_id: &GrantId,
    reason: RevocationReason,
    now: UnixTime,
    migrating: bool,
) -> Result<(), StoreError> {
    let queued = store
        .enqueue(&QueueMessage::RevokeGrant {
            grant_id: grant_id.clone(),
            reason,
            at: now,
        })
        .await;
    let settled = if migrating {
        hold(store, grant_id, reason, now).await
    } else {
        match apply(store, grant_id, reason, now).await {
            Ok(()) => Ok(()),
            Err(_) => hold(store, grant_id, reason, now).await,
        }
    };
    settled.or(queued)
}

/// What the Queue's consumer does with a command: applies it, or, while D1 is being moved,
/// holds it in KV for [`crate::migration::drain`] (a retry would end in the dead-letter queue
/// long before a multi-hour migration ends).
pub async fn consume(
    store: &impl Store,
    grant_id: &GrantId,
    reason: RevocationReason,
    at: UnixTime,
    migrating: bool,
) -> Result<(), StoreError> {
    if migrating {
        hold(store, grant_id, reason, at).await
    } else {
        apply(store, grant_id, reason, at).await
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
    deny(store, grant_id, at).await
}

/// The edge refuses the grant's tokens at once; D1 learns of it when the held write drains.
async fn hold(
    store: &impl Store,
    grant_id: &GrantId,
    reason: RevocationReason,
    at: UnixTime,
) -> Result<(), StoreError> {
    let denied = deny(store, grant_id, at).await;
    store
        .hold(&HeldWrite::RevokeGrant {
            grant_id: grant_id.clone(),
            reason,
            at,
        })
        .await?;
    denied
}

async fn deny(store: &impl Store, grant_id: &GrantId, at: UnixTime) -> Result<(), StoreError> {
    // Every access-token lifetime, the stretched one of migration mode included, is at most
    // MAX_ACCESS_TOKEN_TTL_SECS (config validation).
    store
        .deny_grant(grant_id, at.plus(MAX_ACCESS_TOKEN_TTL_SECS))
        .await
}
