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
//! Features meet the mode in one place: [`MigrationStore`], the store as they see it. It refuses
//! the writes that can wait ([`MigrationStore::writable`]), holds the ones that cannot, hides
//! sessions whose end is held, and says whether refresh tokens rotate and how long access tokens
//! live; nothing else reads the switch.
//!
//! The drain never jams: a held write that fails is kept with its error and a time before which
//! it is not tried again ([`Held::failed`]), shown by the admin API's `held` view, and the drain
//! goes on with the others.

use crate::model::audit::AuditEvent;
use crate::model::revocation::Revocation;
use crate::rng::Rng;
use crate::secret::SecretHash;
use crate::store::{Issuance, Store, StoreError};
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

/// The store as features see it: reads pass through ([`std::ops::Deref`]); while migration
/// mode is on, writes that can wait are refused ([`Self::writable`]) and writes that cannot
/// (revocations, logouts, cut-offs, audit events) are held in KV for the drain. Outside the
/// mode, every write goes to D1 at once.
pub struct MigrationStore<'a, S> {
    store: &'a S,
    mode: Option<Migration>,
}

impl<S> Clone for MigrationStore<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for MigrationStore<'_, S> {}

impl<S> std::ops::Deref for MigrationStore<'_, S> {
    type Target = S;

    fn deref(&self) -> &S {
        self.store
    }
}

impl<'a, S: Store> MigrationStore<'a, S> {
    /// `store`, with the mode on while `mode` is set.
    pub fn new(store: &'a S, mode: Option<Migration>) -> Self {
        Self { store, mode }
    }

    /// The store itself, for code that takes a [`Store`].
    pub fn inner(&self) -> &'a S {
        self.store
    }

    /// The mode's settings, while it is on (for the operator's views).
    pub fn mode(&self) -> Option<Migration> {
        self.mode
    }

    /// Whether the mode is on.
    pub fn is_on(&self) -> bool {
        self.mode.is_some()
    }

    /// Refuses a write that can wait while the mode is on: `503` with the operator's
    /// `Retry-After`.
    pub fn writable(&self) -> Result<(), Paused> {
        match self.mode {
            Some(m) => Err(Paused {
                retry_after_secs: m.retry_after_secs,
            }),
            None => Ok(()),
        }
    }

    /// Writes to D1 now, or, while the mode is on, holds the write in KV for the drain.
    pub async fn write_or_hold(&self, write: HeldWrite, now: UnixTime) -> Result<(), StoreError> {
        if self.is_on() {
            self.store.hold(&Held::new(write)).await
        } else {
            apply(self.store, &write, now).await
        }
    }

    /// Appends an audit event: to D1, or held in KV while the mode is on.
    pub async fn record(
        &self,
        event: &AuditEvent,
        rng: &impl Rng,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        if self.is_on() {
            self.hold_audit(event.clone(), rng, now).await
        } else {
            self.store.record(event, now).await
        }
    }

    /// Records tokens issued under a grant ([`Issuance`]) in one round trip; while the mode is
    /// on, D1 learns nothing (no refresh token is issued then) and the audit event is held.
    pub async fn record_issuance(
        &self,
        issuance: &Issuance<'_>,
        rng: &impl Rng,
    ) -> Result<(), StoreError> {
        if self.is_on() {
            self.hold_audit(issuance.event.clone(), rng, issuance.now)
                .await
        } else {
            self.store.record_issuance(issuance).await
        }
    }

    async fn hold_audit(
        &self,
        event: AuditEvent,
        rng: &impl Rng,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut id = [0u8; 16];
        rng.fill(&mut id);
        let held = HeldWrite::Audit {
            id: crate::crypto::hex(&id),
            event,
            at: now,
        };
        self.store.hold(&Held::new(held)).await
    }

    /// Every step of a revocation ([`crate::revocation::revoke`]); while the mode is on, the D1
    /// side is held.
    pub async fn revoke(&self, revocation: &Revocation, now: UnixTime) -> Result<(), StoreError> {
        crate::revocation::revoke(self.store, revocation, now, self.is_on()).await
    }

    /// Whether a live session stays in use, and its use recorded (`touch`). While the mode is
    /// on, logouts and cut-offs wait in KV and D1 does not know them yet: a session whose end is
    /// held is over, and no use is recorded.
    pub async fn session_in_use(
        &self,
        session_hash: &SecretHash,
        subject: &str,
        touch: bool,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        if self.is_on() {
            let ended = self.store.is_held(&end_session_key(session_hash)).await?
                || self.store.is_held(&end_sessions_key(subject)).await?;
            return Ok(!ended);
        }
        if touch {
            self.store.touch_session(session_hash, now).await?;
        }
        Ok(true)
    }

    /// Whether a refresh rotates its token: not while the mode is on, when D1 takes no writes
    /// and the client keeps the token it has (RFC 6749 §6, §5.1).
    pub fn rotates_refresh_tokens(&self) -> bool {
        !self.is_on()
    }

    /// How long an access token issued now lives: the app's `app_ttl_secs`, stretched while
    /// the mode is on so that agents come back (and read D1) less often.
    pub fn access_token_ttl_secs(&self, app_ttl_secs: u64) -> u64 {
        self.mode.map_or(app_ttl_secs, |m| m.access_token_ttl_secs)
    }
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

    /// [`MigrationStore`]: the one place migration mode is read by the features.
    mod store {
        use futures::executor::block_on;

        use super::*;
        use crate::model::audit::AuditKind;
        use crate::testing::{MemoryStore, SeqRng};

        const MODE: Migration = Migration {
            retry_after_secs: 120,
            access_token_ttl_secs: 4 * 3600,
        };

        fn event() -> AuditEvent {
            AuditEvent {
                kind: AuditKind::LoggedIn,
                subject: Some("local:alice@example.com".into()),
                client_id: None,
                app: Some("https://wiki.test".into()),
                grant_id: None,
                source: None,
                detail: serde_json::Value::Null,
            }
        }

        fn session_hash() -> SecretHash {
            SecretHash::from_hex(&"ab".repeat(32)).unwrap()
        }

        #[test]
        fn while_the_mode_is_on_writes_that_wait_are_refused_with_its_retry_after() {
            let memory = MemoryStore::default();
            let on = MigrationStore::new(&memory, Some(MODE));
            assert_eq!(
                on.writable(),
                Err(Paused {
                    retry_after_secs: 120
                })
            );
            assert_eq!(on.mode(), Some(MODE));
            let off = MigrationStore::new(&memory, None);
            assert_eq!(off.writable(), Ok(()));
            assert_eq!(off.mode(), None);
        }

        #[test]
        fn while_the_mode_is_on_audit_events_and_logouts_are_held_and_d1_is_not_written() {
            let memory = MemoryStore::default();
            memory.d1_read_only.set(true);
            let on = MigrationStore::new(&memory, Some(MODE));
            block_on(on.record(&event(), &SeqRng::default(), UnixTime(10))).unwrap();
            let logout = HeldWrite::EndSession {
                session_hash: session_hash().as_hex().to_owned(),
                at: UnixTime(10),
            };
            block_on(on.write_or_hold(logout, UnixTime(10))).unwrap();
            assert!(memory.audit.borrow().is_empty());
            assert_eq!(memory.held.borrow().len(), 2);
            // Drained once the mode is off: both reach D1.
            memory.d1_read_only.set(false);
            let drained = block_on(drain(&memory, UnixTime(20))).unwrap();
            assert_eq!(drained.written, 2);
            assert_eq!(memory.audit.borrow().len(), 1);
        }

        #[test]
        fn outside_the_mode_every_write_goes_to_d1_at_once() {
            let memory = MemoryStore::default();
            let off = MigrationStore::new(&memory, None);
            block_on(off.record(&event(), &SeqRng::default(), UnixTime(10))).unwrap();
            let cut_off = HeldWrite::EndSessionsOf {
                subject: "local:alice@example.com".into(),
                at: UnixTime(10),
            };
            block_on(off.write_or_hold(cut_off, UnixTime(10))).unwrap();
            assert_eq!(memory.audit.borrow().len(), 1);
            assert!(memory.held.borrow().is_empty());
        }

        #[test]
        fn a_session_whose_end_is_held_is_over_while_the_mode_lasts() {
            let memory = MemoryStore::default();
            memory.d1_read_only.set(true);
            let on = MigrationStore::new(&memory, Some(MODE));
            let subject = "local:alice@example.com";
            let in_use =
                |touch| block_on(on.session_in_use(&session_hash(), subject, touch, UnixTime(5)));
            // No use is written to D1 while the mode is on, even when one is due.
            assert_eq!(in_use(true), Ok(true));
            let cut_off = HeldWrite::EndSessionsOf {
                subject: subject.into(),
                at: UnixTime(5),
            };
            block_on(on.write_or_hold(cut_off, UnixTime(5))).unwrap();
            assert_eq!(in_use(false), Ok(false));
        }

        #[test]
        fn the_mode_stops_rotation_and_stretches_access_tokens() {
            let memory = MemoryStore::default();
            let on = MigrationStore::new(&memory, Some(MODE));
            let off = MigrationStore::new(&memory, None);
            assert!(!on.rotates_refresh_tokens() && off.rotates_refresh_tokens());
            assert_eq!(on.access_token_ttl_secs(300), 4 * 3600);
            assert_eq!(off.access_token_ttl_secs(300), 300);
        }
    }
}
