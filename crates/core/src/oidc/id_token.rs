//! The ID token (OpenID Connect Core §2, §3.1.3.7): what its JWS may be (parsed and verified by
//! `crate::jose::jws`, the provider's key chosen by `kid` from its JWK Set) and the claim
//! checks.
//!
//! Only `RS256` and `ES256` are accepted. `none` and the `HS*` family are refused: an ID token
//! from the token endpoint could be MACed with the client secret (§10.1), but gatehouse does not
//! ask for that, and refusing them closes the algorithm-confusion door.
//!
//! An `ES256` ID token with a high `s` is accepted ([`HIGH_S`]), unlike gatehouse's own JWSs: the
//! provider signs it, not gatehouse, and many providers' ECDSA (WebCrypto, OpenSSL, Go before
//! it normalised) leave half their signatures high, so refusing them would fail every other
//! login. Malleability buys nothing here: the token arrives once, from the provider's token
//! endpoint over TLS, is bound to one login by its `nonce` and to the state consumed once, and
//! is never stored, cached or compared by its text.

use serde::Deserialize;

use crate::crypto::ct_eq_digest;
use crate::error::Reason;
use crate::jose::alg::Alg;
use crate::jose::jws::{self, Accept, HighS, Jws, JwsError};
use crate::time::UnixTime;

/// Longest ID token accepted, in bytes (a token with a few hundred groups fits).
pub const MAX_ID_TOKEN_BYTES: usize = 64 * 1024;
/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// What an ID token may be: RS256 or ES256, no longer than [`MAX_ID_TOKEN_BYTES`].
const ACCEPT: Accept<'static> = Accept {
    algs: &[Alg::Rs256, Alg::Es256],
    max_bytes: MAX_ID_TOKEN_BYTES,
};

/// A provider's ES256 signature may have a high `s` (see the module documentation).
pub const HIGH_S: HighS = HighS::Accepted;

/// The reason for each refusal of the JWS itself.
pub fn reason(error: JwsError) -> Reason {
    match error {
        JwsError::AlgorithmRefused => Reason::IdTokenAlgorithmRefused,
        JwsError::SignatureInvalid => Reason::IdTokenSignatureInvalid,
        JwsError::TooLarge | JwsError::Malformed | JwsError::CriticalHeader => {
            Reason::IdTokenMalformed
        }
    }
}

/// Parses an ID token's JWS (RFC 7515 §7.1) through [`jws::parse`]: RS256 or ES256, no `crit`,
/// at most [`MAX_ID_TOKEN_BYTES`].
pub fn parse(token: &str) -> Result<Jws<'_>, Reason> {
    jws::parse(token, &ACCEPT).map_err(reason)
}

/// The ID token's claims that gatehouse reads.
#[derive(Clone, Debug, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the provider's stable identifier of the person.
    pub sub: String,
    /// Audience: one string or an array.
    pub aud: Audience,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// The nonce gatehouse sent.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Everything else (email, name, groups…), read by [`super::identity`].
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `aud`: RFC 7519 §4.1.3 allows one string or an array.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Audience {
    fn as_slice(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// What the ID token must match.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The provider's issuer (from validated discovery, identical to the configured one).
    pub issuer: &'a str,
    /// gatehouse's client id at the provider.
    pub client_id: &'a str,
    /// The nonce derived from the state.
    pub nonce: &'a str,
    /// Now.
    pub now: UnixTime,
}

/// The claim checks of OpenID Connect Core §3.1.3.7 (items 2–5 and 9–11), on a payload whose
/// signature has been verified.
pub fn check_claims(payload: &[u8], expected: &Expected<'_>) -> Result<IdTokenClaims, Reason> {
    let claims: IdTokenClaims =
        serde_json::from_slice(payload).map_err(|_| Reason::IdTokenMalformed)?;
    // Item 2: "The Issuer Identifier for the OpenID Provider […] MUST exactly match the value of
    // the iss (issuer) Claim."
    if claims.iss != expected.issuer {
        return Err(Reason::IdTokenIssuerMismatch);
    }
    // Item 3: "The Client MUST validate that the aud (audience) Claim contains its client_id
    // value […] The ID Token MUST be rejected if the ID Token does not list the Client as a
    // valid audience, or if it contains additional audiences not trusted by the Client."
    let audiences = claims.aud.as_slice();
    if !audiences.iter().any(|a| a == expected.client_id) {
        return Err(Reason::IdTokenAudienceMismatch);
    }
    // Items 4 and 5 (as of OpenID Connect Core errata set 2): with several audiences an `azp`
    // is expected, and when `azp` is present it must be our client id.
    if audiences.len() > 1 && claims.azp.is_none() {
        return Err(Reason::IdTokenAudienceMismatch);
    }
    if claims
        .azp
        .as_deref()
        .is_some_and(|azp| azp != expected.client_id)
    {
        return Err(Reason::IdTokenAudienceMismatch);
    }
    // Item 9: "The current time MUST be before the time represented by the exp Claim."
    if expected.now.0 >= claims.exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Reason::IdTokenExpired);
    }
    // Item 10: iat "can be used to reject tokens that were issued too far away from the current
    // time": one issued in the future is refused.
    if claims.iat > expected.now.0.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Reason::IdTokenExpired);
    }
    // Item 11: "If a nonce value was sent in the Authentication Request, a nonce Claim MUST be
    // present and its value checked to verify that it is the same value as the one that was
    // sent in the Authentication Request."
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| ct_eq_digest(n.as_bytes(), expected.nonce.as_bytes()));
    if !nonce_ok {
        return Err(Reason::IdTokenNonceMismatch);
    }
    // Core §2: sub "MUST NOT exceed 255 ASCII characters in length".
    if claims.sub.is_empty()
        || claims.sub.len() > 255
        || !claims
            .sub
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(Reason::IdTokenMalformed);
    }
    Ok(claims)
}
