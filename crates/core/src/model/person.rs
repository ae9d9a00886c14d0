//! People who log in, their browser sessions, and what the admin console shows of them.

use crate::secret::SecretHash;
use crate::time::UnixTime;

/// A person who logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Stable subject: `local:<email>` for local accounts.
    pub subject: String,
    /// The person's email, lowercase.
    pub email: String,
    /// Groups from the identity provider, as of the last login (none for local accounts).
    pub groups: Vec<String>,
}

/// A browser login session (the `__Host-gatehouse-session` cookie).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hash of the session id in the cookie.
    pub session_hash: SecretHash,
    /// Who logged in.
    pub person: Person,
    /// The app (its canonical URL) the session is for: a session opened on one app's host is
    /// no session on another's.
    pub app: String,
    /// When the session was last used (the idle timeout counts from here).
    pub last_seen_at: UnixTime,
    /// When the session ends regardless of use.
    pub expires_at: UnixTime,
}

/// A person and what they hold, for the admin console
/// (`crate::store::SessionStore::people_in_use`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PersonUse {
    /// Stable subject.
    pub subject: String,
    /// Their email.
    pub email: String,
    /// Browser sessions neither ended nor expired.
    pub sessions: u64,
    /// When a session of theirs was last used (Unix seconds).
    pub last_seen_at: Option<u64>,
    /// Their live grants (agents acting for them), at every app.
    pub live_grants: u64,
}
