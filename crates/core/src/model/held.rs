//! A D1 write held in KV while migration mode is on (or D1 is down), and how the drain fared
//! with it. Holding, draining and renewing are `crate::migration`'s.

use serde::{Deserialize, Serialize};

use crate::crypto::sha256_hex;
use crate::secret::SecretHash;
use crate::time::UnixTime;

use super::audit::AuditEvent;
use super::revocation::Revocation;

/// The KV key prefix of held writes.
pub const HELD_PREFIX: &str = "held:";
/// A held write that failed waits this long before the drain tries it again, doubled on each
/// further failure up to [`DRAIN_BACKOFF_MAX_SECS`].
pub const DRAIN_BACKOFF_SECS: u64 = 60;
/// The longest wait between two tries of a failing held write.
pub const DRAIN_BACKOFF_MAX_SECS: u64 = 3600;

/// A D1 write that waits in KV until the database takes writes again. Each is idempotent, so
/// holding or applying one twice changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeldWrite {
    /// Finish a revocation: every step of `crate::revocation` again, the deny entry first.
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
    /// Until when its deny entry was last written (held revocations: `crate::migration::renew`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_until: Option<UnixTime>,
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
    pub fn failed(mut self, error: &impl std::fmt::Display, now: UnixTime) -> Self {
        let wait = DRAIN_BACKOFF_SECS
            .saturating_mul(1u64 << self.failures.min(16))
            .min(DRAIN_BACKOFF_MAX_SECS);
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(error.to_string());
        self.retry_at = Some(now.plus(wait));
        self
    }

    /// Whether a drain at `now` should try it.
    pub fn due(&self, now: UnixTime) -> bool {
        self.retry_at.is_none_or(|at| now >= at)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::grant_id::GrantId;
    use crate::model::grant::RevocationReason;
    use crate::store::StoreError;

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
                kind: crate::model::audit::AuditKind::GrantRevoked,
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
