//! Reads a read replica may answer (`crate::store::Freshness`; docs/storage.md, "Read
//! replicas"): the store's replica lags the primary ([`MemoryStore::lag_replica`]), and what a
//! lagging answer would do decides each read.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::error::Reason;
use gatehouse_core::server::AuthorizeOutcome;

use crate::support::*;

#[test]
fn a_client_registered_after_the_replica_last_caught_up_is_found_on_the_primary() {
    let world = World::new();
    world.store.lag_replica();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    let outcome = world.authorize(&query, Some(&session));
    assert!(
        matches!(outcome, Ok(AuthorizeOutcome::Consent(_))),
        "the replica does not know the client yet; the primary does: {outcome:?}"
    );
    assert!(
        world.store.replica_client_lookups.get() >= 1,
        "the authorization request asked the replica first"
    );
    // The whole flow goes on at once.
    let location = world.authorize_and_consent(&client, &session, &[]);
    assert!(
        world
            .exchange(&client, &param(&location, "code").unwrap())
            .is_ok()
    );
}

#[test]
fn a_client_found_on_the_replica_is_not_read_again_on_the_primary() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    let before = world.store.client_lookups.get();
    assert!(matches!(
        world.authorize(&query, Some(&session)),
        Ok(AuthorizeOutcome::Consent(_))
    ));
    assert_eq!(world.store.client_lookups.get() - before, 1);
}

#[test]
fn a_client_disabled_after_the_replica_last_caught_up_cannot_authenticate() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    world.store.lag_replica();
    let body = form(&[("client_id", client.id.as_str())]);
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let credentials = AdminCredentials {
        authorization: Some(&admin),
        ..AdminCredentials::default()
    };
    block_on(
        world
            .server()
            .admin_disable_client(&credentials, body.as_bytes()),
    )
    .unwrap();
    // The replica still has the client live; client authentication reads the primary.
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::ClientUnknown,
        "a disabled client cannot authenticate"
    );
    let fresh = world.public_client();
    let code = world.code(&fresh);
    world.store.lag_replica();
    block_on(world.server().admin_disable_client(
        &credentials,
        form(&[("client_id", fresh.id.as_str())]).as_bytes(),
    ))
    .unwrap();
    assert_eq!(
        error_of(world.exchange(&fresh, &code)).reason,
        Reason::ClientUnknown,
        "a code issued before the disable is not exchanged"
    );
}
