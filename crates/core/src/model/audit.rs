//! The audit log's events: who (the person), through what (the agent), did what, at which app,
//! when, and from where. Written in the same request as the act it records
//! (`crate::store::AuditLog`); an act whose record cannot be written fails like any other storage
//! outage.

use serde::{Deserialize, Serialize};

use crate::time::UnixTime;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A client registered (RFC 7591).
    ClientRegistered,
    /// A person logged in.
    LoggedIn,
    /// A local-account login failed (wrong password or unknown email); `detail.account_known`
    /// says which, and only a known account's subject is kept.
    LoginFailed,
    /// A person approved an agent (a new grant).
    GrantCreated,
    /// Tokens were issued for an authorization code.
    TokenIssued,
    /// Tokens were issued for a refresh token.
    TokenRefreshed,
    /// A grant was revoked; `detail.reason` says why.
    GrantRevoked,
    /// An authorization code was presented by a request it was not issued for (another
    /// client, app, redirect URI or PKCE verifier) and refused without being spent;
    /// `detail.reason` says which part differed, `detail.issued_to` names the code's client.
    CodeRefused,
    /// An administrator changed something; `detail.by` names who, `detail.action` what.
    AdminAction,
}

impl AuditKind {
    /// Every kind, for reading `audit_events.kind` back and for the admin console's search.
    pub const ALL: [Self; 9] = [
        Self::ClientRegistered,
        Self::LoggedIn,
        Self::LoginFailed,
        Self::GrantCreated,
        Self::TokenIssued,
        Self::TokenRefreshed,
        Self::GrantRevoked,
        Self::CodeRefused,
        Self::AdminAction,
    ];

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The value stored in `audit_events.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRegistered => "client_registered",
            Self::LoggedIn => "logged_in",
            Self::LoginFailed => "login_failed",
            Self::GrantCreated => "grant_created",
            Self::TokenIssued => "token_issued",
            Self::TokenRefreshed => "token_refreshed",
            Self::GrantRevoked => "grant_revoked",
            Self::CodeRefused => "code_refused",
            Self::AdminAction => "admin_action",
        }
    }
}

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// The person, when one is involved.
    pub subject: Option<String>,
    /// The agent, when one is involved.
    pub client_id: Option<String>,
    /// The app (its canonical URL).
    pub app: Option<String>,
    /// The grant.
    pub grant_id: Option<String>,
    /// Where the request came from (`CF-Connecting-IP`).
    pub source: Option<String>,
    /// Anything else worth keeping (scopes, a revocation's reason), as JSON.
    pub detail: serde_json::Value,
}

/// Which events to read: an app's, of one person and/or one client, within a time range
/// (inclusive), newest first, at most `limit`.
#[derive(Clone, Copy, Debug)]
pub struct AuditQuery<'a> {
    /// The app (its canonical URL).
    pub app: &'a str,
    /// Only this person's.
    pub subject: Option<&'a str>,
    /// Only this agent's.
    pub client_id: Option<&'a str>,
    /// Not before.
    pub since: Option<UnixTime>,
    /// Not after.
    pub until: Option<UnixTime>,
    /// Only events of this kind.
    pub kind: Option<AuditKind>,
    /// Only events after this one in the query's order (time, then id, both descending): the
    /// last event of the previous page.
    pub before: Option<(UnixTime, u64)>,
    /// At most this many.
    pub limit: u32,
}

impl AuditQuery<'_> {
    /// Whether an event recorded at `at` is one this query asks for.
    pub fn matches(&self, at: UnixTime, event: &AuditEvent) -> bool {
        event.app.as_deref() == Some(self.app)
            && self
                .subject
                .is_none_or(|s| event.subject.as_deref() == Some(s))
            && self
                .client_id
                .is_none_or(|c| event.client_id.as_deref() == Some(c))
            && self.since.is_none_or(|since| at >= since)
            && self.until.is_none_or(|until| at <= until)
            && self.kind.is_none_or(|kind| event.kind == kind)
    }
}

/// An event as the log holds it: its id (increasing in the order of recording), time, event.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// `audit_events.id`: the paging cursor.
    pub id: u64,
    /// When it was recorded.
    pub at: UnixTime,
    /// The event.
    pub event: AuditEvent,
}
