//! Revocation that is never lost and never half done (DESIGN.md, "Revocation survives migration
//! windows").
//!
//! A revocation is one command, [`Revocation`], that carries everything its steps need, and is
//! carried as it is by the `revocations` Queue and by a held write. Its steps, in order:
//!
//! 1. **deny** — the grant on the edge denylist (KV), until no access token of it can be live
//!    ([`deny_until`]);
//! 2. **grant** — the grant row and every refresh token of it revoked (D1, one batch);
//! 3. **consent** — the person's consent for the agent at the app withdrawn, whatever the reason
//!    (D1; only a consent given at or before the revocation, so a later approval is never
//!    undone): a revoked agent must ask the person again, never find its old consent on record
//!    and get a new grant without a prompt;
//! 4. **audit** — one `grant_revoked` event under the idempotency key [`Revocation::audit_key`]
//!    (D1 `INSERT OR IGNORE`);
//! 5. **settle** — the grant row marked settled (D1): nothing of it is missing.
//!
//! The gate reads only step 1, so it refuses the grant's tokens from the first durable write on:
//! no later step is tried before the deny entry is written. Every step is idempotent and none
//! depends on a later one, so running the steps again from the start converges from any prefix
//! a crash left. Every path that meets a revoked grant not yet settled runs them again
//! (`grants::live::revoke_grant`); so do the Queue's consumer, its dead-letter
//! consumer, and the drain of held writes.
//!
//! When D1 cannot take the write (migration mode, or an outage), steps 2–5 wait in KV as a held
//! write until [`crate::migration::drain`] runs them; meanwhile the refresh grant reads the held
//! write, and the cron renews the deny entry ([`crate::migration::renew`]).
//!
//! ## RFC 7009 with a refresh token: D1 first, one round trip before the answer
//!
//! A client revoking a refresh token that names its grant (`grants::refresh_token`) is answered
//! after one storage round trip: one D1 transaction
//! ([`crate::store::GrantStore::revoke_by_refresh_token`]), conditioned on the token being the
//! client's (RFC 7009 §2.1), does steps 2–4. Step 1 and then step 5 follow the answer
//! ([`Pending::finish`], under the Worker's `waitUntil`). This reverses the order above for
//! this one path, and is safe because:
//!
//! - the grant's refresh tokens die in the transaction: no refresh, code exchange or
//!   introspection after it issues anything under the grant (each reads D1 in its own
//!   transaction), and the refresh's rotation, itself one transaction, falls wholly before
//!   (its successor is revoked with the rest) or wholly after (it finds the grant revoked);
//! - the D1 row itself is the durable record of the unfinished part: a grant revoked but not
//!   settled is finished (steps 1–5 again) by the cron's [`sweep`] every minute even if the
//!   isolate dies right after answering, so no Queue message is needed; every path that meets
//!   the grant finishes it too, as before;
//! - settled still implies denied: step 5 runs only after step 1 succeeded, on every path.
//!
//! What it costs: the grant's access tokens are accepted at the edge from the answer until the
//! deny entry is written — normally the few milliseconds `waitUntil` takes, at worst (the
//! isolate dies in between) until the next cron run finishes the sweep, about a minute, plus,
//! as on every path, KV's propagation to other locations and the gate's per-isolate cache
//! (docs/security.md, docs/storage.md).
//!
//! When the transaction fails (an outage), and in migration mode (D1 takes no writes), the
//! request takes the path above instead, before answering: the grant read, the deny entry, the
//! Queue message, then D1 or a held write. Access tokens, refresh tokens issued before tokens
//! named their grant, and the person's and the operator's revocations take it too.

use crate::access_token::MAX_ACCESS_TOKEN_TTL_SECS;
use crate::migration::{Held, HeldWrite};
use crate::model::grant::{GrantRecord, RevocationReason};
use crate::model::queue::QueueMessage;
use crate::store::{Store, StoreError};
use crate::time::UnixTime;
use crate::types::ClientId;

pub use crate::model::revocation::Revocation;
pub use crate::store::KV_MIN_TTL_SECS;

/// The same revocation with the grant's person, agent and app filled in from storage, if it
/// was made without them (a Queue message of an older build, or storage unreadable).
async fn read_in(mut revocation: Revocation, store: &impl Store) -> Result<Revocation, StoreError> {
    if revocation.subject.is_none()
        && let Some(grant) = store.grant(&revocation.grant_id).await?
    {
        revocation.subject = Some(grant.person.subject);
        revocation.client_id = Some(grant.client_id.as_str().to_owned());
        revocation.app = Some(grant.app);
    }
    Ok(revocation)
}

/// Until when the edge refuses the grant when the deny entry is written at `now` for a
/// revocation made at `at`: as long as an access token issued before the revocation reached D1
/// can live. D1 may learn of it long after `at` (a migration window of days), so the count
/// starts at whichever is later; the result is always far enough ahead for KV.
pub fn deny_until(at: UnixTime, now: UnixTime) -> UnixTime {
    // Every access-token lifetime, the stretched one of migration mode included, is at most
    // MAX_ACCESS_TOKEN_TTL_SECS (config validation), which is well above KV_MIN_TTL_SECS.
    UnixTime(at.0.max(now.0)).plus(MAX_ACCESS_TOKEN_TTL_SECS.max(KV_MIN_TTL_SECS))
}

/// What is left of a revocation once the client is answered: step 1 and then step 5 of a grant
/// whose steps 2–4 one transaction did ([`crate::store::GrantStore::revoke_by_refresh_token`]),
/// or nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use = "the deny entry and the settled mark follow the answer: run `finish`"]
pub struct Pending(Option<Revocation>);

impl Pending {
    /// Nothing left: the revocation was done before the answer, or there was none.
    pub fn nothing() -> Self {
        Self(None)
    }

    /// What is left after the transaction left `grant` so: its deny entry and its settled mark,
    /// unless it is settled already.
    pub(crate) fn after(grant: &GrantRecord, reason: RevocationReason, now: UnixTime) -> Self {
        if grant.revocation_settled_at.is_some() {
            return Self::nothing();
        }
        let reason = grant.revoked_reason.unwrap_or(reason);
        Self(Some(Revocation::of(grant, reason, now, None)))
    }

    /// The revocation still to finish, if any.
    pub fn revocation(&self) -> Option<&Revocation> {
        self.0.as_ref()
    }

    /// Step 1, then step 5. When either fails, the grant stays revoked and unsettled in D1,
    /// where the cron's [`sweep`] (or any path that meets it) finishes it.
    pub async fn finish(self, store: &impl Store, now: UnixTime) -> Result<(), StoreError> {
        let Some(revocation) = self.0 else {
            return Ok(());
        };
        deny(store, &revocation, now).await?;
        store.settle_revocation(&revocation.grant_id, now).await
    }
}

/// Revoked grants one sweep finishes at most; the next run (a minute later) continues.
pub const SWEEP_BATCH: u32 = 50;

/// What one [`sweep`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Revocations finished (every step, settled).
    pub finished: usize,
    /// Revocations that failed this time, with why; the next run tries them again.
    pub failed: Vec<(String, StoreError)>,
}

/// The cron's sweep: every step again ([`apply`]) for the grants revoked in D1 whose
/// revocation is not settled, up to [`SWEEP_BATCH`], longest revoked first. It finishes what a
/// crash left after D1 learned of a revocation — above all the deny entry of an RFC 7009
/// revocation answered before it ([`Pending`]), which nothing else would write if the grant's
/// holder never comes back. One that fails never stops the others. Any number may run at once:
/// every step is idempotent. Not run while migration mode is on (D1 takes no writes).
pub async fn sweep(store: &impl Store, now: UnixTime) -> Result<Swept, StoreError> {
    let mut swept = Swept::default();
    for grant in store.unsettled_revocations(SWEEP_BATCH).await? {
        // The stored reason is kept; this one stands in only for a reason this build cannot
        // read.
        let reason = grant
            .revoked_reason
            .unwrap_or(RevocationReason::ClientRequest);
        let revocation = Revocation::of(&grant, reason, now, None);
        match apply(store, &revocation, now).await {
            Ok(()) => swept.finished += 1,
            Err(error) => swept
                .failed
                .push((grant.grant_id.as_str().to_owned(), error)),
        }
    }
    Ok(swept)
}

/// Revokes a grant now and queues the same command. Succeeds when the revocation is durable:
/// applied, held in KV after its deny entry, or queued for the consumer. Fails only when none
/// of these took.
pub async fn revoke(
    store: &impl Store,
    revocation: &Revocation,
    now: UnixTime,
    migrating: bool,
) -> Result<(), StoreError> {
    let denied = deny(store, revocation, now).await;
    let queued = store
        .enqueue(&QueueMessage::RevokeGrant(revocation.clone()))
        .await;
    if let Err(error) = denied {
        // Nothing is written before the deny entry: the consumer starts over from step 1.
        return queued.map_err(|_| error);
    }
    let settled = if migrating {
        hold(store, revocation).await
    } else {
        match write_d1(store, revocation.clone(), now).await {
            Ok(()) => Ok(()),
            Err(_) => hold(store, revocation).await,
        }
    };
    settled.or(queued)
}

/// What the Queue's consumer (and its dead-letter consumer) does with a command: every step
/// again, or, while D1 is being moved, the deny entry and a held write for
/// [`crate::migration::drain`] (a retry would end in the dead-letter queue long before a
/// multi-hour migration ends).
pub async fn consume(
    store: &impl Store,
    revocation: &Revocation,
    now: UnixTime,
    migrating: bool,
) -> Result<(), StoreError> {
    if !migrating
        && store
            .grant(&revocation.grant_id)
            .await?
            .is_some_and(|g| g.revocation_settled_at.is_some())
    {
        // As a rule the request that asked for it did every step: nothing to write.
        return Ok(());
    }
    deny(store, revocation, now).await?;
    if migrating {
        hold(store, revocation).await
    } else {
        write_d1(store, revocation.clone(), now).await
    }
}

/// What the dead-letter queue's consumer did with a revocation.
#[derive(Debug, PartialEq, Eq)]
pub enum DeadLetter {
    /// Every step done (or, in migration mode, held as the consumer holds).
    Applied,
    /// Not applied (the error says why); held in KV, where the drain retries it with backoff
    /// until D1 takes it.
    Held(StoreError),
}

/// What the consumer of `revocations-dlq` does with a revocation the Queue gave up on: the dead
/// letter queue has no dead-letter queue of its own, so a revocation it cannot apply is held in
/// KV for the drain, never dropped. Fails (and the message is retried) only when it can be
/// neither applied nor held.
pub async fn consume_dead_letter(
    store: &impl Store,
    revocation: &Revocation,
    now: UnixTime,
    migrating: bool,
) -> Result<DeadLetter, StoreError> {
    match consume(store, revocation, now, migrating).await {
        Ok(()) => Ok(DeadLetter::Applied),
        Err(error) => {
            hold(store, revocation).await?;
            Ok(DeadLetter::Held(error))
        }
    }
}

/// Every step, from the first: what the drain does with a held revocation. Idempotent, and
/// converges from any prefix of steps a crash left.
pub async fn apply(
    store: &impl Store,
    revocation: &Revocation,
    now: UnixTime,
) -> Result<(), StoreError> {
    deny(store, revocation, now).await?;
    write_d1(store, revocation.clone(), now).await
}

/// Steps 2–5, in order, stopping at the first that fails.
async fn write_d1(
    store: &impl Store,
    revocation: Revocation,
    now: UnixTime,
) -> Result<(), StoreError> {
    let revocation = read_in(revocation, store).await?;
    store
        .revoke_grant(&revocation.grant_id, revocation.reason, revocation.at)
        .await?;
    // A client id gatehouse wrote itself; one it cannot read has no consent to withdraw.
    if let (Some(subject), Some(Ok(client_id)), Some(app)) = (
        &revocation.subject,
        revocation.client_id.as_deref().map(ClientId::parse),
        &revocation.app,
    ) {
        store
            .withdraw_consent(subject, &client_id, app, revocation.at)
            .await?;
    }
    store
        .record_once(
            &revocation.audit_key(),
            &revocation.audit_event(),
            revocation.at,
        )
        .await?;
    store.settle_revocation(&revocation.grant_id, now).await
}

/// The edge refuses the grant at once; D1 learns of it when the held write drains.
async fn hold(store: &impl Store, revocation: &Revocation) -> Result<(), StoreError> {
    store
        .hold(&Held::new(HeldWrite::RevokeGrant(revocation.clone())))
        .await
}

/// Step 1.
pub(crate) async fn deny(
    store: &impl Store,
    revocation: &Revocation,
    now: UnixTime,
) -> Result<(), StoreError> {
    store
        .deny_grant(
            &revocation.grant_id,
            revocation.reason,
            deny_until(revocation.at, now),
            now,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deny_entry_written_late_still_covers_a_whole_token_lifetime() {
        let at = UnixTime(1_000_000);
        assert_eq!(deny_until(at, at), at.plus(MAX_ACCESS_TOKEN_TTL_SECS));
        // Written three days after the revocation (a long migration window): KV would refuse
        // `at + 24 h`, which is in the past.
        let late = at.plus(3 * 86_400);
        assert_eq!(deny_until(at, late), late.plus(MAX_ACCESS_TOKEN_TTL_SECS));
        assert!(deny_until(at, late).0 >= late.0 + KV_MIN_TTL_SECS);
    }

    #[test]
    fn a_queue_message_of_the_previous_build_still_reads() {
        let old = r#"{"grant_id":"g_1","reason":"admin_request","at":7}"#;
        let revocation: Revocation = serde_json::from_str(old).unwrap();
        assert_eq!(revocation.subject, None);
        assert!(
            serde_json::from_str::<Revocation>(
                r#"{"grant_id":"g","reason":"admin_request","at":1,"x":1}"#
            )
            .is_err()
        );
    }
}
