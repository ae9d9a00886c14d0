//! Grants, and the one-round-trip write of a token issuance.

use crate::grant_id::GrantId;
use crate::model::grant::{GrantRecord, GrantSummary, RevocationReason};
use crate::model::refresh::RefreshRecord;
use crate::model::revocation::Revocation;
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::ClientId;

use super::client::ClientCheck;
use super::error::StoreError;

/// Grants.
#[allow(async_fn_in_trait)]
pub trait GrantStore {
    /// Stores a new grant.
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(), StoreError>;
    /// The grant, revoked or not.
    async fn grant(&self, grant_id: &GrantId) -> Result<Option<GrantRecord>, StoreError>;
    /// Revokes the grant (idempotent: a second call changes nothing) and every refresh token
    /// issued under it.
    async fn revoke_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// An RFC 7009 revocation of a refresh token that names its grant: steps 2–4 of
    /// [`crate::revocation`] in one transaction (one round trip; D1: one batch), every statement
    /// conditioned on the token being [`TokenRevocation::client_id`]'s (RFC 7009 §2.1) — the
    /// token `token_hash` exists, belongs to `revocation.grant_id`, whose client is `client_id`
    /// and app is `app`, and the token is live (unrotated and unexpired at `revocation.at`) or
    /// its grant is revoked already:
    ///
    /// 2. the grant revoked (kept as it was if it is already) and every refresh token of it;
    /// 3. the person's consent for the client at the app withdrawn, if given at or before the
    ///    grant's revocation;
    /// 4. the `grant_revoked` audit event under `revocation.audit_key()`, at the grant's
    ///    revocation time with its stored reason (else `revocation.reason`), from
    ///    `revocation.source`;
    ///
    /// 3 and 4 only while the revocation is not settled. Returns the grant as the transaction
    /// left it, or `None` when the condition does not hold (nothing is written then). Step 5
    /// (settle) is not part of it: the deny entry must come first ([`crate::revocation::Pending`]).
    ///
    /// With [`TokenRevocation::check_client`] (a client this isolate has not authenticated
    /// lately, [`crate::client_auth::Deferred`]), the condition also requires `client_id` to be a
    /// client as [`ClientCheck`] asks, and the transaction reads that client back
    /// ([`TokenRevoked::client`]), unless unknown, disabled or lapsed.
    async fn revoke_by_refresh_token(
        &self,
        request: &TokenRevocation<'_>,
    ) -> Result<TokenRevoked, StoreError>;
    /// Revoked grants whose revocation is not settled, longest revoked first, at most `limit`
    /// (D1: the partial index `grants_unsettled`), for the cron's sweep
    /// ([`crate::revocation::sweep`]).
    async fn unsettled_revocations(&self, limit: u32) -> Result<Vec<GrantRecord>, StoreError>;
    /// Marks the grant's revocation settled: every step of it is done (idempotent; keeps the
    /// first time).
    async fn settle_revocation(&self, grant_id: &GrantId, now: UnixTime) -> Result<(), StoreError>;
    /// The person's live grants at an app, newest first, for their connected-agents page.
    async fn live_grants(&self, subject: &str, app: &str) -> Result<Vec<GrantSummary>, StoreError>;
    /// The grants, revoked or not, at one app (or every app) of one person and/or one client
    /// (or everyone), newest first (at most 500).
    async fn grants_matching(
        &self,
        app: Option<&str>,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
    ) -> Result<Vec<GrantRecord>, StoreError>;
    /// Records an issuance of tokens in one transaction (one round trip): the grant's last
    /// use, the audit event, and the refresh token write, if any.
    async fn record_issuance(&self, issuance: &Issuance<'_>) -> Result<(), StoreError>;
}

/// What [`GrantStore::revoke_by_refresh_token`] is asked.
#[derive(Clone, Copy, Debug)]
pub struct TokenRevocation<'a> {
    /// The presented refresh token's hash.
    pub token_hash: &'a SecretHash,
    /// The authenticated client: the token must have been issued to it (RFC 7009 §2.1).
    pub client_id: &'a ClientId,
    /// The app served here: the grant must be for it.
    pub app: &'a str,
    /// The revocation asked for: the grant the token names, the reason, the time (also the
    /// time the token must be live at) and where the request came from; not yet read, so its
    /// person, client and app are the grant's as stored.
    pub revocation: &'a Revocation,
    /// The client to authenticate in the transaction; `None`: authenticated before it.
    pub check_client: Option<&'a ClientCheck>,
}

/// What [`GrantStore::revoke_by_refresh_token`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRevoked {
    /// The grant as the transaction left it; `None` when the condition did not hold.
    pub grant: Option<GrantRecord>,
    /// With [`TokenRevocation::check_client`]: the client as the transaction read it, unless
    /// unknown, disabled or lapsed. Without: `None`.
    pub client: Option<crate::model::client::ClientRecord>,
}

/// What issuing tokens under a grant writes.
#[derive(Clone, Copy, Debug)]
pub struct Issuance<'a> {
    /// The grant the tokens were issued under; its "last used" becomes `now`.
    pub grant_id: &'a GrantId,
    /// The audit event of the issuance.
    pub event: &'a crate::model::audit::AuditEvent,
    /// When.
    pub now: UnixTime,
    /// The refresh token written with it.
    pub refresh: RefreshWrite<'a>,
}

/// The refresh token write of an [`Issuance`].
#[derive(Clone, Copy, Debug)]
pub enum RefreshWrite<'a> {
    /// None: the client does not use refresh tokens.
    None,
    /// The first refresh token of a new grant.
    Insert(&'a RefreshRecord),
}
