//! The core's `Denylist` on KV (`deny:grant:<grant_id>`), with a per-isolate cache of "not denied" answers.

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;

use super::{WorkerStore, now_ms};
use crate::isolate_cache;

/// KV key of a denied grant.
fn denylist_key(grant_id: &GrantId) -> String {
    format!("deny:grant:{}", grant_id.as_str())
}

/// How long an isolate trusts a "not denied" answer before asking KV again: part of the
/// revocation propagation bound (README, "Revocation").
const DENYLIST_CACHE_MS: f64 = 5_000.0;

thread_local! {
    /// grant id → (denied, checked at, in ms). Denials are permanent; "not denied" expires.
    static DENYLIST_CACHE: std::cell::RefCell<std::collections::HashMap<String, (bool, f64)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Bounds the per-isolate cache; an isolate that sees this many grants just starts over.
const DENYLIST_CACHE_ENTRIES: usize = 10_000;

/// Records in this isolate's cache that the grant is denied, before its deny entry is written
/// (an RFC 7009 answer's, which follows the response): the isolate that revoked refuses at once.
pub fn note_denied(grant_id: &GrantId) {
    DENYLIST_CACHE.with_borrow_mut(|cache| cache.insert(grant_id.as_str().to_owned(), (true, 0.0)));
}

impl Denylist for WorkerStore<'_> {
    async fn deny_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        until: UnixTime,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        note_denied(grant_id);
        self.kv()?
            .put(&denylist_key(grant_id), reason.as_str())
            .map_err(|e| StoreError(format!("KV binding `KV`: denylist put: {e}")))?
            .expiration(until.0)
            .execute()
            .await
            .map_err(|e| StoreError(format!("KV binding `KV`: denylist put: {e}")))
    }

    async fn is_grant_denied(&self, grant_id: &GrantId) -> Result<bool, StoreError> {
        let now = now_ms();
        let cached = DENYLIST_CACHE.with_borrow(|cache| cache.get(grant_id.as_str()).copied());
        match cached {
            Some((true, _)) => return Ok(true),
            Some((false, at)) if now - at < DENYLIST_CACHE_MS => return Ok(false),
            _ => {}
        }
        let denied = self
            .kv()?
            .get(&denylist_key(grant_id))
            .text()
            .await
            .map_err(|e| StoreError(format!("KV binding `KV`: denylist get: {e}")))?
            .is_some();
        let key = grant_id.as_str().to_owned();
        isolate_cache::insert(&DENYLIST_CACHE, DENYLIST_CACHE_ENTRIES, key, (denied, now));
        Ok(denied)
    }

    async fn denial(&self, grant_id: &GrantId) -> Result<Option<RevocationReason>, StoreError> {
        let value = self
            .kv()?
            .get(&denylist_key(grant_id))
            .text()
            .await
            .map_err(|e| StoreError(format!("KV binding `KV`: denylist get: {e}")))?;
        // Entries of the previous build hold "1".
        Ok(value.map(|v| RevocationReason::parse(&v).unwrap_or(RevocationReason::ClientRequest)))
    }
}
