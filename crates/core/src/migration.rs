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
//!   consents and audit events. Once the mode is off, [`drain`] (a cron trigger every minute)
//!   writes them to D1 and releases them. Nothing revoked regains access, and nothing is lost
//!   if the Worker restarts: KV keeps the held writes until they are in D1.
//!
//! Outside migration mode, a revocation that D1 refuses (an outage) takes the same path.

use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::crypto::sha256_hex;
use crate::grant_id::GrantId;
use crate::secret::SecretHash;
use crate::store::{RevocationReason, Store, StoreError};
use crate::time::UnixTime;
use crate::types::ClientId;

/// `MIGRATION_RETRY_AFTER_SECS` unless set: what refused writers are told to wait.
pub const MIGRATION_RETRY_AFTER_SECS: u64 = 300;
/// `MIGRATION_ACCESS_TOKEN_TTL_SECS` unless set: access tokens issued during the mode live this
/// long, so that agents refresh (and read D1) less while it is being moved.
pub const MIGRATION_ACCESS_TOKEN_TTL_SECS: u64 = 4 * 3600;
/// Held writes one drain applies at most; the next run continues.
pub const DRAIN_BATCH: u32 = 200;
/// The KV key prefix of held writes.
pub const HELD_PREFIX: &str = "held:";

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

/// A D1 write that waits in KV until the database takes writes again. Each is idempotent, so
/// holding or applying one twice changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeldWrite {
    /// Revoke a grant and its refresh tokens.
    RevokeGrant {
        /// The grant.
        grant_id: GrantId,
        /// Why.
        reason: RevocationReason,
        /// When it was asked for.
        at: UnixTime,
    },
    /// Forget a person's consent for a client at an app.
    WithdrawConsent {
        /// The person.
        subject: String,
        /// The agent.
        client_id: String,
        /// The app.
        app: String,
        /// When.
        at: UnixTime,
    },
    /// End one browser session (logout).
    EndSession {
        /// Hash of the session id, hex.
        session_hash: String,
        /// When.
        at: UnixTime,
    },
    /// End every session of a person (an administrator cutting them off).
    EndSessionsOf {
        /// The person.
        subject: String,
        /// When.
        at: UnixTime,
    },
    /// Append an audit event.
    Audit {
        /// A random id telling events apart.
        id: String,
        /// The event.
        event: AuditEvent,
        /// When it happened.
        at: UnixTime,
    },
}

impl HeldWrite {
    /// Its KV key: one per thing written, so holding the same write twice keeps one copy.
    /// Identities are hashed, so keys stay short whatever a subject looks like.
    pub fn key(&self) -> String {
        match self {
            Self::RevokeGrant { grant_id, .. } => key("revoke_grant", grant_id.as_str()),
            Self::WithdrawConsent {
                subject,
                client_id,
                app,
                ..
            } => key(
                "withdraw_consent",
                &format!("{subject}\n{client_id}\n{app}"),
            ),
            Self::EndSession { session_hash, .. } => end_session_key_hex(session_hash),
            Self::EndSessionsOf { subject, .. } => end_sessions_key(subject),
            Self::Audit { id, .. } => key("audit", id),
        }
    }
}

fn key(kind: &str, identity: &str) -> String {
    format!("{HELD_PREFIX}{kind}:{}", sha256_hex(identity.as_bytes()))
}

fn end_session_key_hex(session_hash: &str) -> String {
    key("end_session", session_hash)
}

/// The key of a held logout of this session: while it exists, the session is over.
pub fn end_session_key(session_hash: &SecretHash) -> String {
    end_session_key_hex(session_hash.as_hex())
}

/// The key of a held "end every session of this person".
pub fn end_sessions_key(subject: &str) -> String {
    key("end_sessions_of", subject)
}

/// Where held writes wait: KV, which stays writable while D1 is moved.
#[allow(async_fn_in_trait)]
pub trait HeldWrites {
    /// Keeps the write (no expiry) under [`HeldWrite::key`].
    async fn hold(&self, write: &HeldWrite) -> Result<(), StoreError>;
    /// Up to `limit` held writes, in key order.
    async fn held(&self, limit: u32) -> Result<Vec<HeldWrite>, StoreError>;
    /// Forgets a write once it is in D1.
    async fn release(&self, write: &HeldWrite) -> Result<(), StoreError>;
    /// Whether a write with this key is held.
    async fn is_held(&self, key: &str) -> Result<bool, StoreError>;
}

/// Writes one held write to D1. Idempotent.
pub async fn apply(store: &impl Store, write: &HeldWrite) -> Result<(), StoreError> {
    match write {
        HeldWrite::RevokeGrant {
            grant_id,
            reason,
            at,
        } => crate::revocation::apply(store, grant_id, *reason, *at).await,
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
        HeldWrite::Audit { event, at, .. } => store.record(event, *at).await,
    }
}

/// Writes held writes to D1 and releases each once written, up to [`DRAIN_BATCH`]; stops at the
/// first failure and keeps it and the rest for the next run. Returns how many were written.
/// Never called while migration mode is on.
pub async fn drain(store: &impl Store) -> Result<usize, StoreError> {
    let held = store.held(DRAIN_BATCH).await?;
    for (done, write) in held.iter().enumerate() {
        if let Err(error) = apply(store, write).await {
            return if done == 0 { Err(error) } else { Ok(done) };
        }
        store.release(write).await?;
    }
    Ok(held.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_writes_have_a_stable_wire_format() {
        let write = HeldWrite::RevokeGrant {
            grant_id: GrantId::from_stored("g_1".into()),
            reason: RevocationReason::PersonRequest,
            at: UnixTime(9),
        };
        let json = serde_json::to_string(&write).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"revoke_grant","grant_id":"g_1","reason":"person_request","at":9}"#
        );
        assert_eq!(serde_json::from_str::<HeldWrite>(&json).unwrap(), write);
        assert!(serde_json::from_str::<HeldWrite>(r#"{"kind":"drop_table"}"#).is_err());
    }

    #[test]
    fn the_same_write_held_twice_has_one_key_whatever_its_time() {
        let at = |t| HeldWrite::EndSessionsOf {
            subject: "local:alice@example.com".into(),
            at: UnixTime(t),
        };
        assert_eq!(at(1).key(), at(2).key());
        assert_eq!(at(1).key(), end_sessions_key("local:alice@example.com"));
        assert!(at(1).key().starts_with(HELD_PREFIX));
        // Fixed length: a long hostile subject cannot make a key KV refuses (512 bytes).
        let long = HeldWrite::EndSessionsOf {
            subject: "x".repeat(10_000),
            at: UnixTime(1),
        };
        assert_eq!(long.key().len(), at(1).key().len());
    }

    #[test]
    fn kinds_do_not_share_keys() {
        let revoke = HeldWrite::RevokeGrant {
            grant_id: GrantId::from_stored("same".into()),
            reason: RevocationReason::AdminRequest,
            at: UnixTime(1),
        };
        let audit = HeldWrite::Audit {
            id: "same".into(),
            event: AuditEvent {
                kind: crate::audit::AuditKind::GrantRevoked,
                subject: None,
                client_id: None,
                app: None,
                grant_id: None,
                source: None,
                detail: serde_json::Value::Null,
            },
            at: UnixTime(1),
        };
        assert_ne!(revoke.key(), audit.key());
    }
}
