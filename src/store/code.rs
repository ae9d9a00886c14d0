//! The core's `CodeStore` on D1 (`authorization_codes`): consuming a code is one statement.

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::grant::grant_record;
use super::{WorkerStore, corrupt, first_row, hash, scopes, secs, text, time};

#[derive(Deserialize)]
struct CodeRow {
    grant_id: String,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    resource: String,
    scope: String,
    expires_at: f64,
}

impl CodeStore for WorkerStore<'_> {
    async fn insert_code(&self, code: &CodeRecord, now: UnixTime) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, \
             resource, scope, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                hash(&code.code_hash),
                text(code.grant_id.as_str()),
                text(code.client_id.as_str()),
                text(&code.redirect_uri),
                text(&code.code_challenge),
                text(&code.resource),
                text(&code.scopes.to_string()),
                time(now),
                time(code.expires_at),
            ],
        )
        .await
    }

    async fn consume_code(
        &self,
        code_hash: &SecretHash,
        binding: &CodeBinding<'_>,
        now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        // One statement marks the code used, only if the request matches what the code is bound
        // to: of any number of racing callers, exactly one sees the row returned, and a request
        // that does not match changes nothing. The code's grant, and the code as it now is (to
        // tell a replay from a mismatch), are read in the same round trip. A NULL redirect URI
        // equals nothing, as `CodeBinding` wants.
        let results = self
            .batch(vec![
                self.statement(
                    "UPDATE authorization_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL \
                     AND client_id = ?3 AND resource = ?4 AND redirect_uri = ?5 AND code_challenge = ?6 \
                     RETURNING grant_id, client_id, redirect_uri, code_challenge, resource, scope, expires_at",
                    &[
                        hash(code_hash),
                        time(now),
                        text(binding.client_id.as_str()),
                        text(binding.resource),
                        binding.redirect_uri.map_or(JsValue::NULL, text),
                        text(binding.code_challenge),
                    ],
                )?,
                self.statement(
                    concat!(
                        select_grant!(),
                        " WHERE g.grant_id = (SELECT grant_id FROM authorization_codes WHERE code_hash = ?1)"
                    ),
                    &[hash(code_hash)],
                )?,
                self.statement(
                    "SELECT grant_id, client_id, redirect_uri, code_challenge, resource, scope, expires_at \
                     FROM authorization_codes WHERE code_hash = ?1",
                    &[hash(code_hash)],
                )?,
            ])
            .await?;
        let fresh: Option<CodeRow> = first_row(&results, 0)?;
        let grant = first_row(&results, 1)?.map(grant_record).transpose()?;
        if let Some(row) = fresh {
            return Ok(Consumed::Fresh(code_record(code_hash, row)?, grant));
        }
        let Some(row) = first_row::<CodeRow>(&results, 2)? else {
            return Ok(Consumed::Unknown);
        };
        let code = code_record(code_hash, row)?;
        Ok(if binding.mismatch(&code).is_some() {
            Consumed::Refused(code, grant)
        } else {
            Consumed::Replayed(code.grant_id)
        })
    }
}

fn code_record(code_hash: &SecretHash, row: CodeRow) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        code_hash: code_hash.clone(),
        grant_id: GrantId::from_stored(row.grant_id),
        client_id: ClientId::parse(&row.client_id).map_err(|_| corrupt("client id"))?,
        redirect_uri: row.redirect_uri,
        code_challenge: row.code_challenge,
        resource: row.resource,
        scopes: scopes(&row.scope)?,
        expires_at: secs(row.expires_at),
    })
}
