//! The core's storage traits on the Worker's bindings: one file per trait under `store/` (D1 for
//! records, KV for the edge denylist, held writes and metadata documents, the Queue for
//! revocations); here only [`WorkerStore`] and the helpers they share. Every statement is
//! parameterised; the atomic steps the traits promise (single-use codes, refresh rotation) are
//! single statements or D1 batches, which run as one transaction.

use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::Scopes;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;
use worker::kv::KvStore;

use crate::bindings::Bindings;

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

    /// A read statement sent `from` a replica or the primary, through the request's session
    /// ([`Bindings::read_session`]).
    fn read_statement(
        &self,
        from: ReadFrom,
        sql: &str,
        args: &[JsValue],
    ) -> Result<D1PreparedStatement, StoreError> {
        let session = self.bindings.read_session(from)?;
        session.prepare(sql).bind(args).map_err(|e| failed(sql, e))
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

    /// Every row of one statement; `what` names it in the error.
    async fn all<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        args: &[JsValue],
        what: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.statement(sql, args)?
            .all()
            .await
            .map_err(|e| failed(what, e))?
            .results()
            .map_err(|e| failed(what, e))
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

/// A condition on a client the statement authenticates itself (`ClientCheck`, a
/// `client_auth::Deferred`), as a literal for `concat!`, over the statement's parameters
/// `$client` (its id), `$now`, `$method` and `$secret`: with `$method` NULL (the client was
/// authenticated before the statement), true; otherwise client authentication's checks
/// (`client_auth::authenticate`): the client exists, is not disabled, has not lapsed at `$now`,
/// registered `$method` as its method and `$grant_type` (if given) among its grant types, both
/// read from the metadata JSON Rust reads them from (`ClientMetadata`), so that SQL and Rust
/// judge the same values; and for a secret method, the stored secret_hash equals `$secret`, the
/// SHA-256 of the presented secret.
///
/// SQL's `=` on two hex digests is not constant time, and need not be: how long it takes can
/// tell at most how many leading digits of the stored digest equal those of SHA-256(a secret the
/// caller chose). Learning the stored digest that way does not authenticate anyone (a presented
/// secret is hashed, so the digest itself is no credential), and finding a secret whose digest
/// matches it is a SHA-256 preimage of a 256-bit random secret's hash. Rust compares the same
/// digests in constant time (`client_auth::check_secret`) for the cached path.
macro_rules! deferred_client {
    ($client:literal, $now:literal, $method:literal, $secret:literal $(, $grant_type:literal)?) => {
        concat!(
            "(", $method, " IS NULL OR EXISTS (SELECT 1 FROM clients cl WHERE cl.client_id = ", $client,
            " AND cl.disabled_at IS NULL AND (cl.expires_at IS NULL OR cl.expires_at > ", $now, ")",
            " AND json_extract(cl.metadata, '$.token_endpoint_auth_method') = ", $method,
            $(" AND EXISTS (SELECT 1 FROM json_each(cl.metadata, '$.grant_types') t WHERE t.value = '",
            $grant_type, "')",)?
            " AND (", $method, " = 'none' OR cl.secret_hash = ", $secret, ")))"
        )
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

fn scopes(text: &str) -> Result<Scopes, StoreError> {
    Scopes::parse(text).map_err(|_| corrupt("scope"))
}

fn kv_failed(operation: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError(format!("KV binding `KV`: {operation}: {error}"))
}

// After the helpers and macros above, which every binding concern uses.
mod audit;
mod cimd;
mod client;
mod code;
mod consent;
pub(crate) mod denylist;
mod device;
mod grant;
mod held;
mod login;
mod oidc_state;
mod queue;
mod refresh;
mod retention;
mod session;
