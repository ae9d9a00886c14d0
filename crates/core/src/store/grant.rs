//! Grants, and the one-round-trip write of a token issuance.

use crate::grant_id::GrantId;
use crate::model::grant::{GrantRecord, GrantSummary, RevocationReason};
use crate::model::refresh::RefreshRecord;
use crate::time::UnixTime;
use crate::types::ClientId;

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
