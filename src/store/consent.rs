//! The core's `ConsentStore` on D1 (`consents`).

use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{WorkerStore, scopes, text, time};

impl ConsentStore for WorkerStore<'_> {
    async fn consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            scope: String,
            redirect_uri: Option<String>,
        }
        let row: Option<Row> = self
            .first(
                "SELECT scope, redirect_uri FROM consents WHERE subject = ?1 AND client_id = ?2 AND app = ?3 AND withdrawn_at IS NULL",
                &[text(subject), text(client_id.as_str()), text(app)],
            )
            .await?;
        row.map(|r| {
            Ok(ConsentRecord {
                scopes: scopes(&r.scope)?,
                redirect_uri: r.redirect_uri,
            })
        })
        .transpose()
    }

    async fn put_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        consent: &ConsentRecord,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO consents (subject, client_id, app, scope, redirect_uri, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (subject, client_id, app) DO UPDATE SET scope = excluded.scope, \
             redirect_uri = excluded.redirect_uri, created_at = excluded.created_at, withdrawn_at = NULL",
            &[
                text(subject),
                text(client_id.as_str()),
                text(app),
                text(&consent.scopes.to_string()),
                consent.redirect_uri.as_deref().map_or(JsValue::NULL, text),
                time(now),
            ],
        )
        .await
    }

    async fn withdraw_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "UPDATE consents SET withdrawn_at = ?4 WHERE subject = ?1 AND client_id = ?2 AND app = ?3 \
             AND withdrawn_at IS NULL AND created_at <= ?4",
            &[text(subject), text(client_id.as_str()), text(app), time(now)],
        )
        .await
    }
}
