//! The `revocations` Queue, as the producer sees it.

use super::error::StoreError;

/// The `revocations` Queue, as the producer sees it.
#[allow(async_fn_in_trait)]
pub trait RevocationQueue {
    /// Puts a message on the Queue; once this returns, the message is durable.
    async fn enqueue(&self, message: &crate::model::queue::QueueMessage) -> Result<(), StoreError>;
}
