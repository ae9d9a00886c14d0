//! A refresh by a client this isolate has not authenticated lately (issue 20): the
//! rotation's transaction authenticates it (RFC 6749 §2.3, §6), so no separate client read
//! precedes it. `MemoryStore` holds no client by default, as an isolate that last saw the
//! agent ten minutes ago; every refusal is answered as client authentication answers it, and
//! the refused request rotates, stores and records nothing.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grants::refresh_token::RETRY_WINDOW_SECS;
use gatehouse_core::model::client::{AuthMethod, ClientRecord, GrantType};
use gatehouse_core::store::ClientStore;
use gatehouse_core::types::ClientId;

use crate::support::*;

/// Sets up alice's tokens for `owner` and returns the refresh token and grant.
fn tokens_of(world: &World, owner: &Client) -> (String, gatehouse_core::grant_id::GrantId) {
    let tokens = world.tokens(owner);
    (
        tokens.refresh_token.unwrap(),
        grant_of(&tokens.access_token),
    )
}

/// Asserts `presenting`'s refresh of `token` is refused with `expected` and writes nothing,
/// then `restore`s and shows `token` was not rotated.
fn refused_and_nothing_written(
    world: &World,
    presenting: &Client,
    token: &str,
    grant: &gatehouse_core::grant_id::GrantId,
    expected: (ErrorCode, Reason),
    restore: impl FnOnce(),
    owner: &Client,
) {
    let audit = world.store.audit.borrow().len();
    let lookups = world.store.client_lookups.get();
    let result = world.refresh(presenting, token);
    // RFC 6749 §5.2: a client that tried Basic is challenged to use it.
    let basic = presenting.secret.is_some() && expected.0 == ErrorCode::InvalidClient;
    assert_eq!(refusal_of(result), (expected.0, expected.1, basic));
    assert_eq!(
        world.store.client_lookups.get(),
        lookups,
        "checked by the transaction, not read before it"
    );
    assert_eq!(world.store.audit.borrow().len(), audit, "nothing recorded");
    assert_eq!(world.store.live_refresh_tokens(grant), 1);
    restore();
    world.clock.advance(RETRY_WINDOW_SECS + 1);
    world
        .refresh(owner, token)
        .expect("the token was not rotated by the refused request");
}

#[test]
fn a_public_client_not_cached_refreshes_in_one_transaction() {
    let world = World::new();
    let client = world.public_client();
    let (token, grant) = tokens_of(&world, &client);
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    let next = world.refresh(&client, &token).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    assert_eq!(grant_of(&next.access_token), grant);
    assert_eq!(world.store.audit.borrow().len(), audit + 1);
    assert_eq!(claims(&next.access_token)["client_id"], client.id.as_str());
    // Repeated inside the retry window: the same successor, still without a client read.
    let again = world.refresh(&client, &token).unwrap();
    assert_eq!(again.refresh_token, next.refresh_token);
    assert_eq!(world.store.client_lookups.get(), lookups);
}

#[test]
fn a_cached_client_is_authenticated_before_the_transaction_as_before() {
    let world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let (token, _) = tokens_of(&world, &client);
        world.store.clients_cached.set(true);
        let lookups = world.store.client_lookups.get();
        world.refresh(&client, &token).unwrap();
        assert_eq!(world.store.client_lookups.get(), lookups + 1);
        world.store.clients_cached.set(false);
    }
}

/// A secret client (`client_secret_basic`, `client_secret_post`) not cached: its secret's hash
/// is one of the transaction's conditions.
#[test]
fn a_secret_client_not_cached_refreshes_in_one_transaction() {
    let world = World::new();
    let basic = world.confidential_client();
    let (token, grant) = tokens_of(&world, &basic);
    let lookups = world.store.client_lookups.get();
    let next = world.refresh(&basic, &token).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    assert_eq!(grant_of(&next.access_token), grant);
    // A client registered for client_secret_post (its tokens got with Basic first).
    let post = world.confidential_client();
    let (token, _) = tokens_of(&world, &post);
    alter_record(&world, &post, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let lookups = world.store.client_lookups.get();
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &token),
        ("client_id", &post.id),
        ("client_secret", post.secret.as_deref().unwrap()),
    ]);
    block_on(world.server().token(body.as_bytes(), None)).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    // A wrong secret in the body: refused as client authentication refuses it, nothing written.
    let audit = world.store.audit.borrow().len();
    let wrong = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &token),
        ("client_id", &post.id),
        ("client_secret", "not-the-secret"),
    ]);
    let result = block_on(world.server().token(wrong.as_bytes(), None));
    assert_eq!(
        refusal_of(result),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, false)
    );
    assert_eq!(world.store.audit.borrow().len(), audit);
}

#[test]
fn a_wrong_secret_is_refused_with_a_basic_challenge_and_nothing_is_written() {
    let world = World::new();
    let client = world.confidential_client();
    let (token, grant) = tokens_of(&world, &client);
    let wrong = with_secret(&client, Some("not-the-secret"));
    refused_and_nothing_written(
        &world,
        &wrong,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed),
        || {},
        &client,
    );
}

#[test]
fn basic_by_a_client_registered_for_post_is_refused_and_nothing_is_written() {
    let world = World::new();
    let client = world.confidential_client();
    let (token, grant) = tokens_of(&world, &client);
    let original = alter_record(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    refused_and_nothing_written(
        &world,
        &client,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientAuthMethodMismatch),
        || put_record(&world, &original),
        &client,
    );
}

#[test]
fn an_unknown_client_is_refused_and_nothing_is_written() {
    let world = World::new();
    let owner = world.public_client();
    let (token, grant) = tokens_of(&world, &owner);
    // An id gatehouse issued (its tag is right) that this store does not hold.
    let stranger = stranger(&world, false);
    assert!(
        world
            .store
            .cached_client(&ClientId::parse(&stranger.id).unwrap(), world.server().now)
            .is_none()
    );
    refused_and_nothing_written(
        &world,
        &stranger,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientUnknown),
        || {},
        &owner,
    );
}

#[test]
fn a_disabled_client_is_refused_and_nothing_is_written() {
    let world = World::new();
    let client = world.public_client();
    let (token, grant) = tokens_of(&world, &client);
    let id = ClientId::parse(&client.id).unwrap();
    let now = world.server().now;
    block_on(world.store.disable_client(&id, now)).unwrap();
    refused_and_nothing_written(
        &world,
        &client,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientUnknown),
        || block_on(world.store.enable_client(&id)).unwrap(),
        &client,
    );
}

#[test]
fn a_lapsed_registration_is_refused_and_nothing_is_written() {
    let world = World::new();
    let client = world.public_client();
    let (token, grant) = tokens_of(&world, &client);
    let now = world.server().now;
    let original = alter_record(&world, &client, |record| record.expires_at = Some(now));
    refused_and_nothing_written(
        &world,
        &client,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientUnknown),
        || put_record(&world, &original),
        &client,
    );
}

#[test]
fn a_client_registered_for_another_method_is_refused_and_nothing_is_written() {
    let world = World::new();
    let client = world.public_client();
    let (token, grant) = tokens_of(&world, &client);
    let original = alter_record(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    refused_and_nothing_written(
        &world,
        &client,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientAuthMethodMismatch),
        || put_record(&world, &original),
        &client,
    );
}

#[test]
fn a_confidential_client_presenting_no_secret_is_refused_and_nothing_is_written() {
    let world = World::new();
    let confidential = world.confidential_client();
    let (token, grant) = tokens_of(&world, &confidential);
    // Its id alone in the body: the method `none`, which it did not register.
    let bare = with_secret(&confidential, None);
    refused_and_nothing_written(
        &world,
        &bare,
        &token,
        &grant,
        (ErrorCode::InvalidClient, Reason::ClientAuthMethodMismatch),
        || {},
        &confidential,
    );
}

#[test]
fn a_client_not_registered_for_the_refresh_grant_is_refused_and_nothing_is_written() {
    let world = World::new();
    let client = world.public_client();
    let (token, grant) = tokens_of(&world, &client);
    let original = alter_record(&world, &client, |record| {
        record.metadata.grant_types = vec![GrantType::AuthorizationCode]
    });
    refused_and_nothing_written(
        &world,
        &client,
        &token,
        &grant,
        (
            ErrorCode::UnauthorizedClient,
            Reason::GrantTypeNotRegistered,
        ),
        || put_record(&world, &original),
        &client,
    );
}

/// Every refusal above is the answer the two-step path gives (a client authenticated before
/// the transaction): the same code and reason whether or not the isolate holds the client.
#[test]
fn the_refusals_are_answered_as_when_the_client_is_authenticated_first() {
    let world = World::new();
    let client = world.public_client();
    let (token, _) = tokens_of(&world, &client);
    fn other_method(r: &mut ClientRecord) {
        r.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    }
    fn no_refresh_grant(r: &mut ClientRecord) {
        r.metadata.grant_types = vec![GrantType::AuthorizationCode]
    }
    type Change = fn(&mut ClientRecord);
    let cases: [(&str, Change); 2] = [("method", other_method), ("grant type", no_refresh_grant)];
    for (case, change) in cases {
        let original = alter_record(&world, &client, change);
        world.store.clients_cached.set(false);
        let cold = refusal_of(world.refresh(&client, &token));
        world.store.clients_cached.set(true);
        let cached = refusal_of(world.refresh(&client, &token));
        world.store.clients_cached.set(false);
        assert_eq!(cold, cached, "{case}");
        put_record(&world, &original);
    }
    // A wrong secret, with Basic: the same answer and challenge either way.
    let confidential = world.confidential_client();
    let (token, _) = tokens_of(&world, &confidential);
    let wrong = with_secret(&confidential, Some("not-the-secret"));
    let cold = refusal_of(world.refresh(&wrong, &token));
    world.store.clients_cached.set(true);
    let cached = refusal_of(world.refresh(&wrong, &token));
    world.store.clients_cached.set(false);
    assert_eq!(cold, cached, "wrong secret");
    assert_eq!(
        cold,
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true)
    );
}

/// A malformed refresh (no token, a token gatehouse did not issue, a widened scope) by an
/// unknown client is answered `invalid_client`, as when the client is read first.
#[test]
fn a_malformed_refresh_by_an_unknown_client_is_answered_invalid_client() {
    let world = World::new();
    let stranger = stranger(&world, false);
    for params in [
        &[("grant_type", "refresh_token")][..],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up"),
        ][..],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "made-up"),
            ("scope", ""),
        ][..],
    ] {
        let result = world.token(&stranger, params);
        assert_eq!(
            refusal_of(result),
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false)
        );
    }
}
