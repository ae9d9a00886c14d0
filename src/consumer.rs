//! The consumer of the `revocations` Queue: applies each message to D1 and KV. Every handler is
//! idempotent, because the Queue delivers at least once.

use gatehouse_core::queue::QueueMessage;
use worker::{Env, Result};

use crate::health;

pub async fn apply(message: &QueueMessage, env: &Env) -> Result<()> {
    match message {
        QueueMessage::HealthProbe { nonce } => health::record_probe(nonce, env).await,
    }
}
