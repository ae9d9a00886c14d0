//! The messages carried by the `revocations` Queue.
//!
//! One enum for every message kind, so that the producer and the consumer cannot disagree on the
//! wire format, and a message of a kind this build does not know is rejected (and retried until it
//! lands in the dead-letter queue) instead of being silently acknowledged.

use serde::{Deserialize, Serialize};

use super::revocation::Revocation;

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
    /// that could not be applied (storage down, or moving), or was cut off by a crash after any
    /// of its steps, is finished by the consumer; the command carries everything its steps
    /// write, and running them twice changes nothing.
    RevokeGrant(Revocation),
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
        use crate::grant_id::GrantId;
        use crate::store::RevocationReason;
        use crate::time::UnixTime;
        let bare = Revocation::of_unread(
            &GrantId::from_stored("g_1".into()),
            RevocationReason::RefreshTokenReused,
            UnixTime(7),
            None,
        );
        let message = QueueMessage::RevokeGrant(bare.clone());
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"revoke_grant","grant_id":"g_1","reason":"refresh_token_reused","at":7}"#,
            "a command without the grant's details reads as the previous build wrote it"
        );
        assert_eq!(
            serde_json::from_str::<QueueMessage>(&json).unwrap(),
            message
        );
        let full = QueueMessage::RevokeGrant(Revocation {
            subject: Some("local:a@example.com".into()),
            client_id: Some("c1".into()),
            app: Some("https://wiki.test".into()),
            source: Some("192.0.2.1".into()),
            ..bare
        });
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"revoke_grant","grant_id":"g_1","reason":"refresh_token_reused","at":7,"subject":"local:a@example.com","client_id":"c1","app":"https://wiki.test","source":"192.0.2.1"}"#
        );
        assert_eq!(serde_json::from_str::<QueueMessage>(&json).unwrap(), full);
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
