//! Where held writes wait: KV, which stays writable while D1 is moved.

use crate::model::held::{Held, HeldWrite};

use super::error::StoreError;

/// Where held writes wait: KV, which stays writable while D1 is moved.
#[allow(async_fn_in_trait)]
pub trait HeldWrites {
    /// Keeps the write (no expiry) under [`HeldWrite::key`], replacing what that key held.
    async fn hold(&self, held: &Held) -> Result<(), StoreError>;
    /// Up to `limit` held writes, in key order.
    async fn held(&self, limit: u32) -> Result<Vec<Held>, StoreError>;
    /// Forgets a write once it is in D1.
    async fn release(&self, write: &HeldWrite) -> Result<(), StoreError>;
    /// Whether a write with this key is held.
    async fn is_held(&self, key: &str) -> Result<bool, StoreError>;
}
