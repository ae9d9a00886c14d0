//! The server secret (`GATEHOUSE_SECRET`, and `GATEHOUSE_SECRET_PREVIOUS` during a rotation):
//! the one root from which every internal key is derived by label (RFC 5869 §2.3, one block).
//!
//! Bottom layer: it depends only on [`crate::crypto`]. Reading it from the environment, and the
//! rules a configured value must meet, are `crate::config`'s.

/// The server secret (`GATEHOUSE_SECRET`), and the one it replaced while a rotation is under way
/// (`GATEHOUSE_SECRET_PREVIOUS`). Internal keys are derived from it by label, so one secret
/// serves several purposes without any two sharing a key.
///
/// Rotation: every new value (a tag, a sealed key, a MAC) is made under the current secret;
/// a value made under the previous one is still accepted until the operator removes it, so a
/// new secret ends nothing that is live ([`ServerSecret::derive_previous`]).
pub struct ServerSecret {
    current: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret([redacted])")
    }
}

impl ServerSecret {
    /// The secret `current`, and the one it replaced while a rotation is under way. The
    /// caller (`crate::config`) has checked both are long enough.
    pub fn new(current: Vec<u8>, previous: Option<Vec<u8>>) -> Self {
        Self { current, previous }
    }

    /// A 256-bit key for `label`: HMAC-SHA256(secret, label), the HKDF-Expand step of RFC 5869
    /// §2.3 for a single block, which is all a 32-byte key needs. Everything new is made with
    /// this key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        derive_key(&self.current, label)
    }

    /// The key for `label` under the previous secret, while one is configured: what values made
    /// before the rotation are checked with once the current key does not match.
    pub fn derive_previous(&self, label: &str) -> Option<[u8; 32]> {
        self.previous.as_deref().map(|p| derive_key(p, label))
    }

    /// The keys for `label` a presented value may have been made with: the current one first.
    pub fn derive_accepted(&self, label: &str) -> impl Iterator<Item = [u8; 32]> + use<> {
        std::iter::once(self.derive(label)).chain(self.derive_previous(label))
    }

    /// A secret of these characters, for unit tests.
    #[cfg(test)]
    pub(crate) fn parse_for_tests(text: &str) -> Self {
        Self {
            current: text.as_bytes().to_vec(),
            previous: None,
        }
    }

    /// A secret of these characters that replaced `previous`, for unit tests.
    #[cfg(any(test, feature = "testing"))]
    pub fn rotated_for_tests(current: &str, previous: &str) -> Self {
        Self {
            current: current.as_bytes().to_vec(),
            previous: Some(previous.as_bytes().to_vec()),
        }
    }
}

fn derive_key(secret: &[u8], label: &str) -> [u8; 32] {
    crate::crypto::hmac_sha256(secret, &[label.as_bytes(), &[1]])
}
