//! The consumer of the `revocations` Queue: applies each message to D1 and KV. Every handler is
//! idempotent, because the Queue delivers at least once and every revocation was, as a rule,
//! applied once already when it was asked for.

use gatehouse_core::queue::QueueMessage;
use gatehouse_core::revocation;
use worker::{Env, Error, Result};

use crate::store::WorkerStore;
use crate::{env, health};

pub async fn apply(message: &QueueMessage, env: &Env) -> Result<()> {
    match message {
        QueueMessage::HealthProbe { nonce } => health::record_probe(nonce, env).await,
        QueueMessage::RevokeGrant {
            grant_id,
            reason,
            at,
        } => {
            let (db, kv, queue) = (
                env.d1(env::DB)?,
                env.kv(env::KV)?,
                env.queue(env::REVOCATIONS)?,
            );
            let store = WorkerStore::new(&db, &kv, &queue);
            revocation::apply(&store, grant_id, *reason, *at)
                .await
                .map_err(|e| Error::RustError(e.to_string()))?;
            worker::console_log!(
                "revocation of {} ({}) applied from the queue",
                grant_id.as_str(),
                reason.as_str()
            );
            Ok(())
        }
    }
}
