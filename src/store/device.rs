//! The core's `DeviceStore` on D1 (`device_codes`, `device_user_code_failures`, migration 0002).
//! Each step the trait calls atomic is one statement: D1 runs a statement as a transaction, and
//! `RETURNING` tells the caller whether its own statement changed the row.

use gatehouse_core::grant_id::GrantId;
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::{DeviceCodeRecord, DevicePoll, DeviceStatus, DeviceStore, StoreError};
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{WorkerStore, corrupt, hash, scopes, secs, stored_hash, text, time};

const COLUMNS: &str = "device_code_hash, user_code_hash, client_id, resource, scope, status, grant_id, \
                       interval_secs, expires_at, polled_too_fast";

#[derive(Deserialize)]
struct DeviceRow {
    device_code_hash: String,
    user_code_hash: String,
    client_id: String,
    resource: String,
    scope: String,
    status: String,
    grant_id: Option<String>,
    interval_secs: f64,
    expires_at: f64,
    polled_too_fast: f64,
}

impl DeviceRow {
    fn record(self) -> Result<DeviceCodeRecord, StoreError> {
        let status = match (self.status.as_str(), self.grant_id) {
            ("pending", _) => DeviceStatus::Pending,
            ("approved", Some(grant)) => DeviceStatus::Approved(GrantId::from_stored(grant)),
            ("denied", _) => DeviceStatus::Denied,
            ("redeemed", _) => DeviceStatus::Redeemed,
            _ => return Err(corrupt("device code status")),
        };
        Ok(DeviceCodeRecord {
            device_code_hash: stored_hash(&self.device_code_hash)?,
            user_code_hash: stored_hash(&self.user_code_hash)?,
            client_id: ClientId::parse(&self.client_id).map_err(|_| corrupt("client id"))?,
            resource: self.resource,
            scopes: scopes(&self.scope)?,
            interval_secs: self.interval_secs as u64,
            expires_at: secs(self.expires_at),
            status,
        })
    }
}

#[derive(Deserialize)]
struct Changed {}

fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

impl DeviceStore for WorkerStore<'_> {
    async fn insert_device_code(
        &self,
        code: &DeviceCodeRecord,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        // One statement: the check for a live code with the same user code and the insert.
        let inserted: Option<Changed> = self
            .first(
                "INSERT INTO device_codes (device_code_hash, user_code_hash, client_id, resource, scope, \
                 interval_secs, issued_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
                 WHERE NOT EXISTS (SELECT 1 FROM device_codes WHERE user_code_hash = ?2 AND expires_at > ?7) \
                 RETURNING device_code_hash",
                &[
                    hash(&code.device_code_hash),
                    hash(&code.user_code_hash),
                    text(code.client_id.as_str()),
                    text(&code.resource),
                    text(&code.scopes.to_string()),
                    number(code.interval_secs),
                    time(now),
                    time(code.expires_at),
                ],
            )
            .await?;
        Ok(inserted.is_some())
    }

    async fn pending_device_code(
        &self,
        user_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRecord>, StoreError> {
        let row: Option<DeviceRow> = self
            .first(
                &format!(
                    "SELECT {COLUMNS} FROM device_codes WHERE user_code_hash = ?1 AND expires_at > ?2 \
                     AND status = 'pending'"
                ),
                &[hash(user_code_hash), time(now)],
            )
            .await?;
        row.map(DeviceRow::record).transpose()
    }

    async fn decide_device_code(
        &self,
        device_code_hash: &SecretHash,
        approved: Option<&GrantId>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let (status, grant) = match approved {
            Some(grant) => ("approved", text(grant.as_str())),
            None => ("denied", JsValue::NULL),
        };
        let decided: Option<Changed> = self
            .first(
                "UPDATE device_codes SET status = ?2, grant_id = ?3, decided_at = ?4 \
                 WHERE device_code_hash = ?1 AND status = 'pending' AND expires_at > ?4 \
                 RETURNING device_code_hash",
                &[hash(device_code_hash), text(status), grant, time(now)],
            )
            .await?;
        Ok(decided.is_some())
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &SecretHash,
        client_id: &ClientId,
        slow_down_secs: u64,
        now: UnixTime,
    ) -> Result<Option<DevicePoll>, StoreError> {
        // SQLite evaluates every SET expression on the row as it was before the UPDATE, so
        // both the flag and the interval see the previous poll's time.
        let row: Option<DeviceRow> = self
            .first(
                &format!(
                    "UPDATE device_codes SET \
                     polled_too_fast = (last_polled_at IS NOT NULL AND ?4 - last_polled_at < interval_secs), \
                     interval_secs = interval_secs + CASE WHEN last_polled_at IS NOT NULL \
                       AND ?4 - last_polled_at < interval_secs THEN ?3 ELSE 0 END, \
                     last_polled_at = ?4 \
                     WHERE device_code_hash = ?1 AND client_id = ?2 RETURNING {COLUMNS}"
                ),
                &[
                    hash(device_code_hash),
                    text(client_id.as_str()),
                    number(slow_down_secs),
                    time(now),
                ],
            )
            .await?;
        row.map(|row| {
            let too_fast = row.polled_too_fast != 0.0;
            row.record().map(|record| DevicePoll { record, too_fast })
        })
        .transpose()
    }

    async fn redeem_device_code(
        &self,
        device_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<GrantId>, StoreError> {
        #[derive(Deserialize)]
        struct Redeemed {
            grant_id: Option<String>,
        }
        // One statement: of any number of racing polls, exactly one sees the row returned.
        let redeemed: Option<Redeemed> = self
            .first(
                "UPDATE device_codes SET status = 'redeemed', redeemed_at = ?2 \
                 WHERE device_code_hash = ?1 AND status = 'approved' RETURNING grant_id",
                &[hash(device_code_hash), time(now)],
            )
            .await?;
        match redeemed {
            None => Ok(None),
            Some(Redeemed {
                grant_id: Some(grant),
            }) => Ok(Some(GrantId::from_stored(grant))),
            Some(Redeemed { grant_id: None }) => Err(corrupt("device code grant")),
        }
    }

    async fn record_wrong_user_code(&self, subject: &str, now: UnixTime) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO device_user_code_failures (subject, failed_at) VALUES (?1, ?2)",
            &[text(subject), time(now)],
        )
        .await
    }

    async fn wrong_user_codes_since(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> Result<u64, StoreError> {
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let count: Option<Count> = self
            .first(
                "SELECT COUNT(*) AS n FROM device_user_code_failures WHERE subject = ?1 AND failed_at > ?2",
                &[text(subject), time(since)],
            )
            .await?;
        Ok(count.map_or(0, |c| c.n as u64))
    }
}
