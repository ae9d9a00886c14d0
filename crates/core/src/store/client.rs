//! Clients (RFC 7591 registrations; operator-inserted clients).

use crate::model::client::{AuthMethod, ClientRecord, ClientUse};
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::ClientId;

use super::error::StoreError;
use super::replica::ReadFrom;

/// At most `max` registrations from one network since `since`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationLimit {
    /// Registrations allowed in the window.
    pub max: u64,
    /// The start of the window.
    pub since: UnixTime,
}

/// What a transaction requires of a client it authenticates itself
/// ([`crate::client_auth::Deferred`]: one this isolate has not authenticated lately): the client
/// exists, is not disabled, has not lapsed, registered [`Self::method`] and, for a secret method,
/// stores [`Self::secret_hash`]. The transaction also reads the client back, for Rust to check
/// it the same way ([`crate::client_auth::Deferred::settle`]). Asked by
/// [`super::RefreshStore::rotate_refresh`] and [`super::CodeStore::exchange_code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCheck {
    /// The method the client presented: its registered `token_endpoint_auth_method` must be
    /// this one ([`AuthMethod::None`], `client_secret_basic` or `client_secret_post`).
    pub method: AuthMethod,
    /// For a secret method, the hash of the presented secret: the stored `secret_hash` must
    /// equal it. `None` for [`AuthMethod::None`].
    pub secret_hash: Option<SecretHash>,
}

/// Clients (RFC 7591 registrations).
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait ClientStore {
    /// Stores a new client, recording the network it registered from, and the audit event of
    /// its registration, in one round trip, unless that network has already registered
    /// `limit.max` clients since `limit.since`. Counting and inserting are one atomic step, so
    /// racing registrations cannot exceed the limit. Returns whether the client was stored.
    async fn insert_client(
        &self,
        client: &ClientRecord,
        registered_from: &str,
        event: &crate::model::audit::AuditEvent,
        limit: RegistrationLimit,
    ) -> Result<bool, StoreError>;
    /// The client, unless unknown, disabled or lapsed at `now`, read `from` the primary or a
    /// replica that may lag it (a replica's `None` may mean the client is too new for it: callers
    /// go through [`super::Freshness::read`], which asks the primary then).
    async fn client(
        &self,
        client_id: &ClientId,
        now: UnixTime,
        from: ReadFrom,
    ) -> Result<Option<ClientRecord>, StoreError>;
    /// The client as this isolate holds it from a recent read of the primary, if it does, unless
    /// lapsed at `now`; no round trip. The Worker keeps what the primary answered for 5 s
    /// ([`ClientStore::client`]); `None` means "read it", never "unknown".
    fn cached_client(&self, client_id: &ClientId, now: UnixTime) -> Option<ClientRecord>;
    /// Whether a client whose id carries no tag ([`crate::tag::is_tagged`] is false; not a URL)
    /// may exist: one registered before client ids were tagged, or one the operator inserted
    /// (`source = 'static'`). Only when it may is the client looked up (`crate::identifiers`).
    /// A `true` need not be exact; a `false` must be, except that an id added in the last
    /// second may be missed. The Worker answers from a per-isolate list of such ids, read again
    /// at most once a second, so that made-up ids cost no round trip each.
    async fn untagged_client_may_exist(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Marks the client used: it no longer lapses.
    async fn mark_client_used(&self, client_id: &ClientId, now: UnixTime)
    -> Result<(), StoreError>;
    /// Disables the client for good (idempotent): [`ClientStore::client`] no longer finds it.
    async fn disable_client(&self, client_id: &ClientId, now: UnixTime) -> Result<(), StoreError>;
    /// Lifts a disable (idempotent): the client is found again. Grants revoked when it was
    /// disabled stay revoked.
    async fn enable_client(&self, client_id: &ClientId) -> Result<(), StoreError>;
    /// The clients storage knows (registered, inserted by the operator, and metadata-document
    /// clients a person approved), most recently used first, at most `limit`, each with how
    /// many people and grants are live for it at every app, for the admin console.
    async fn clients_in_use(&self, limit: u32) -> Result<Vec<ClientUse>, StoreError>;
}
