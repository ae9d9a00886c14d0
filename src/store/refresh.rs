//! The core's `RefreshStore` on D1 (`refresh_tokens`).

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use serde::Deserialize;

use super::grant::{GrantRow, grant_record};
use super::{WorkerStore, hash, secs, stored_hash};

#[derive(Deserialize)]
struct RefreshRow {
    grant_id: String,
    expires_at: f64,
    rotated_at: Option<f64>,
    successor_hash: Option<String>,
}

/// A refresh token and its grant, read in one statement.
#[derive(Deserialize)]
struct RefreshGrantRow {
    refresh_expires_at: f64,
    rotated_at: Option<f64>,
    successor_hash: Option<String>,
    #[serde(flatten)]
    grant: GrantRow,
}

impl RefreshStore for WorkerStore<'_> {
    async fn refresh(&self, token_hash: &SecretHash) -> Result<Option<RefreshRecord>, StoreError> {
        let row: Option<RefreshRow> = self
            .first(
                "SELECT grant_id, expires_at, rotated_at, successor_hash FROM refresh_tokens WHERE token_hash = ?1",
                &[hash(token_hash)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RefreshRecord {
            token_hash: token_hash.clone(),
            grant_id: GrantId::from_stored(row.grant_id),
            expires_at: secs(row.expires_at),
            rotated_at: row.rotated_at.map(secs),
            successor_hash: row.successor_hash.as_deref().map(stored_hash).transpose()?,
        }))
    }

    async fn refresh_with_grant(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, GrantRecord)>, StoreError> {
        let row: Option<RefreshGrantRow> = self
            .first(
                "SELECT r.expires_at AS refresh_expires_at, r.rotated_at, r.successor_hash, \
                 g.grant_id, g.subject, p.email, p.groups, g.client_id, g.app, g.scope, g.redirect_uri, \
                 g.created_at, g.revoked_at, g.revoked_reason, g.revocation_settled_at \
                 FROM refresh_tokens r JOIN grants g ON g.grant_id = r.grant_id \
                 JOIN people p ON p.subject = g.subject WHERE r.token_hash = ?1",
                &[hash(token_hash)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let record = RefreshRecord {
            token_hash: token_hash.clone(),
            grant_id: GrantId::from_stored(row.grant.grant_id.clone()),
            expires_at: secs(row.refresh_expires_at),
            rotated_at: row.rotated_at.map(secs),
            successor_hash: row.successor_hash.as_deref().map(stored_hash).transpose()?,
        };
        Ok(Some((record, grant_record(row.grant)?)))
    }
}
