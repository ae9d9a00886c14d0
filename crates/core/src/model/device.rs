//! A device authorization (RFC 8628 §3.2) and where it stands.

use crate::grant_id::GrantId;
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::{ClientId, Scopes};

/// Where a device authorization stands (RFC 8628 §3.3–§3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the person: polls are answered `authorization_pending`.
    Pending,
    /// The person approved: the next poll receives tokens of this grant.
    Approved(GrantId),
    /// The person denied: polls are answered `access_denied`.
    Denied,
    /// Tokens were issued: the device code is spent.
    Redeemed,
}

/// An issued device code (RFC 8628 §3.2), bound to its client, app and scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCodeRecord {
    /// Hash (SHA-256) of the device code.
    pub device_code_hash: SecretHash,
    /// Keyed digest (HMAC) of the normalised user code.
    pub user_code_hash: SecretHash,
    /// The client that asked.
    pub client_id: ClientId,
    /// The app (its canonical URL) the tokens will be for (RFC 8707).
    pub resource: String,
    /// The scopes asked for, as narrowed at the device authorization endpoint.
    pub scopes: Scopes,
    /// The current minimum polling interval (RFC 8628 §3.5: grows by 5 s on `slow_down`).
    pub interval_secs: u64,
    /// When the codes stop working.
    pub expires_at: UnixTime,
    /// Where it stands.
    pub status: DeviceStatus,
}

/// What a poll of the token endpoint found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePoll {
    /// The device code, after the poll was recorded.
    pub record: DeviceCodeRecord,
    /// The previous poll was less than the interval ago (the interval has grown by the slow-down
    /// step already).
    pub too_fast: bool,
}
