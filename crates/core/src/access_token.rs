//! Access tokens: JWTs per RFC 9068 ("JSON Web Token Profile for OAuth 2.0 Access Tokens"),
//! signed ES256 with the header `typ: at+jwt` and a `kid`.
//!
//! Claims: `iss`, `sub`, `aud` (the app's canonical URL), `client_id`, `scope`, `jti`, `iat`,
//! `exp` (RFC 9068 §2.2), plus `grant_id` and `email`. Verification accepts only what this
//! server issues: ES256 with a low `s` (`crate::jws`), `at+jwt`, a known `kid`, our issuer, an
//! unexpired token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::jws;
use crate::signer::Signer;
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

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// RFC 9068 §2.1: "Resource servers MUST verify that the typ header value is at+jwt".
const TYP: &str = "at+jwt";

/// Signs `claims` into a compact JWS (RFC 7515 §7.1) with `typ: at+jwt` (RFC 9068 §2.1).
pub async fn issue(signer: &impl Signer, claims: &AccessTokenClaims) -> Result<String, StoreError> {
    jws::sign(signer, TYP, claims).await
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
    let invalid = |reason| VerifyError::Invalid(reason);
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid(Reason::TokenMalformed));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(Reason::TokenMalformed));
    };
    let header: Header = decode_json(header_b64).ok_or(invalid(Reason::TokenMalformed))?;
    if header.alg != jws::ALG || header.typ != TYP {
        return Err(invalid(Reason::TokenMalformed));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| invalid(Reason::TokenMalformed))?;
    // One token, one encoding: the high-`s` twin of a token we signed is not that token.
    let signature =
        jws::Es256Signature::parse(&signature).ok_or(invalid(Reason::TokenSignatureInvalid))?;
    let signing_input_len = header_b64.len() + 1 + claims_b64.len();
    let signing_input = token
        .get(..signing_input_len)
        .ok_or(invalid(Reason::TokenMalformed))?;
    let valid = signer
        .verify(&header.kid, signing_input.as_bytes(), &signature.to_bytes())
        .await
        .map_err(VerifyError::Store)?;
    if !valid {
        return Err(invalid(Reason::TokenSignatureInvalid));
    }
    let claims: AccessTokenClaims =
        decode_json(claims_b64).ok_or(invalid(Reason::TokenMalformed))?;
    if claims.iss != issuer {
        return Err(invalid(Reason::TokenIssuerMismatch));
    }
    if now.0 >= claims.exp {
        return Err(invalid(Reason::TokenExpired));
    }
    Ok(claims)
}

fn decode_json<T: serde::de::DeserializeOwned>(b64: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    serde_json::from_slice(&bytes).ok()
}
