use proptest::prelude::*;

use super::*;
use crate::rng::SeqRng;
use crate::secret::tests::implements;

/// RFC 7636 Appendix B.
const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[test]
fn the_rfc_7636_appendix_b_vector_verifies() {
    let challenge = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
    let verifier = CodeVerifier::parse(RFC_VERIFIER).unwrap();
    assert_eq!(challenge.verify(&verifier), Ok(()));
    assert_eq!(CodeChallenge::from_verifier(&verifier), challenge);
    assert_eq!(challenge.method(), "S256");
}

#[test]
fn the_rfc_7636_appendix_b_verifier_is_the_encoding_of_its_octets() {
    // RFC 7636 Appendix B: the client's 32 random octets, then their base64url encoding.
    let octets = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    assert_eq!(URL_SAFE_NO_PAD.encode(octets), RFC_VERIFIER);
}

#[test]
fn plain_pkce_is_refused() {
    // RFC 7636 §4.3: absent method means "plain"; we accept only S256 (RFC 9700 §2.1.1).
    let rows = [
        (
            None,
            Reason::PlainPkceRefused,
            "RFC 7636 §4.3: defaults to plain",
        ),
        (
            Some("plain"),
            Reason::PlainPkceRefused,
            "RFC 7636 §4.2: plain",
        ),
        (
            Some("s256"),
            Reason::PkceChallengeMalformed,
            "RFC 7636 §4.2: method names are exact",
        ),
        (
            Some("PLAIN"),
            Reason::PkceChallengeMalformed,
            "RFC 7636 §4.4.1: unsupported",
        ),
        (
            Some("S512"),
            Reason::PkceChallengeMalformed,
            "RFC 7636 §4.4.1: unsupported",
        ),
        (
            Some(""),
            Reason::PkceChallengeMalformed,
            "RFC 7636 §4.4.1: unsupported",
        ),
        (
            Some("S256 "),
            Reason::PkceChallengeMalformed,
            "RFC 7636 §4.4.1: unsupported",
        ),
    ];
    for (method, expected, rule) in rows {
        assert_eq!(
            CodeChallenge::parse(RFC_CHALLENGE, method),
            Err(expected),
            "{method:?}: {rule}"
        );
    }
}

#[test]
fn challenges_must_be_the_base64url_of_a_sha256_digest() {
    // RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), which is
    // always 43 characters of the base64url alphabet (RFC 4648 §5) without padding.
    let rows: [(String, bool, &str); 10] = [
        (RFC_CHALLENGE.into(), true, "RFC 7636 Appendix B"),
        ("A".repeat(43), true, "RFC 4648 §5: 32 zero bytes"),
        (
            format!("{RFC_CHALLENGE}="),
            false,
            "RFC 7636 §3: no padding",
        ),
        (
            RFC_CHALLENGE[..42].into(),
            false,
            "RFC 7636 §4.2: 43 characters",
        ),
        (
            format!("{RFC_CHALLENGE}A"),
            false,
            "RFC 7636 §4.2: 43 characters",
        ),
        (
            RFC_CHALLENGE.replace('-', "+"),
            false,
            "RFC 4648 §5: url alphabet, no +",
        ),
        (
            RFC_CHALLENGE.replace('-', "/"),
            false,
            "RFC 4648 §5: url alphabet, no /",
        ),
        (
            RFC_CHALLENGE.replace('-', "."),
            false,
            "RFC 4648 §5: no unreserved extras",
        ),
        (
            format!("{}B", "A".repeat(42)),
            false,
            "RFC 4648 §3.5: canonical trailing bits",
        ),
        (String::new(), false, "RFC 7636 §4.2"),
    ];
    for (challenge, ok, rule) in rows {
        let parsed = CodeChallenge::parse(&challenge, Some("S256"));
        let expected = if ok {
            Ok(())
        } else {
            Err(Reason::PkceChallengeMalformed)
        };
        assert_eq!(parsed.map(|_| ()), expected, "{challenge:?}: {rule}");
    }
}

#[test]
fn verifiers_are_43_to_128_unreserved_characters() {
    // RFC 7636 §4.1: code-verifier = 43*128unreserved.
    let rows: [(String, bool, &str); 10] = [
        (RFC_VERIFIER.into(), true, "RFC 7636 Appendix B"),
        ("a".repeat(43), true, "RFC 7636 §4.1: minimum 43"),
        ("a".repeat(128), true, "RFC 7636 §4.1: maximum 128"),
        (
            "-._~AZaz09".repeat(5),
            true,
            "RFC 3986 §2.3: every unreserved class",
        ),
        ("a".repeat(42), false, "RFC 7636 §4.1: minimum 43"),
        ("a".repeat(129), false, "RFC 7636 §4.1: maximum 128"),
        (
            format!("{}+", "a".repeat(42)),
            false,
            "RFC 7636 §4.1: + is not unreserved",
        ),
        (
            format!("{} ", "a".repeat(43)),
            false,
            "RFC 7636 §4.1: no space",
        ),
        (
            format!("{}%41", "a".repeat(42)),
            false,
            "RFC 7636 §4.1: no percent-encoding",
        ),
        (
            format!("{}é", "a".repeat(42)),
            false,
            "RFC 7636 §4.1: ASCII only",
        ),
    ];
    for (raw, ok, rule) in rows {
        let expected = if ok {
            Ok(())
        } else {
            Err(Reason::PkceVerifierMalformed)
        };
        assert_eq!(
            CodeVerifier::parse(&raw).map(|_| ()),
            expected,
            "{raw:?}: {rule}"
        );
    }
}

#[test]
fn a_different_verifier_is_a_mismatch() {
    // RFC 7636 §4.6: "If the values are not equal, an error response indicating
    // "invalid_grant" [...] MUST be returned."
    let challenge = CodeChallenge::parse(RFC_CHALLENGE, Some("S256")).unwrap();
    let rows = [
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXkA",
        // A client that sends the challenge itself as the verifier (the `plain` downgrade).
        RFC_CHALLENGE,
    ];
    for raw in rows {
        let verifier = CodeVerifier::parse(raw).unwrap();
        assert_eq!(
            challenge.verify(&verifier),
            Err(Reason::PkceVerifierMismatch),
            "{raw}"
        );
    }
}

#[test]
fn verifiers_are_redacted_and_cannot_be_cloned() {
    let verifier = CodeVerifier::parse(RFC_VERIFIER).unwrap();
    assert_eq!(format!("{verifier:?}"), "CodeVerifier([redacted])");
    assert_eq!(verifier.expose_secret(), RFC_VERIFIER);
    assert!(!implements!(CodeVerifier: Clone));
    assert!(!implements!(CodeVerifier: PartialEq));
}

#[test]
fn issued_verifiers_are_valid_and_verify_against_their_challenge() {
    let rng = SeqRng::new(7);
    let verifier = CodeVerifier::issue(&rng);
    assert_eq!(verifier.expose_secret().len(), 43);
    let reparsed = CodeVerifier::parse(verifier.expose_secret()).unwrap();
    let challenge = CodeChallenge::from_verifier(&verifier);
    let parsed = CodeChallenge::parse(challenge.as_str(), Some(S256)).unwrap();
    assert_eq!(parsed.verify(&reparsed), Ok(()));
}

fn is_unreserved_reference(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~".contains(c)
}

proptest! {
    #[test]
    fn verifier_parse_accepts_exactly_the_grammar(raw in "[A-Za-z0-9._~+/= -]{0,140}|\\PC{0,140}") {
        let allowed = (43..=128).contains(&raw.len()) && raw.chars().all(is_unreserved_reference);
        prop_assert_eq!(CodeVerifier::parse(&raw).is_ok(), allowed);
    }

    #[test]
    fn challenge_parse_never_panics(challenge in any::<String>(), method in proptest::option::of(any::<String>())) {
        let _ = CodeChallenge::parse(&challenge, method.as_deref());
    }

    #[test]
    fn challenge_parse_accepts_exactly_the_encodings_of_digests(raw in "[A-Za-z0-9_+/=-]{41,45}") {
        let canonical = URL_SAFE_NO_PAD
            .decode(&raw)
            .ok()
            .filter(|bytes| bytes.len() == 32)
            .is_some_and(|bytes| URL_SAFE_NO_PAD.encode(bytes) == raw);
        prop_assert_eq!(CodeChallenge::parse(&raw, Some(S256)).is_ok(), canonical);
    }

    #[test]
    fn every_digest_encoding_is_a_valid_challenge(digest in any::<[u8; 32]>()) {
        let encoded = URL_SAFE_NO_PAD.encode(digest);
        prop_assert!(CodeChallenge::parse(&encoded, Some(S256)).is_ok());
    }

    #[test]
    fn every_valid_verifier_verifies_against_its_own_challenge_only(
        raw in "[A-Za-z0-9._~-]{43,128}",
        other in "[A-Za-z0-9._~-]{43,128}",
    ) {
        let verifier = CodeVerifier::parse(&raw).unwrap();
        let challenge = CodeChallenge::from_verifier(&verifier);
        prop_assert!(CodeChallenge::parse(challenge.as_str(), Some(S256)).is_ok());
        prop_assert_eq!(challenge.verify(&verifier), Ok(()));
        let other_verifier = CodeVerifier::parse(&other).unwrap();
        prop_assert_eq!(challenge.verify(&other_verifier).is_ok(), raw == other);
    }
}
