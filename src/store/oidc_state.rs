//! The core's `OidcStateStore` on D1 (`oidc_states`).

use gatehouse_core::oidc::state::{StateRecord, StateUse};
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use serde::Deserialize;

use super::{WorkerStore, hash, secs, stored_hash, text, time};

#[derive(Deserialize)]
struct OidcStateRow {
    binding_hash: String,
    provider: String,
    app: String,
    return_to: String,
    expires_at: f64,
}

impl OidcStateStore for WorkerStore<'_> {
    async fn insert_oidc_state(
        &self,
        state: &StateRecord,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO oidc_states (state_hash, binding_hash, provider, app, return_to, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                hash(&state.state_hash),
                hash(&state.binding_hash),
                text(&state.provider),
                text(&state.app),
                text(&state.return_to),
                time(now),
                time(state.expires_at),
            ],
        )
        .await
    }

    async fn consume_oidc_state(
        &self,
        state_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<StateUse, StoreError> {
        // One statement: of any number of racing callbacks, exactly one sees the row returned.
        let fresh: Option<OidcStateRow> = self
            .first(
                "UPDATE oidc_states SET used_at = ?2 WHERE state_hash = ?1 AND used_at IS NULL \
                 RETURNING binding_hash, provider, app, return_to, expires_at",
                &[hash(state_hash), time(now)],
            )
            .await?;
        if let Some(row) = fresh {
            return Ok(StateUse::Fresh(StateRecord {
                state_hash: state_hash.clone(),
                binding_hash: stored_hash(&row.binding_hash)?,
                provider: row.provider,
                app: row.app,
                return_to: row.return_to,
                expires_at: secs(row.expires_at),
            }));
        }
        let used: Option<serde_json::Value> = self
            .first(
                "SELECT 1 AS found FROM oidc_states WHERE state_hash = ?1",
                &[hash(state_hash)],
            )
            .await?;
        Ok(if used.is_some() {
            StateUse::Replayed
        } else {
            StateUse::Unknown
        })
    }
}
