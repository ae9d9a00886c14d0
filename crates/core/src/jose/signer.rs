//! Token signing keys, as the protocol sees them: ES256 (ECDSA P-256 with SHA-256, RFC 7518
//! §3.4) signatures in the JWS form (`R || S`, 64 bytes), and the public keys as a JWK Set.
//!
//! The Worker implements this on WebCrypto with keys kept encrypted in D1 (about 20× cheaper in
//! CPU than P-256 compiled to wasm); native tests use `testing::TestSigner` on the `p256` crate,
//! and an independent JWT library checks both.

use super::alg::Alg;
use super::jwk::{Jwk, JwkSet};

/// The keys could not be read, made or used: a platform failure (the database holding them,
/// the secret sealing them), never the token's fault. Callers map it to their own error
/// (`StoreError`: a `503`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningError(pub String);

impl std::fmt::Display for SigningError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Verifies signatures under a key someone else published (RFC 7517): a client's, for
/// `private_key_jwt` (RFC 7523), or an identity provider's, for ID tokens. WebCrypto in the
/// Worker; pure Rust in native tests.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait JwkVerifier {
    /// Whether `signature` is a valid `alg` signature of `message` under `key`. A key the
    /// platform cannot import, or a signature it cannot check, is `false`: a failed
    /// verification, not an outage. Callers go through [`super::jws::Jws::verify`], which
    /// checks the signature's shape first.
    async fn verify_jwk(&self, key: &Jwk, alg: Alg, message: &[u8], signature: &[u8]) -> bool;
}

/// Signs and verifies with the server's keys.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait Signer: JwkVerifier {
    /// The id of the key that signs now, creating the first key when there is none.
    async fn current_kid(&self) -> Result<String, SigningError>;
    /// An ES256 signature of `message` by key `kid`, as `R || S`, with `s` high or low (callers
    /// sign through [`super::jws::sign`], which normalises it to low `s`).
    async fn sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, SigningError>;
    /// Whether `signature` is key `kid`'s ES256 signature of `message`. An unknown `kid` is
    /// `Ok(false)`.
    async fn verify(
        &self,
        kid: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SigningError>;
    /// The public keys that verify tokens now.
    async fn jwks(&self) -> Result<JwkSet, SigningError>;
}

/// An RSA public key of the Access-compatible assertion (RS256, RFC 7518 §3.3), with the
/// self-signed certificate that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The key as it is published ([`Jwk::rs256`]), its id the one assertions carry.
    pub jwk: Jwk,
    /// The key in a self-signed X.509 certificate, PEM (RFC 7468 §5).
    pub cert_pem: String,
}

impl RsaPublicKey {
    /// The key and its certificate.
    pub fn new(kid: String, n: String, e: String, cert_pem: String) -> Self {
        Self {
            jwk: Jwk::rs256(kid, n, e),
            cert_pem,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        self.jwk.kid.as_deref().unwrap_or_default()
    }
}

/// Signs with the RS256 keys of the Access-compatible assertion
/// (`crate::gatekeeper::access`): a second set of keys beside the ES256 ones, made, sealed,
/// rotated and published the same way, because apps written for Cloudflare Access verify RS256.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait AccessSigner {
    /// The id of the RSA key that signs now, creating the first key when there is none.
    async fn access_kid(&self) -> Result<String, SigningError>;
    /// An RSASSA-PKCS1-v1_5 SHA-256 signature of `message` by RSA key `kid` (RFC 7518 §3.3).
    async fn access_sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, SigningError>;
    /// The RSA public keys that verify assertions now, the current key first.
    async fn access_keys(&self) -> Result<Vec<RsaPublicKey>, SigningError>;
}
