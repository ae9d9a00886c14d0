//! RFC 7636 (PKCE) as OAuth 2.1 requires it: §4.3 a challenge on every authorization request,
//! S256 only; §4.6 the verifier must match at the token endpoint.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::{ErrorCode, Reason};

use crate::support::*;

fn refusal(world: &World, query: &str) -> Reason {
    let session = world.login("alice@example.com");
    match world.authorize(query, Some(&session)) {
        Err(AuthorizeError::Redirect { error, .. }) => {
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            error.reason
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_challenge_is_refused() {
    let world = World::new();
    let client = world.public_client();
    let query = world
        .authorization_query(&client, REDIRECT, &[])
        .replace(&format!("code_challenge={CHALLENGE}&"), "");
    assert_eq!(refusal(&world, &query), Reason::PkceChallengeMissing);
}

#[test]
fn plain_pkce_is_refused_whether_named_or_implied() {
    let world = World::new();
    let client = world.public_client();
    let plain = world
        .authorization_query(&client, REDIRECT, &[])
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_eq!(refusal(&world, &plain), Reason::PlainPkceRefused);
    // RFC 7636 §4.3: without a method the default is plain.
    let implied = world
        .authorization_query(&client, REDIRECT, &[])
        .replace("&code_challenge_method=S256", "");
    assert_eq!(refusal(&world, &implied), Reason::PlainPkceRefused);
}

#[test]
fn a_wrong_missing_or_malformed_verifier_is_refused() {
    let world = World::new();
    let client = world.public_client();
    let cases = [
        (Some("a".repeat(43)), Reason::PkceVerifierMismatch),
        (None, Reason::PkceVerifierMissing),
        (Some("short".to_owned()), Reason::PkceVerifierMalformed),
        (Some(format!("{VERIFIER}!")), Reason::PkceVerifierMalformed),
    ];
    for (verifier, reason) in cases {
        let code = world.code(&client);
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier.as_deref() {
            params.push(("code_verifier", v));
        }
        let error = error_of(world.token(&client, &params));
        assert_eq!(error.reason, reason, "{verifier:?}");
        if reason == Reason::PkceVerifierMismatch {
            // RFC 7636 §4.6: "an error response indicating "invalid_grant" MUST be returned".
            assert_eq!(error.code, ErrorCode::InvalidGrant);
        }
    }
}

#[test]
fn a_wrong_verifier_leaves_the_code_to_its_client() {
    // Issue 15 §5. This test used to pin the opposite ("a failed verifier burns the code"): the
    // code was spent before the verifier was checked, so anyone who saw a public client's code
    // could burn it with a guessed verifier, and the rightful exchange then counted as a replay
    // that revoked the grant. The verifier is now part of what is compared before the spend.
    // Guessing stays hopeless: a verifier carries at least 256 bits, and the code lives 60 s.
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let wrong = "b".repeat(43);
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", wrong.as_str()),
    ];
    for _ in 0..3 {
        let refused = error_of(world.token(&client, &params));
        assert_eq!(refused.reason, Reason::PkceVerifierMismatch);
        // RFC 7636 §4.6: "an error response indicating "invalid_grant" MUST be returned".
        assert_eq!(refused.code, ErrorCode::InvalidGrant);
    }
    assert!(world.exchange(&client, &code).is_ok());
    assert_eq!(
        error_of(world.exchange(&client, &code)).reason,
        Reason::CodeReplayed
    );
}

#[test]
fn a_verifier_matches_its_own_challenge_only() {
    assert_eq!(challenge_of(VERIFIER), CHALLENGE);
}
