//! Token signing keys, as the protocol sees them: ES256 (ECDSA P-256 with SHA-256, RFC 7518
//! §3.4) signatures in the JWS form (`R || S`, 64 bytes), and the public keys as a JWK Set.
//!
//! The Worker implements this on WebCrypto with keys kept encrypted in D1 (about 20× cheaper in
//! CPU than P-256 compiled to wasm); native tests use `testing::TestSigner` on the `p256` crate,
//! and an independent JWT library checks both.

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// A public key in the JWK Set (RFC 7517 §4, RFC 7518 §6.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Always `EC`.
    pub kty: String,
    /// Always `P-256`.
    pub crv: String,
    /// base64url x coordinate.
    pub x: String,
    /// base64url y coordinate.
    pub y: String,
    /// The key id tokens carry in their header.
    pub kid: String,
    /// Always `ES256`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JWK Set document (RFC 7517 §5), served at `/oauth/jwks.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The current key first, then keys still verifying tokens they signed earlier.
    pub keys: Vec<PublicJwk>,
}

/// Signs and verifies with the server's keys.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait Signer {
    /// The id of the key that signs now, creating the first key when there is none.
    async fn current_kid(&self) -> Result<String, StoreError>;
    /// An ES256 signature of `message` by key `kid`, as `R || S`, with `s` high or low (callers
    /// sign through `crate::jose::jws::sign`, which normalises it to low `s`).
    async fn sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// Whether `signature` is key `kid`'s ES256 signature of `message`. An unknown `kid` is
    /// `Ok(false)`.
    async fn verify(&self, kid: &str, message: &[u8], signature: &[u8])
    -> Result<bool, StoreError>;
    /// The public keys that verify tokens now.
    async fn jwks(&self) -> Result<JwkSet, StoreError>;
    /// Whether `signature` (`R || S`) is an ES256 signature of `message` by the P-256 public
    /// key with base64url coordinates `x`, `y`: a client's key, for `private_key_jwt`
    /// (RFC 7523). A malformed key or signature is `Ok(false)`.
    async fn verify_client_signature(
        &self,
        x: &str,
        y: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, StoreError>;
}

/// An RSA public key of the Access-compatible assertion (RS256, RFC 7518 §3.3), with the
/// self-signed certificate that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The key id assertions carry in their header.
    pub kid: String,
    /// base64url modulus (RFC 7518 §6.3.1.1).
    pub n: String,
    /// base64url public exponent (RFC 7518 §6.3.1.2).
    pub e: String,
    /// The key in a self-signed X.509 certificate, PEM (RFC 7468 §5).
    pub cert_pem: String,
}

/// Signs with the RS256 keys of the Access-compatible assertion
/// (`crate::gatekeeper::access`): a second set of keys beside the ES256 ones, made, sealed,
/// rotated and published the same way, because apps written for Cloudflare Access verify RS256.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait AccessSigner {
    /// The id of the RSA key that signs now, creating the first key when there is none.
    async fn access_kid(&self) -> Result<String, StoreError>;
    /// An RSASSA-PKCS1-v1_5 SHA-256 signature of `message` by RSA key `kid` (RFC 7518 §3.3).
    async fn access_sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// The RSA public keys that verify assertions now, the current key first.
    async fn access_keys(&self) -> Result<Vec<RsaPublicKey>, StoreError>;
}
