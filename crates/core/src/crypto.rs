//! The cryptographic primitives the protocol core needs: SHA-256 (FIPS 180-4), HMAC-SHA256
//! (RFC 2104) and a constant-time comparison of digests.
//!
//! SHA-256 serves PKCE `S256` (RFC 7636 §4.2) and the hashing of secrets at rest (codes, refresh
//! tokens, client secrets and session ids are stored only as hashes). Signing and verifying
//! tokens is not here: that is the platform's `Signer` (WebCrypto in the Worker).

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The length of a SHA-256 digest in bytes.
pub const SHA256_BYTES: usize = 32;

/// The SHA-256 digest of `data` (FIPS 180-4 §6.2).
pub fn sha256(data: &[u8]) -> [u8; SHA256_BYTES] {
    Sha256::digest(data).into()
}

/// HMAC-SHA256 (RFC 2104) under `key` of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; SHA256_BYTES] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The SHA-256 digest of `data` as 64 lowercase hexadecimal characters.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

/// Whether `a` and `b` are equal, decided without leaking where they differ.
///
/// Both inputs are hashed with SHA-256 first and the two 32-byte digests are compared with
/// [`subtle::ConstantTimeEq`], so neither the position of the first difference nor the lengths
/// of the inputs influence the time the comparison takes. Use it wherever a presented secret
/// meets an expected one: PKCE challenges, CSRF tokens, client-secret hashes, password hashes.
pub fn ct_eq_digest(a: &[u8], b: &[u8]) -> bool {
    sha256(a).ct_eq(&sha256(b)).into()
}

/// Lowercase hexadecimal encoding (RFC 4648 §8, "base16").
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            // `nibble` is below 16, so the lookup always succeeds.
            if let Some(&digit) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(digit));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sha256_matches_the_fips_180_2_test_vectors() {
        // FIPS 180-2 Appendix B.1 and B.2 (the examples repeated in RFC 6234 §8.5).
        let rows: [(&[u8], &str); 3] = [
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
        ];
        for (input, expected) in rows {
            assert_eq!(sha256_hex(input), expected);
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_and_reads_its_parts_as_one_message() {
        // RFC 4231 §4.3, test case 2.
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", &[b"what do ya want for nothing?"])),
            expected
        );
        let parts: [&[u8]; 3] = [b"what do ya ", b"want for ", b"nothing?"];
        assert_eq!(hex(&hmac_sha256(b"Jefe", &parts)), expected);
    }

    #[test]
    fn ct_eq_digest_is_true_only_for_equal_inputs() {
        let rows: [(&[u8], &[u8], bool); 6] = [
            (b"", b"", true),
            (b"secret", b"secret", true),
            (b"secret", b"secreT", false),
            (b"secret", b"secret ", false),
            (b"", b"\0", false),
            (b"a", b"", false),
        ];
        for (a, b, equal) in rows {
            assert_eq!(ct_eq_digest(a, b), equal, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn hex_encodes_every_byte_as_two_lowercase_digits() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    proptest! {
        #[test]
        fn ct_eq_digest_agrees_with_byte_equality(a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
            prop_assert_eq!(ct_eq_digest(&a, &b), a == b);
            prop_assert!(ct_eq_digest(&a, &a));
        }

        #[test]
        fn hex_is_twice_as_long_and_lowercase(bytes in any::<Vec<u8>>()) {
            let text = hex(&bytes);
            prop_assert_eq!(text.len(), bytes.len() * 2);
            prop_assert!(text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        }
    }
}
