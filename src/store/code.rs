//! The core's `CodeStore` on D1 (`authorization_codes`): consuming a code is one statement, and
//! an exchange (the consumption with the issuance it allows) is one batch.

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::client::{client_check, client_read_back};
use super::grant::grant_record;
use super::{WorkerStore, changes, corrupt, first_row, hash, scopes, secs, text, time};

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

    async fn exchange_code(&self, exchange: &Exchange<'_>) -> Result<Exchanged, StoreError> {
        // Parameters shared by the batch's statements (D1 wants as many bound as the highest
        // number a statement names): ?1 the code, ?2 the grant it names, ?3 now, ?4 the client,
        // ?5 the app, ?6 the redirect URI (NULL equals nothing, as `CodeBinding` wants), ?7 the
        // S256 challenge of the verifier; ?8–?10 one statement's own; ?11 the auth method a
        // deferred client must have registered (NULL: the client was authenticated before the
        // batch), ?12 the hash of the secret it presented (NULL for `none`).
        // THIS_REQUEST: the code is unused, of the grant, and matches the request, whose client
        // is as asked (`deferred_client!`).
        macro_rules! this_request {
            () => {
                concat!(
                    "c.code_hash = ?1 AND c.grant_id = ?2 AND c.used_at IS NULL AND c.client_id = ?4 \
                     AND c.resource = ?5 AND c.redirect_uri = ?6 AND c.code_challenge = ?7 AND ",
                    deferred_client!("?4", "?3", "?11", "?12", "authorization_code")
                )
            };
        }
        // ISSUABLE: the code is this request's and unexpired, and its grant is live, the
        // client's and the app's. Evaluated before the compare-and-swap, on the same state.
        macro_rules! issuable {
            () => {
                concat!(
                    "EXISTS (SELECT 1 FROM authorization_codes c JOIN grants g ON g.grant_id = c.grant_id \
                     WHERE ",
                    this_request!(),
                    " AND c.expires_at > ?3 AND g.revoked_at IS NULL AND g.client_id = ?4 AND g.app = ?5)"
                )
            };
        }
        let binding = exchange.binding;
        let args = [
            hash(exchange.code_hash),
            text(exchange.grant_id.as_str()),
            time(exchange.now),
            text(binding.client_id.as_str()),
            text(binding.resource),
            binding.redirect_uri.map_or(JsValue::NULL, text),
            text(binding.code_challenge),
        ];
        let (method, secret) = client_check(exchange.check_client)?;
        // Every statement binds all 12 (SQLite counts up to the highest number named).
        let own = |extra: &[JsValue]| -> Vec<JsValue> {
            let mut bound = args.to_vec();
            bound.extend(extra.iter().cloned());
            bound.resize(10, JsValue::NULL);
            bound.push(method.clone());
            bound.push(secret.clone());
            bound
        };
        let event = exchange.event;
        let optional = |value: &Option<String>| value.as_deref().map_or(JsValue::NULL, text);
        let mut statements = Vec::with_capacity(6);
        // 1. The issuance: the first refresh token (for a deferred client, only if it uses
        // refresh tokens), the grant's last use, the audit event.
        if let Some(token) = exchange.refresh {
            statements.push(self.statement(
                concat!(
                    "INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at) \
                     SELECT ?8, ?2, ?3, ?9 WHERE ",
                    issuable!(),
                    " AND ",
                    deferred_client!("?4", "?3", "?11", "?12", "refresh_token")
                ),
                &own(&[hash(&token.token_hash), time(token.expires_at)]),
            )?);
        }
        statements.push(self.statement(
            concat!(
                "UPDATE grants SET last_used_at = ?3 WHERE grant_id = ?2 AND ",
                issuable!()
            ),
            &own(&[]),
        )?);
        let audit = statements.len();
        statements.push(self.statement(
            concat!(
                audit_insert!(),
                " SELECT ?3, ?8, g.subject, g.client_id, g.app, g.grant_id, ?9, \
                 json_set(?10, '$.scope', c.scope) \
                 FROM authorization_codes c JOIN grants g ON g.grant_id = c.grant_id \
                 WHERE c.code_hash = ?1 AND ",
                issuable!()
            ),
            &own(&[
                text(event.kind.as_str()),
                optional(&event.source),
                text(&event.detail.to_string()),
            ]),
        )?);
        // 2. The compare-and-swap: of any number of racing callers, exactly one changes the row.
        let consume = statements.len();
        statements.push(self.statement(
            concat!(
                "UPDATE authorization_codes AS c SET used_at = ?3 WHERE ",
                this_request!()
            ),
            &own(&[]),
        )?);
        // 3. As the transaction left them: the code, and its own grant.
        let read_grant = statements.len();
        statements.push(self.statement(
            concat!(
                select_grant!(),
                " WHERE g.grant_id = (SELECT grant_id FROM authorization_codes WHERE code_hash = ?1)"
            ),
            &[hash(exchange.code_hash)],
        )?);
        let read_code = statements.len();
        statements.push(self.statement(
            "SELECT grant_id, client_id, redirect_uri, code_challenge, resource, scope, expires_at \
             FROM authorization_codes WHERE code_hash = ?1",
            &[hash(exchange.code_hash)],
        )?);
        // 4. The deferred client as the transaction left it, for Rust to check.
        let check = exchange.check_client;
        let read_client =
            self.read_client_back(&mut statements, check, binding.client_id, exchange.now)?;
        let results = self.batch(statements).await?;
        let issued = changes(results.get(audit)) == 1;
        let fresh = changes(results.get(consume)) == 1;
        let grant = first_row(&results, read_grant)?
            .map(grant_record)
            .transpose()?;
        let consumed = match first_row::<CodeRow>(&results, read_code)? {
            None => Consumed::Unknown,
            Some(row) => {
                let code = code_record(exchange.code_hash, row)?;
                if fresh {
                    Consumed::Fresh(code, grant)
                } else if binding.mismatch(&code).is_some() || &code.grant_id != exchange.grant_id {
                    Consumed::Refused(code, grant)
                } else {
                    Consumed::Replayed(code.grant_id)
                }
            }
        };
        let client = client_read_back(&results, read_client, check)?;
        Ok(Exchanged {
            consumed,
            issued,
            client,
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
