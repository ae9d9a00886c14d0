//! The audit log.

use crate::model::audit::{AuditEvent, AuditQuery, StoredEvent};
use crate::time::UnixTime;

use super::error::StoreError;

/// Where audit events go.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait AuditLog {
    /// Appends an event.
    async fn record(&self, event: &AuditEvent, at: UnixTime) -> Result<(), StoreError>;
    /// Appends an event unless one with this idempotency key was appended before: what a step
    /// that may run again (a revocation finished after a crash, a held event drained twice)
    /// records with.
    async fn record_once(
        &self,
        key: &str,
        event: &AuditEvent,
        at: UnixTime,
    ) -> Result<(), StoreError>;
    /// The events the query asks for, newest first.
    async fn events(&self, query: &AuditQuery<'_>) -> Result<Vec<StoredEvent>, StoreError>;
}
