//! The messages carried by the `revocations` Queue.
//!
//! One enum for every message kind, so that the producer and the consumer cannot disagree on the
//! wire format, and a message of a kind this build does not know is rejected (and retried until it
//! lands in the dead-letter queue) instead of being silently acknowledged.

use serde::{Deserialize, Serialize};

use crate::grant_id::GrantId;
use crate::store::RevocationReason;
use crate::time::UnixTime;

/// A message on the `revocations` Queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueMessage {
    /// Sent by `GET /healthz` of earlier versions to prove a round trip through the Queue. No
    /// longer sent (the health check never uses the revocations Queue); still understood, so
    /// that probes queued before an upgrade are acknowledged rather than dead-lettered.
    HealthProbe {
        /// A fresh random value naming this probe.
        nonce: String,
    },
    /// Revoke a grant. Every revocation is put on the Queue as well as applied at once, so one
    /// that could not be applied (storage down, or moving) is applied by the consumer later; the
    /// consumer's work is idempotent, so applying twice changes nothing.
    RevokeGrant {
        /// The grant.
        grant_id: GrantId,
        /// Why.
        reason: RevocationReason,
        /// When it was asked for.
        at: UnixTime,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_probe_has_a_stable_wire_format() {
        let message = QueueMessage::HealthProbe { nonce: "n1".into() };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(json, r#"{"kind":"health_probe","nonce":"n1"}"#);
        assert_eq!(
            serde_json::from_str::<QueueMessage>(&json).unwrap(),
            message
        );
    }

    #[test]
    fn revoke_grant_has_a_stable_wire_format() {
        let message = QueueMessage::RevokeGrant {
            grant_id: GrantId::from_stored("g_1".into()),
            reason: RevocationReason::RefreshTokenReused,
            at: UnixTime(7),
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"revoke_grant","grant_id":"g_1","reason":"refresh_token_reused","at":7}"#
        );
        assert_eq!(
            serde_json::from_str::<QueueMessage>(&json).unwrap(),
            message
        );
    }

    #[test]
    fn unknown_kinds_and_fields_are_rejected() {
        assert!(serde_json::from_str::<QueueMessage>(r#"{"kind":"nope"}"#).is_err());
        assert!(
            serde_json::from_str::<QueueMessage>(r#"{"kind":"health_probe","nonce":"n","x":1}"#)
                .is_err()
        );
    }
}
