//! The core's `AuditLog` on D1 (`audit_events`).

use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::{WorkerStore, corrupt, failed, secs, text, time};

#[derive(Deserialize)]
struct AuditRow {
    id: f64,
    at: f64,
    kind: String,
    subject: Option<String>,
    client_id: Option<String>,
    app: Option<String>,
    grant_id: Option<String>,
    source_ip: Option<String>,
    detail: String,
}

/// The audit log query for `query`: only the conditions it names, so that SQLite reads the
/// index for each (`audit_events_by_app`, `…_by_subject`, `…_by_client`, `…_by_kind`, all
/// ending in `at`) instead of scanning; an `x IS NULL OR` condition would defeat them. The SQL
/// is made of fixed fragments; values are bound.
fn audit_query(query: &gatehouse_core::model::audit::AuditQuery<'_>) -> (String, Vec<JsValue>) {
    let mut sql = String::from(
        "SELECT id, at, kind, subject, client_id, app, grant_id, source_ip, detail \
         FROM audit_events WHERE app = ?",
    );
    let mut args = vec![text(query.app)];
    let mut and = |fragment: &str, value: JsValue| {
        sql.push_str(fragment);
        args.push(value);
    };
    if let Some(subject) = query.subject {
        and(" AND subject = ?", text(subject));
    }
    if let Some(client_id) = query.client_id {
        and(" AND client_id = ?", text(client_id));
    }
    if let Some(kind) = query.kind {
        and(" AND kind = ?", text(kind.as_str()));
    }
    if let Some(since) = query.since {
        and(" AND at >= ?", time(since));
    }
    if let Some(until) = query.until {
        and(" AND at <= ?", time(until));
    }
    if let Some((at, id)) = query.before {
        and(" AND (at < ?", time(at));
        and(" OR (at = ?", time(at));
        and(" AND id < ?))", JsValue::from_f64(id as f64));
    }
    and(
        " ORDER BY at DESC, id DESC LIMIT ?",
        JsValue::from_f64(f64::from(query.limit)),
    );
    (sql, args)
}

impl WorkerStore<'_> {
    /// The statement appending an audit event, alone or in a batch with what it records.
    pub(super) fn audit_insert(
        &self,
        event: &gatehouse_core::model::audit::AuditEvent,
        at: UnixTime,
    ) -> Result<D1PreparedStatement, StoreError> {
        self.audit_statement(
            concat!(audit_insert!(), " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            event,
            at,
            None,
        )
    }

    /// [`Self::audit_insert`] that appends only if the statement before it in the batch
    /// stored the client `client_id` (a new id, so no earlier row has it).
    pub(super) fn audit_insert_for_new_client(
        &self,
        event: &gatehouse_core::model::audit::AuditEvent,
        at: UnixTime,
        client_id: &ClientId,
    ) -> Result<D1PreparedStatement, StoreError> {
        self.audit_statement(
            concat!(
                audit_insert!(),
                " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?9)"
            ),
            event,
            at,
            Some(text(client_id.as_str())),
        )
    }

    fn audit_statement(
        &self,
        sql: &str,
        event: &gatehouse_core::model::audit::AuditEvent,
        at: UnixTime,
        condition: Option<JsValue>,
    ) -> Result<D1PreparedStatement, StoreError> {
        let optional = |value: &Option<String>| value.as_deref().map_or(JsValue::NULL, text);
        let values = [
            time(at),
            text(event.kind.as_str()),
            optional(&event.subject),
            optional(&event.client_id),
            optional(&event.app),
            optional(&event.grant_id),
            optional(&event.source),
            text(&event.detail.to_string()),
        ];
        match condition {
            None => self.statement(sql, &values),
            Some(arg) => self.statement(sql, &[values.as_slice(), &[arg]].concat()),
        }
    }
}

impl gatehouse_core::store::AuditLog for WorkerStore<'_> {
    async fn events(
        &self,
        query: &gatehouse_core::model::audit::AuditQuery<'_>,
    ) -> Result<Vec<gatehouse_core::model::audit::StoredEvent>, StoreError> {
        let (sql, args) = audit_query(query);
        let rows: Vec<AuditRow> = self.all(&sql, &args, "SELECT audit_events").await?;
        rows.into_iter()
            .map(|row| {
                let kind = gatehouse_core::model::audit::AuditKind::parse(&row.kind)
                    .ok_or_else(|| corrupt("audit kind"))?;
                let event = gatehouse_core::model::audit::AuditEvent {
                    kind,
                    subject: row.subject,
                    client_id: row.client_id,
                    app: row.app,
                    grant_id: row.grant_id,
                    source: row.source_ip,
                    detail: serde_json::from_str(&row.detail).unwrap_or_default(),
                };
                Ok(gatehouse_core::model::audit::StoredEvent {
                    id: row.id as u64,
                    at: secs(row.at),
                    event,
                })
            })
            .collect()
    }

    async fn record(
        &self,
        event: &gatehouse_core::model::audit::AuditEvent,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        self.audit_insert(event, at)?
            .run()
            .await
            .map_err(|e| failed("INSERT INTO audit_events", e))?;
        Ok(())
    }

    async fn record_once(
        &self,
        key: &str,
        event: &gatehouse_core::model::audit::AuditEvent,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        // The unique index on idempotency_key (migration 0006) makes a second insert a no-op.
        self.audit_statement(
            "INSERT OR IGNORE INTO audit_events (at, kind, subject, client_id, app, grant_id, source_ip, detail, idempotency_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            event,
            at,
            Some(text(key)),
        )?
        .run()
        .await
        .map_err(|e| failed("INSERT OR IGNORE INTO audit_events", e))?;
        Ok(())
    }
}
