//! PKCE with S256 (RFC 7636 §4.1–4.2). `plain` is never used (OAuth 2.1 §4.1.1).

use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A code verifier and its S256 challenge. Not `Clone`: one verifier serves one authorization.
pub struct Pkce {
    verifier: Secret,
    challenge: String,
}

impl Pkce {
    /// RFC 7636 §4.1: 32 random octets, base64url-encoded into a 43-character verifier.
    pub fn generate() -> Result<Self, crate::Error> {
        Ok(Self::from_verifier(Secret::random(32)?))
    }

    fn from_verifier(verifier: Secret) -> Self {
        // RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }

    /// The `code_challenge` for the authorization request.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The `code_verifier` for the token request.
    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let p = Pkce::from_verifier(Secret::new(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        ));
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifiers_have_the_rfc_length() {
        let p = Pkce::generate().unwrap();
        assert_eq!(p.verifier().expose_secret().len(), 43);
        assert!(
            p.verifier()
                .expose_secret()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
