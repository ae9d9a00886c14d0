//! Local-account passwords: salted PBKDF2-SHA256 hashes, stored as
//! `pbkdf2-sha256:<rounds>:<salt>:<hash>` with base64url (unpadded) salt and hash.
//!
//! PBKDF2 is the slow hash the Workers runtime offers natively (WebCrypto `deriveBits`), which
//! keeps a login within the CPU budget of a request; workerd refuses more than 100 000 rounds,
//! so that is the ceiling, and 10 000 the floor we accept from configuration. The derivation
//! itself is behind [`Pbkdf2`] so the Worker uses WebCrypto and native tests a pure-Rust one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::ct_eq_digest;

/// The fewest PBKDF2 rounds a configured hash may use.
pub const MIN_ROUNDS: u32 = 10_000;
/// The most PBKDF2 rounds workerd's WebCrypto will run.
pub const MAX_ROUNDS: u32 = 100_000;
/// Salts shorter than this are refused (NIST SP 800-132 §5.1: at least 128 bits).
const MIN_SALT_BYTES: usize = 16;
/// Derived keys shorter than this are refused.
const MIN_HASH_BYTES: usize = 32;
/// Passwords longer than this are refused before any hashing (a cheap denial-of-service guard).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A stored password hash, parsed from its text form.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    rounds: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordHash(pbkdf2-sha256, {} rounds)", self.rounds)
    }
}

/// Why a stored password hash was refused; names the part that is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordHashError {
    /// Not four `:`-separated parts starting with `pbkdf2-sha256`.
    Format,
    /// Rounds outside [`MIN_ROUNDS`]..=[`MAX_ROUNDS`].
    Rounds,
    /// Salt not base64url, or shorter than 16 bytes.
    Salt,
    /// Hash not base64url, or shorter than 32 bytes.
    Hash,
}

impl PasswordHash {
    /// Parses `pbkdf2-sha256:<rounds>:<salt>:<hash>`.
    pub fn parse(text: &str) -> Result<Self, PasswordHashError> {
        let mut parts = text.split(':');
        let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(PasswordHashError::Format);
        };
        let rounds: u32 = rounds.parse().map_err(|_| PasswordHashError::Rounds)?;
        if !(MIN_ROUNDS..=MAX_ROUNDS).contains(&rounds) {
            return Err(PasswordHashError::Rounds);
        }
        let salt = URL_SAFE_NO_PAD
            .decode(salt)
            .map_err(|_| PasswordHashError::Salt)?;
        if salt.len() < MIN_SALT_BYTES {
            return Err(PasswordHashError::Salt);
        }
        let hash = URL_SAFE_NO_PAD
            .decode(hash)
            .map_err(|_| PasswordHashError::Hash)?;
        if hash.len() < MIN_HASH_BYTES {
            return Err(PasswordHashError::Hash);
        }
        Ok(Self { rounds, salt, hash })
    }

    /// A hash to verify against when the email is unknown, so that an unknown account costs the
    /// same time as a wrong password and does not reveal which emails exist.
    pub fn decoy() -> Self {
        Self {
            rounds: MAX_ROUNDS,
            salt: vec![0x5a; MIN_SALT_BYTES],
            hash: vec![0; MIN_HASH_BYTES],
        }
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), implemented by the platform.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait Pbkdf2 {
    /// Derives `len` bytes from `password` and `salt` with `rounds` iterations.
    async fn derive(
        &self,
        password: &[u8],
        salt: &[u8],
        rounds: u32,
        len: usize,
    ) -> Option<Vec<u8>>;
}

/// Whether `password` matches `stored`. Compares digests in constant time; a failing derivation
/// counts as a mismatch.
pub async fn verify(stored: &PasswordHash, password: &str, kdf: &impl Pbkdf2) -> bool {
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match kdf
        .derive(
            password.as_bytes(),
            &stored.salt,
            stored.rounds,
            stored.hash.len(),
        )
        .await
    {
        Some(derived) => ct_eq_digest(&derived, &stored.hash),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::RustPbkdf2;

    /// The demo account's hash from .dev.vars (password `gatehouse-demo`).
    const DEMO: &str =
        "pbkdf2-sha256:100000:KZzd3ULarogF1Gf7kL2G_w:apRgD_oVfI2hAgzAeKEw-ub9l5c83LQ_jxObpFfn7y4";

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn the_demo_account_verifies_with_its_password_only() {
        let stored = PasswordHash::parse(DEMO).unwrap();
        assert!(block_on(verify(&stored, "gatehouse-demo", &RustPbkdf2)));
        assert!(!block_on(verify(&stored, "gatehouse-demo ", &RustPbkdf2)));
        assert!(!block_on(verify(&stored, "", &RustPbkdf2)));
        assert!(!block_on(verify(
            &stored,
            &"x".repeat(MAX_PASSWORD_BYTES + 1),
            &RustPbkdf2
        )));
    }

    #[test]
    fn malformed_hashes_name_the_bad_part() {
        let salt = "KZzd3ULarogF1Gf7kL2G_w";
        let hash = "apRgD_oVfI2hAgzAeKEw-ub9l5c83LQ_jxObpFfn7y4";
        let cases = [
            ("", PasswordHashError::Format),
            ("bcrypt:100000:a:b", PasswordHashError::Format),
            (
                &format!("pbkdf2-sha256:100000:{salt}:{hash}:extra"),
                PasswordHashError::Format,
            ),
            (
                &format!("pbkdf2-sha256:9999:{salt}:{hash}"),
                PasswordHashError::Rounds,
            ),
            (
                &format!("pbkdf2-sha256:100001:{salt}:{hash}"),
                PasswordHashError::Rounds,
            ),
            (
                &format!("pbkdf2-sha256:-1:{salt}:{hash}"),
                PasswordHashError::Rounds,
            ),
            (
                &format!("pbkdf2-sha256:100000:short:{hash}"),
                PasswordHashError::Salt,
            ),
            (
                &format!("pbkdf2-sha256:100000:{salt}:not*base64"),
                PasswordHashError::Hash,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(PasswordHash::parse(text), Err(want), "{text}");
        }
    }

    #[test]
    fn debug_does_not_print_the_hash() {
        let text = format!("{:?}", PasswordHash::parse(DEMO).unwrap());
        assert!(!text.contains("apRgD"), "{text}");
    }
}
