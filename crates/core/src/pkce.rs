//! Proof Key for Code Exchange (RFC 7636), `S256` only.
//!
//! The authorization request carries a [`CodeChallenge`]; the token request carries the
//! [`CodeVerifier`] whose SHA-256 it must be. We refuse the `plain` method, explicitly or by
//! default (RFC 7636 §4.3 makes `plain` the default when `code_challenge_method` is absent):
//! a `plain` challenge is the verifier itself, so anyone who reads the authorization request
//! can redeem the code. RFC 9700 §2.1.1 asks clients for methods that do not expose the
//! verifier ("Currently, S256 is the only such method"), OAuth 2.1 makes `S256` mandatory to
//! implement, and the MCP authorization spec requires clients to use it. If a client that can
//! only do `plain` ever matters, that is a configuration switch to add, not a default.
//!
//! Not here: whether PKCE is required (always, for every client) and the storing of the
//! challenge with the code; the authorization and token endpoints do that.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::{self, ct_eq_digest};
use crate::error::Reason;
use crate::rng::Rng;

/// The only `code_challenge_method` we accept (RFC 7636 §4.2), as published in
/// `code_challenge_methods_supported` (RFC 8414 §2).
pub const S256: &str = "S256";

/// The length of an `S256` challenge: base64url without padding of a 32-byte digest.
const CHALLENGE_CHARS: usize = 43;

/// RFC 7636 §4.1: "with a minimum length of 43 characters and a maximum length of 128
/// characters".
const VERIFIER_CHARS: std::ops::RangeInclusive<usize> = 43..=128;

/// An `S256` code challenge (RFC 7636 §4.2): `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
/// Not a secret: it travels in the front channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses the `code_challenge` and `code_challenge_method` of an authorization request.
    ///
    /// The method must be `S256`: absent (RFC 7636 §4.3: "defaults to "plain" if not present in
    /// the request") or `plain` is [`Reason::PlainPkceRefused`]; anything else is
    /// [`Reason::PkceChallengeMalformed`] (RFC 7636 §4.4.1: "If the server supporting PKCE does
    /// not support the requested transformation, the authorization endpoint MUST return the
    /// authorization error response with "error" value set to "invalid_request"."). The
    /// challenge must be the 43-character base64url encoding of a 32-byte digest, the only
    /// value an `S256` verifier can produce. A missing `code_challenge` is the caller's
    /// [`Reason::PkceChallengeMissing`].
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, Reason> {
        match method {
            Some(S256) => {}
            None | Some("plain") => return Err(Reason::PlainPkceRefused),
            Some(_) => return Err(Reason::PkceChallengeMalformed),
        }
        if is_s256_digest(challenge) {
            Ok(Self(challenge.to_owned()))
        } else {
            Err(Reason::PkceChallengeMalformed)
        }
    }

    /// The `S256` challenge for `verifier` (RFC 7636 §4.2), as a client computes it.
    pub fn from_verifier(verifier: &CodeVerifier) -> Self {
        Self(s256(verifier))
    }

    /// The challenge as sent, for storing with the authorization code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method, always [`S256`].
    pub fn method(&self) -> &'static str {
        S256
    }

    /// Checks the token request's verifier against this challenge (RFC 7636 §4.6: "If the
    /// "code_challenge_method" from Section 4.3 was "S256", the received "code_verifier" is
    /// hashed by SHA-256, base64url-encoded, and then compared to the "code_challenge", i.e.:
    /// BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge"), in constant time.
    pub fn verify(&self, verifier: &CodeVerifier) -> Result<(), Reason> {
        if ct_eq_digest(s256(verifier).as_bytes(), self.0.as_bytes()) {
            Ok(())
        } else {
            Err(Reason::PkceVerifierMismatch)
        }
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
fn s256(verifier: &CodeVerifier) -> String {
    URL_SAFE_NO_PAD.encode(crypto::sha256(verifier.0.as_bytes()))
}

/// Whether `text` is the canonical unpadded base64url encoding (RFC 4648 §5) of 32 bytes. The
/// decoder refuses non-zero trailing bits, so exactly one text encodes each digest.
fn is_s256_digest(text: &str) -> bool {
    text.len() == CHALLENGE_CHARS
        && URL_SAFE_NO_PAD
            .decode(text)
            .is_ok_and(|digest| digest.len() == crypto::SHA256_BYTES)
}

/// A PKCE code verifier (RFC 7636 §4.1: `code-verifier = 43*128unreserved`, `unreserved =
/// ALPHA / DIGIT / "-" / "." / "_" / "~"`). A secret of the client's: `Debug` is redacted, and it
/// is deliberately not `Clone`, so that it cannot be reused by accident.
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Parses the `code_verifier` of a token request.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        if VERIFIER_CHARS.contains(&raw.len()) && raw.bytes().all(is_unreserved) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Reason::PkceVerifierMalformed)
        }
    }

    /// A fresh verifier as RFC 7636 §4.1 recommends: "a 32-octet sequence [...] base64url-encoded
    /// to produce a 43-octet URL safe string". For clients (`crates/fetch`) and tests.
    pub fn issue<R: Rng + ?Sized>(rng: &R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The raw verifier.
    ///
    /// # Security
    ///
    /// Use it only to send the verifier in the token request. Never log or store it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

/// RFC 3986 §2.3: `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests;
