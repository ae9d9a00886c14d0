//! Secrets the client holds: tokens, codes, verifiers and states. `Debug` never shows them; the
//! raw value is only reachable through `expose_secret`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;

/// A secret string with a redacted `Debug`.
/// No `PartialEq`: nothing in the client needs to compare secrets, so nothing can leak timing.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret received from a server or read from the store.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// `bytes` random bytes from the OS, base64url without padding (RFC 7636 §4.1 shape).
    pub fn random(bytes: usize) -> Result<Self, crate::Error> {
        let mut buf = vec![0u8; bytes];
        getrandom::getrandom(&mut buf)
            .map_err(|e| crate::Error::Authorization(format!("no randomness from the OS: {e}")))?;
        Ok(Secret(URL_SAFE_NO_PAD.encode(buf)))
    }

    /// The raw value.
    ///
    /// # Security
    /// Send it only where the protocol says; never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_random_values_differ() {
        let a = Secret::random(32).unwrap();
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(
            a.expose_secret(),
            Secret::random(32).unwrap().expose_secret()
        );
    }
}
