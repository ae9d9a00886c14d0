//! Migration mode: the operator's switch for moving the database (DESIGN.md, "Revocation
//! survives migration windows").
//!
//! While it is on, gatehouse writes nothing to D1:
//! - writes that can wait are refused with `503` + `Retry-After` (registration, login, new
//!   consents and codes, code exchange);
//! - issued tokens and sessions keep working; a refresh returns an access token with the
//!   stretched lifetime and no new refresh token (RFC 6749 §6 lets the server keep the old one),
//!   so nothing rotates;
//! - revocations are still accepted: the edge denylist (KV) refuses the grant at once, and the
//!   D1 side of the revocation is *held* in KV as a [`HeldWrite`], as are logouts, withdrawn
//!   consents and audit events. The cron trigger (every minute) renews the deny entries of held
//!   revocations while the mode lasts ([`renew`]), however long that is; once the mode is off,
//!   [`drain`] writes the held writes to D1 and releases them. Nothing revoked regains access,
//!   and nothing is lost if the Worker restarts: KV keeps the held writes until they are in D1.
//!
//! Outside migration mode, a revocation that D1 refuses (an outage) takes the same path.
//!
//! The drain never jams: a held write that fails is kept with its error and a time before which
//! it is not tried again ([`Held::failed`]), shown by the admin API's `held` view, and the drain
//! goes on with the others.

use crate::secret::SecretHash;
use crate::store::{Store, StoreError};
use crate::time::UnixTime;
use crate::types::ClientId;

pub use crate::model::held::{
    DRAIN_BACKOFF_MAX_SECS, DRAIN_BACKOFF_SECS, HELD_PREFIX, Held, HeldWrite, end_session_key,
    end_sessions_key, revoke_grant_key,
};
pub use crate::store::HeldWrites;

/// `MIGRATION_RETRY_AFTER_SECS` unless set: what refused writers are told to wait.
pub const MIGRATION_RETRY_AFTER_SECS: u64 = 300;
/// `MIGRATION_ACCESS_TOKEN_TTL_SECS` unless set: access tokens issued during the mode live this
/// long, so that agents refresh (and read D1) less while it is being moved.
pub const MIGRATION_ACCESS_TOKEN_TTL_SECS: u64 = 4 * 3600;
/// Held writes one drain applies at most; the next run continues.
pub const DRAIN_BATCH: u32 = 200;

/// A write refused because migration mode is on: answered `503` with this `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paused {
    /// Seconds the caller should wait.
    pub retry_after_secs: u64,
}

/// The mode's settings, present while it is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Seconds in the `Retry-After` of refused writes.
    pub retry_after_secs: u64,
    /// Lifetime of access tokens issued while the mode is on.
    pub access_token_ttl_secs: u64,
}

/// Writes one held write to D1 at `now`. Idempotent: a write applied, then not released (a
/// crash, or a concurrent drain), is applied again without effect.
pub async fn apply(store: &impl Store, write: &HeldWrite, now: UnixTime) -> Result<(), StoreError> {
    match write {
        HeldWrite::RevokeGrant(revocation) => {
            crate::revocation::apply(store, revocation, now).await
        }
        HeldWrite::WithdrawConsent {
            subject,
            client_id,
            app,
            at,
        } => match ClientId::parse(client_id) {
            Ok(client_id) => store.withdraw_consent(subject, &client_id, app, *at).await,
            // Only gatehouse writes held entries; one it cannot read has nothing to withdraw.
            Err(_) => Ok(()),
        },
        HeldWrite::EndSession { session_hash, at } => match SecretHash::from_hex(session_hash) {
            Ok(hash) => store.revoke_session(&hash, *at).await,
            Err(_) => Ok(()),
        },
        HeldWrite::EndSessionsOf { subject, at } => store.revoke_sessions_of(subject, *at).await,
        HeldWrite::Audit { id, event, at } => store.record_once(&audit_key(id), event, *at).await,
    }
}

/// The idempotency key of a held audit event.
fn audit_key(id: &str) -> String {
    format!("held:{id}")
}

/// What one drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Held writes written to D1 and released.
    pub written: usize,
    /// Held writes that failed this time: kept with their error, tried again after a wait.
    pub failed: Vec<(String, StoreError)>,
    /// Held writes still waiting after an earlier failure.
    pub waiting: usize,
}

/// Writes the held writes that are due to D1 and releases each once written, up to
/// [`DRAIN_BATCH`]. One that fails is kept with its error and tried again after a wait; it never
/// stops the others. Any number of drains may run at once: each write is idempotent. Never
/// called while migration mode is on.
pub async fn drain(store: &impl Store, now: UnixTime) -> Result<Drained, StoreError> {
    let mut drained = Drained::default();
    for held in store.held(DRAIN_BATCH).await? {
        if !held.due(now) {
            drained.waiting += 1;
            continue;
        }
        let key = held.write.key();
        match apply(store, &held.write, now).await {
            Ok(()) => match store.release(&held.write).await {
                Ok(()) => drained.written += 1,
                // Written; released by the next drain, which writes it again without effect.
                Err(error) => drained.failed.push((key, error)),
            },
            Err(error) => {
                // Best effort: if even KV fails, the write stays held as it was.
                let _ = store.hold(&held.clone().failed(&error, now)).await;
                drained.failed.push((key, error));
            }
        }
    }
    Ok(drained)
}

/// While migration mode is on, D1 does not know of held revocations, so their deny entries must
/// outlive the mode, however long it lasts: each one is written again once half its lifetime
/// has passed. Returns how many were renewed; one that fails is tried again on the next run.
pub async fn renew(store: &impl Store, now: UnixTime) -> Result<usize, StoreError> {
    let half = crate::access_token::MAX_ACCESS_TOKEN_TTL_SECS / 2;
    let mut renewed = 0;
    for held in store.held(DRAIN_BATCH).await? {
        let HeldWrite::RevokeGrant(revocation) = &held.write else {
            continue;
        };
        // Unknown (held by an older build, or never renewed): renew now.
        if held
            .denied_until
            .is_some_and(|until| until.0 > now.0 + half)
        {
            continue;
        }
        if crate::revocation::deny(store, revocation, now)
            .await
            .is_err()
        {
            continue;
        }
        let denied_until = crate::revocation::deny_until(revocation.at, now);
        let renewed_held = Held {
            denied_until: Some(denied_until),
            ..held.clone()
        };
        if store.hold(&renewed_held).await.is_ok() {
            renewed += 1;
        }
    }
    Ok(renewed)
}
