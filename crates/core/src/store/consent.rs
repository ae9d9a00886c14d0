//! Remembered consent.

use crate::model::consent::ConsentRecord;
use crate::time::UnixTime;
use crate::types::ClientId;

use super::error::StoreError;

/// Remembered consent: a person let a client use an app with some scopes.
#[allow(async_fn_in_trait)]
pub trait ConsentStore {
    /// The consent this person gave this client at this app, if consent is on record.
    async fn consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
    ) -> Result<Option<ConsentRecord>, StoreError>;
    /// Records consent, replacing what was on record (the caller widens it).
    async fn put_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        consent: &ConsentRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Forgets the consent, so the client must ask the person again; only a consent given at or
    /// before `now`, so that withdrawing late (a revocation finished after a crash, or drained
    /// after a migration) never undoes an approval given after it. Idempotent.
    async fn withdraw_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
}
