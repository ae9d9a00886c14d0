//! JOSE, implemented once: JSON Web Keys (RFC 7517), compact JSON Web Signatures (RFC 7515 §7.1)
//! with ES256 and RS256 (RFC 7518 §3.3, §3.4), the server's signing keys, and the one X.509
//! certificate gatehouse writes.
pub mod jws;
pub mod signer;
pub mod x509;
