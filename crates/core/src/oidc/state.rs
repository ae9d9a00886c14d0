//! The upstream request's `state`, `nonce` and PKCE verifier (OpenID Connect Core §3.1.2.1,
//! RFC 7636, RFC 9700 §2.1.1).
//!
//! The `state` carries 256 random bits and is stored only as its hash, bound to the browser
//! that started the login (a `__Host-` cookie, also stored hashed), for
//! [`STATE_TTL_SECS`], and used once (`UPDATE … WHERE used_at IS NULL`). The nonce and the PKCE
//! verifier are HMACs of the state under a key derived from `GATEHOUSE_SECRET`, so neither is
//! stored, and neither can be computed by someone who saw only the state.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::hmac_sha256;

pub use crate::model::oidc_state::{StateRecord, StateUse};

/// An upstream login must come back within this time (RFC 6749 §10.12 asks for a short-lived
/// `state`; a person typing a password and a second factor needs a few minutes).
pub const STATE_TTL_SECS: u64 = 600;
/// The label of the key that derives nonces and PKCE verifiers from states.
pub const STATE_KEY_LABEL: &str = "oidc-state";

/// The values derived from one state.
#[derive(Debug)]
pub struct Derived {
    /// The `nonce` sent upstream and expected in the ID token.
    pub nonce: String,
    /// The PKCE verifier (43 base64url characters, RFC 7636 §4.1).
    pub code_verifier: String,
    /// Its S256 challenge (RFC 7636 §4.2).
    pub code_challenge: String,
}

/// Derives the nonce and PKCE values of `state` under `key`.
pub fn derive(key: &[u8; 32], state: &str) -> Derived {
    let mac =
        |label: &[u8]| URL_SAFE_NO_PAD.encode(hmac_sha256(key, &[label, &[0], state.as_bytes()]));
    let code_verifier = mac(b"pkce");
    let code_challenge = URL_SAFE_NO_PAD.encode(crate::crypto::sha256(code_verifier.as_bytes()));
    Derived {
        nonce: mac(b"nonce"),
        code_verifier,
        code_challenge,
    }
}

/// The authentication request URL (Core §3.1.2.1): the provider's authorization endpoint with
/// the parameters appended to any query it already has.
pub fn authorization_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &str,
    state: &str,
    derived: &Derived,
) -> Option<String> {
    let mut url = url::Url::parse(endpoint).ok()?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scopes)
        .append_pair("state", state)
        .append_pair("nonce", &derived.nonce)
        .append_pair("code_challenge", &derived.code_challenge)
        .append_pair("code_challenge_method", "S256");
    Some(url.into())
}
