//! The session cookie's value: 256 random bits and a MAC of them, `<id>.<tag>`, where the tag is
//! HMAC-SHA256 under a key derived from `GATEHOUSE_SECRET`, truncated to 128 bits.
//!
//! Why: every request to an app that carries a session cookie looks the session up in D1. With a
//! bare random value, a made-up cookie costs that lookup too, so anyone could make every request
//! to any app a D1 query. With the tag, a value gatehouse did not issue is refused by a hash
//! computation, before storage is asked. The whole value is still what the session is stored
//! under (its SHA-256, as for every secret), and the session row is still what makes it valid:
//! the tag proves only that gatehouse made the value, not that the session is live.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::ServerSecret;
use crate::crypto::ct_eq_digest;
use crate::rng::Rng;
use crate::secret::{SECRET_BYTES, SessionId};

/// The label under which the MAC key is derived from the server secret.
const KEY_LABEL: &str = "session-cookie";
/// The tag's length: 128 bits, as many as guessing needs to be hopeless.
const TAG_BYTES: usize = 16;

/// The key that tags session cookies.
pub struct SessionCookieKey([u8; 32]);

impl SessionCookieKey {
    /// The key derived from the server secret: a new secret ends every session.
    pub fn derive(secret: &ServerSecret) -> Self {
        Self(secret.derive(KEY_LABEL))
    }

    /// A new session id, tagged.
    pub fn issue<R: Rng + ?Sized>(&self, rng: &R) -> SessionId {
        let mut bytes = [0u8; SECRET_BYTES];
        rng.fill(&mut bytes);
        let id = URL_SAFE_NO_PAD.encode(bytes);
        let tag = URL_SAFE_NO_PAD.encode(self.tag(&id));
        SessionId::from_presented(format!("{id}.{tag}"))
    }

    /// Whether gatehouse issued `presented` under this key. Constant time in the tag.
    pub fn issued(&self, presented: &str) -> bool {
        let Some((id, tag)) = presented.split_once('.') else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        ct_eq_digest(&tag, &self.tag(id))
    }

    fn tag(&self, id: &str) -> [u8; TAG_BYTES] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(id.as_bytes());
        let mut tag = [0u8; TAG_BYTES];
        for (byte, full) in tag.iter_mut().zip(mac.finalize().into_bytes()) {
            *byte = full;
        }
        tag
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::SeqRng;

    fn key(byte: u8) -> SessionCookieKey {
        SessionCookieKey([byte; 32])
    }

    #[test]
    fn an_issued_value_is_recognised_and_differs_each_time() {
        let key = key(1);
        let rng = SeqRng::default();
        let (a, b) = (key.issue(&rng), key.issue(&rng));
        assert!(key.issued(a.expose_secret()));
        assert!(key.issued(b.expose_secret()));
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
            assert!(!key.issued(&forged), "{forged} was accepted");
        }
        assert!(!self::key(2).issued(value));
    }

    proptest! {
        #[test]
        fn made_up_values_are_refused_without_panicking(value in ".{0,200}") {
            prop_assert!(!key(1).issued(&value));
        }
    }
}
