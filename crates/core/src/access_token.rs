//! Access tokens: JWTs per RFC 9068 ("JSON Web Token Profile for OAuth 2.0 Access Tokens"),
//! signed ES256 with the header `typ: at+jwt` and a `kid`.
//!
//! Claims: `iss`, `sub`, `aud` (the app's canonical URL), `client_id`, `scope`, `jti`, `iat`,
//! `exp` (RFC 9068 §2.2), plus `grant_id` and `email`. Verification accepts only what this
//! server issues: ES256 with a low `s` (`crate::jose::jws`), `at+jwt`, a known `kid`, our issuer, an
//! unexpired token.

use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::jose::alg::Alg;
use crate::jose::jws::{self, Accept, HighS, JwsError};
use crate::jose::signer::Signer;
use crate::store::StoreError;
use crate::time::UnixTime;

/// Access tokens live this long unless an app says otherwise (RFC 9700 §2.2.2: short-lived).
pub const ACCESS_TOKEN_TTL_SECS: u64 = 600;
/// The longest access-token lifetime an app may configure.
pub const MAX_ACCESS_TOKEN_TTL_SECS: u64 = 86_400;

/// Longest token text accepted for verification; ours are well under 1 KiB.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The issuer: this server's origin.
    pub iss: String,
    /// The person: their stable subject.
    pub sub: String,
    /// The audience: the app's canonical URL.
    pub aud: String,
    /// The client acting for the person (RFC 9068 §2.2, RFC 8693 §4.3).
    pub client_id: String,
    /// Space-separated scopes (RFC 9068 §2.2.3).
    pub scope: String,
    /// Unique token id.
    pub jti: String,
    /// Issued at.
    pub iat: u64,
    /// Expires at.
    pub exp: u64,
    /// The grant the token was issued under: the unit of revocation.
    pub grant_id: String,
    /// The person's email, for origins and logs.
    pub email: String,
    /// The person's identity-provider groups at login, for the app's group policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The client's registered name, for origins and audit logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

/// RFC 9068 §2.1: "Resource servers MUST verify that the typ header value is at+jwt".
const TYP: &str = "at+jwt";

/// Signs `claims` into a compact JWS (RFC 7515 §7.1) with `typ: at+jwt` (RFC 9068 §2.1).
pub async fn issue(signer: &impl Signer, claims: &AccessTokenClaims) -> Result<String, StoreError> {
    jws::sign(signer, TYP, claims)
        .await
        .map_err(|e| StoreError(e.0))
}

/// What an access token may be: ES256 only, as we sign them, and no longer than
/// [`MAX_TOKEN_BYTES`].
const ACCEPT: Accept<'static> = Accept {
    algs: &[Alg::Es256],
    max_bytes: MAX_TOKEN_BYTES,
};

/// Every refusal of the JWS itself is a malformed token, but a signature that does not verify.
fn reason(error: JwsError) -> Reason {
    match error {
        JwsError::SignatureInvalid => Reason::TokenSignatureInvalid,
        JwsError::TooLarge
        | JwsError::Malformed
        | JwsError::CriticalHeader
        | JwsError::AlgorithmRefused => Reason::TokenMalformed,
    }
}

/// Why a token was refused, or that checking it failed for a reason that is not the token's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The token is not valid here.
    Invalid(Reason),
    /// The keys could not be read.
    Store(StoreError),
}

/// Verifies a token this server issued and returns its claims.
pub async fn verify(
    signer: &impl Signer,
    token: &str,
    issuer: &str,
    now: UnixTime,
) -> Result<AccessTokenClaims, VerifyError> {
    let invalid = |error| VerifyError::Invalid(reason(error));
    let token = jws::parse(token, &ACCEPT).map_err(invalid)?;
    // Explicit typing (RFC 8725 §3.11): only what we issue, `at+jwt` (see [`TYP`]).
    if token.typ.as_deref() != Some(TYP) {
        return Err(invalid(JwsError::Malformed));
    }
    let kid = token.kid.clone().ok_or(invalid(JwsError::Malformed))?;
    // One token, one encoding: the high-`s` twin of a token we signed is not that token.
    let verified = token
        .verify(HighS::Refused, async |input, signature| {
            signer.verify(&kid, input, signature).await
        })
        .await
        .map_err(|e| VerifyError::Store(StoreError(e.0)))?
        .map_err(invalid)?;
    let claims: AccessTokenClaims = verified.claims().map_err(invalid)?;
    if claims.iss != issuer {
        return Err(VerifyError::Invalid(Reason::TokenIssuerMismatch));
    }
    if now.0 >= claims.exp {
        return Err(VerifyError::Invalid(Reason::TokenExpired));
    }
    Ok(claims)
}
