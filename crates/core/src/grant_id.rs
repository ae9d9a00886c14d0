//! Grant identifiers: random, URL-safe, carried in every token issued under a grant.

use crate::rng::Rng;

/// Identifies a grant (person × client × app × scopes). Not a secret: it appears in access
/// tokens, on the connected-agents page and in audit events.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct GrantId(String);

impl GrantId {
    /// A fresh random grant id (128 bits).
    pub fn issue(rng: &impl Rng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        Self(format!("g_{}", crate::crypto::hex(&bytes)))
    }

    /// A grant id read back from storage or from a verified token.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
