//! People and their browser sessions.

use crate::model::person::{PersonUse, SessionRecord};
use crate::secret::SecretHash;
use crate::time::UnixTime;

use super::error::StoreError;

/// People and their browser sessions.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Records the person (creating or updating them) and opens a session.
    async fn insert_session(
        &self,
        session: &SessionRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The session with this hash, unless it was revoked or has passed `expires_at`.
    async fn session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;
    /// Records that the session was used at `now`.
    async fn touch_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Ends every session of the person (an administrator cutting them off).
    async fn revoke_sessions_of(&self, subject: &str, now: UnixTime) -> Result<(), StoreError>;
    /// Ends the session (logout).
    async fn revoke_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The people storage knows, most recently seen first, at most `limit`, each with their
    /// open sessions at `now` and live grants at every app, for the admin console.
    async fn people_in_use(&self, limit: u32, now: UnixTime) -> Result<Vec<PersonUse>, StoreError>;
}
