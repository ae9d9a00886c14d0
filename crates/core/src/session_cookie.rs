//! The session cookie's value: 256 random bits and a MAC of them, `<id>.<tag>` ([`crate::tag`]:
//! HMAC-SHA256 under a key derived from `GATEHOUSE_SECRET`, truncated to 128 bits).
//!
//! Why: every request to an app that carries a session cookie looks the session up in D1. With a
//! bare random value, a made-up cookie costs that lookup too, so anyone could make every request
//! to any app a D1 query. With the tag, a value gatehouse did not issue is refused by a hash
//! computation, before storage is asked. The whole value is still what the session is stored
//! under (its SHA-256, as for every secret), and the session row is still what makes it valid:
//! the tag proves only that gatehouse made the value, not that the session is live.
//!
//! base64url and `.` are all RFC 6265 §4.1.1 `cookie-octet`s: the value needs no quoting.

use crate::rng::Rng;
use crate::secret::SessionId;
use crate::server_secret::ServerSecret;
use crate::tag::{TagKey, Verdict};

/// The label under which the MAC key is derived from the server secret.
const KEY_LABEL: &str = "session-cookie";

/// The key that tags session cookies.
pub struct SessionCookieKey(TagKey);

impl SessionCookieKey {
    /// The key derived from the server secret: a new secret ends every session, unless the old
    /// one is kept as `GATEHOUSE_SECRET_PREVIOUS` until the sessions it made have expired.
    pub fn derive(secret: &ServerSecret) -> Self {
        Self(TagKey::derive(secret, KEY_LABEL))
    }

    /// A new session id, tagged.
    pub fn issue<R: Rng + ?Sized>(&self, rng: &R) -> SessionId {
        SessionId::issue_tagged(&self.0, rng)
    }

    /// The session `presented` names, if gatehouse issued it under this key; `None` otherwise,
    /// decided without storage. The tag is compared in constant time.
    pub fn open(&self, presented: &str) -> Option<SessionId> {
        (self.0.verdict(presented) == Verdict::Issued).then(|| SessionId::from_presented(presented))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::SeqRng;

    fn key(byte: u8) -> SessionCookieKey {
        SessionCookieKey(TagKey::for_tests(byte))
    }

    #[test]
    fn an_issued_value_is_recognised_and_differs_each_time() {
        let key = key(1);
        let rng = SeqRng::default();
        let (a, b) = (key.issue(&rng), key.issue(&rng));
        assert!(key.open(a.expose_secret()).is_some());
        assert!(key.open(b.expose_secret()).is_some());
        assert_ne!(a.expose_secret(), b.expose_secret());
        // 43 characters of id, a dot, 22 of tag: a cookie value without escaping.
        assert_eq!(a.expose_secret().len(), 43 + 1 + 22);
    }

    #[test]
    fn changed_missing_or_foreign_tags_are_refused() {
        let key = key(1);
        let issued = key.issue(&SeqRng::default());
        let value = issued.expose_secret();
        let (id, tag) = value.split_once('.').unwrap_or_default();
        let flipped = |s: &str| {
            let mut chars: Vec<char> = s.chars().collect();
            if let Some(c) = chars.first_mut() {
                *c = if *c == 'A' { 'B' } else { 'A' };
            }
            chars.into_iter().collect::<String>()
        };
        for forged in [
            format!("{}.{tag}", flipped(id)),
            format!("{id}.{}", flipped(tag)),
            id.to_owned(),
            format!("{id}."),
            format!("{id}.{tag}{tag}"),
            format!(".{tag}"),
            String::new(),
        ] {
            assert!(key.open(&forged).is_none(), "{forged} was accepted");
        }
        assert!(self::key(2).open(value).is_none());
    }

    #[test]
    fn sessions_from_before_a_rotation_stay_open_while_the_previous_secret_is_kept() {
        let rng = SeqRng::default();
        let old_secret = "the-old-secret-the-old-secret-the-old";
        let new_secret = "the-new-secret-the-new-secret-the-new";
        let before = SessionCookieKey::derive(&ServerSecret::parse_for_tests(old_secret));
        let during =
            SessionCookieKey::derive(&ServerSecret::rotated_for_tests(new_secret, old_secret));
        let after = SessionCookieKey::derive(&ServerSecret::parse_for_tests(new_secret));
        let old = before.issue(&rng);
        let new = during.issue(&rng);
        assert!(during.open(old.expose_secret()).is_some());
        assert!(during.open(new.expose_secret()).is_some());
        assert!(
            after.open(new.expose_secret()).is_some(),
            "new sessions use the new secret"
        );
        assert!(before.open(new.expose_secret()).is_none());
        assert!(
            after.open(old.expose_secret()).is_none(),
            "retired with the previous secret"
        );
    }

    #[test]
    fn an_oversized_value_is_refused() {
        let key = key(1);
        let issued = key.issue(&SeqRng::default());
        let tag = issued.expose_secret().split_once('.').unwrap_or_default().1;
        let huge = format!("{}.{tag}", "A".repeat(64 * 1024));
        assert!(key.open(&huge).is_none());
    }

    proptest! {
        #[test]
        fn made_up_values_are_refused_without_panicking(value in ".{0,200}") {
            prop_assert!(key(1).open(&value).is_none());
        }
    }
}
