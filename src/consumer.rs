//! The consumer of the `revocations` Queue, the scheduled drain of held writes and sweep of
//! unsettled revocations, and what an answered revocation leaves for after the response. Every
//! handler is idempotent, because the Queue delivers at least once and every revocation was, as
//! a rule, applied once already when it was asked for.

use gatehouse_core::migration;
use gatehouse_core::model::queue::QueueMessage;
use gatehouse_core::retention;
use gatehouse_core::revocation::{self, DeadLetter, Pending};
use gatehouse_core::time::Clock as _;
use worker::{Context, Env, Error, Result};

use crate::bindings::Bindings;
use crate::env;
use crate::platform::WorkerClock;
use crate::store::WorkerStore;

/// The dead-letter queue of `revocations` (wrangler.toml): messages the consumer failed
/// `max_retries` times.
pub const DEAD_LETTER_QUEUE: &str = "revocations-dlq";

/// Shortest and longest wait before a failed message is delivered again.
const RETRY_MIN_SECS: u64 = 10;
const RETRY_MAX_SECS: u64 = 600;

fn migrating(env: &Env) -> Result<bool> {
    Ok(env::config(env)
        .map_err(|e| Error::RustError(e.to_string()))?
        .migration
        .is_some())
}

/// Applies a message of the `revocations` Queue: every step of the revocation again (or, while
/// migration mode is on, the deny entry and a held write for the drain).
pub async fn apply(message: &QueueMessage, env: &Env) -> Result<()> {
    match message {
        // Sent only by `/healthz` of earlier versions, which no longer waits for it.
        QueueMessage::HealthProbe { .. } => Ok(()),
        QueueMessage::RevokeGrant(revocation) => {
            let migrating = migrating(env)?;
            let bindings = Bindings::new(env);
            let store = WorkerStore::new(&bindings);
            revocation::consume(&store, revocation, WorkerClock.now(), migrating)
                .await
                .map_err(|e| Error::RustError(e.to_string()))?;
            let done = if migrating {
                "held for the drain"
            } else {
                "applied"
            };
            worker::console_log!(
                "revocation of {} ({}) {done} from the queue",
                revocation.grant_id.as_str(),
                revocation.reason.as_str()
            );
            Ok(())
        }
    }
}

/// Applies a message of the dead-letter queue (`revocation::consume_dead_letter`): a revocation
/// is applied, or else held in KV for the drain; only when KV fails too is the message retried.
/// Every message is reported in the log.
pub async fn apply_dead_letter(message: &QueueMessage, env: &Env) -> Result<()> {
    let QueueMessage::RevokeGrant(revocation) = message else {
        worker::console_error!("dead letter: {message:?} dropped (a health probe expires anyway)");
        return Ok(());
    };
    let migrating = migrating(env)?;
    let bindings = Bindings::new(env);
    let store = WorkerStore::new(&bindings);
    let grant = revocation.grant_id.as_str();
    let done = revocation::consume_dead_letter(&store, revocation, WorkerClock.now(), migrating)
        .await
        .map_err(|e| {
            Error::RustError(format!(
                "dead letter: {grant}: neither applied nor held: {e}"
            ))
        })?;
    match done {
        DeadLetter::Applied => worker::console_error!("dead letter: revocation of {grant} applied"),
        DeadLetter::Held(error) => worker::console_error!(
            "dead letter: revocation of {grant} not applied ({error}); held for the drain"
        ),
    }
    Ok(())
}

/// Runs what an answered revocation left ([`Pending::finish`]: the deny entry, then the settled
/// mark) after the response, under `waitUntil`. If the isolate dies first, or a step fails, the
/// grant stays revoked and unsettled in D1, and the cron's sweep finishes it. This isolate's
/// gate refuses the grant before the answer leaves, as it does after any revocation it made
/// (its denylist cache holds what the deny entry will say; no storage call).
pub fn finish_after_answer(ctx: &Context, env: &Env, pending: Pending) {
    let Some(revocation) = pending.revocation() else {
        return;
    };
    crate::store::denylist::note_denied(&revocation.grant_id);
    let grant = revocation.grant_id.as_str().to_owned();
    let env = env.clone();
    ctx.wait_until(async move {
        // The next turn of the event loop: the response is handed to the runtime first.
        worker::Delay::from(std::time::Duration::ZERO).await;
        let bindings = Bindings::new(&env);
        let store = WorkerStore::new(&bindings);
        if let Err(error) = pending.finish(&store, WorkerClock.now()).await {
            worker::console_error!(
                "revocation of {grant} not finished after the answer, left to the cron's sweep: {error}"
            );
        }
    });
}

/// The cron trigger. While migration mode is on, renews the deny entries of held revocations
/// (D1 does not know them yet, however long the mode lasts); once it is off, writes what was
/// held to D1, then finishes the revocations D1 knows but has not settled
/// ([`revocation::sweep`]). A held write or a revocation that fails is logged and kept for the
/// next run; the others go on.
pub async fn drain(env: &Env) -> Result<()> {
    let config = env::config(env).map_err(|e| Error::RustError(e.to_string()))?;
    let bindings = Bindings::new(env);
    let store = WorkerStore::new(&bindings);
    let now = WorkerClock.now();
    if config.migration.is_some() {
        let renewed = migration::renew(&store, now)
            .await
            .map_err(|e| Error::RustError(format!("renew: {e}")))?;
        if renewed > 0 {
            worker::console_log!("renew: {renewed} deny entries of held revocations renewed");
        }
        return Ok(());
    }
    // Independent of each other: the sweep runs even when KV could not list the held writes.
    let drained = migration::drain(&store, now).await;
    let swept = revocation::sweep(&store, now).await;
    let drained = drained.map_err(|e| Error::RustError(format!("drain: {e}")))?;
    if drained.written > 0 {
        worker::console_log!("drain: {} held writes written to D1", drained.written);
    }
    for (key, error) in &drained.failed {
        worker::console_error!("drain: held write {key} failed, kept for a later run: {error}");
    }
    let swept = swept.map_err(|e| Error::RustError(format!("sweep: {e}")))?;
    if swept.finished > 0 {
        worker::console_log!("sweep: {} unsettled revocations finished", swept.finished);
    }
    for (grant, error) in &swept.failed {
        worker::console_error!(
            "sweep: revocation of {grant} failed, left for a later run: {error}"
        );
    }
    Ok(())
}

/// The cron trigger's second task: forgets the rows no rule reads any more
/// (`gatehouse_core::retention`). Not while the database is being moved: D1 takes no writes
/// then, and nothing lapses faster for the wait.
pub async fn forget_lapsed(env: &Env) -> Result<()> {
    let config = env::config(env).map_err(|e| Error::RustError(e.to_string()))?;
    if config.migration.is_some() {
        return Ok(());
    }
    let bindings = Bindings::new(env);
    let store = WorkerStore::new(&bindings);
    let forgotten = retention::sweep(&store, WorkerClock.now(), config.audit_retention_secs)
        .await
        .map_err(|e| Error::RustError(format!("retention: {e}")))?;
    if forgotten.total() > 0 {
        worker::console_log!("retention: {} lapsed rows forgotten", forgotten.total());
    }
    for lapsed in &forgotten.backlog {
        worker::console_error!(
            "retention: {lapsed:?} has more lapsed rows than one run deletes; the next run goes on"
        );
    }
    Ok(())
}

/// How long a failed message waits before the next delivery: as long again as it has waited so
/// far since it was sent, within bounds, so a short outage is retried quickly and a long one
/// does not burn the Queue's retries (`max_retries` in wrangler.toml) in minutes. (workers-rs
/// does not expose the delivery attempt count; the message's age serves.)
pub fn retry_delay_secs(age_secs: u64) -> u32 {
    let secs = age_secs.clamp(RETRY_MIN_SECS, RETRY_MAX_SECS);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_with_the_messages_age_within_bounds() {
        assert_eq!(retry_delay_secs(0), 10);
        assert_eq!(retry_delay_secs(45), 45);
        assert_eq!(retry_delay_secs(86_400), 600);
    }
}
