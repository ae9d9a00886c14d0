//! The core's `GrantStore` on D1 (`grants`; an issuance writes the grant's last use, its
//! `refresh_tokens` row and its audit event in one batch).

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::client::{client_check, client_read_back};
use super::session::groups;
use super::{WorkerStore, corrupt, first_row, hash, scopes, secs, text, time};

#[derive(Deserialize)]
pub(super) struct GrantRow {
    pub(super) grant_id: String,
    subject: String,
    email: String,
    groups: String,
    client_id: String,
    app: String,
    scope: String,
    redirect_uri: String,
    created_at: f64,
    revoked_at: Option<f64>,
    revoked_reason: Option<String>,
    revocation_settled_at: Option<f64>,
}

pub(super) fn grant_record(row: GrantRow) -> Result<GrantRecord, StoreError> {
    Ok(GrantRecord {
        grant_id: GrantId::from_stored(row.grant_id),
        person: Person {
            subject: row.subject,
            email: row.email,
            groups: groups(&row.groups)?,
        },
        client_id: ClientId::parse(&row.client_id).map_err(|_| corrupt("client id"))?,
        app: row.app,
        scopes: scopes(&row.scope)?,
        redirect_uri: row.redirect_uri,
        created_at: secs(row.created_at),
        revoked_at: row.revoked_at.map(secs),
        // A reason this build does not know reads as none: the revocation keeps it in D1.
        revoked_reason: row
            .revoked_reason
            .as_deref()
            .and_then(RevocationReason::parse),
        revocation_settled_at: row.revocation_settled_at.map(secs),
    })
}

impl GrantStore for WorkerStore<'_> {
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO grants (grant_id, subject, client_id, app, scope, redirect_uri, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                text(grant.grant_id.as_str()),
                text(&grant.person.subject),
                text(grant.client_id.as_str()),
                text(&grant.app),
                text(&grant.scopes.to_string()),
                text(&grant.redirect_uri),
                time(grant.created_at),
            ],
        )
        .await
    }

    async fn grant(&self, grant_id: &GrantId) -> Result<Option<GrantRecord>, StoreError> {
        let row: Option<GrantRow> = self
            .first(
                concat!(select_grant!(), " WHERE g.grant_id = ?1"),
                &[text(grant_id.as_str())],
            )
            .await?;
        row.map(grant_record).transpose()
    }

    async fn revoke_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let id = text(grant_id.as_str());
        self.batch(vec![
            self.statement(
                "UPDATE grants SET revoked_at = ?2, revoked_reason = ?3 WHERE grant_id = ?1 AND revoked_at IS NULL",
                &[id.clone(), time(now), text(reason.as_str())],
            )?,
            self.statement(
                "UPDATE refresh_tokens SET rotated_at = ?2 WHERE grant_id = ?1 AND rotated_at IS NULL",
                &[id, time(now)],
            )?,
        ])
        .await?;
        Ok(())
    }

    async fn revoke_by_refresh_token(
        &self,
        request: &TokenRevocation<'_>,
    ) -> Result<TokenRevoked, StoreError> {
        // RFC 7009 §2.1: the token was issued to this client. ?1 the token's hash, ?2 the grant
        // it names, ?3 the client, ?4 the app, ?5 now; the token is live, or its grant revoked
        // already (revoking again finishes what a crash cut short); and the client is as asked
        // (`deferred_client!`: ?10 the method a deferred client must have registered, NULL when
        // it was authenticated before the batch, ?11 the hash of the secret it presented). Every
        // statement carries it, so a token that is not the client's changes nothing.
        macro_rules! token_is_the_clients {
            () => {
                concat!(
                    "EXISTS (SELECT 1 FROM refresh_tokens r JOIN grants t ON t.grant_id = r.grant_id \
                     WHERE r.token_hash = ?1 AND r.grant_id = ?2 AND t.client_id = ?3 AND t.app = ?4 \
                     AND ((r.rotated_at IS NULL AND r.expires_at > ?5) OR t.revoked_at IS NOT NULL)) AND ",
                    deferred_client!("?3", "?5", "?10", "?11")
                )
            };
        }
        // Steps 3 and 4 only while the revocation is unsettled (a settled one has them).
        macro_rules! unsettled {
            () => {
                "EXISTS (SELECT 1 FROM grants u WHERE u.grant_id = ?2 AND u.revoked_at IS NOT NULL \
                 AND u.revocation_settled_at IS NULL)"
            };
        }
        let revocation = request.revocation;
        let event = revocation.audit_event();
        let (method, secret) = client_check(request.check_client)?;
        let args = [
            hash(request.token_hash),
            text(revocation.grant_id.as_str()),
            text(request.client_id.as_str()),
            text(request.app),
            time(revocation.at),
            text(revocation.reason.as_str()),
            text(event.kind.as_str()),
            event.source.as_deref().map_or(JsValue::NULL, text),
            text(&revocation.audit_key()),
            method,
            secret,
        ];
        // Every statement names ?11, so each binds all of them.
        let mut statements = vec![
                // 2. The grant (its first revocation's time and reason kept) and its tokens.
                self.statement(
                    concat!(
                        "UPDATE grants SET revoked_at = ?5, revoked_reason = ?6 \
                         WHERE grant_id = ?2 AND revoked_at IS NULL AND ",
                        token_is_the_clients!()
                    ),
                    &args,
                )?,
                self.statement(
                    concat!(
                        "UPDATE refresh_tokens SET rotated_at = ?5 WHERE grant_id = ?2 AND rotated_at IS NULL AND ",
                        token_is_the_clients!()
                    ),
                    &args,
                )?,
                // 3. The consent given at or before the grant's revocation.
                self.statement(
                    concat!(
                        "UPDATE consents SET withdrawn_at = (SELECT revoked_at FROM grants WHERE grant_id = ?2) \
                         WHERE subject = (SELECT subject FROM grants WHERE grant_id = ?2) AND client_id = ?3 AND app = ?4 \
                         AND withdrawn_at IS NULL AND created_at <= (SELECT revoked_at FROM grants WHERE grant_id = ?2) AND ",
                        unsettled!(),
                        " AND ",
                        token_is_the_clients!()
                    ),
                    &args,
                )?,
                // 4. The audit event, once per grant (the unique index on idempotency_key).
                self.statement(
                    concat!(
                        "INSERT OR IGNORE INTO audit_events (at, kind, subject, client_id, app, grant_id, source_ip, detail, idempotency_key) \
                         SELECT g.revoked_at, ?7, g.subject, g.client_id, g.app, g.grant_id, ?8, \
                         json_object('reason', COALESCE(g.revoked_reason, ?6)), ?9 \
                         FROM grants g WHERE g.grant_id = ?2 AND ",
                        unsettled!(),
                        " AND ",
                        token_is_the_clients!()
                    ),
                    &args,
                )?,
                // The grant as the transaction left it, if the token is the client's.
                self.statement(
                    concat!(select_grant!(), " WHERE g.grant_id = ?2 AND ", token_is_the_clients!()),
                    &args,
                )?,
        ];
        // The deferred client as the transaction left it, for Rust to check.
        let check = request.check_client;
        let read_client =
            self.read_client_back(&mut statements, check, request.client_id, revocation.at)?;
        let results = self.batch(statements).await?;
        let grant = first_row::<GrantRow>(&results, 4)?
            .map(grant_record)
            .transpose()?;
        let client = client_read_back(&results, read_client, check)?;
        Ok(TokenRevoked { grant, client })
    }

    async fn unsettled_revocations(&self, limit: u32) -> Result<Vec<GrantRecord>, StoreError> {
        let rows: Vec<GrantRow> = self
            .all(
                concat!(
                    select_grant!(),
                    " WHERE g.revoked_at IS NOT NULL AND g.revocation_settled_at IS NULL \
                     ORDER BY g.revoked_at, g.grant_id LIMIT ?1"
                ),
                &[JsValue::from_f64(f64::from(limit))],
                "SELECT grants",
            )
            .await?;
        rows.into_iter().map(grant_record).collect()
    }

    async fn settle_revocation(&self, grant_id: &GrantId, now: UnixTime) -> Result<(), StoreError> {
        self.run(
            "UPDATE grants SET revocation_settled_at = ?2 WHERE grant_id = ?1 AND revocation_settled_at IS NULL",
            &[text(grant_id.as_str()), time(now)],
        )
        .await
    }

    async fn live_grants(&self, subject: &str, app: &str) -> Result<Vec<GrantSummary>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            grant_id: String,
            client_id: String,
            client_name: Option<String>,
            redirect_uri: String,
            scope: String,
            created_at: f64,
            last_used_at: Option<f64>,
        }
        let rows: Vec<Row> = self
            .all(
                "SELECT g.grant_id, g.client_id, json_extract(c.metadata, '$.client_name') AS client_name, \
                 g.redirect_uri, g.scope, g.created_at, g.last_used_at \
                 FROM grants g LEFT JOIN clients c ON c.client_id = g.client_id \
                 WHERE g.subject = ?1 AND g.app = ?2 AND g.revoked_at IS NULL \
                 ORDER BY g.created_at DESC, g.grant_id LIMIT 500",
                &[text(subject), text(app)], "SELECT grants")
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(GrantSummary {
                    grant_id: GrantId::from_stored(row.grant_id),
                    client_id: ClientId::parse(&row.client_id).map_err(|_| corrupt("client id"))?,
                    client_name: row.client_name,
                    redirect_uri: row.redirect_uri,
                    scopes: scopes(&row.scope)?,
                    created_at: secs(row.created_at),
                    last_used_at: row.last_used_at.map(secs),
                })
            })
            .collect()
    }

    async fn grants_matching(
        &self,
        app: Option<&str>,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let optional = |value: Option<&str>| value.map_or(JsValue::NULL, text);
        let rows: Vec<GrantRow> = self
            .all(
                concat!(
                    select_grant!(),
                    " WHERE (?1 IS NULL OR g.app = ?1) AND (?2 IS NULL OR g.subject = ?2) AND (?3 IS NULL OR g.client_id = ?3) \
                     ORDER BY g.created_at DESC, g.grant_id LIMIT 500"
                ),
                &[optional(app), optional(subject), optional(client_id.map(ClientId::as_str))], "SELECT grants")
            .await?;
        rows.into_iter().map(grant_record).collect()
    }

    async fn record_issuance(&self, issuance: &Issuance<'_>) -> Result<(), StoreError> {
        let now = issuance.now;
        let mut statements = match issuance.refresh {
            RefreshWrite::None => Vec::with_capacity(2),
            RefreshWrite::Insert(token) => vec![self.statement(
                "INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                &[
                    hash(&token.token_hash),
                    text(token.grant_id.as_str()),
                    time(now),
                    time(token.expires_at),
                ],
            )?],
        };
        statements.push(self.statement(
            "UPDATE grants SET last_used_at = ?2 WHERE grant_id = ?1",
            &[text(issuance.grant_id.as_str()), time(now)],
        )?);
        statements.push(self.audit_insert(issuance.event, now)?);
        self.batch(statements).await?;
        Ok(())
    }
}
