//! The core's `RevocationQueue` on the `REVOCATIONS` Queue producer.

use gatehouse_core::store::*;

use super::WorkerStore;

impl RevocationQueue for WorkerStore<'_> {
    async fn enqueue(
        &self,
        message: &gatehouse_core::model::queue::QueueMessage,
    ) -> Result<(), StoreError> {
        self.bindings
            .queue()?
            .send(message)
            .await
            .map_err(|e| StoreError(format!("Queue binding `REVOCATIONS`: send: {e}")))
    }
}
