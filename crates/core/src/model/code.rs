//! An issued authorization code (RFC 6749 §4.1.2), what a token request must repeat of it
//! (RFC 6749 §4.1.3, RFC 7636 §4.6), and what consuming it found.

use crate::grant_id::GrantId;
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::{ClientId, Scopes};

use super::grant::GrantRecord;

/// An issued authorization code, bound to everything the token request must repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// Hash of the code.
    pub code_hash: SecretHash,
    /// The grant it was issued under.
    pub grant_id: GrantId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The redirect URI of the authorization request, exactly as sent.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource (RFC 8707) the token will be for.
    pub resource: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// When it stops being exchangeable.
    pub expires_at: UnixTime,
}

/// What a token request repeats of its code's authorization request, compared with the code
/// before it is spent: whoever merely saw a code (in a log, a `Referer`, a browser history)
/// cannot spend it, because they lack the client's credentials or the PKCE verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeBinding<'a> {
    /// The authenticated client (RFC 6749 §4.1.3: "ensure that the authorization code was
    /// issued to the authenticated confidential client, or if the client is public, ensure
    /// that the code was issued to "client_id" in the request").
    pub client_id: &'a ClientId,
    /// The app served where the token request arrived: each app host is its own issuer.
    pub resource: &'a str,
    /// The redirect URI the request repeats (RFC 6749 §4.1.3), or the client's only registered
    /// one when it left the parameter out; `None` matches no code.
    pub redirect_uri: Option<&'a str>,
    /// The `S256` challenge of the presented `code_verifier` (RFC 7636 §4.6).
    pub code_challenge: &'a str,
}

impl CodeBinding<'_> {
    /// Why `code` was not issued for this request, checked in this order (the first that
    /// differs is reported); `None` when everything matches.
    pub fn mismatch(&self, code: &CodeRecord) -> Option<crate::error::Reason> {
        use crate::error::Reason;
        if &code.client_id != self.client_id {
            Some(Reason::CodeIssuedToOtherClient)
        } else if code.resource != self.resource {
            // A code issued for one app is unknown at another.
            Some(Reason::CodeUnknown)
        } else if self.redirect_uri != Some(code.redirect_uri.as_str()) {
            Some(Reason::CodeRedirectUriMismatch)
        } else if !crate::crypto::ct_eq_digest(
            self.code_challenge.as_bytes(),
            code.code_challenge.as_bytes(),
        ) {
            Some(Reason::PkceVerifierMismatch)
        } else {
            None
        }
    }
}

/// What consuming a code found.
#[derive(Clone, Debug, PartialEq, Eq)]
// Returned once per token request and matched at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Consumed {
    /// First use by the request it was issued for: the caller alone received it, with its
    /// grant (read in the same round trip; `None` if the grant is gone).
    Fresh(CodeRecord, Option<GrantRecord>),
    /// The request it was issued for presented it again: its grant must be revoked
    /// (RFC 6749 §4.1.2).
    Replayed(GrantId),
    /// The code exists, used or not, but the request does not match its [`CodeBinding`].
    /// Nothing was changed; the code, with its grant, is returned for the audit log.
    Refused(CodeRecord, Option<GrantRecord>),
    /// No such code.
    Unknown,
}
