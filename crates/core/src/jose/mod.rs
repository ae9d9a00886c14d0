//! JOSE, implemented once: JSON Web Keys (RFC 7517), compact JSON Web Signatures (RFC 7515 §7.1)
//! with ES256 and RS256 (RFC 7518 §3.3, §3.4) and the low-`s` rule, the server's signing keys,
//! and the one X.509 certificate gatehouse writes.
//!
//! Depends only on the bottom layer (`crypto`, `time`): the callers (access tokens, client
//! assertions, ID tokens, origin assertions) keep their claims and their checks, and map
//! [`jws::JwsError`] and [`signer::SigningError`] to their own errors.

pub mod alg;
pub mod jwk;
pub mod jws;
pub mod signer;
pub mod x509;
