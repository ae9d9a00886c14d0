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

use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::crypto::sha256_hex;
use crate::revocation::Revocation;
use crate::secret::SecretHash;
use crate::store::{Store, StoreError};
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
/// A held write that failed waits this long before the drain tries it again, doubled on each
/// further failure up to [`DRAIN_BACKOFF_MAX_SECS`].
pub const DRAIN_BACKOFF_SECS: u64 = 60;
/// The longest wait between two tries of a failing held write.
pub const DRAIN_BACKOFF_MAX_SECS: u64 = 3600;

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
    /// Finish a revocation: every step of [`crate::revocation`] again, the deny entry first.
    RevokeGrant(Revocation),
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
        /// A random id telling events apart; also its idempotency key in D1, so that a drain
        /// cut off between writing and releasing it does not write it twice.
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
            Self::RevokeGrant(revocation) => revoke_grant_key(&revocation.grant_id),
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

/// The key of a held revocation of this grant: while it exists, D1 may not know the grant is
/// revoked, so the refresh grant reads it.
pub fn revoke_grant_key(grant_id: &crate::grant_id::GrantId) -> String {
    key("revoke_grant", grant_id.as_str())
}

/// The key of a held "end every session of this person".
pub fn end_sessions_key(subject: &str) -> String {
    key("end_sessions_of", subject)
}

/// A held write as KV keeps it: the write, and how the drain fared with it so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The write.
    #[serde(flatten)]
    pub write: HeldWrite,
    /// How many drains failed to write it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// The last failure, for the operator (admin API `held` view, and the drain's log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Not tried again before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<UnixTime>,
    /// Until when its deny entry was last written (held revocations: [`renew`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_until: Option<UnixTime>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Held {
    /// A write, held for the first time.
    pub fn new(write: HeldWrite) -> Self {
        Self {
            write,
            failures: 0,
            last_error: None,
            retry_at: None,
            denied_until: None,
        }
    }

    /// The same write after a drain at `now` failed with `error`: tried again after a wait
    /// that doubles with each failure ([`DRAIN_BACKOFF_SECS`] … [`DRAIN_BACKOFF_MAX_SECS`]).
    pub fn failed(mut self, error: &StoreError, now: UnixTime) -> Self {
        let wait = DRAIN_BACKOFF_SECS
            .saturating_mul(1u64 << self.failures.min(16))
            .min(DRAIN_BACKOFF_MAX_SECS);
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(error.0.clone());
        self.retry_at = Some(now.plus(wait));
        self
    }

    /// Whether a drain at `now` should try it.
    pub fn due(&self, now: UnixTime) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }
}

/// Where held writes wait: KV, which stays writable while D1 is moved.
#[allow(async_fn_in_trait)]
pub trait HeldWrites {
    /// Keeps the write (no expiry) under [`HeldWrite::key`], replacing what that key held.
    async fn hold(&self, held: &Held) -> Result<(), StoreError>;
    /// Up to `limit` held writes, in key order.
    async fn held(&self, limit: u32) -> Result<Vec<Held>, StoreError>;
    /// Forgets a write once it is in D1.
    async fn release(&self, write: &HeldWrite) -> Result<(), StoreError>;
    /// Whether a write with this key is held.
    async fn is_held(&self, key: &str) -> Result<bool, StoreError>;
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::grant_id::GrantId;
    use crate::store::RevocationReason;

    fn revocation(grant: &str) -> Revocation {
        Revocation::of_unread(
            &GrantId::from_stored(grant.into()),
            RevocationReason::PersonRequest,
            UnixTime(9),
            None,
        )
    }

    #[test]
    fn held_writes_have_a_stable_wire_format() {
        let write = HeldWrite::RevokeGrant(revocation("g_1"));
        let json = serde_json::to_string(&write).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"revoke_grant","grant_id":"g_1","reason":"person_request","at":9}"#
        );
        assert_eq!(serde_json::from_str::<HeldWrite>(&json).unwrap(), write);
        assert!(serde_json::from_str::<HeldWrite>(r#"{"kind":"drop_table"}"#).is_err());
        // As KV keeps it: a write held by the previous build reads as one never tried.
        assert_eq!(
            serde_json::from_str::<Held>(&json).unwrap(),
            Held::new(write.clone())
        );
        let failed = Held::new(write).failed(&StoreError("D1 down".into()), UnixTime(100));
        let json = serde_json::to_string(&failed).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"revoke_grant","grant_id":"g_1","reason":"person_request","at":9,"failures":1,"last_error":"D1 down","retry_at":160}"#
        );
        assert_eq!(serde_json::from_str::<Held>(&json).unwrap(), failed);
    }

    #[test]
    fn a_failing_held_write_waits_longer_each_time_within_bounds() {
        let error = StoreError("x".into());
        let mut held = Held::new(HeldWrite::RevokeGrant(revocation("g")));
        let mut waits = Vec::new();
        for _ in 0..10 {
            held = held.failed(&error, UnixTime(1000));
            waits.push(held.retry_at.unwrap().0 - 1000);
        }
        assert_eq!(
            waits,
            [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
        );
        assert!(!held.due(UnixTime(1000)) && held.due(UnixTime(4600)));
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
        let revoke = HeldWrite::RevokeGrant(revocation("same"));
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
