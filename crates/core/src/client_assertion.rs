//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3; OpenID Connect Core §9) for
//! clients identified by a Client ID Metadata Document that publishes its keys (`jwks_uri` or
//! `jwks`).
//!
//! The client sends `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//! and `client_assertion`, a JWT it signed. We accept ES256 only (RFC 7518 §3.4), verified by
//! the `Signer`'s WebCrypto in the Worker; RS256 is not supported yet. Each `jti` is accepted
//! once (RFC 7523 §3 item 7), remembered until the assertion expires.

use serde::Deserialize;

use crate::cimd::{self, CimdPolicy, CimdUrl, MetadataDocuments};
use crate::error::Reason;
use crate::jose::alg::Alg;
use crate::jose::jwk::JwkSet;
use crate::jose::jws::{self, Accept, HighS, Jws, JwsError};
use crate::jose::signer::JwkVerifier;
use crate::store::{ClientRecord, StoreError};
use crate::time::UnixTime;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may still be valid for: bounds how long its `jti` is stored.
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 600;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 30;
/// The longest assertion accepted, in bytes: a few hundred are usual; the cap keeps a hostile
/// form from costing more than a glance.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// What an assertion may be: ES256 only, no longer than [`MAX_ASSERTION_BYTES`]. RS256 is not
/// supported yet.
const ACCEPT: Accept<'static> = Accept {
    algs: &[Alg::Es256],
    max_bytes: MAX_ASSERTION_BYTES,
};

/// A signature that does not verify is a failed signature check; anything else wrong with the
/// JWS is an invalid assertion.
fn reason(error: JwsError) -> Reason {
    match error {
        JwsError::SignatureInvalid => Reason::ClientAssertionSignature,
        JwsError::TooLarge
        | JwsError::Malformed
        | JwsError::CriticalHeader
        | JwsError::AlgorithmRefused => Reason::ClientAssertionInvalid,
    }
}

pub use crate::model::client::ClientKeys;

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: u64,
    jti: String,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
}

/// A parsed, not yet verified, assertion.
pub struct Assertion<'t> {
    jws: Jws<'t>,
    claims: Claims,
}

impl<'t> Assertion<'t> {
    /// Parses a compact JWS (RFC 7515 §7.1) through [`jws::parse`], and its claims.
    pub fn parse(raw: &'t str) -> Result<Self, Reason> {
        let jws = jws::parse(raw, &ACCEPT).map_err(reason)?;
        let claims = jws.unverified_claims().map_err(reason)?;
        Ok(Self { jws, claims })
    }

    /// The client it names (`sub`, RFC 7523 §3 item 2).
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }
}

/// Verifies `raw` for `client` (RFC 7523 §3): `iss` and `sub` are the client id; `aud` names
/// one of `audiences` (the token endpoint URL or the issuer); it has not expired, is not valid
/// for longer than [`MAX_ASSERTION_LIFETIME_SECS`], and is not used before `nbf`; ES256 by one
/// of the client's keys; its `jti` was never seen.
pub async fn verify(
    store: &impl MetadataDocuments,
    verifier: &impl JwkVerifier,
    policy: &CimdPolicy,
    client: &ClientRecord,
    raw: &str,
    audiences: &[String],
    now: UnixTime,
) -> Result<Result<(), Reason>, StoreError> {
    let assertion = match Assertion::parse(raw) {
        Ok(assertion) => assertion,
        Err(reason) => return Ok(Err(reason)),
    };
    let claims = &assertion.claims;
    let id = client.client_id.as_str();
    if claims.iss != id || claims.sub != id {
        return Ok(Err(Reason::ClientAssertionInvalid));
    }
    let aud_ok = match &claims.aud {
        Audience::One(a) => audiences.contains(a),
        Audience::Many(many) => many.iter().any(|a| audiences.contains(a)),
    };
    if !aud_ok {
        return Ok(Err(Reason::ClientAssertionAudience));
    }
    let fresh = now.0 < claims.exp.saturating_add(LEEWAY_SECS)
        && claims.exp <= now.0.saturating_add(MAX_ASSERTION_LIFETIME_SECS)
        && claims
            .nbf
            .is_none_or(|nbf| nbf <= now.0.saturating_add(LEEWAY_SECS))
        && claims
            .iat
            .is_none_or(|iat| iat <= now.0.saturating_add(LEEWAY_SECS))
        && !claims.jti.is_empty()
        && claims.jti.len() <= 255;
    if !fresh {
        return Ok(Err(Reason::ClientAssertionInvalid));
    }
    let keys = match client_keys(store, policy, client, now).await {
        Ok(keys) => keys,
        Err(reason) => return Ok(Err(reason)),
    };
    // A high-`s` signature is accepted here, unlike on the JWSs gatehouse signs (`crate::jose::jws`):
    // the client signs its assertion with whatever JOSE library it uses, and the common ones
    // (OpenSSL-, WebCrypto- and Go-based) leave about half their ECDSA signatures high-`s`, so
    // refusing them would fail every other authentication of a conforming client (RFC 7518
    // §3.4 asks nothing about `s`). The twin buys nothing: an assertion is used once, by its
    // `jti` (checked below), which both spellings share, and its text is never stored.
    let Assertion { jws, claims } = assertion;
    let alg = jws.alg;
    let kid = jws.kid.clone();
    let verified = jws
        .verify(HighS::Accepted, async |input, signature| {
            for key in keys.candidates(alg, kid.as_deref()) {
                if verifier.verify_jwk(key, alg, input, signature).await {
                    return Ok(true);
                }
            }
            Ok::<_, StoreError>(false)
        })
        .await?;
    if let Err(error) = verified {
        return Ok(Err(reason(error)));
    }
    let jti_hash = crate::secret::SecretHash::from_digest(&crate::crypto::sha256(
        format!("{id} {}", claims.jti).as_bytes(),
    ));
    let first_use = store
        .use_assertion_id(
            &jti_hash,
            UnixTime(claims.exp.saturating_add(LEEWAY_SECS)),
            now,
        )
        .await?;
    Ok(if first_use {
        Ok(())
    } else {
        Err(Reason::ClientAssertionReplayed)
    })
}

/// The client's keys: inline, or fetched from its `jwks_uri` under the SSRF rules.
async fn client_keys(
    store: &impl MetadataDocuments,
    policy: &CimdPolicy,
    client: &ClientRecord,
    now: UnixTime,
) -> Result<JwkSet, Reason> {
    match &client.metadata.keys {
        Some(ClientKeys::Jwks(jwks)) => Ok(jwks.clone()),
        Some(ClientKeys::JwksUri(uri)) => {
            let url = CimdUrl::parse(uri, policy)?;
            let parse = |body: &[u8]| {
                serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .filter(|_| body.len() <= cimd::MAX_DOCUMENT_BYTES)
                    .as_ref()
                    .and_then(JwkSet::from_value)
                    .and_then(|keys| keys.fitting(Alg::Es256))
            };
            // Cached like documents, under the JWKS URL's own key.
            let cached = store.cached_document(&url, now).await.ok().flatten();
            if let Some(keys) = cached.as_deref().and_then(parse) {
                return Ok(keys);
            }
            let response = cimd::fetch(store, &url).await?;
            let keys = parse(&response.body).ok_or(Reason::ClientAssertionSignature)?;
            let ttl = cimd::cache_ttl(
                response.cache_control.as_deref(),
                response.expires.as_deref(),
                now,
            );
            // A failed cache write costs a fetch next time, nothing else.
            let _ = store.cache_document(&url, &response.body, ttl, now).await;
            Ok(keys)
        }
        None => Err(Reason::ClientAuthMethodMismatch),
    }
}
