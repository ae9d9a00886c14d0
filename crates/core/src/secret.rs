//! Secrets the server issues or receives, and their hashes for storage.
//!
//! Each secret is its own type, made by the `secret_type!` macro: its `Debug` prints
//! `RefreshToken([redacted])`, it has no `PartialEq`, `Clone` or `Serialize`, and the raw value
//! is reachable only through `expose_secret()`. Storage never sees a secret, only its
//! [`SecretHash`] (SHA-256), a different type, so a raw token cannot be written to the store by
//! mistake. Secrets issued here carry 256 random bits (RFC 6749 §10.10 asks for a guessing
//! probability of at most 2^-128).
//!
//! Not here: the PKCE verifier (in `crate::pkce`, because it is parsed against a grammar),
//! access tokens (signed JWTs, not opaque secrets), and password hashes (slow, salted; in
//! `password`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::{self, ct_eq_digest};
use crate::rng::Rng;
use crate::tag::{TagKey, Verdict};

/// How many random bytes an issued secret carries: 256 bits.
pub const SECRET_BYTES: usize = 32;

/// Defines a secret newtype with redacted `Debug`, `from_presented`, `issue`, `issue_tagged`,
/// `open`, `expose_secret`, `hash` and `ct_eq`, and deliberately without `Clone`, `PartialEq` or `Serialize`.
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(String);

        impl $name {
            /// Wraps a value a client or browser presented. Not validated: secrets are looked
            /// up by hash or compared in constant time, and an unknown value simply matches
            /// nothing.
            pub fn from_presented(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// A fresh secret: 256 bits from `rng`, base64url-encoded without padding
            /// (RFC 4648 §5), 43 characters.
            pub fn issue<R: Rng + ?Sized>(rng: &R) -> Self {
                let mut bytes = [0u8; SECRET_BYTES];
                rng.fill(&mut bytes);
                Self(URL_SAFE_NO_PAD.encode(bytes))
            }

            /// A fresh secret sealed with `key`: 256 bits from `rng` and their tag
            /// ([`crate::tag`]), `<43 characters>.<22 characters>`.
            pub fn issue_tagged<R: Rng + ?Sized>(key: &TagKey, rng: &R) -> Self {
                Self(key.seal(Self::issue(rng).expose_secret()))
            }

            /// The value a client or browser presented, if `key` sealed it; `None` for a value
            /// gatehouse did not issue under this key, decided without storage.
            pub fn open(key: &TagKey, presented: &str) -> Option<Self> {
                (key.verdict(presented) == Verdict::Issued).then(|| Self(presented.to_owned()))
            }

            /// The raw value.
            ///
            /// # Security
            ///
            /// Use it only to put the secret into the one response or cookie that hands it to
            /// its holder. Never log it, never store it (store [`hash`](Self::hash) instead),
            /// and never compare it with `==` (use [`ct_eq`](Self::ct_eq)).
            pub fn expose_secret(&self) -> &str {
                &self.0
            }

            /// The SHA-256 hash under which the secret is stored and looked up.
            pub fn hash(&self) -> SecretHash {
                SecretHash(crypto::sha256_hex(self.0.as_bytes()))
            }

            /// Whether two values are equal, compared in constant time
            /// ([`crypto::ct_eq_digest`]).
            pub fn ct_eq(&self, other: &Self) -> bool {
                ct_eq_digest(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// An authorization code (RFC 6749 §4.1.2): single use, short-lived, stored only hashed.
    AuthorizationCode
);
secret_type!(
    /// A refresh token (RFC 6749 §1.5, §6): opaque, rotated on every use, stored only hashed.
    RefreshToken
);
secret_type!(
    /// A client secret (RFC 6749 §2.3.1, RFC 7591 §3.2.1): shown once at registration, stored
    /// only hashed.
    ClientSecret
);
secret_type!(
    /// The anti-CSRF token of our login and consent forms (RFC 6749 §10.12), compared with the
    /// cookie's copy in constant time.
    CsrfToken
);
secret_type!(
    /// A person's browser session id, carried in a `__Host-` cookie and stored only hashed.
    SessionId
);

secret_type!(
    /// A device code (RFC 8628 §3.2): polled by the device at the token endpoint, single use,
    /// stored only hashed.
    DeviceCode
);

secret_type!(
    /// The admin API's bearer token (`ADMIN_TOKEN`), compared by hash in constant time.
    AdminToken
);

secret_type!(
    /// The `state` of an upstream OpenID Connect login (RFC 6749 §10.12): stored only hashed,
    /// single use.
    OidcState
);
secret_type!(
    /// The `__Host-gatehouse-oidc` cookie value that binds an upstream login's `state` to the
    /// browser that started it; stored only hashed.
    BrowserBinding
);

/// Whether a cookie value looks like a secret [`CsrfToken::issue`] (or any `issue`) made: 43
/// base64url characters.
fn is_issued_shape(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl CsrfToken {
    /// Whether a cookie value looks like a token [`CsrfToken::issue`] made (43 base64url
    /// characters), so a planted or truncated cookie is replaced rather than reused.
    pub fn is_well_formed(value: &str) -> bool {
        is_issued_shape(value)
    }
}

impl BrowserBinding {
    /// Whether a cookie value looks like a binding [`BrowserBinding::issue`] made, so a
    /// planted or truncated cookie is replaced rather than reused.
    pub fn is_well_formed(value: &str) -> bool {
        is_issued_shape(value)
    }
}

/// The SHA-256 hash of a secret, as 64 lowercase hexadecimal characters: the only form in which
/// secrets reach storage, and the key they are looked up by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    /// Reads a hash back from storage: exactly 64 lowercase hexadecimal characters.
    pub fn from_hex(stored: &str) -> Result<Self, MalformedSecretHash> {
        let is_lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if stored.len() == 2 * crypto::SHA256_BYTES && stored.bytes().all(is_lower_hex) {
            Ok(Self(stored.to_owned()))
        } else {
            Err(MalformedSecretHash)
        }
    }

    /// A keyed digest (an HMAC, e.g. of a user code, see `crate::device`) in the same stored
    /// form.
    pub fn from_digest(digest: &[u8; crypto::SHA256_BYTES]) -> Self {
        Self(crypto::hex(digest))
    }

    /// The hash as 64 lowercase hexadecimal characters, for storage.
    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// Whether two hashes are equal, compared in constant time (for a client secret checked
    /// against a known client's stored hash).
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        ct_eq_digest(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl fmt::Debug for SecretHash {
    /// Shows the first 8 hex digits only: enough to correlate log lines, too little to look
    /// anything up with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.0.get(..8).unwrap_or_default();
        write!(f, "SecretHash({prefix}…)")
    }
}

/// A stored value that is not 64 lowercase hexadecimal characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedSecretHash;

impl fmt::Display for MalformedSecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stored secret hash must be 64 lowercase hexadecimal characters")
    }
}

impl std::error::Error for MalformedSecretHash {}

#[cfg(test)]
pub(crate) mod tests;
