//! Refresh tokens.

use crate::grant_id::GrantId;
use crate::model::client::ClientRecord;
use crate::model::grant::GrantRecord;
use crate::model::refresh::RefreshRecord;
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::{ClientId, Scopes};

use super::client::ClientCheck;
use super::error::StoreError;

/// Refresh tokens.
#[allow(async_fn_in_trait)]
pub trait RefreshStore {
    /// The token with this hash, live or rotated.
    async fn refresh(&self, token_hash: &SecretHash) -> Result<Option<RefreshRecord>, StoreError>;
    /// The token with this hash and its grant, read together; `None` when either is unknown.
    async fn refresh_with_grant(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, GrantRecord)>, StoreError>;
    /// One refresh's storage in one transaction (one round trip), each step conditioned on the
    /// ones before (D1: one batch):
    ///
    /// 1. **rotate**, a compare-and-swap: if `presented` is live, unexpired at `now`, of
    ///    `grant_id`, and that grant is not revoked, is `client_id`'s, is for `app`, and holds
    ///    every scope of `narrowed`, mark it rotated at `now` into `successor`;
    /// 2. **store the successor**, if the presented token now names it and the grant is still
    ///    as step 1 wants it (a racing call computed the same successor: one row);
    /// 3. **record the issuance** (the audit event, [`Rotation::issued_event`], and the grant's
    ///    last use) if, and only if, the presented token was rotated, by this call or a racing or
    ///    earlier one, into one of `answers` at most `retry_window_secs` before `now`, that
    ///    successor is live, and the grant is as step 1 wants it;
    /// 4. **read** the presented token and its grant as the transaction left them.
    ///
    /// With [`Rotation::check_client`] (a client this isolate has not authenticated lately,
    /// [`crate::client_auth::Deferred`]), the transaction authenticates it as well: steps 1–3
    /// are conditioned also on `client_id` being a client that exists, is not disabled, has not
    /// lapsed at `now`, registered the `refresh_token` grant type, registered
    /// [`ClientCheck::method`] as its `token_endpoint_auth_method` and, for a secret method,
    /// stores [`ClientCheck::secret_hash`] as its secret's hash; and a 5th step reads that
    /// client back ([`Rotated::client`]), unless unknown, disabled or lapsed. A client refused
    /// by these conditions rotates nothing, stores nothing and records nothing.
    ///
    /// Tokens may be sent only when step 3 recorded the issuance ([`Rotated::issued`]): no
    /// answered token lacks its audit event, and none is sent that is not stored.
    async fn rotate_refresh(&self, rotation: &Rotation<'_>) -> Result<Rotated, StoreError>;
}

/// What one refresh asks of storage ([`RefreshStore::rotate_refresh`]).
#[derive(Clone, Copy, Debug)]
pub struct Rotation<'a> {
    /// The presented token's hash.
    pub presented: &'a SecretHash,
    /// The grant the presented token names.
    pub grant_id: &'a GrantId,
    /// The authenticated client: the grant must be its (RFC 6749 §6).
    pub client_id: &'a ClientId,
    /// The app served here: the grant must be for it.
    pub app: &'a str,
    /// The scopes asked for (RFC 6749 §6), which the grant must hold; `None`: the grant's.
    pub narrowed: Option<&'a Scopes>,
    /// The successor, stored if this call rotates the presented token.
    pub successor: &'a RefreshRecord,
    /// The successors a repeated refresh may receive: this call's first, then those made
    /// under the previous server secret or by the previous build.
    pub answers: &'a [SecretHash],
    /// How long after a rotation a repeated refresh still receives its successor.
    pub retry_window_secs: u64,
    /// The issuance's audit event, without its subject and scope ([`Self::issued_event`]).
    pub event: &'a crate::model::audit::AuditEvent,
    /// When.
    pub now: UnixTime,
    /// The client to authenticate in the transaction; `None`: authenticated before it.
    pub check_client: Option<&'a ClientCheck>,
}

impl Rotation<'_> {
    /// The audit event recorded under `grant`: [`Self::event`] naming the grant's person, with
    /// the scopes issued (`narrowed`, else the grant's) as `scope` in its detail.
    pub fn issued_event(&self, grant: &GrantRecord) -> crate::model::audit::AuditEvent {
        let mut event = self.event.clone();
        event.subject = Some(grant.person.subject.clone());
        let scope = self.narrowed.unwrap_or(&grant.scopes).to_string();
        if let Some(detail) = event.detail.as_object_mut() {
            detail.insert("scope".into(), scope.into());
        }
        event
    }
}

/// What [`RefreshStore::rotate_refresh`] did and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotated {
    /// Whether the issuance was recorded: only then may tokens be sent.
    pub issued: bool,
    /// The presented token and its grant after the transaction; `None` when either is unknown.
    pub found: Option<(RefreshRecord, GrantRecord)>,
    /// With [`Rotation::check_client`]: the client as the transaction read it, unless unknown,
    /// disabled or lapsed at `now`. Without: `None`.
    pub client: Option<ClientRecord>,
}
