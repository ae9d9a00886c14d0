//! The decision log: one JSON line per request gatehouse decides, for the operator's log
//! (`wrangler tail --format json`, Workers Logs). The core notes what it decided while it works
//! (who, through which agent and grant, and why a refusal) in the request's [`DecisionLog`],
//! and the Worker writes the line once, when the response is known (`src/decision.rs`).
//!
//! A line names the person only by a stable hash of their subject ([`DecisionLog::line`]),
//! never by email, and carries no token, code, secret or password: what is noted is ids
//! (client, grant), the audit action and the [`Reason`], nothing a client sent as a credential.
//!
//! Not here: the audit log ([`crate::audit`]), which is the durable record in D1; this line is
//! for operations (who is failing, which agent is refused and why) and lives as long as the
//! operator's log retention.

use std::cell::RefCell;

use serde::Serialize;

use crate::error::{OAuthError, Reason};
use crate::model::audit::AuditKind;

/// The label of the key the subject hash is made with.
const SUBJECT_KEY_LABEL: &str = "log-subject";
/// Bytes of the subject hash kept: 64 bits tell people apart in a log without naming them.
const SUBJECT_HASH_BYTES: usize = 8;

/// Where the key that hashes subjects comes from: the server secret
/// (`config::ServerSecret`), which lives above this module.
pub trait SubjectKeys {
    /// The 32-byte key derived for `label`.
    fn derive(&self, label: &str) -> [u8; 32];
}

impl SubjectKeys for crate::server_secret::ServerSecret {
    fn derive(&self, label: &str) -> [u8; 32] {
        crate::server_secret::ServerSecret::derive(self, label)
    }
}

/// What the core decided about one request, noted as it went.
#[derive(Debug, Default)]
struct Notes {
    action: Option<&'static str>,
    client_id: Option<String>,
    grant_id: Option<String>,
    subject: Option<String>,
    reason: Option<Reason>,
    /// The audit action is a refusal (a failed login, a refused code).
    refused: bool,
    /// Nothing was decided that a line would tell: see [`DecisionLog::nothing_decided`].
    unlogged: bool,
}

/// The notes of one request's decision; one per request ([`crate::context::Context`]).
#[derive(Debug, Default)]
pub struct DecisionLog(RefCell<Notes>);

/// How the request ended, from its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Below 400: served, forwarded, redirected.
    Allowed,
    /// 4xx: refused because of what the client sent (or who the person is).
    Refused,
    /// 5xx: gatehouse could not decide (storage, configuration, origin).
    Failed,
}

impl Outcome {
    /// The outcome of a response with `status`, of a request in which a refusal was noted or
    /// not: a page that asks again (a failed login) or a redirect carrying an error to the
    /// client is a refusal whatever its status.
    pub fn of(status: u16, refusal_noted: bool) -> Self {
        match status {
            500.. => Self::Failed,
            400..=499 => Self::Refused,
            _ if refusal_noted => Self::Refused,
            _ => Self::Allowed,
        }
    }
}

/// The line as written: field names are what log queries use (README "Logs").
#[derive(Serialize)]
struct Line<'a> {
    event: &'a str,
    app: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    status: u16,
    duration_ms: u64,
}

impl DecisionLog {
    /// Notes the audit event the core records: its action and whom it names.
    pub(crate) fn audit(
        &self,
        kind: AuditKind,
        subject: Option<&str>,
        client_id: Option<&str>,
        grant_id: Option<&str>,
    ) {
        let mut notes = self.0.borrow_mut();
        notes.action = Some(kind.as_str());
        notes.refused |= matches!(kind, AuditKind::LoginFailed | AuditKind::CodeRefused);
        Self::keep(&mut notes.subject, subject);
        Self::keep(&mut notes.client_id, client_id);
        Self::keep(&mut notes.grant_id, grant_id);
    }

    /// Notes the person, agent and grant a request acts as (the gatekeeper's identity).
    pub(crate) fn acting(&self, subject: &str, client_id: Option<&str>, grant_id: Option<&str>) {
        let mut notes = self.0.borrow_mut();
        Self::keep(&mut notes.subject, Some(subject));
        Self::keep(&mut notes.client_id, client_id);
        Self::keep(&mut notes.grant_id, grant_id);
    }

    /// Notes the authenticated client the request comes from.
    pub(crate) fn client(&self, client_id: &str) {
        Self::keep(&mut self.0.borrow_mut().client_id, Some(client_id));
    }

    /// Notes why the request was refused; the first reason noted is the decision's.
    pub fn refused(&self, reason: Reason) {
        let mut notes = self.0.borrow_mut();
        if notes.reason.is_none() {
            notes.reason = Some(reason);
        }
    }

    /// Notes the reason of `error`, and hands it back.
    pub fn error(&self, error: OAuthError) -> OAuthError {
        self.refused(error.reason);
        error
    }

    /// Notes that the request brought nothing to decide about: a request for an app with no
    /// credentials at all, answered with the Bearer challenge every such request gets. Its line
    /// would name no person, agent, grant or reason, and anyone can send such requests as often
    /// as they like, so each would cost a log write (the runtime's `console.log`: 30 % of that
    /// answer's CPU, bench/README.md) and the operator's billed log volume, for no information.
    /// Like discovery documents, it gets no line.
    pub(crate) fn nothing_decided(&self) {
        self.0.borrow_mut().unlogged = true;
    }

    /// Whether the request's decision is written to the log ([`Self::nothing_decided`]).
    pub fn is_logged(&self) -> bool {
        !self.0.borrow().unlogged
    }

    fn keep(slot: &mut Option<String>, value: Option<&str>) {
        if let Some(value) = value {
            *slot = Some(value.to_owned());
        }
    }

    /// The line for this request: `event` names the endpoint (or `gate`), `app` the app's
    /// resource; the subject is HMAC-SHA256 of the person's subject under a key derived from
    /// the server secret, 16 hex digits: the same person has the same hash in every line (until
    /// the secret is rotated), and the line alone does not say who it is.
    pub fn line(
        &self,
        secret: &impl SubjectKeys,
        event: &str,
        app: &str,
        status: u16,
        duration_ms: u64,
    ) -> String {
        let notes = self.0.borrow();
        let subject = notes.subject.as_deref().map(|subject| {
            let key = secret.derive(SUBJECT_KEY_LABEL);
            let mac = crate::crypto::hmac_sha256(&key, &[subject.as_bytes()]);
            crate::crypto::hex(mac.get(..SUBJECT_HASH_BYTES).unwrap_or_default())
        });
        let line = Line {
            event,
            app,
            action: notes.action,
            client_id: notes.client_id.as_deref(),
            grant_id: notes.grant_id.as_deref(),
            subject,
            outcome: Outcome::of(status, notes.refused || notes.reason.is_some()),
            reason: notes.reason.map(|r| r.to_string()),
            status,
            duration_ms,
        };
        serde_json::to_string(&line).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed key source: the hash must be stable for one key, whatever derives it.
    struct Secret;

    impl SubjectKeys for Secret {
        fn derive(&self, label: &str) -> [u8; 32] {
            crate::crypto::hmac_sha256(b"a-secret-a-secret-a-secret-a-secret!", &[label.as_bytes()])
        }
    }

    fn secret() -> Secret {
        Secret
    }

    #[test]
    fn a_line_names_the_person_by_a_stable_hash_and_the_refusal_by_its_reason() {
        let log = DecisionLog::default();
        log.audit(
            AuditKind::LoginFailed,
            Some("local:alice@example.com"),
            None,
            None,
        );
        log.refused(Reason::MalformedBody);
        log.refused(Reason::BodyTooLarge);
        let line = log.line(&secret(), "login", "https://wiki.test", 200, 12);
        let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(json["event"], "login");
        assert_eq!(json["action"], "login_failed");
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["reason"], "MalformedBody", "the first reason decides");
        assert_eq!(json["status"], 200);
        assert_eq!(json["duration_ms"], 12);
        assert!(!line.contains("alice"), "{line}");
        let subject = json["subject"].as_str().unwrap_or_default().to_owned();
        assert_eq!(subject.len(), 16);
        let again = DecisionLog::default();
        again.acting("local:alice@example.com", Some("c_1"), Some("g_1"));
        let line = again.line(&secret(), "gate", "https://wiki.test", 200, 1);
        let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(json["subject"], subject.as_str(), "stable across requests");
        assert_eq!(json["client_id"], "c_1");
        assert_eq!(json["grant_id"], "g_1");
        assert_eq!(json["outcome"], "allowed");
        assert!(json.get("reason").is_none());
    }

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(Outcome::of(302, false), Outcome::Allowed);
        assert_eq!(Outcome::of(302, true), Outcome::Refused);
        assert_eq!(Outcome::of(403, false), Outcome::Refused);
        assert_eq!(Outcome::of(503, true), Outcome::Failed);
    }
}
