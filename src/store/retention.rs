//! The core's `Retention` on D1: one bounded `DELETE` per call.

use gatehouse_core::store::{Lapsed, Retention, StoreError};
use wasm_bindgen::JsValue;

use super::{WorkerStore, changes, failed, time};

impl Retention for WorkerStore<'_> {
    async fn forget(&self, lapsed: Lapsed, limit: u32) -> Result<u32, StoreError> {
        // Each statement deletes by the rowids an index range yields (migration 0008), at most
        // `limit` of them: SQLite's `DELETE … LIMIT` is a compile-time option D1 does not
        // promise, a subquery is not.
        let (sql, before) = match lapsed {
            Lapsed::Codes(before) => (
                "DELETE FROM authorization_codes WHERE rowid IN (SELECT rowid FROM authorization_codes WHERE expires_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::ExpiredRefreshTokens(before) => (
                "DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens WHERE rotated_at IS NULL AND expires_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::RotatedRefreshTokens(before) => (
                "DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens WHERE rotated_at IS NOT NULL AND rotated_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::Sessions(before) => (
                "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::OidcStates(before) => (
                "DELETE FROM oidc_states WHERE rowid IN (SELECT rowid FROM oidc_states WHERE expires_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::DeviceCodes(before) => (
                "DELETE FROM device_codes WHERE rowid IN (SELECT rowid FROM device_codes WHERE expires_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::WrongUserCodes(before) => (
                "DELETE FROM device_user_code_failures WHERE rowid IN (SELECT rowid FROM device_user_code_failures WHERE failed_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::AssertionIds(before) => (
                "DELETE FROM client_assertion_jtis WHERE rowid IN (SELECT rowid FROM client_assertion_jtis WHERE expires_at < ?1 LIMIT ?2)",
                before,
            ),
            Lapsed::AuditEvents(before) => (
                "DELETE FROM audit_events WHERE rowid IN (SELECT rowid FROM audit_events WHERE at < ?1 LIMIT ?2)",
                before,
            ),
        };
        let result = self
            .statement(sql, &[time(before), JsValue::from_f64(f64::from(limit))])?
            .run()
            .await
            .map_err(|e| failed(sql, e))?;
        Ok(u32::try_from(changes(Some(&result))).unwrap_or(u32::MAX))
    }
}
