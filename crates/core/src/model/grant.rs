//! A grant: the unit of consent and of revocation, and why one was revoked.

use crate::grant_id::GrantId;
use crate::time::UnixTime;
use crate::types::{ClientId, Scopes};

use super::person::Person;

/// A grant: the unit of consent and of revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    /// Its identifier, carried in every token issued under it.
    pub grant_id: GrantId,
    /// The person.
    pub person: Person,
    /// The client acting for them.
    pub client_id: ClientId,
    /// The app's canonical URL: the audience of its tokens.
    pub app: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// Where the client receives codes: tells installations of one client apart.
    pub redirect_uri: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
    /// Why it was revoked, if it was.
    pub revoked_reason: Option<RevocationReason>,
    /// When every step of its revocation was known done (`crate::revocation`); a grant
    /// revoked but not settled has steps a crash may have left out, which any revocation path
    /// runs again.
    pub revocation_settled_at: Option<UnixTime>,
}

/// Why a grant was revoked (stored and audited).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// RFC 7009 revocation by the client.
    ClientRequest,
    /// An authorization code was presented twice (RFC 6749 §4.1.2).
    CodeReplayed,
    /// A rotated refresh token was presented again (RFC 9700 §4.14.2).
    RefreshTokenReused,
    /// The person revoked the agent on their connected-agents page.
    PersonRequest,
    /// An administrator revoked it through the admin API.
    AdminRequest,
    /// An administrator disabled the client.
    ClientDisabled,
    /// The app's policy no longer admits the person (found when the grant was next used).
    PolicyChanged,
}

impl RevocationReason {
    /// Every reason, for reading `grants.revoked_reason` back.
    const ALL: [Self; 7] = [
        Self::ClientRequest,
        Self::CodeReplayed,
        Self::RefreshTokenReused,
        Self::PersonRequest,
        Self::AdminRequest,
        Self::ClientDisabled,
        Self::PolicyChanged,
    ];

    /// The reason stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == text)
    }

    /// The value stored in `grants.revoked_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRequest => "client_request",
            Self::CodeReplayed => "code_replayed",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::PersonRequest => "person_request",
            Self::AdminRequest => "admin_request",
            Self::ClientDisabled => "client_disabled",
            Self::PolicyChanged => "policy_changed",
        }
    }
}

/// A grant as the connected-agents page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantSummary {
    /// The grant.
    pub grant_id: GrantId,
    /// The agent's client id.
    pub client_id: ClientId,
    /// The agent's registered name, if it gave one.
    pub client_name: Option<String>,
    /// Where the agent receives codes: tells two installations of one agent apart.
    pub redirect_uri: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// When the person approved it.
    pub created_at: UnixTime,
    /// When tokens were last issued under it.
    pub last_used_at: Option<UnixTime>,
}
