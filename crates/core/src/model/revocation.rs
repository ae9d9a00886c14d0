//! One revocation of one grant, as the `revocations` Queue and a held write carry it. Its steps
//! are `crate::revocation`'s.

use serde::{Deserialize, Serialize};

use crate::grant_id::GrantId;
use crate::time::UnixTime;

use super::audit::{AuditEvent, AuditKind};
use super::grant::{GrantRecord, RevocationReason};

/// One revocation of one grant: everything its steps write, so that the Queue's consumer, the
/// dead-letter consumer and the drain can finish it without reading anything else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// The grant.
    pub grant_id: GrantId,
    /// Why.
    pub reason: RevocationReason,
    /// When it was first asked for (kept when a later path finishes it).
    pub at: UnixTime,
    /// The person, when the grant was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The agent, when the grant was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The app (its canonical URL), when the grant was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Where the request came from, for the audit event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Revocation {
    /// A revocation of `grant` asked for at `now`; one already under way keeps its time.
    pub fn of(
        grant: &GrantRecord,
        reason: RevocationReason,
        now: UnixTime,
        source: Option<String>,
    ) -> Self {
        Self {
            grant_id: grant.grant_id.clone(),
            reason,
            at: grant.revoked_at.unwrap_or(now),
            subject: Some(grant.person.subject.clone()),
            client_id: Some(grant.client_id.as_str().to_owned()),
            app: Some(grant.app.clone()),
            source,
        }
    }

    /// A revocation of a grant storage could not read: `crate::revocation::apply` reads it when
    /// it can.
    pub fn of_unread(
        grant_id: &GrantId,
        reason: RevocationReason,
        now: UnixTime,
        source: Option<String>,
    ) -> Self {
        Self {
            grant_id: grant_id.clone(),
            reason,
            at: now,
            subject: None,
            client_id: None,
            app: None,
            source,
        }
    }

    /// The idempotency key of its audit event: one per grant, however often it is re-run.
    pub fn audit_key(&self) -> String {
        format!("grant_revoked:{}", self.grant_id.as_str())
    }

    /// Its audit event: names the person and the agent, so it shows in their audit trails.
    pub fn audit_event(&self) -> AuditEvent {
        AuditEvent {
            kind: AuditKind::GrantRevoked,
            subject: self.subject.clone(),
            client_id: self.client_id.clone(),
            app: self.app.clone(),
            grant_id: Some(self.grant_id.as_str().to_owned()),
            source: self.source.clone(),
            detail: serde_json::json!({ "reason": self.reason.as_str() }),
        }
    }
}
