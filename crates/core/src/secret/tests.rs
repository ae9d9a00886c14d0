use proptest::prelude::*;

use super::*;
use crate::rng::SeqRng;

/// Whether a type implements a trait, decided at compile time by method resolution
/// ("autoref specialization"): the inherent-looking method on `Probe<T>` wins when `T: Trait`,
/// the fallback on `&Probe<T>` otherwise.
macro_rules! implements {
    ($ty:ty: $($bound:tt)+) => {{
        struct Probe<T>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        trait Yes {
            fn implemented(&self) -> bool {
                true
            }
        }
        impl<T: $($bound)+> Yes for Probe<T> {}
        #[allow(dead_code)]
        trait No {
            fn implemented(&self) -> bool {
                false
            }
        }
        impl<T> No for &Probe<T> {}
        (&Probe::<$ty>(std::marker::PhantomData)).implemented()
    }};
}
pub(crate) use implements;

#[test]
fn the_probe_detects_implementations() {
    assert!(implements!(String: Clone));
    assert!(!implements!(std::cell::Cell<String>: Clone));
}

#[test]
fn secrets_cannot_be_cloned_compared_or_serialized() {
    // STYLE §3: no PartialEq (compare with ct_eq), no Clone, no Serialize.
    assert!(!implements!(AuthorizationCode: Clone));
    assert!(!implements!(AuthorizationCode: PartialEq));
    assert!(!implements!(AuthorizationCode: serde::Serialize));
    assert!(!implements!(RefreshToken: Clone));
    assert!(!implements!(RefreshToken: PartialEq));
    assert!(!implements!(RefreshToken: serde::Serialize));
    assert!(!implements!(ClientSecret: Clone));
    assert!(!implements!(ClientSecret: serde::Serialize));
    assert!(!implements!(CsrfToken: serde::Serialize));
    assert!(!implements!(SessionId: serde::Serialize));
    assert!(!implements!(SessionId: PartialEq));
}

#[test]
fn debug_never_shows_the_secret() {
    let rng = SeqRng::new(0);
    let rows = [
        (
            format!("{:?}", AuthorizationCode::issue(&rng)),
            "AuthorizationCode([redacted])",
        ),
        (
            format!("{:?}", RefreshToken::issue(&rng)),
            "RefreshToken([redacted])",
        ),
        (
            format!("{:?}", ClientSecret::from_presented("hunter2")),
            "ClientSecret([redacted])",
        ),
        (
            format!("{:?}", CsrfToken::issue(&rng)),
            "CsrfToken([redacted])",
        ),
        (
            format!("{:?}", SessionId::issue(&rng)),
            "SessionId([redacted])",
        ),
    ];
    for (shown, expected) in rows {
        assert_eq!(shown, expected);
    }
}

#[test]
fn issued_secrets_are_256_bits_of_base64url() {
    // RFC 6749 §10.10: guessing probability at most 2^-128; we use 256 bits.
    let rng = SeqRng::new(0);
    let token = RefreshToken::issue(&rng);
    let raw = token.expose_secret();
    assert_eq!(raw.len(), 43);
    assert!(
        raw.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(raw).unwrap(),
        (0u8..32).collect::<Vec<_>>()
    );
    // The next secret draws the next 32 bytes.
    let next = RefreshToken::issue(&rng);
    assert!(!next.ct_eq(&token));
    assert_eq!(
        URL_SAFE_NO_PAD.decode(next.expose_secret()).unwrap(),
        (32u8..64).collect::<Vec<_>>()
    );
}

#[test]
fn hash_is_the_sha256_hex_of_the_raw_value() {
    let secret = ClientSecret::from_presented("abc");
    // FIPS 180-2 Appendix B.1.
    assert_eq!(
        secret.hash().as_hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(format!("{:?}", secret.hash()), "SecretHash(ba7816bf…)");
}

#[test]
fn stored_hashes_must_be_64_lowercase_hex_digits() {
    let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let rows = [
        (good.to_owned(), true),
        (good.to_uppercase(), false),
        (good[..63].to_owned(), false),
        (format!("{good}0"), false),
        (format!("{}g", &good[..63]), false),
        (String::new(), false),
    ];
    for (stored, ok) in rows {
        assert_eq!(SecretHash::from_hex(&stored).is_ok(), ok, "{stored}");
    }
    let read_back = SecretHash::from_hex(good).unwrap();
    assert_eq!(read_back, ClientSecret::from_presented("abc").hash());
    assert!(read_back.ct_eq(&ClientSecret::from_presented("abc").hash()));
    assert!(!read_back.ct_eq(&ClientSecret::from_presented("abd").hash()));
}

#[test]
fn csrf_tokens_compare_in_constant_time_by_value() {
    let form = CsrfToken::from_presented("t0ken");
    assert!(form.ct_eq(&CsrfToken::from_presented("t0ken")));
    assert!(!form.ct_eq(&CsrfToken::from_presented("t0ken ")));
    assert!(!form.ct_eq(&CsrfToken::from_presented(String::new())));
}

proptest! {
    #[test]
    fn from_hex_accepts_exactly_64_lowercase_hex_digits(raw in "[0-9a-fA-Fg ]{60,68}|\\PC{0,80}") {
        let allowed = raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        prop_assert_eq!(SecretHash::from_hex(&raw).is_ok(), allowed);
    }

    #[test]
    fn every_hash_reads_back_from_its_hex(raw in any::<String>()) {
        let hash = SessionId::from_presented(raw).hash();
        prop_assert_eq!(SecretHash::from_hex(hash.as_hex()), Ok(hash));
    }
}
