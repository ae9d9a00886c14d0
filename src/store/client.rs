//! The core's `ClientStore` on D1 (`clients`; registrations are counted per source network in the
//! same statement), with per-isolate caches of clients and of the untagged client ids.

use gatehouse_core::registration::ClientMetadata;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{
    WorkerStore, changes, corrupt, failed, first_row, hash, now_ms, secs, stored_hash, text, time,
};
use crate::isolate_cache;

#[derive(Deserialize)]
struct ClientRow {
    client_id: String,
    secret_hash: Option<String>,
    metadata: String,
    created_at: f64,
    expires_at: Option<f64>,
}

/// The client row a statement read back: what [`CLIENT_SQL`] selects.
fn client_record(row: ClientRow) -> Result<ClientRecord, StoreError> {
    let metadata: ClientMetadata =
        serde_json::from_str(&row.metadata).map_err(|_| corrupt("client"))?;
    Ok(ClientRecord {
        client_id: ClientId::parse(&row.client_id).map_err(|_| corrupt("client id"))?,
        secret_hash: row.secret_hash.as_deref().map(stored_hash).transpose()?,
        metadata,
        source: ClientSource::Dynamic,
        created_at: secs(row.created_at),
        expires_at: row.expires_at.map(secs),
    })
}

/// The client `?1`, unless unknown, disabled or lapsed at `?2`.
const CLIENT_SQL: &str = "SELECT client_id, secret_hash, metadata, created_at, expires_at FROM clients \
     WHERE client_id = ?1 AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)";

/// The parameters of `deferred_client!` for `check`: the method and the presented secret's hash,
/// both NULL when the client was authenticated before the statement.
pub(super) fn client_check(check: Option<&ClientCheck>) -> Result<(JsValue, JsValue), StoreError> {
    let Some(check) = check else {
        return Ok((JsValue::NULL, JsValue::NULL));
    };
    let method = serde_json::to_value(check.method).map_err(|_| corrupt("method"))?;
    let secret = check.secret_hash.as_ref().map_or(JsValue::NULL, hash);
    Ok((text(method.as_str().unwrap_or_default()), secret))
}

impl WorkerStore<'_> {
    /// Appends to a batch that authenticates a client itself (`check`, a `ClientCheck`) the
    /// statement reading that client back, as client authentication reads it; returns the place
    /// of its result, for [`client_read_back`]. Nothing without a check.
    pub(super) fn read_client_back(
        &self,
        statements: &mut Vec<worker::D1PreparedStatement>,
        check: Option<&ClientCheck>,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<usize, StoreError> {
        let at = statements.len();
        if check.is_some() {
            statements.push(self.statement(CLIENT_SQL, &[text(client_id.as_str()), time(now)])?);
        }
        Ok(at)
    }
}

/// The client a batch read back at `index` ([`WorkerStore::read_client_back`]), unless unknown,
/// disabled or lapsed; `None` without a check. It came from the primary: later requests of this
/// isolate use it for 5 s.
pub(super) fn client_read_back(
    results: &[worker::D1Result],
    index: usize,
    check: Option<&ClientCheck>,
) -> Result<Option<ClientRecord>, StoreError> {
    if check.is_none() {
        return Ok(None);
    }
    let client = first_row::<ClientRow>(results, index)?
        .map(client_record)
        .transpose()?;
    if let Some(client) = &client {
        remember_client(client);
    }
    Ok(client)
}

/// Keeps a client the primary answered in this isolate's cache.
fn remember_client(client: &ClientRecord) {
    let entry = (client.clone(), now_ms());
    isolate_cache::insert(
        &CLIENT_CACHE,
        CLIENT_CACHE_ENTRIES,
        client.client_id.as_str().to_owned(),
        entry,
    );
}

impl WorkerStore<'_> {
    /// The client as D1 has it (`from` the primary or a replica), unless unknown, disabled or
    /// lapsed at `now`.
    async fn client_from_d1(
        &self,
        client_id: &ClientId,
        now: UnixTime,
        from: ReadFrom,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let sql = CLIENT_SQL;
        let row: Option<ClientRow> = self
            .read_statement(from, sql, &[text(client_id.as_str()), time(now)])?
            .first(None)
            .await
            .map_err(|e| failed(sql, e))?;
        row.map(client_record).transpose()
    }
}

/// How long an isolate reuses a client it read from D1: a client disabled in another isolate
/// can still authenticate here for this long (its grants are revoked at once all the same).
const CLIENT_CACHE_MS: f64 = 5_000.0;

/// Bounds the per-isolate client cache; an isolate that sees this many clients starts over.
const CLIENT_CACHE_ENTRIES: usize = 10_000;

thread_local! {
    /// client id → (client, read at, in ms). Saves the token endpoint a D1 round trip.
    static CLIENT_CACHE: std::cell::RefCell<std::collections::HashMap<String, (ClientRecord, f64)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// How often an isolate may read the list of untagged client ids again because an id it does not
/// list was presented: made-up untagged ids cost at most one D1 query per second per isolate,
/// and a client the operator inserts is usable within a second.
const UNTAGGED_CLIENTS_RELOAD_MS: f64 = 1_000.0;

/// The most untagged client ids an isolate keeps. A deployment with more looks every untagged id
/// up in D1, as before tags.
const UNTAGGED_CLIENTS_MAX: usize = 10_000;

/// The ids of the clients whose ids carry no tag, as this isolate last read them.
struct UntaggedClients {
    /// `None` when there were more than [`UNTAGGED_CLIENTS_MAX`], or while the isolate's first
    /// read runs: every untagged id is then looked up.
    ids: Option<std::collections::HashSet<String>>,
    /// When the last read started, in ms.
    read_at: f64,
}

thread_local! {
    static UNTAGGED_CLIENTS: std::cell::RefCell<Option<UntaggedClients>> =
        const { std::cell::RefCell::new(None) };
}

#[derive(Deserialize)]
struct ClientIdRow {
    client_id: String,
}

impl WorkerStore<'_> {
    /// Whether this isolate's list has `client_id`: `Some(true)` or `Some(false)` if the list can
    /// answer (a miss only if it was read within the last second), `None` if it must be read.
    fn untagged_listed(client_id: &ClientId, now: f64) -> Option<bool> {
        UNTAGGED_CLIENTS.with_borrow(|list| {
            let list = list.as_ref()?;
            match &list.ids {
                None => Some(true),
                Some(ids) if ids.contains(client_id.as_str()) => Some(true),
                Some(_) if now - list.read_at < UNTAGGED_CLIENTS_RELOAD_MS => Some(false),
                Some(_) => None,
            }
        })
    }
}

impl ClientStore for WorkerStore<'_> {
    async fn insert_client(
        &self,
        client: &ClientRecord,
        registered_from: &str,
        event: &gatehouse_core::model::audit::AuditEvent,
        limit: RegistrationLimit,
    ) -> Result<bool, StoreError> {
        let metadata = serde_json::to_string(&client.metadata).map_err(|_| corrupt("client"))?;
        let method = serde_json::to_value(client.metadata.token_endpoint_auth_method)
            .map_err(|_| corrupt("client"))?;
        // The count and the insert are one statement, so racing registrations cannot pass the
        // limit; the audit row follows only a stored client (its id is new).
        let insert = self.statement(
            "INSERT INTO clients (client_id, source, secret_hash, token_endpoint_auth_method, metadata, \
             registered_from, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
             WHERE (SELECT COUNT(*) FROM clients WHERE registered_from = ?6 AND created_at >= ?9) < ?10",
            &[
                text(client.client_id.as_str()),
                text(client.source.as_str()),
                client.secret_hash.as_ref().map_or(JsValue::NULL, hash),
                text(method.as_str().unwrap_or_default()),
                text(&metadata),
                text(registered_from),
                time(client.created_at),
                client.expires_at.map_or(JsValue::NULL, time),
                time(limit.since),
                JsValue::from_f64(limit.max as f64),
            ],
        )?;
        let audit =
            self.audit_insert_for_new_client(event, client.created_at, &client.client_id)?;
        let results = self.batch(vec![insert, audit]).await?;
        Ok(changes(results.first()) > 0)
    }

    async fn client(
        &self,
        client_id: &ClientId,
        now: UnixTime,
        from: ReadFrom,
    ) -> Result<Option<ClientRecord>, StoreError> {
        // The cache holds only what the primary answered, so a read that must be as current as
        // the primary never gets a replica's older record from it; a replica's read may use it
        // (it is no older than the replica).
        if let Some(client) = self.cached_client(client_id, now) {
            return Ok(Some(client));
        }
        let client = self.client_from_d1(client_id, now, from).await?;
        // Only clients that exist are kept: ids an attacker makes up cannot fill the cache.
        if let Some(client) = client.as_ref().filter(|_| from == ReadFrom::Primary) {
            remember_client(client);
        }
        Ok(client)
    }

    fn cached_client(&self, client_id: &ClientId, now: UnixTime) -> Option<ClientRecord> {
        let cached = CLIENT_CACHE.with_borrow(|cache| {
            cache
                .get(client_id.as_str())
                .filter(|(_, at)| now_ms() - at < CLIENT_CACHE_MS)
                .map(|(client, _)| client.clone())
        });
        cached.filter(|c| c.expires_at.is_none_or(|at| now < at))
    }

    async fn untagged_client_may_exist(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let started = now_ms();
        if let Some(listed) = Self::untagged_listed(client_id, started) {
            return Ok(listed);
        }
        // The read counts from its start, so that requests arriving while it runs do not each
        // start another: they use the list read before, or, during an isolate's first read,
        // look their id up.
        let first = UNTAGGED_CLIENTS.with_borrow_mut(|list| match list {
            Some(list) => {
                list.read_at = started;
                false
            }
            None => {
                *list = Some(UntaggedClients {
                    ids: None,
                    read_at: started,
                });
                true
            }
        });
        let sql = format!(
            "SELECT client_id FROM clients WHERE source IN ('dynamic', 'static') \
             AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > ?1) \
             AND NOT {} AND client_id NOT LIKE '%://%' LIMIT ?2",
            gatehouse_core::tag::sql_is_tagged("client_id")
        );
        let sql = sql.as_str();
        let read = async {
            self.statement(
                sql,
                &[
                    time(now),
                    JsValue::from_f64((UNTAGGED_CLIENTS_MAX + 1) as f64),
                ],
            )?
            .all()
            .await
            .map_err(|e| failed(sql, e))?
            .results::<ClientIdRow>()
            .map_err(|e| failed(sql, e))
        };
        let rows = match read.await {
            Ok(rows) => rows,
            Err(e) => {
                // A failed first read leaves no list behind, so the next request reads again.
                if first {
                    UNTAGGED_CLIENTS.with_borrow_mut(|list| *list = None);
                }
                return Err(e);
            }
        };
        let ids = (rows.len() <= UNTAGGED_CLIENTS_MAX)
            .then(|| rows.into_iter().map(|row| row.client_id).collect());
        let listed = ids
            .as_ref()
            .is_none_or(|ids: &std::collections::HashSet<String>| ids.contains(client_id.as_str()));
        UNTAGGED_CLIENTS.with_borrow_mut(|list| {
            *list = Some(UntaggedClients {
                ids,
                read_at: started,
            })
        });
        Ok(listed)
    }

    async fn mark_client_used(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        CLIENT_CACHE.with_borrow_mut(|cache| {
            if let Some((client, _)) = cache.get_mut(client_id.as_str()) {
                client.expires_at = None;
            }
        });
        self.run(
            "UPDATE clients SET expires_at = NULL, last_used_at = ?2 WHERE client_id = ?1",
            &[text(client_id.as_str()), time(now)],
        )
        .await
    }

    async fn disable_client(&self, client_id: &ClientId, now: UnixTime) -> Result<(), StoreError> {
        CLIENT_CACHE.with_borrow_mut(|cache| cache.remove(client_id.as_str()));
        self.run(
            "UPDATE clients SET disabled_at = ?2 WHERE client_id = ?1 AND disabled_at IS NULL",
            &[text(client_id.as_str()), time(now)],
        )
        .await
    }

    async fn enable_client(&self, client_id: &ClientId) -> Result<(), StoreError> {
        CLIENT_CACHE.with_borrow_mut(|cache| cache.remove(client_id.as_str()));
        self.run(
            "UPDATE clients SET disabled_at = NULL WHERE client_id = ?1",
            &[text(client_id.as_str())],
        )
        .await
    }

    async fn clients_in_use(&self, limit: u32) -> Result<Vec<ClientUse>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            client_id: String,
            client_name: Option<String>,
            source: String,
            created_at: f64,
            last_used_at: Option<f64>,
            disabled_at: Option<f64>,
            people: f64,
            live_grants: f64,
        }
        // The per-client counts read `grants_by_client` (client_id, revoked_at).
        let sql = "SELECT c.client_id, json_extract(c.metadata, '$.client_name') AS client_name, \
             c.source, c.created_at, c.disabled_at, \
             (SELECT MAX(g.last_used_at) FROM grants g WHERE g.client_id = c.client_id) AS last_used_at, \
             (SELECT COUNT(DISTINCT g.subject) FROM grants g WHERE g.client_id = c.client_id AND g.revoked_at IS NULL) AS people, \
             (SELECT COUNT(*) FROM grants g WHERE g.client_id = c.client_id AND g.revoked_at IS NULL) AS live_grants \
             FROM clients c ORDER BY COALESCE(last_used_at, c.created_at) DESC, c.client_id LIMIT ?1";
        let rows: Vec<Row> = self.all(sql, &[JsValue::from(limit)], sql).await?;
        Ok(rows
            .into_iter()
            .map(|row| ClientUse {
                client_id: row.client_id,
                client_name: row.client_name,
                source: row.source,
                created_at: secs(row.created_at).0,
                last_used_at: row.last_used_at.map(|t| secs(t).0),
                disabled_at: row.disabled_at.map(|t| secs(t).0),
                people: row.people as u64,
                live_grants: row.live_grants as u64,
            })
            .collect())
    }
}
