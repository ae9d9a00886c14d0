//! The core's storage traits on D1, and the edge denylist on KV. Every statement is parameterised; the atomic steps the
//! traits promise (single-use codes, refresh rotation) are single statements or D1 batches,
//! which run as one transaction.

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::login_throttle::{self, LoginHistory};
use gatehouse_core::migration::{HELD_PREFIX, Held, HeldWrite, HeldWrites};
use gatehouse_core::oidc::state::{StateRecord, StateUse};
use gatehouse_core::registration::ClientMetadata;
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::{ClientId, Scopes};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;
use worker::kv::KvStore;

use crate::bindings::Bindings;
use crate::isolate_cache;

mod cimd;
mod device;

/// The core's `Store` on the Worker's bindings: D1 for records, KV for the edge denylist, the
/// `revocations` Queue for revocation commands.
pub struct WorkerStore<'a> {
    bindings: &'a Bindings<'a>,
}

impl<'a> WorkerStore<'a> {
    pub fn new(bindings: &'a Bindings<'a>) -> Self {
        Self { bindings }
    }

    fn kv(&self) -> Result<&KvStore, StoreError> {
        self.bindings.kv()
    }

    fn statement(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        let db = self.bindings.db()?;
        db.prepare(sql).bind(args).map_err(|e| failed(sql, e))
    }

    async fn run(&self, sql: &str, args: &[JsValue]) -> Result<(), StoreError> {
        self.statement(sql, args)?
            .run()
            .await
            .map_err(|e| failed(sql, e))?;
        Ok(())
    }

    async fn first<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> Result<Option<T>, StoreError> {
        self.statement(sql, args)?
            .first::<T>(None)
            .await
            .map_err(|e| failed(sql, e))
    }

    async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<worker::D1Result>, StoreError> {
        self.bindings
            .db()?
            .batch(statements)
            .await
            .map_err(|e| failed("batch", e))
    }
}

/// The start of the statement appending an audit event, as a literal for `concat!`.
macro_rules! audit_insert {
    () => {
        "INSERT INTO audit_events (at, kind, subject, client_id, app, grant_id, source_ip, detail)"
    };
}

/// The start of the statement reading grants with their person ([`GrantRow`]), as a literal
/// for `concat!`.
macro_rules! select_grant {
    () => {
        "SELECT g.grant_id, g.subject, p.email, p.groups, g.client_id, g.app, g.scope, g.redirect_uri, \
         g.created_at, g.revoked_at, g.revoked_reason, g.revocation_settled_at \
         FROM grants g JOIN people p ON p.subject = g.subject"
    };
}

/// The first row the `index`th statement of a batch returned.
fn first_row<T: for<'de> Deserialize<'de>>(
    results: &[worker::D1Result],
    index: usize,
) -> Result<Option<T>, StoreError> {
    let Some(result) = results.get(index) else {
        return Ok(None);
    };
    let rows: Vec<T> = result.results().map_err(|e| failed("batch", e))?;
    Ok(rows.into_iter().next())
}

/// The isolate's clock in milliseconds, for its caches.
fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

/// The rows a statement of a batch changed.
fn changes(result: Option<&worker::D1Result>) -> usize {
    result
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

fn failed(sql: &str, error: worker::Error) -> StoreError {
    let statement = sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    StoreError(format!("D1 binding `DB`: {statement}…: {error}"))
}

fn time(t: UnixTime) -> JsValue {
    JsValue::from_f64(t.0 as f64)
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn hash(h: &SecretHash) -> JsValue {
    JsValue::from_str(h.as_hex())
}

fn secs(value: f64) -> UnixTime {
    UnixTime(value as u64)
}

fn stored_hash(hex: &str) -> Result<SecretHash, StoreError> {
    SecretHash::from_hex(hex).map_err(|_| corrupt("hash"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError(format!("D1 binding `DB`: a stored {what} does not parse"))
}

#[derive(Deserialize)]
struct ClientRow {
    client_id: String,
    secret_hash: Option<String>,
    metadata: String,
    created_at: f64,
    expires_at: Option<f64>,
}

impl WorkerStore<'_> {
    /// The client as D1 has it, unless unknown, disabled or lapsed at `now`.
    async fn client_from_d1(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let row: Option<ClientRow> = self
            .first(
                "SELECT client_id, secret_hash, metadata, created_at, expires_at FROM clients \
                 WHERE client_id = ?1 AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
                &[text(client_id.as_str()), time(now)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let metadata: ClientMetadata =
            serde_json::from_str(&row.metadata).map_err(|_| corrupt("client"))?;
        Ok(Some(ClientRecord {
            client_id: ClientId::parse(&row.client_id).map_err(|_| corrupt("client id"))?,
            secret_hash: row.secret_hash.as_deref().map(stored_hash).transpose()?,
            metadata,
            source: ClientSource::Dynamic,
            created_at: secs(row.created_at),
            expires_at: row.expires_at.map(secs),
        }))
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
    ) -> Result<Option<ClientRecord>, StoreError> {
        let cached = CLIENT_CACHE.with_borrow(|cache| {
            cache
                .get(client_id.as_str())
                .filter(|(_, at)| now_ms() - at < CLIENT_CACHE_MS)
                .map(|(client, _)| client.clone())
        });
        if let Some(client) = cached.filter(|c| c.expires_at.is_none_or(|at| now < at)) {
            return Ok(Some(client));
        }
        let client = self.client_from_d1(client_id, now).await?;
        // Only clients that exist are kept: ids an attacker makes up cannot fill the cache.
        if let Some(client) = &client {
            let entry = (client.clone(), now_ms());
            isolate_cache::insert(
                &CLIENT_CACHE,
                CLIENT_CACHE_ENTRIES,
                client_id.as_str().to_owned(),
                entry,
            );
        }
        Ok(client)
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
        let rows: Vec<Row> = self
            .statement(sql, &[JsValue::from(limit)])?
            .all()
            .await
            .map_err(|e| failed(sql, e))?
            .results()
            .map_err(|e| failed(sql, e))?;
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

#[derive(Deserialize)]
struct SessionRow {
    subject: String,
    email: String,
    groups: String,
    app: Option<String>,
    last_seen_at: f64,
    expires_at: f64,
}

/// The `people.groups` column: a JSON array of group names.
fn groups(json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|_| corrupt("groups"))
}

impl SessionStore for WorkerStore<'_> {
    async fn people_in_use(&self, limit: u32, now: UnixTime) -> Result<Vec<PersonUse>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            subject: String,
            email: String,
            sessions: f64,
            last_seen_at: Option<f64>,
            live_grants: f64,
        }
        // The per-person reads use `sessions_by_subject` and `grants_by_subject`.
        let sql = "SELECT p.subject, p.email, \
             (SELECT COUNT(*) FROM sessions s WHERE s.subject = p.subject AND s.revoked_at IS NULL AND s.expires_at > ?2) AS sessions, \
             (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.subject = p.subject) AS last_seen_at, \
             (SELECT COUNT(*) FROM grants g WHERE g.subject = p.subject AND g.revoked_at IS NULL) AS live_grants \
             FROM people p ORDER BY COALESCE(last_seen_at, p.last_login_at, p.created_at) DESC, p.subject LIMIT ?1";
        let rows: Vec<Row> = self
            .statement(sql, &[JsValue::from(limit), time(now)])?
            .all()
            .await
            .map_err(|e| failed(sql, e))?
            .results()
            .map_err(|e| failed(sql, e))?;
        Ok(rows
            .into_iter()
            .map(|row| PersonUse {
                subject: row.subject,
                email: row.email,
                sessions: row.sessions as u64,
                last_seen_at: row.last_seen_at.map(|t| secs(t).0),
                live_grants: row.live_grants as u64,
            })
            .collect())
    }

    async fn insert_session(
        &self,
        session: &SessionRecord,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let person = &session.person;
        let groups_json = serde_json::to_string(&person.groups).map_err(|_| corrupt("groups"))?;
        self.batch(vec![
            self.statement(
                "INSERT INTO people (subject, email, groups, created_at, last_login_at) VALUES (?1, ?2, ?3, ?4, ?4) \
                 ON CONFLICT (subject) DO UPDATE SET email = excluded.email, groups = excluded.groups, \
                 last_login_at = excluded.last_login_at",
                &[text(&person.subject), text(&person.email), text(&groups_json), time(now)],
            )?,
            self.statement(
                "INSERT INTO sessions (session_hash, subject, app, created_at, last_seen_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    hash(&session.session_hash),
                    text(&person.subject),
                    text(&session.app),
                    time(now),
                    time(session.last_seen_at),
                    time(session.expires_at),
                ],
            )?,
        ])
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = self
            .first(
                "SELECT p.subject, p.email, p.groups, s.app, s.last_seen_at, s.expires_at \
                 FROM sessions s JOIN people p ON p.subject = s.subject \
                 WHERE s.session_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2",
                &[hash(session_hash), time(now)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            session_hash: session_hash.clone(),
            person: Person {
                subject: row.subject,
                email: row.email,
                groups: groups(&row.groups)?,
            },
            app: row.app.unwrap_or_default(),
            last_seen_at: secs(row.last_seen_at),
            expires_at: secs(row.expires_at),
        }))
    }

    async fn touch_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET last_seen_at = ?2 WHERE session_hash = ?1",
            &[hash(session_hash), time(now)],
        )
        .await
    }

    async fn revoke_sessions_of(&self, subject: &str, now: UnixTime) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET revoked_at = ?2 WHERE subject = ?1 AND revoked_at IS NULL",
            &[text(subject), time(now)],
        )
        .await
    }

    async fn revoke_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET revoked_at = ?2 WHERE session_hash = ?1 AND revoked_at IS NULL",
            &[hash(session_hash), time(now)],
        )
        .await
    }
}

fn scopes(text: &str) -> Result<Scopes, StoreError> {
    Scopes::parse(text).map_err(|_| corrupt("scope"))
}

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

#[derive(Deserialize)]
struct GrantRow {
    grant_id: String,
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

fn grant_record(row: GrantRow) -> Result<GrantRecord, StoreError> {
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
            .statement(
                "SELECT g.grant_id, g.client_id, json_extract(c.metadata, '$.client_name') AS client_name, \
                 g.redirect_uri, g.scope, g.created_at, g.last_used_at \
                 FROM grants g LEFT JOIN clients c ON c.client_id = g.client_id \
                 WHERE g.subject = ?1 AND g.app = ?2 AND g.revoked_at IS NULL \
                 ORDER BY g.created_at DESC, g.grant_id LIMIT 500",
                &[text(subject), text(app)],
            )?
            .all()
            .await
            .map_err(|e| failed("SELECT grants", e))?
            .results()
            .map_err(|e| failed("SELECT grants", e))?;
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
            .statement(
                concat!(
                    select_grant!(),
                    " WHERE (?1 IS NULL OR g.app = ?1) AND (?2 IS NULL OR g.subject = ?2) AND (?3 IS NULL OR g.client_id = ?3) \
                     ORDER BY g.created_at DESC, g.grant_id LIMIT 500"
                ),
                &[optional(app), optional(subject), optional(client_id.map(ClientId::as_str))],
            )?
            .all()
            .await
            .map_err(|e| failed("SELECT grants", e))?
            .results()
            .map_err(|e| failed("SELECT grants", e))?;
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
            // Retire the old token if it is still live, then store the successor only if this
            // retirement named it. A racing caller computed the same successor, so its insert
            // is the same row and is ignored.
            RefreshWrite::Rotate { old, successor } => vec![
                self.statement(
                    "UPDATE refresh_tokens SET rotated_at = ?3, successor_hash = ?2 \
                     WHERE token_hash = ?1 AND rotated_at IS NULL",
                    &[hash(old), hash(&successor.token_hash), time(now)],
                )?,
                self.statement(
                    "INSERT OR IGNORE INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at) \
                     SELECT ?2, grant_id, ?3, ?4 FROM refresh_tokens WHERE token_hash = ?1 AND successor_hash = ?2",
                    &[hash(old), hash(&successor.token_hash), time(now), time(successor.expires_at)],
                )?,
            ],
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

impl Denylist for WorkerStore<'_> {
    async fn deny_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        until: UnixTime,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        DENYLIST_CACHE
            .with_borrow_mut(|cache| cache.insert(grant_id.as_str().to_owned(), (true, 0.0)));
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

fn kv_failed(operation: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError(format!("KV binding `KV`: {operation}: {error}"))
}

/// Held writes live in KV under `held:…` without expiry until the drain releases them.
impl HeldWrites for WorkerStore<'_> {
    async fn hold(&self, held: &Held) -> Result<(), StoreError> {
        let value = serde_json::to_string(held).map_err(|e| kv_failed("held put", e))?;
        self.kv()?
            .put(&held.write.key(), value)
            .map_err(|e| kv_failed("held put", e))?
            .execute()
            .await
            .map_err(|e| kv_failed("held put", e))
    }

    async fn held(&self, limit: u32) -> Result<Vec<Held>, StoreError> {
        let listed = self
            .kv()?
            .list()
            .prefix(HELD_PREFIX.to_owned())
            .limit(u64::from(limit))
            .execute()
            .await
            .map_err(|e| kv_failed("held list", e))?;
        let mut writes = Vec::with_capacity(listed.keys.len());
        for key in listed.keys {
            let value = self
                .kv()?
                .get(&key.name)
                .text()
                .await
                .map_err(|e| kv_failed("held get", e))?;
            // A key listed but gone was released by a concurrent drain.
            let Some(value) = value else { continue };
            match serde_json::from_str(&value) {
                Ok(write) => writes.push(write),
                Err(e) => worker::console_error!("held write {} does not parse: {e}", key.name),
            }
        }
        Ok(writes)
    }

    async fn release(&self, write: &HeldWrite) -> Result<(), StoreError> {
        self.kv()?
            .delete(&write.key())
            .await
            .map_err(|e| kv_failed("held delete", e))
    }

    async fn is_held(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .kv()?
            .get(key)
            .text()
            .await
            .map_err(|e| kv_failed("held get", e))?
            .is_some())
    }
}

impl RevocationQueue for WorkerStore<'_> {
    async fn enqueue(
        &self,
        message: &gatehouse_core::model::queue::QueueMessage,
    ) -> Result<(), StoreError> {
        self.bindings
            .queue()?
            .send(message)
            .await
            .map_err(|e| StoreError(format!("Queue binding `REVOCATIONS`: send: {e}")))
    }
}

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
    fn audit_insert(
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
    fn audit_insert_for_new_client(
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
        let rows: Vec<AuditRow> = self
            .statement(&sql, &args)?
            .all()
            .await
            .map_err(|e| failed("SELECT audit_events", e))?
            .results()
            .map_err(|e| failed("SELECT audit_events", e))?;
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

#[derive(Deserialize)]
struct OidcStateRow {
    binding_hash: String,
    provider: String,
    app: String,
    return_to: String,
    expires_at: f64,
}

impl LoginAttempts for WorkerStore<'_> {
    async fn start_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> Result<Result<u64, LoginHistory>, StoreError> {
        #[derive(Deserialize)]
        struct Started {
            id: f64,
        }
        #[derive(Deserialize)]
        struct Row {
            account_failures: f64,
            account_oldest: Option<f64>,
            source_failures: f64,
            source_oldest: Option<f64>,
            source_known: f64,
        }
        let since = login_throttle::window_start(attempt.at);
        let known_since = login_throttle::known_since(attempt.at);
        let args = [
            hash(attempt.account),
            text(attempt.source),
            time(attempt.at),
            time(since),
            time(known_since),
            JsValue::from_f64(login_throttle::MAX_FAILURES_PER_SOURCE as f64),
            JsValue::from_f64(login_throttle::MAX_FAILURES_PER_ACCOUNT as f64),
        ];
        // One batch, one transaction: forget what no bound reads, insert the attempt as a
        // failure only if login_throttle::judge would allow it (the same condition, in SQL),
        // and read the history for the Retry-After of a refusal. Each count is an index range.
        let results = self
            .batch(vec![
                self.statement(
                    "DELETE FROM login_attempts WHERE (succeeded = 0 AND at <= ?1) OR (succeeded = 1 AND at <= ?2)",
                    &[time(since), time(known_since)],
                )?,
                self.statement(
                    "INSERT INTO login_attempts (account_hash, source, succeeded, at) SELECT ?1, ?2, 0, ?3 \
                     WHERE (SELECT COUNT(*) FROM login_attempts WHERE source = ?2 AND succeeded = 0 AND at > ?4) < ?6 \
                     AND ((SELECT COUNT(*) FROM login_attempts WHERE account_hash = ?1 AND succeeded = 0 AND at > ?4) < ?7 \
                     OR EXISTS (SELECT 1 FROM login_attempts WHERE account_hash = ?1 AND succeeded = 1 AND source = ?2 AND at > ?5)) \
                     RETURNING id",
                    &args,
                )?,
                self.statement(
                    "SELECT \
                     (SELECT COUNT(*) FROM login_attempts WHERE account_hash = ?1 AND succeeded = 0 AND at > ?3) AS account_failures, \
                     (SELECT MIN(at) FROM login_attempts WHERE account_hash = ?1 AND succeeded = 0 AND at > ?3) AS account_oldest, \
                     (SELECT COUNT(*) FROM login_attempts WHERE source = ?2 AND succeeded = 0 AND at > ?3) AS source_failures, \
                     (SELECT MIN(at) FROM login_attempts WHERE source = ?2 AND succeeded = 0 AND at > ?3) AS source_oldest, \
                     EXISTS (SELECT 1 FROM login_attempts WHERE account_hash = ?1 AND succeeded = 1 AND source = ?2 AND at > ?4) AS source_known",
                    &[hash(attempt.account), text(attempt.source), time(since), time(known_since)],
                )?,
            ])
            .await?;
        if let Some(started) = first_row::<Started>(&results, 1)? {
            return Ok(Ok(started.id as u64));
        }
        let history =
            first_row::<Row>(&results, 2)?.map_or_else(LoginHistory::default, |r| LoginHistory {
                account_failures: r.account_failures as u64,
                account_oldest: r.account_oldest.map(secs),
                source_failures: r.source_failures as u64,
                source_oldest: r.source_oldest.map(secs),
                source_known: r.source_known > 0.0,
            });
        Ok(Err(history))
    }

    async fn login_attempt_succeeded(&self, id: u64) -> Result<(), StoreError> {
        self.run(
            "UPDATE login_attempts SET succeeded = 1 WHERE id = ?1",
            &[JsValue::from_f64(id as f64)],
        )
        .await
    }
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
