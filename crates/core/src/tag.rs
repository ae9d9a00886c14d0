//! The MAC tag that marks a value gatehouse issued: `<body>.<tag>`, where the tag is
//! HMAC-SHA256 (RFC 2104) of the body under a key derived from `GATEHOUSE_SECRET` by a label of
//! its own per kind of value, truncated to 128 bits and base64url-encoded (RFC 4648 §5, 22
//! characters).
//!
//! Why: a value that is looked up in storage (a session, a client, a code, a refresh token) costs
//! a round trip when it is made up, unless something cheaper refuses it first. The tag is that
//! something: a value whose tag does not match was not issued under this secret, and is refused
//! by a hash computation before storage is asked. The tag proves only that gatehouse made the
//! value, never that it is still live: the stored row decides that, as before.
//!
//! Not here: which values carry a tag and what happens to values from before tags (the callers:
//! `crate::session_cookie`, `crate::identifiers`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::{ct_eq_digest, hmac_sha256};
use crate::server_secret::ServerSecret;

/// The tag's length in bytes: 128 bits, as many as guessing needs to be hopeless.
const TAG_BYTES: usize = 16;
/// The tag's length once encoded: 16 bytes of base64url without padding.
pub const TAG_CHARS: usize = 22;
/// The longest body a tag is checked for. Every body gatehouse tags is shorter (43 characters
/// for 256 random bits); anything longer is refused without hashing it.
const MAX_BODY_CHARS: usize = 256;

/// What a presented value is, as far as its tag tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `<body>.<tag>` with the tag of the body under this key: gatehouse issued it.
    Issued,
    /// Shaped like a tagged value, but the tag is not the body's under this key: made up, or
    /// issued under another secret.
    Forged,
    /// No tag at all: the value does not end in a dot and 22 base64url characters.
    Untagged,
}

/// Whether `value` is shaped like a tagged value (it ends in a dot and 22 base64url
/// characters), whether or not the tag is right. Values without that shape are
/// [`Verdict::Untagged`] under every key.
pub fn is_tagged(value: &str) -> bool {
    split(value).is_some()
}

/// An SQLite expression that is true exactly for the values of `column` that [`is_tagged`]
/// accepts, for queries that must tell untagged values apart (ASCII values: SQLite counts
/// characters). D1 refuses `GLOB` patterns this long, hence `trim` with the alphabet: it leaves
/// nothing of the last 22 characters only if all are base64url.
pub fn sql_is_tagged(column: &str) -> String {
    format!(
        "(length({column}) > {TAG_CHARS} AND substr({column}, -{}, 1) = '.' \
         AND trim(substr({column}, -{TAG_CHARS}), '{TAG_ALPHABET}') = '')",
        TAG_CHARS + 1
    )
}

/// The base64url alphabet (RFC 4648 §5) the tag is written in.
const TAG_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The body and the tag of a tagged value.
fn split(value: &str) -> Option<(&str, &str)> {
    let (body, tag) = value.rsplit_once('.')?;
    let in_alphabet = |b: u8| TAG_ALPHABET.as_bytes().contains(&b);
    (tag.len() == TAG_CHARS && tag.bytes().all(in_alphabet)).then_some((body, tag))
}

/// A key that tags one kind of value, and the key it replaced while the server secret is being
/// rotated ([`ServerSecret::derive_previous`]).
pub struct TagKey {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for TagKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TagKey([redacted])")
    }
}

impl TagKey {
    /// The key for `label`, derived from the server secret: a new secret makes every value
    /// tagged under the old one [`Verdict::Forged`], unless the old one is kept as
    /// `GATEHOUSE_SECRET_PREVIOUS`.
    pub fn derive(secret: &ServerSecret, label: &str) -> Self {
        Self {
            current: secret.derive(label),
            previous: secret.derive_previous(label),
        }
    }

    /// A key of `byte` repeated, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(byte: u8) -> Self {
        Self {
            current: [byte; 32],
            previous: None,
        }
    }

    /// A key of `byte` repeated that replaced one of `previous`, for unit tests.
    #[cfg(test)]
    pub(crate) fn rotated_for_tests(byte: u8, previous: u8) -> Self {
        Self {
            current: [byte; 32],
            previous: Some([previous; 32]),
        }
    }

    /// `body`, a dot, and the tag of `body` under the current key.
    pub fn seal(&self, body: &str) -> String {
        format!("{body}.{}", tag(&self.current, body))
    }

    /// `body` sealed under the previous key, while a rotation is under way: what [`Self::seal`]
    /// returned before it (a repeated refresh must receive the successor it was first given).
    pub fn seal_previous(&self, body: &str) -> Option<String> {
        self.previous
            .map(|key| format!("{body}.{}", tag(&key, body)))
    }

    /// Whether `presented` is a value this key sealed; the tag is compared in constant time.
    pub fn verdict(&self, presented: &str) -> Verdict {
        let Some((body, tag)) = split(presented) else {
            return Verdict::Untagged;
        };
        if body.is_empty() || body.len() > MAX_BODY_CHARS {
            return Verdict::Forged;
        }
        // The previous key is tried only when the current one fails: during a rotation a
        // made-up value costs a second HMAC, never a lookup.
        let issued_under =
            |key: &[u8; 32]| ct_eq_digest(tag.as_bytes(), self::tag(key, body).as_bytes());
        if issued_under(&self.current) || self.previous.as_ref().is_some_and(issued_under) {
            Verdict::Issued
        } else {
            Verdict::Forged
        }
    }
}

/// The tag of `body` under `key`.
fn tag(key: &[u8; 32], body: &str) -> String {
    let mac = hmac_sha256(key, &[body.as_bytes()]);
    URL_SAFE_NO_PAD.encode(mac.get(..TAG_BYTES).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(byte: u8) -> TagKey {
        TagKey::for_tests(byte)
    }

    fn flip_first(s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        if let Some(c) = chars.first_mut() {
            *c = if *c == 'A' { 'B' } else { 'A' };
        }
        chars.into_iter().collect()
    }

    #[test]
    fn a_sealed_value_is_issued_and_carries_22_characters_of_tag() {
        let sealed = key(1).seal("body");
        assert_eq!(key(1).verdict(&sealed), Verdict::Issued);
        assert_eq!(sealed.len(), "body".len() + 1 + TAG_CHARS);
        assert!(sealed.starts_with("body."));
    }

    #[test]
    fn changed_or_foreign_tags_are_forged_and_tagless_values_untagged() {
        let key = key(1);
        let sealed = key.seal("c_0123");
        let (body, tag) = sealed.rsplit_once('.').unwrap_or_default();
        let rows: [(String, Verdict); 9] = [
            (format!("{}.{tag}", flip_first(body)), Verdict::Forged),
            (format!("{body}.{}", flip_first(tag)), Verdict::Forged),
            (format!(".{tag}"), Verdict::Forged),
            (format!("{}.{tag}", "A".repeat(64 * 1024)), Verdict::Forged),
            (body.to_owned(), Verdict::Untagged),
            (format!("{body}."), Verdict::Untagged),
            (format!("{body}.{tag}{tag}"), Verdict::Untagged),
            (format!("{body}.{}", &tag[1..]), Verdict::Untagged),
            (String::new(), Verdict::Untagged),
        ];
        for (presented, verdict) in rows {
            assert_eq!(key.verdict(&presented), verdict, "{presented}");
            assert_eq!(
                is_tagged(&presented),
                verdict != Verdict::Untagged,
                "{presented}"
            );
        }
        assert_eq!(self::key(2).verdict(&sealed), Verdict::Forged);
    }

    #[test]
    fn a_body_with_dots_is_split_at_the_last_one() {
        let sealed = key(1).seal("a.b.c");
        assert_eq!(key(1).verdict(&sealed), Verdict::Issued);
    }

    #[test]
    fn during_a_rotation_values_of_both_keys_are_issued_and_new_ones_use_the_current_key() {
        let rotated = TagKey::rotated_for_tests(2, 1);
        let old = key(1).seal("body");
        let new = rotated.seal("body");
        assert_eq!(rotated.verdict(&old), Verdict::Issued);
        assert_eq!(rotated.verdict(&new), Verdict::Issued);
        assert_eq!(new, key(2).seal("body"));
        assert_eq!(rotated.seal_previous("body"), Some(old.clone()));
        assert_eq!(rotated.verdict(&key(3).seal("body")), Verdict::Forged);
        // Once the previous key is removed, its values are forged again.
        assert_eq!(key(2).verdict(&old), Verdict::Forged);
        assert_eq!(key(2).seal_previous("body"), None);
    }

    proptest! {
        #[test]
        fn made_up_values_are_never_issued(value in ".{0,200}") {
            prop_assert_ne!(key(1).verdict(&value), Verdict::Issued);
        }

        #[test]
        fn every_sealed_body_is_issued(body in "[!-~]{1,200}") {
            prop_assert_eq!(key(1).verdict(&key(1).seal(&body)), Verdict::Issued);
        }
    }
}
