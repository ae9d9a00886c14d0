//! Device codes (RFC 8628) and the wrong user codes people typed.

use crate::grant_id::GrantId;
use crate::model::device::{DeviceCodeRecord, DevicePoll};
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::ClientId;

use super::error::StoreError;

/// Device codes (RFC 8628) and the wrong user codes people typed.
#[allow(async_fn_in_trait)]
pub trait DeviceStore {
    /// Stores a new device code, unless an unexpired one has the same user code digest.
    /// Returns whether it was stored; check and insert are one atomic step.
    async fn insert_device_code(
        &self,
        code: &DeviceCodeRecord,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// The pending, unexpired device code with this user code digest.
    async fn pending_device_code(
        &self,
        user_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRecord>, StoreError>;
    /// Records the person's decision (`Some(grant)`: approved; `None`: denied) on a pending,
    /// unexpired code in one atomic step. Returns whether this call decided it.
    async fn decide_device_code(
        &self,
        device_code_hash: &SecretHash,
        approved: Option<&GrantId>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Records a poll by `client_id` in one atomic step: when the previous poll was less than
    /// the interval ago, the interval grows by `slow_down_secs`. `None` when the client has no
    /// device code with this hash.
    async fn poll_device_code(
        &self,
        device_code_hash: &SecretHash,
        client_id: &ClientId,
        slow_down_secs: u64,
        now: UnixTime,
    ) -> Result<Option<DevicePoll>, StoreError>;
    /// Marks an approved code redeemed in one atomic step (D1: `UPDATE … WHERE status =
    /// 'approved'`). Exactly one caller ever receives the grant, however many race.
    async fn redeem_device_code(
        &self,
        device_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<GrantId>, StoreError>;
    /// Records that `subject` typed a user code that matched nothing.
    async fn record_wrong_user_code(&self, subject: &str, now: UnixTime) -> Result<(), StoreError>;
    /// How many wrong user codes `subject` typed after `since`.
    async fn wrong_user_codes_since(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> Result<u64, StoreError>;
}
