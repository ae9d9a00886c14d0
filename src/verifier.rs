//! Access-token verification with a per-isolate cache: an agent's burst of requests costs one
//! signature check. Only successful verifications are kept, keyed by the token's SHA-256, and
//! each hit re-checks issuer and expiry; revocation is checked on every request regardless
//! (the denylist), so caching never extends a revoked token's life.

use std::cell::RefCell;
use std::collections::HashMap;

use gatehouse_core::access_token::{self, AccessTokenClaims, VerifyError};
use gatehouse_core::crypto::sha256;
use gatehouse_core::error::Reason;
use gatehouse_core::gatekeeper::TokenVerifier;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::time::UnixTime;

use crate::isolate_cache;

/// An isolate that has verified this many distinct tokens starts its cache over.
const MAX_ENTRIES: usize = 10_000;

thread_local! {
    static VERIFIED: RefCell<HashMap<[u8; 32], AccessTokenClaims>> = RefCell::new(HashMap::new());
}

/// [`TokenVerifier`] over a [`Signer`], caching per isolate.
pub struct CachedVerifier<'a, K> {
    signer: &'a K,
}

impl<'a, K: Signer> CachedVerifier<'a, K> {
    pub fn new(signer: &'a K) -> Self {
        Self { signer }
    }
}

impl<K: Signer> TokenVerifier for CachedVerifier<'_, K> {
    async fn verify(
        &self,
        token: &str,
        issuer: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, VerifyError> {
        let key = sha256(token.as_bytes());
        if let Some(claims) = VERIFIED.with_borrow(|cache| cache.get(&key).cloned()) {
            if claims.iss != issuer {
                return Err(VerifyError::Invalid(Reason::TokenIssuerMismatch));
            }
            if now.0 >= claims.exp {
                VERIFIED.with_borrow_mut(|cache| cache.remove(&key));
                return Err(VerifyError::Invalid(Reason::TokenExpired));
            }
            return Ok(claims);
        }
        let claims = access_token::verify(self.signer, token, issuer, now).await?;
        isolate_cache::insert(&VERIFIED, MAX_ENTRIES, key, claims.clone());
        Ok(claims)
    }
}
