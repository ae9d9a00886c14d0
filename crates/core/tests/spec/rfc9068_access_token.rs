//! RFC 9068 (JWT access tokens): §2.1 header `typ: at+jwt`, ES256, `kid`; §2.2 claims; §4
//! validation. An independent library (jwt-compact) verifies what gatehouse signs against the
//! published JWK Set, and gatehouse refuses what it did not sign.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::access_token::{self, VerifyError};
use gatehouse_core::error::Reason;
use gatehouse_core::jose::jwk::JwkSet;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::time::UnixTime;

use crate::support::*;

fn verify_with_jwt_compact(jwks: &JwkSet, token: &str) -> serde_json::Value {
    gatehouse_core::testing::verify_with_jwt_compact(jwks, token).unwrap()
}

#[test]
fn an_independent_library_verifies_issued_tokens_against_the_jwks() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let jwks = block_on(world.signer.jwks()).unwrap();
    let claims = verify_with_jwt_compact(&jwks, &tokens.access_token);
    assert_eq!(claims["iss"], ISSUER);
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(tokens.access_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    for claim in [
        "iss",
        "sub",
        "aud",
        "client_id",
        "scope",
        "jti",
        "iat",
        "exp",
        "grant_id",
        "email",
    ] {
        assert!(claims.get(claim).is_some(), "{claim} missing");
    }
}

#[test]
fn tokens_of_a_rotated_key_still_verify() {
    let world = World::new();
    let client = world.public_client();
    let before = world.tokens(&client).access_token;
    world.signer.rotate("k2", 2);
    let after = world.tokens(&client).access_token;
    let jwks = block_on(world.signer.jwks()).unwrap();
    assert_eq!(jwks.keys.len(), 2);
    verify_with_jwt_compact(&jwks, &before);
    verify_with_jwt_compact(&jwks, &after);
    let now = UnixTime(1_800_000_100);
    block_on(access_token::verify(&world.signer, &before, ISSUER, now)).unwrap();
}

fn refusal(world: &World, token: &str) -> Reason {
    match block_on(access_token::verify(
        &world.signer,
        token,
        ISSUER,
        UnixTime(1_800_000_001),
    )) {
        Err(VerifyError::Invalid(reason)) => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn tampered_forged_and_foreign_tokens_are_refused() {
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    let parts: Vec<&str> = token.split('.').collect();
    // A changed claim breaks the signature.
    let mut claims = claims(&token);
    claims["scope"] = "read write admin".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(refusal(&world, &forged), Reason::TokenSignatureInvalid);
    // alg=none and HS256 are not ES256.
    for alg in ["none", "HS256"] {
        let header =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"k1"}}"#));
        assert_eq!(
            refusal(&world, &format!("{header}.{}.{}", parts[1], parts[2])),
            Reason::TokenMalformed,
            "{alg}"
        );
    }
    // An ID token or other JWT type is not an access token (RFC 9068 §4).
    let jwt_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#);
    assert_eq!(
        refusal(&world, &format!("{jwt_header}.{}.{}", parts[1], parts[2])),
        Reason::TokenMalformed
    );
    // An unknown key.
    let other_kid = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"nope"}"#);
    assert_eq!(
        refusal(&world, &format!("{other_kid}.{}.{}", parts[1], parts[2])),
        Reason::TokenSignatureInvalid
    );
    for garbage in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(5000)] {
        assert_eq!(
            refusal(&world, garbage),
            Reason::TokenMalformed,
            "{garbage:.20}"
        );
    }
    // Issued by another app's issuer.
    assert!(matches!(
        block_on(access_token::verify(
            &world.signer,
            &token,
            OTHER_ISSUER,
            UnixTime(1_800_000_001)
        )),
        Err(VerifyError::Invalid(Reason::TokenIssuerMismatch))
    ));
}

#[test]
fn tokens_expire() {
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    let exp = claims(&token)["exp"].as_u64().unwrap();
    assert!(
        block_on(access_token::verify(
            &world.signer,
            &token,
            ISSUER,
            UnixTime(exp - 1)
        ))
        .is_ok()
    );
    assert!(matches!(
        block_on(access_token::verify(
            &world.signer,
            &token,
            ISSUER,
            UnixTime(exp)
        )),
        Err(VerifyError::Invalid(Reason::TokenExpired))
    ));
}

#[test]
fn every_token_is_signed_low_s() {
    // Issue 15 §4: the signer (p256 here, WebCrypto in the Worker) leaves about half its
    // signatures high-s; gatehouse normalises them, so each token has one spelling.
    let world = World::new();
    let client = world.public_client();
    let tokens: Vec<String> = (0..16)
        .map(|_| world.tokens(&client).access_token)
        .collect();
    let jwks = block_on(world.signer.jwks()).unwrap();
    for token in &tokens {
        assert!(is_low_s(token), "high-s signature on {token}");
        // Normalised signatures still verify with an independent library.
        verify_with_jwt_compact(&jwks, token);
    }
}

#[test]
fn the_high_s_twin_of_a_token_is_refused_though_it_verifies() {
    // Issue 15 §4: an attacker turns (r, s) into (r, n − s) and gets a second token string
    // that a plain ECDSA check accepts.
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    let twin = es256_twin(&token);
    assert_ne!(twin, token);
    assert!(!is_low_s(&twin));
    // The twin is a valid signature under the pure-Rust reference ECDSA …
    let (input, signature) = twin.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert!(block_on(world.signer.verify("k1", input.as_bytes(), &signature)).unwrap());
    // … and gatehouse still refuses it, while the token itself passes.
    assert_eq!(refusal(&world, &twin), Reason::TokenSignatureInvalid);
    let now = UnixTime(1_800_000_001);
    block_on(access_token::verify(&world.signer, &token, ISSUER, now)).unwrap();
}

#[test]
fn every_origin_assertion_is_signed_low_s_too() {
    // Origin assertions go through the same signing path (jws::sign) as access tokens.
    use gatehouse_core::gatekeeper::assertion::{self, AssertionClaims};
    let world = World::new();
    let jwks = block_on(world.signer.jwks()).unwrap();
    for i in 0..16u64 {
        let claims = AssertionClaims {
            iss: ISSUER.into(),
            aud: ISSUER.into(),
            sub: "local:alice@example.com".into(),
            email: "alice@example.com".into(),
            groups: Vec::new(),
            client_id: None,
            client_name: None,
            grant_id: None,
            scope: "read".into(),
            iat: 1_800_000_000 + i,
            exp: 1_800_000_060 + i,
        };
        let jwt = block_on(assertion::sign(&world.signer, &claims)).unwrap();
        assert!(is_low_s(&jwt), "high-s assertion {jwt}");
        verify_with_jwt_compact(&jwks, &jwt);
    }
}
