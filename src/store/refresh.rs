//! The core's `RefreshStore` on D1 (`refresh_tokens`).

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use serde::Deserialize;

use wasm_bindgen::JsValue;

use super::client::{client_check, client_read_back};
use super::grant::{GrantRow, grant_record};
use super::{WorkerStore, changes, first_row, hash, secs, stored_hash, text, time};

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

    async fn rotate_refresh(&self, rotation: &Rotation<'_>) -> Result<Rotated, StoreError> {
        // Parameters shared by the batch's statements (D1 wants as many bound as the highest
        // number a statement names): ?1 the presented token, ?2 the successor, ?3 now, ?4 the
        // grant, ?5 the client, ?6 the app, ?7 the narrowed scopes (JSON array, or NULL), ?8 the
        // answers (JSON array), ?9 the retry window; ?10–?13 one statement's own; ?14 the auth
        // method a deferred client must have registered (NULL: the client was authenticated
        // before the batch), ?15 the hash of the secret it presented (NULL for `none`).
        // CLIENT_AS_ASKED: with ?14, the client is as client authentication checks it, and
        // registered the refresh_token grant type (`deferred_client!`).
        macro_rules! client_as_asked {
            () => {
                deferred_client!("?5", "?3", "?14", "?15", "refresh_token")
            };
        }
        // GRANT_AS_ASKED: the grant is not revoked, is the client's, for the app, and holds every
        // narrowed scope (stored as `Scopes` prints them: joined by single spaces); and the
        // client is as asked.
        macro_rules! grant_as_asked {
            () => {
                concat!(
                    "EXISTS (SELECT 1 FROM grants g WHERE g.grant_id = ?4 AND g.revoked_at IS NULL \
                     AND g.client_id = ?5 AND g.app = ?6 AND (?7 IS NULL OR NOT EXISTS (SELECT 1 FROM \
                     json_each(?7) n WHERE instr(' ' || g.scope || ' ', ' ' || n.value || ' ') = 0))) AND ",
                    client_as_asked!()
                )
            };
        }
        // ANSWERED: the presented token was rotated into one of the answers within the retry
        // window, that successor is live, and the grant is as asked.
        macro_rules! answered {
            () => {
                concat!(
                    "EXISTS (SELECT 1 FROM refresh_tokens r JOIN refresh_tokens s ON s.token_hash = r.successor_hash \
                     WHERE r.token_hash = ?1 AND r.grant_id = ?4 AND ?3 - r.rotated_at <= ?9 \
                     AND r.successor_hash IN (SELECT value FROM json_each(?8)) AND s.rotated_at IS NULL) AND ",
                    grant_as_asked!()
                )
            };
        }
        let narrowed = rotation.narrowed.map_or(JsValue::NULL, |s| {
            text(&json_array(s.iter().map(|s| s.as_str())))
        });
        let answers = json_array(rotation.answers.iter().map(SecretHash::as_hex));
        let args = [
            hash(rotation.presented),
            hash(&rotation.successor.token_hash),
            time(rotation.now),
            text(rotation.grant_id.as_str()),
            text(rotation.client_id.as_str()),
            text(rotation.app),
            narrowed,
            text(&answers),
            JsValue::from_f64(rotation.retry_window_secs as f64),
        ];
        let (method, secret) = client_check(rotation.check_client)?;
        // Every statement that names ?15 binds 15 values (SQLite counts up to the highest).
        let own = |extra: &[JsValue]| -> Vec<JsValue> {
            let mut bound = args.to_vec();
            bound.extend(extra.iter().cloned());
            bound.resize(13, JsValue::NULL);
            bound.push(method.clone());
            bound.push(secret.clone());
            bound
        };
        let event = rotation.event;
        let optional = |value: &Option<String>| value.as_deref().map_or(JsValue::NULL, text);
        let audit_args = own(&[
            text(event.kind.as_str()),
            optional(&event.source),
            text(&event.detail.to_string()),
            rotation
                .narrowed
                .map_or(JsValue::NULL, |s| text(&s.to_string())),
        ]);
        let mut statements = vec![
                // 1. The compare-and-swap. A racing call computed the same successor.
                self.statement(
                    concat!(
                        "UPDATE refresh_tokens SET rotated_at = ?3, successor_hash = ?2 \
                         WHERE token_hash = ?1 AND grant_id = ?4 AND rotated_at IS NULL AND expires_at > ?3 AND ",
                        grant_as_asked!()
                    ),
                    &own(&[]),
                )?,
                // 2. The successor, if the presented token names it (racing calls: one row).
                self.statement(
                    concat!(
                        "INSERT OR IGNORE INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at) \
                         SELECT ?2, ?4, ?3, ?10 FROM refresh_tokens WHERE token_hash = ?1 AND grant_id = ?4 AND successor_hash = ?2 AND ",
                        grant_as_asked!()
                    ),
                    &own(&[time(rotation.successor.expires_at)]),
                )?,
                // 3. The issuance, recorded only if it may be answered.
                self.statement(
                    concat!("UPDATE grants SET last_used_at = ?3 WHERE grant_id = ?4 AND ", answered!()),
                    &own(&[]),
                )?,
                self.statement(
                    concat!(
                        audit_insert!(),
                        " SELECT ?3, ?10, g.subject, g.client_id, g.app, g.grant_id, ?11, \
                         json_set(?12, '$.scope', COALESCE(?13, g.scope)) \
                         FROM grants g WHERE g.grant_id = ?4 AND ",
                        answered!()
                    ),
                    &audit_args,
                )?,
                // 4. As the transaction left them.
                self.statement(
                    "SELECT r.expires_at AS refresh_expires_at, r.rotated_at, r.successor_hash, \
                     g.grant_id, g.subject, p.email, p.groups, g.client_id, g.app, g.scope, g.redirect_uri, \
                     g.created_at, g.revoked_at, g.revoked_reason, g.revocation_settled_at \
                     FROM refresh_tokens r JOIN grants g ON g.grant_id = r.grant_id \
                     JOIN people p ON p.subject = g.subject WHERE r.token_hash = ?1",
                    &[hash(rotation.presented)],
                )?,
            ];
        // 5. The deferred client as the transaction left it, for Rust to check.
        let check = rotation.check_client;
        let read_client =
            self.read_client_back(&mut statements, check, rotation.client_id, rotation.now)?;
        let results = self.batch(statements).await?;
        let issued = changes(results.get(3)) == 1;
        let found = match first_row::<RefreshGrantRow>(&results, 4)? {
            None => None,
            Some(row) => {
                let record = RefreshRecord {
                    token_hash: rotation.presented.clone(),
                    grant_id: GrantId::from_stored(row.grant.grant_id.clone()),
                    expires_at: secs(row.refresh_expires_at),
                    rotated_at: row.rotated_at.map(secs),
                    successor_hash: row.successor_hash.as_deref().map(stored_hash).transpose()?,
                };
                Some((record, grant_record(row.grant)?))
            }
        };
        let client = client_read_back(&results, read_client, check)?;
        Ok(Rotated {
            issued,
            found,
            client,
        })
    }
}

/// A JSON array of strings, as a statement parameter for `json_each`.
fn json_array<'s>(items: impl Iterator<Item = &'s str>) -> String {
    serde_json::Value::from(items.collect::<Vec<_>>()).to_string()
}
