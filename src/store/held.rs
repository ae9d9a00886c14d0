//! The core's `HeldWrites` on KV (`held:…`).

use gatehouse_core::migration::{HELD_PREFIX, Held, HeldWrite, HeldWrites};
use gatehouse_core::store::*;

use super::{WorkerStore, kv_failed};

/// Held writes live in KV under `held:…` without expiry until the drain releases them.
impl HeldWrites for WorkerStore<'_> {
    async fn hold(&self, held: &Held) -> Result<(), StoreError> {
        let value = serde_json::to_string(held).map_err(|e| kv_failed("held put", e))?;
        self.kv()?
            .put(&held.write.key(), value)
            .map_err(|e| kv_failed("held put", e))?
            .execute()
            .await
            .map_err(|e| kv_failed("held put", e))
    }

    async fn held(&self, limit: u32) -> Result<Vec<Held>, StoreError> {
        let listed = self
            .kv()?
            .list()
            .prefix(HELD_PREFIX.to_owned())
            .limit(u64::from(limit))
            .execute()
            .await
            .map_err(|e| kv_failed("held list", e))?;
        let mut writes = Vec::with_capacity(listed.keys.len());
        for key in listed.keys {
            let value = self
                .kv()?
                .get(&key.name)
                .text()
                .await
                .map_err(|e| kv_failed("held get", e))?;
            // A key listed but gone was released by a concurrent drain.
            let Some(value) = value else { continue };
            match serde_json::from_str(&value) {
                Ok(write) => writes.push(write),
                Err(e) => worker::console_error!("held write {} does not parse: {e}", key.name),
            }
        }
        Ok(writes)
    }

    async fn release(&self, write: &HeldWrite) -> Result<(), StoreError> {
        self.kv()?
            .delete(&write.key())
            .await
            .map_err(|e| kv_failed("held delete", e))
    }

    async fn is_held(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .kv()?
            .get(key)
            .text()
            .await
            .map_err(|e| kv_failed("held get", e))?
            .is_some())
    }
}
