//! The consumer of the `revocations` Queue, and the scheduled drain of held writes. Every
//! handler is idempotent, because the Queue delivers at least once and every revocation was, as
//! a rule, applied once already when it was asked for.

use gatehouse_core::migration;
use gatehouse_core::queue::QueueMessage;
use gatehouse_core::revocation;
use worker::{Env, Error, Result};

use crate::bindings::Bindings;
use crate::env;
use crate::store::WorkerStore;

/// Shortest and longest wait before a failed message is delivered again.
const RETRY_MIN_SECS: u64 = 10;
const RETRY_MAX_SECS: u64 = 600;

pub async fn apply(message: &QueueMessage, env: &Env) -> Result<()> {
    match message {
        // Sent only by `/healthz` of earlier versions, which no longer waits for it.
        QueueMessage::HealthProbe { .. } => Ok(()),
        QueueMessage::RevokeGrant {
            grant_id,
            reason,
            at,
        } => {
            let migrating = env::config(env)
                .map_err(|e| Error::RustError(e.to_string()))?
                .migration
                .is_some();
            let bindings = Bindings::new(env);
            let store = WorkerStore::new(&bindings);
            revocation::consume(&store, grant_id, *reason, *at, migrating)
                .await
                .map_err(|e| Error::RustError(e.to_string()))?;
            let done = if migrating {
                "held for the drain"
            } else {
                "applied"
            };
            worker::console_log!(
                "revocation of {} ({}) {done} from the queue",
                grant_id.as_str(),
                reason.as_str()
            );
            Ok(())
        }
    }
}

/// The cron trigger: once migration mode is off, writes what it held to D1.
pub async fn drain(env: &Env) -> Result<()> {
    let config = env::config(env).map_err(|e| Error::RustError(e.to_string()))?;
    if config.migration.is_some() {
        return Ok(());
    }
    let bindings = Bindings::new(env);
    let store = WorkerStore::new(&bindings);
    match migration::drain(&store).await {
        Ok(0) => Ok(()),
        Ok(written) => {
            worker::console_log!("drain: {written} held writes written to D1");
            Ok(())
        }
        Err(error) => Err(Error::RustError(format!("drain: {error}"))),
    }
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
