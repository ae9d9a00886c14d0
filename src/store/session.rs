//! The core's `SessionStore` on D1 (`people`, `sessions`).

use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::*;
use gatehouse_core::time::UnixTime;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{WorkerStore, corrupt, hash, secs, text, time};

#[derive(Deserialize)]
struct SessionRow {
    subject: String,
    email: String,
    groups: String,
    app: Option<String>,
    last_seen_at: f64,
    expires_at: f64,
}

/// The `people.groups` column: a JSON array of group names.
pub(super) fn groups(json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|_| corrupt("groups"))
}

impl SessionStore for WorkerStore<'_> {
    async fn people_in_use(&self, limit: u32, now: UnixTime) -> Result<Vec<PersonUse>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            subject: String,
            email: String,
            sessions: f64,
            last_seen_at: Option<f64>,
            live_grants: f64,
        }
        // The per-person reads use `sessions_by_subject` and `grants_by_subject`.
        let sql = "SELECT p.subject, p.email, \
             (SELECT COUNT(*) FROM sessions s WHERE s.subject = p.subject AND s.revoked_at IS NULL AND s.expires_at > ?2) AS sessions, \
             (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.subject = p.subject) AS last_seen_at, \
             (SELECT COUNT(*) FROM grants g WHERE g.subject = p.subject AND g.revoked_at IS NULL) AS live_grants \
             FROM people p ORDER BY COALESCE(last_seen_at, p.last_login_at, p.created_at) DESC, p.subject LIMIT ?1";
        let rows: Vec<Row> = self
            .all(sql, &[JsValue::from(limit), time(now)], sql)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| PersonUse {
                subject: row.subject,
                email: row.email,
                sessions: row.sessions as u64,
                last_seen_at: row.last_seen_at.map(|t| secs(t).0),
                live_grants: row.live_grants as u64,
            })
            .collect())
    }

    async fn insert_session(
        &self,
        session: &SessionRecord,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let person = &session.person;
        let groups_json = serde_json::to_string(&person.groups).map_err(|_| corrupt("groups"))?;
        self.batch(vec![
            self.statement(
                "INSERT INTO people (subject, email, groups, created_at, last_login_at) VALUES (?1, ?2, ?3, ?4, ?4) \
                 ON CONFLICT (subject) DO UPDATE SET email = excluded.email, groups = excluded.groups, \
                 last_login_at = excluded.last_login_at",
                &[text(&person.subject), text(&person.email), text(&groups_json), time(now)],
            )?,
            self.statement(
                "INSERT INTO sessions (session_hash, subject, app, created_at, last_seen_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    hash(&session.session_hash),
                    text(&person.subject),
                    text(&session.app),
                    time(now),
                    time(session.last_seen_at),
                    time(session.expires_at),
                ],
            )?,
        ])
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = self
            .first(
                "SELECT p.subject, p.email, p.groups, s.app, s.last_seen_at, s.expires_at \
                 FROM sessions s JOIN people p ON p.subject = s.subject \
                 WHERE s.session_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2",
                &[hash(session_hash), time(now)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            session_hash: session_hash.clone(),
            person: Person {
                subject: row.subject,
                email: row.email,
                groups: groups(&row.groups)?,
            },
            app: row.app.unwrap_or_default(),
            last_seen_at: secs(row.last_seen_at),
            expires_at: secs(row.expires_at),
        }))
    }

    async fn touch_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET last_seen_at = ?2 WHERE session_hash = ?1",
            &[hash(session_hash), time(now)],
        )
        .await
    }

    async fn revoke_sessions_of(&self, subject: &str, now: UnixTime) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET revoked_at = ?2 WHERE subject = ?1 AND revoked_at IS NULL",
            &[text(subject), time(now)],
        )
        .await
    }

    async fn revoke_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET revoked_at = ?2 WHERE session_hash = ?1 AND revoked_at IS NULL",
            &[hash(session_hash), time(now)],
        )
        .await
    }
}
