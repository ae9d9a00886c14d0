//! RFC 7009 (token revocation): §2.1 either token type, client authentication, a client may
//! revoke only its own tokens; §2.2 unknown tokens are answered with success.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::server::Failure;

use crate::support::*;

fn revoke(world: &World, client: &Client, token: &str) -> Result<(), Failure> {
    let (body, basic) = client_form(client, &[("token", token)]);
    block_on(world.server().revoke(body.as_bytes(), basic.as_deref()))
}

#[test]
fn revoking_the_refresh_token_ends_the_grant() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.unwrap();
    revoke(&world, &client, &refresh).unwrap();
    assert_eq!(
        error_of(world.refresh(&client, &refresh)).code,
        ErrorCode::InvalidGrant
    );
}

#[test]
fn revoking_the_access_token_ends_the_grant_and_its_refresh_token() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    revoke(&world, &client, &tokens.access_token).unwrap();
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).code,
        ErrorCode::InvalidGrant
    );
}

#[test]
fn unknown_tokens_are_answered_with_success() {
    let world = World::new();
    let client = world.public_client();
    revoke(&world, &client, "no-such-token").unwrap();
    revoke(&world, &client, "a.b.c").unwrap();
}

#[test]
fn a_client_cannot_revoke_another_clients_token() {
    let world = World::new();
    let client = world.public_client();
    let other = world.public_client();
    let tokens = world.tokens(&client);
    revoke(&world, &other, tokens.refresh_token.as_deref().unwrap()).unwrap();
    revoke(&world, &other, &tokens.access_token).unwrap();
    world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
}

#[test]
fn a_confidential_client_must_authenticate_to_revoke() {
    let world = World::new();
    let client = world.confidential_client();
    let tokens = world.tokens(&client);
    let wrong = Client {
        id: client.id.clone(),
        secret: Some("wrong".into()),
    };
    match revoke(&world, &wrong, tokens.refresh_token.as_deref().unwrap()) {
        Err(Failure::OAuth {
            error,
            basic_challenge,
        }) => {
            assert_eq!(
                (error.code, error.reason),
                (ErrorCode::InvalidClient, Reason::ClientAuthFailed)
            );
            assert!(basic_challenge);
        }
        other => panic!("{other:?}"),
    }
    world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
}

#[test]
fn a_token_is_revoked_only_at_its_own_app() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.unwrap();
    let body = form(&[
        ("token", refresh.as_str()),
        ("client_id", client.id.as_str()),
    ]);
    block_on(world.server_at(OTHER_ISSUER).revoke(body.as_bytes(), None)).unwrap();
    world.refresh(&client, &refresh).unwrap();
}
