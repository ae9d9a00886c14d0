//! RFC 7009 (token revocation): §2.1 either token type, client authentication, a client may
//! revoke only its own tokens; §2.2 unknown tokens are answered with success. A refresh token
//! that names its grant is revoked by one D1 transaction conditioned on §2.1 before the
//! answer; the deny entry and the settled mark follow it (`crates/core/src/revocation.rs`).

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::migration::Migration;
use gatehouse_core::revocation::Pending;
use gatehouse_core::server::Failure;
use gatehouse_core::store::{Denylist, GrantStore};
use gatehouse_core::time::Clock as _;

use crate::support::*;

#[test]
fn revoking_the_refresh_token_ends_the_grant() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.unwrap();
    revoke_as(&world, &client, &refresh).unwrap();
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
    revoke_as(&world, &client, &tokens.access_token).unwrap();
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).code,
        ErrorCode::InvalidGrant
    );
}

#[test]
fn unknown_tokens_are_answered_with_success() {
    let world = World::new();
    let client = world.public_client();
    revoke_as(&world, &client, "no-such-token").unwrap();
    revoke_as(&world, &client, "a.b.c").unwrap();
}

#[test]
fn a_client_cannot_revoke_another_clients_token() {
    let world = World::new();
    let client = world.public_client();
    let other = world.public_client();
    let tokens = world.tokens(&client);
    revoke_as(&world, &other, tokens.refresh_token.as_deref().unwrap()).unwrap();
    revoke_as(&world, &other, &tokens.access_token).unwrap();
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
    match revoke_as(&world, &wrong, tokens.refresh_token.as_deref().unwrap()) {
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
    world
        .revoke_with(&world.server_at(OTHER_ISSUER), body.as_bytes(), None)
        .unwrap();
    world.refresh(&client, &refresh).unwrap();
}

#[test]
fn a_refresh_token_is_revoked_by_one_transaction_before_the_answer_and_denied_after_it() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let grant = grant_of(&tokens.access_token);
    world.store.writes.borrow_mut().clear();
    let pending = pending_revocation(&world, &client, tokens.refresh_token.as_deref().unwrap());
    // Before the answer: steps 2–4 in one write, nothing queued, no deny entry yet.
    assert_eq!(*world.store.writes.borrow(), ["d1"]);
    let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
    assert!(record.revoked_at.is_some());
    assert_eq!(record.revocation_settled_at, None);
    assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    assert!(
        !world
            .store
            .has_consent("local:alice@example.com", &client.id, &record.app)
    );
    assert_eq!(grant_revoked_events(&world), 1);
    assert!(world.store.queued.borrow().is_empty());
    assert!(!block_on(world.store.is_grant_denied(&grant)).unwrap());
    assert_eq!(
        pending.revocation().map(|r| r.grant_id.clone()),
        Some(grant.clone())
    );
    // After it: the deny entry, then the settled mark.
    block_on(pending.finish(&world.store, world.clock.now())).unwrap();
    assert_eq!(*world.store.writes.borrow(), ["d1", "deny", "d1"]);
    assert!(block_on(world.store.is_grant_denied(&grant)).unwrap());
    let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
    assert!(record.revocation_settled_at.is_some());
    let (status, _, _) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!(status, 401);
    // Revoking it again: answered alike, nothing more written or left to do.
    world.store.writes.borrow_mut().clear();
    let again = pending_revocation(&world, &client, tokens.refresh_token.as_deref().unwrap());
    assert_eq!(again, Pending::nothing());
    assert_eq!(grant_revoked_events(&world), 1);
}

#[test]
fn the_transaction_changes_nothing_for_a_token_not_issued_to_the_client() {
    // RFC 7009 §2.1: "The authorization server first validates the client credentials (in
    // case of a confidential client) and then verifies whether the token was issued to the
    // client making the revocation request. If this validation fails, the request is refused
    // and the client is informed of the error by the authorization server as described below."
    // §2.2: an invalid token is answered 200 like a revoked one.
    let world = World::new();
    let client = world.public_client();
    let other = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.clone().unwrap();
    let grant = grant_of(&tokens.access_token);
    world.store.writes.borrow_mut().clear();
    assert_eq!(
        pending_revocation(&world, &other, &refresh),
        Pending::nothing()
    );
    // At another app, by the client itself: not this app's token.
    let (body, _) = client_form(&client, &[("token", refresh.as_str())]);
    let elsewhere = block_on(world.server_at(OTHER_ISSUER).revoke(body.as_bytes(), None)).unwrap();
    assert_eq!(elsewhere, Pending::nothing());
    assert!(world.store.writes.borrow().is_empty(), "nothing written");
    let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
    assert_eq!(record.revoked_at, None);
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
    assert_eq!(grant_revoked_events(&world), 0);
    world.refresh(&client, &refresh).unwrap();
}

#[test]
fn a_rotated_refresh_token_of_a_live_grant_revokes_nothing() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let first = tokens.refresh_token.clone().unwrap();
    let second = world
        .refresh(&client, &first)
        .unwrap()
        .refresh_token
        .unwrap();
    world.clock.advance(60);
    world.store.writes.borrow_mut().clear();
    // Rotated: not a live token, and its grant is live (RFC 7009 §2.2: answered as revoked).
    assert_eq!(
        pending_revocation(&world, &client, &first),
        Pending::nothing()
    );
    assert!(world.store.writes.borrow().is_empty());
    world.refresh(&client, &second).unwrap();
}

#[test]
fn when_d1_cannot_take_the_transaction_the_deny_entry_is_written_before_the_answer() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let grant = grant_of(&tokens.access_token);
    world.store.d1_read_only.set(true);
    let pending = pending_revocation(&world, &client, tokens.refresh_token.as_deref().unwrap());
    assert_eq!(pending, Pending::nothing());
    assert!(block_on(world.store.is_grant_denied(&grant)).unwrap());
    assert_eq!(
        world.store.held.borrow().len(),
        1,
        "D1's side held for the drain"
    );
    assert_eq!(world.store.queued.borrow().len(), 1);
}

#[test]
fn in_migration_mode_a_refresh_token_revocation_is_denied_and_held_before_the_answer() {
    let mut world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    world.config.migration = Some(Migration {
        retry_after_secs: 60,
        access_token_ttl_secs: 4 * 3600,
    });
    world.store.writes.borrow_mut().clear();
    let pending = pending_revocation(&world, &client, tokens.refresh_token.as_deref().unwrap());
    assert_eq!(pending, Pending::nothing());
    assert_eq!(world.store.writes.borrow().first(), Some(&"deny"));
    assert!(!world.store.writes.borrow().contains(&"d1"), "D1 untouched");
    assert_eq!(world.store.held.borrow().len(), 1);
}
