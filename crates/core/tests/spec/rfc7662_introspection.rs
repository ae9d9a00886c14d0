//! RFC 7662 (token introspection): §2.1 only authenticated callers; §2.2 inactive tokens say
//! nothing else. gatehouse answers only confidential clients, about their own tokens.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::introspection::Introspection;
use gatehouse_core::server::Failure;

use crate::support::*;

fn introspect(world: &World, client: &Client, token: &str) -> Result<Introspection, Failure> {
    let (body, basic) = client_form(client, &[("token", token)]);
    block_on(world.server().introspect(body.as_bytes(), basic.as_deref()))
}

#[test]
fn a_confidential_client_learns_about_its_own_tokens() {
    let world = World::new();
    let client = world.confidential_client();
    let tokens = world.tokens(&client);
    let access = introspect(&world, &client, &tokens.access_token).unwrap();
    assert!(access.active);
    assert_eq!(access.client_id.as_deref(), Some(client.id.as_str()));
    assert_eq!(access.username.as_deref(), Some("alice@example.com"));
    assert_eq!(access.token_type, Some("Bearer"));
    let refresh = introspect(&world, &client, tokens.refresh_token.as_deref().unwrap()).unwrap();
    assert!(refresh.active);
    assert_eq!(refresh.token_type, Some("refresh_token"));
}

#[test]
fn revoked_expired_foreign_and_unknown_tokens_are_inactive_and_say_nothing() {
    let world = World::new();
    let client = world.confidential_client();
    let other = world.confidential_client();
    let tokens = world.tokens(&client);
    assert_eq!(
        introspect(&world, &other, &tokens.access_token).unwrap(),
        Introspection::inactive()
    );
    assert_eq!(
        introspect(&world, &client, "garbage").unwrap(),
        Introspection::inactive()
    );
    let json = serde_json::to_string(&Introspection::inactive()).unwrap();
    assert_eq!(json, r#"{"active":false}"#);
    world
        .clock
        .advance(world.config.apps[0].access_token_ttl_secs);
    assert!(
        !introspect(&world, &client, &tokens.access_token)
            .unwrap()
            .active
    );
    let fresh = world.tokens(&client);
    world
        .revoke(
            form(&[("token", fresh.access_token.as_str())]).as_bytes(),
            Some(&basic(&client.id, client.secret.as_deref().unwrap())),
        )
        .unwrap();
    assert!(
        !introspect(&world, &client, &fresh.access_token)
            .unwrap()
            .active
    );
}

#[test]
fn public_clients_may_not_introspect() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    match introspect(&world, &client, &tokens.access_token) {
        Err(Failure::OAuth { error, .. }) => {
            assert_eq!(error.reason, Reason::IntrospectionNeedsConfidentialClient);
            assert_eq!(error.code, ErrorCode::InvalidClient);
        }
        other => panic!("{other:?}"),
    }
}
