//! A person's remembered consent for one client at one app. When remembered consent holds for a
//! request is `crate::consent::remembered`'s to decide.

use crate::types::Scopes;

/// A person's consent on record for one client at one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The scopes approved, widened by each approval.
    pub scopes: Scopes,
    /// The redirect URI, exactly as requested (loopback port included), of the last request
    /// the person approved on the consent page; `None` when they approved only through the
    /// device grant, or before this was recorded. A public client's remembered consent holds
    /// for this redirect URI only (`crate::consent::remembered`).
    pub redirect_uri: Option<String>,
}
