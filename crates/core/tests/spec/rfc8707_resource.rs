//! RFC 8707 (resource indicators): §2 the resource names an app this server protects, or the
//! request is refused with `invalid_target`; §2.2 the token request may repeat it, not change it;
//! the token's audience is the app.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::{ErrorCode, Reason};

use crate::support::*;

#[test]
fn a_resource_of_another_app_or_origin_is_invalid_target() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    for resource in [
        "https://files.test",
        "https://evil.example",
        "http://wiki.test",
        "https://wiki.test:8443/",
        "https://wiki.test/#x",
        "wiki.test",
        "https://wiki.test/?q=1",
    ] {
        let query = world.authorization_query(&client, REDIRECT, &[("resource", resource)]);
        match world.authorize(&query, Some(&session)) {
            Err(AuthorizeError::Redirect { error, .. }) => {
                assert!(
                    matches!(
                        error.reason,
                        Reason::ResourceUnknown
                            | Reason::ResourceMalformed
                            | Reason::ResourceSchemeRefused
                            | Reason::ResourceHasFragment
                    ),
                    "{resource}: {:?}",
                    error.reason
                );
                assert_eq!(error.code, ErrorCode::InvalidTarget, "{resource}");
            }
            other => panic!("{resource}: {other:?}"),
        }
    }
}

#[test]
fn a_path_within_the_app_is_the_app_and_the_audience_is_canonical() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let location =
        world.authorize_and_consent(&client, &session, &[("resource", "https://wiki.test/mcp")]);
    let code = param(&location, "code").unwrap();
    let tokens = world
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("resource", "https://wiki.test/mcp"),
            ],
        )
        .unwrap();
    assert_eq!(claims(&tokens.access_token)["aud"], ISSUER);
}

#[test]
fn the_token_request_may_not_change_the_resource() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let result = world.token(
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", "https://files.test"),
        ],
    );
    let error = error_of(result);
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::InvalidTarget, Reason::ResourceUnknown)
    );
}

#[test]
fn a_code_issued_at_one_app_cannot_be_exchanged_at_another() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let result = world.token_at(
        OTHER_ISSUER,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(error_of(result).code, ErrorCode::InvalidGrant);
}
