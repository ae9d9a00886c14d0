//! An RFC 7009 revocation of a refresh token that names its grant, by a client this isolate has
//! not authenticated lately: the revocation's one transaction authenticates it (RFC 6749 §2.3,
//! RFC 7009 §2.1), as the refresh's (`refresh_cold_client`) and the code exchange's
//! (`code_cold_client`) do, so no separate client read precedes it. `MemoryStore` holds no
//! client by default; every refusal is answered as client authentication answers it on the
//! two-step path (the client read first), and the refused request revokes, denies and records
//! nothing. A request that does not fit in that transaction (another token, no token, migration
//! mode) authenticates its client first; when D1 does not take the transaction, the client is
//! authenticated and the deny-first path runs.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grant_id::GrantId;
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::migration::Migration;
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::model::client::{AuthMethod, ClientRecord, GrantType};
use gatehouse_core::revocation::Pending;
use gatehouse_core::server::Failure;
use gatehouse_core::store::{ClientStore, Denylist, GrantStore, ReadFrom, RegistrationLimit};
use gatehouse_core::time::{Clock as _, UnixTime};
use gatehouse_core::types::ClientId;

use crate::support::*;

/// A revocation request, sent by some client, answered and finished as the Worker does.
type Request<'r> = &'r dyn Fn(&World) -> Result<(), Failure>;

/// The code, reason and whether a Basic challenge goes with it.
fn refusal(result: Result<(), Failure>) -> (ErrorCode, Reason, bool) {
    match result {
        Err(Failure::OAuth {
            error,
            basic_challenge,
        }) => (error.code, error.reason, basic_challenge),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

/// `presenting`'s revocation of `token` (Basic for a client with a secret, the id in the body
/// for one without), answered and finished.
fn revoke_as(world: &World, presenting: &Client, token: &str) -> Result<(), Failure> {
    revoke_with_params(world, presenting, &[("token", token)])
}

/// `presenting`'s revocation request with `params`, answered and finished.
fn revoke_with_params(
    world: &World,
    presenting: &Client,
    params: &[(&str, &str)],
) -> Result<(), Failure> {
    let (body, basic) = client_form(presenting, params);
    world.revoke(body.as_bytes(), basic.as_deref())
}

/// The revocation of `token` authenticated with `id` and `secret` in the body
/// (`client_secret_post`), answered and finished.
fn revoke_by_post(world: &World, id: &str, secret: &str, token: &str) -> Result<(), Failure> {
    let body = form(&[
        ("token", token),
        ("client_id", id),
        ("client_secret", secret),
    ]);
    world.revoke(body.as_bytes(), None)
}

/// What `POST /oauth/revoke` by `presenting` does before it answers, and what it leaves for
/// after.
fn answer(world: &World, presenting: &Client, token: &str) -> Pending {
    let (body, basic) = client_form(presenting, &[("token", token)]);
    block_on(world.server().revoke(body.as_bytes(), basic.as_deref())).unwrap()
}

fn grant_revoked_events(world: &World) -> usize {
    world
        .store
        .audit
        .borrow()
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::GrantRevoked)
        .count()
}

/// Whether D1 has the grant revoked.
fn revoked_in_d1(world: &World, grant: &GrantId) -> bool {
    block_on(world.store.grant(grant))
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

fn denied(world: &World, grant: &GrantId) -> bool {
    block_on(world.store.is_grant_denied(grant)).unwrap()
}

/// Alice's tokens for `owner`, and their grant.
fn tokens_of(world: &World, owner: &Client) -> (TokenResponse, GrantId) {
    let tokens = world.tokens(owner);
    let grant = grant_of(&tokens.access_token);
    (tokens, grant)
}

fn refresh_of(tokens: &TokenResponse) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

/// The grant of `tokens` is as issued: not revoked nor denied nor held, its refresh token
/// live, its access token let in at the gate.
fn assert_live(world: &World, tokens: &TokenResponse, case: &str) {
    let grant = grant_of(&tokens.access_token);
    assert!(!revoked_in_d1(world, &grant), "{case}: not revoked");
    assert_eq!(world.store.live_refresh_tokens(&grant), 1, "{case}");
    assert!(!denied(world, &grant), "{case}: not denied");
    assert!(world.store.held.borrow().is_empty(), "{case}: nothing held");
    assert!(
        world.store.queued.borrow().is_empty(),
        "{case}: nothing queued"
    );
    allowed(gate(world, api("GET", Some(&bearer(&tokens.access_token)))));
}

/// What a revocation that took effect shows, `events` the `grant_revoked` events before it:
/// the grant revoked in D1 and denied, no refresh token live, one more `grant_revoked` event,
/// the access token refused at the gate and the refresh token by the token endpoint.
fn assert_revoked(world: &World, owner: &Client, tokens: &TokenResponse, events: usize) {
    let grant = grant_of(&tokens.access_token);
    assert!(revoked_in_d1(world, &grant), "revoked");
    assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    assert!(denied(world, &grant), "denied");
    assert_eq!(grant_revoked_events(world), events + 1, "one grant_revoked");
    let (status, _, _) = challenge(gate(world, api("GET", Some(&bearer(&tokens.access_token)))));
    assert_eq!(status, 401);
    assert_eq!(
        error_of(world.refresh(owner, refresh_of(tokens))).code,
        ErrorCode::InvalidGrant
    );
}

/// `client`'s stored record.
fn record_of(world: &World, client: &Client) -> ClientRecord {
    let id = ClientId::parse(&client.id).unwrap();
    let now = world.server().now;
    block_on(world.store.client(&id, now, ReadFrom::Primary))
        .unwrap()
        .unwrap()
}

/// Stores `record` in place of the client's, recording nothing.
fn put(world: &World, record: &ClientRecord) {
    let limit = RegistrationLimit {
        max: u64::MAX,
        since: UnixTime(0),
    };
    let event = world.store.audit.borrow().last().unwrap().1.clone();
    assert!(
        block_on(
            world
                .store
                .insert_client(record, "192.0.2.1", &event, limit)
        )
        .unwrap()
    );
    world.store.audit.borrow_mut().pop();
}

/// Changes `client`'s stored record; returns the record as it was.
fn alter(world: &World, client: &Client, change: impl FnOnce(&mut ClientRecord)) -> ClientRecord {
    let original = record_of(world, client);
    let mut record = original.clone();
    change(&mut record);
    put(world, &record);
    original
}

/// Turns migration mode on (D1 read-only meanwhile).
fn pause(world: &mut World) {
    world.config.migration = Some(Migration {
        retry_after_secs: 120,
        access_token_ttl_secs: 4 * 3600,
    });
    world.store.d1_read_only.set(true);
}

/// Turns migration mode off.
fn resume(world: &mut World) {
    world.config.migration = None;
    world.store.d1_read_only.set(false);
}

/// How the same request takes the two-step path, its client read and checked before anything.
#[derive(Clone, Copy, Debug)]
enum TwoStep {
    /// The isolate holds the client from a recent read of the primary (an active client).
    Cached,
    /// Migration mode: no revocation in one transaction, so the client is authenticated first
    /// (a client the isolate cannot hold: unknown, disabled or lapsed).
    Paused,
}

/// `request`'s answer on the two-step path `how`, which reads the client once.
fn two_step(world: &mut World, how: TwoStep, request: Request<'_>) -> Result<(), Failure> {
    let lookups = world.store.client_lookups.get();
    match how {
        TwoStep::Cached => world.store.clients_cached.set(true),
        TwoStep::Paused => pause(world),
    }
    let result = request(world);
    match how {
        TwoStep::Cached => world.store.clients_cached.set(false),
        TwoStep::Paused => resume(world),
    }
    assert_eq!(
        world.store.client_lookups.get(),
        lookups + 1,
        "{how:?}: the client is read before the revocation"
    );
    result
}

/// Asserts `request`, a revocation of `tokens`' refresh token (issued to `owner`) by a client
/// not cached, is refused with `expected` without a client read, and revokes, denies, writes
/// and records nothing; that the same request on the two-step path `how` is answered the same;
/// then `restore`s and shows the grant is live: `owner` refreshes, then revokes the new refresh
/// token in one transaction.
fn refused_and_nothing_revoked(
    world: &mut World,
    request: Request<'_>,
    expected: (ErrorCode, Reason, bool),
    how: TwoStep,
    tokens: &TokenResponse,
    restore: impl FnOnce(&World),
    owner: &Client,
) {
    let grant = grant_of(&tokens.access_token);
    let audit = world.store.audit.borrow().len();
    let lookups = world.store.client_lookups.get();
    world.store.writes.borrow_mut().clear();
    let cold = refusal(request(world));
    assert_eq!(cold, expected);
    assert_eq!(
        world.store.client_lookups.get(),
        lookups,
        "checked by the transaction, not read before it"
    );
    assert!(world.store.writes.borrow().is_empty(), "nothing written");
    assert_eq!(world.store.audit.borrow().len(), audit, "nothing recorded");
    assert_live(world, tokens, "refused");
    // The two-step path: the same code, reason and challenge.
    let first = refusal(two_step(world, how, request));
    assert_eq!(first, cold, "answered as when the client is read first");
    assert!(world.store.writes.borrow().is_empty(), "nothing written");
    assert_eq!(world.store.audit.borrow().len(), audit);
    assert_live(world, tokens, "refused on the two-step path");
    restore(world);
    // The grant is live: its owner refreshes, then revokes the successor.
    let next = world
        .refresh(owner, refresh_of(tokens))
        .expect("the refresh token was not revoked by the refused requests");
    assert_eq!(grant_of(&next.access_token), grant);
    let events = grant_revoked_events(world);
    let lookups = world.store.client_lookups.get();
    revoke_as(world, owner, refresh_of(&next)).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    assert_revoked(world, owner, &next, events);
}

/// A client `world` does not hold, with an id gatehouse issued: the first one a twin (the
/// same secret, the same draws) registers that `world` did not.
fn stranger(world: &World, confidential: bool) -> Client {
    let twin = World::new();
    let now = world.server().now;
    (0..8)
        .map(|_| match confidential {
            true => twin.confidential_client(),
            false => twin.public_client(),
        })
        .find(|candidate| {
            let id = ClientId::parse(&candidate.id).unwrap();
            block_on(world.store.client(&id, now, ReadFrom::Primary))
                .unwrap()
                .is_none()
        })
        .expect("a client not in this store")
}

#[test]
fn a_public_client_not_cached_revokes_its_refresh_token_in_one_transaction() {
    let world = World::new();
    let client = world.public_client();
    let (tokens, grant) = tokens_of(&world, &client);
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    let pending = answer(&world, &client, refresh_of(&tokens));
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    // Before the answer: one write, the grant revoked and its event recorded, no deny entry.
    assert_eq!(*world.store.writes.borrow(), ["d1"]);
    assert!(revoked_in_d1(&world, &grant));
    assert_eq!(grant_revoked_events(&world), events + 1);
    assert!(!denied(&world, &grant));
    assert_eq!(
        pending.revocation().map(|r| r.grant_id.clone()),
        Some(grant.clone())
    );
    block_on(pending.finish(&world.store, world.clock.now())).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups);
    assert_revoked(&world, &client, &tokens, events);
    // Revoking it again: answered alike, still without a client read, nothing more recorded.
    world.store.writes.borrow_mut().clear();
    assert_eq!(
        answer(&world, &client, refresh_of(&tokens)),
        Pending::nothing()
    );
    assert_eq!(world.store.client_lookups.get(), lookups);
    assert_eq!(grant_revoked_events(&world), events + 1);
}

/// A secret client (`client_secret_basic`, `client_secret_post`) not cached: its secret's hash
/// is one of the transaction's conditions.
#[test]
fn a_secret_client_not_cached_revokes_its_refresh_token_in_one_transaction() {
    let world = World::new();
    let basic = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &basic);
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    revoke_as(&world, &basic, refresh_of(&tokens)).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    assert_eq!(*world.store.writes.borrow(), ["d1", "deny", "d1"]);
    assert_revoked(&world, &basic, &tokens, events);
    // A client registered for client_secret_post (its tokens got with Basic first).
    let post = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &post);
    alter(&world, &post, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    let secret = post.secret.as_deref().unwrap();
    revoke_by_post(&world, &post.id, secret, refresh_of(&tokens)).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    assert_eq!(*world.store.writes.borrow(), ["d1", "deny", "d1"]);
    let grant = grant_of(&tokens.access_token);
    assert!(revoked_in_d1(&world, &grant));
    assert!(denied(&world, &grant));
    assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    assert_eq!(grant_revoked_events(&world), events + 1);
}

#[test]
fn a_cached_client_is_authenticated_before_the_transaction_as_before() {
    let world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let (tokens, _) = tokens_of(&world, &client);
        let events = grant_revoked_events(&world);
        world.store.writes.borrow_mut().clear();
        world.store.clients_cached.set(true);
        let lookups = world.store.client_lookups.get();
        revoke_as(&world, &client, refresh_of(&tokens)).unwrap();
        assert_eq!(world.store.client_lookups.get(), lookups + 1);
        world.store.clients_cached.set(false);
        // Still one transaction before the answer.
        assert_eq!(*world.store.writes.borrow(), ["d1", "deny", "d1"]);
        assert_revoked(&world, &client, &tokens, events);
    }
}

/// Revocation does not ask for a grant type (RFC 7009): a client registered without
/// `refresh_token` revokes the refresh token it holds, in one transaction as on the two-step
/// path.
#[test]
fn a_client_not_registered_for_the_refresh_grant_revokes_as_on_the_two_step_path() {
    let world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        // Tokens it got before its registration changed.
        let tokens = [tokens_of(&world, &client), tokens_of(&world, &client)];
        let original = alter(&world, &client, |record| {
            record.metadata.grant_types = vec![GrantType::AuthorizationCode]
        });
        for (cached, (tokens, grant)) in [false, true].into_iter().zip(&tokens) {
            let events = grant_revoked_events(&world);
            let lookups = world.store.client_lookups.get();
            world.store.writes.borrow_mut().clear();
            world.store.clients_cached.set(cached);
            revoke_as(&world, &client, refresh_of(tokens)).unwrap();
            world.store.clients_cached.set(false);
            assert_eq!(
                world.store.client_lookups.get(),
                lookups + u32::from(cached),
                "cached: {cached}"
            );
            assert_eq!(
                *world.store.writes.borrow(),
                ["d1", "deny", "d1"],
                "cached: {cached}"
            );
            assert!(revoked_in_d1(&world, grant), "cached: {cached}");
            assert!(denied(&world, grant), "cached: {cached}");
            assert_eq!(world.store.live_refresh_tokens(grant), 0);
            assert_eq!(grant_revoked_events(&world), events + 1);
        }
        put(&world, &original);
    }
}

#[test]
fn a_wrong_secret_is_refused_with_a_basic_challenge_and_nothing_is_revoked() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &client);
    let wrong = Client {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &wrong, &refresh),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
        TwoStep::Cached,
        &tokens,
        |_| {},
        &client,
    );
}

#[test]
fn a_wrong_secret_in_the_body_is_refused_without_a_challenge_and_nothing_is_revoked() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &client);
    let original = alter(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_by_post(world, &client.id, "not-the-secret", &refresh),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, false),
        TwoStep::Cached,
        &tokens,
        |world| put(world, &original),
        &client,
    );
}

#[test]
fn an_unknown_client_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    let owner = world.public_client();
    let (tokens, _) = tokens_of(&world, &owner);
    let stranger = stranger(&world, false);
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &stranger, &refresh),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
        TwoStep::Paused,
        &tokens,
        |_| {},
        &owner,
    );
}

#[test]
fn an_unknown_client_trying_basic_is_refused_with_a_challenge_and_nothing_is_revoked() {
    let mut world = World::new();
    let owner = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &owner);
    let stranger = stranger(&world, true);
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &stranger, &refresh),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, true),
        TwoStep::Paused,
        &tokens,
        |_| {},
        &owner,
    );
}

#[test]
fn a_disabled_client_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let (tokens, _) = tokens_of(&world, &client);
        let id = ClientId::parse(&client.id).unwrap();
        let now = world.server().now;
        block_on(world.store.disable_client(&id, now)).unwrap();
        let basic = client.secret.is_some();
        let refresh = refresh_of(&tokens).to_owned();
        refused_and_nothing_revoked(
            &mut world,
            &|world| revoke_as(world, &client, &refresh),
            (ErrorCode::InvalidClient, Reason::ClientUnknown, basic),
            TwoStep::Paused,
            &tokens,
            |world| block_on(world.store.enable_client(&id)).unwrap(),
            &client,
        );
    }
}

#[test]
fn a_lapsed_registration_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let (tokens, _) = tokens_of(&world, &client);
        let now = world.server().now;
        let original = alter(&world, &client, |record| record.expires_at = Some(now));
        let basic = client.secret.is_some();
        let refresh = refresh_of(&tokens).to_owned();
        refused_and_nothing_revoked(
            &mut world,
            &|world| revoke_as(world, &client, &refresh),
            (ErrorCode::InvalidClient, Reason::ClientUnknown, basic),
            TwoStep::Paused,
            &tokens,
            |world| put(world, &original),
            &client,
        );
    }
}

#[test]
fn basic_by_a_client_registered_for_post_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &client);
    let original = alter(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &client, &refresh),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            true,
        ),
        TwoStep::Cached,
        &tokens,
        |world| put(world, &original),
        &client,
    );
}

#[test]
fn post_by_a_client_registered_for_basic_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &client);
    let secret = client.secret.clone().unwrap();
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_by_post(world, &client.id, &secret, &refresh),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &tokens,
        |_| {},
        &client,
    );
}

#[test]
fn a_confidential_client_presenting_no_secret_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    let confidential = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &confidential);
    // Its id alone in the body: the method `none`, which it did not register.
    let bare = Client {
        id: confidential.id.clone(),
        secret: None,
    };
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &bare, &refresh),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &tokens,
        |_| {},
        &confidential,
    );
}

#[test]
fn a_public_client_presenting_a_secret_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    let client = world.public_client();
    // Basic, with a secret it was never given: `client_secret_basic`, which it did not register.
    let (tokens, _) = tokens_of(&world, &client);
    let with_secret = Client {
        id: client.id.clone(),
        secret: Some("a-secret-it-never-had".into()),
    };
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &with_secret, &refresh),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            true,
        ),
        TwoStep::Cached,
        &tokens,
        |_| {},
        &client,
    );
    // The same secret in the body: `client_secret_post`.
    let (tokens, _) = tokens_of(&world, &client);
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_by_post(world, &client.id, "a-secret-it-never-had", &refresh),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &tokens,
        |_| {},
        &client,
    );
}

#[test]
fn a_public_client_registered_for_another_method_is_refused_and_nothing_is_revoked() {
    let mut world = World::new();
    let client = world.public_client();
    let (tokens, _) = tokens_of(&world, &client);
    let original = alter(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &client, &refresh),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &tokens,
        |world| put(world, &original),
        &client,
    );
}

/// RFC 7009 §2.1: the client's credentials are checked first, then whether the token is its;
/// §2.2: a token that is not is answered as a revoked one. Another registered client, not
/// cached, presenting the owner's refresh token is answered 200 and revokes nothing, without a
/// client read, as on the two-step path.
#[test]
fn another_clients_refresh_token_is_answered_ok_and_nothing_is_revoked() {
    let world = World::new();
    let owner = world.public_client();
    let others = [world.public_client(), world.confidential_client()];
    let (tokens, _) = tokens_of(&world, &owner);
    for other in &others {
        for cached in [false, true] {
            let lookups = world.store.client_lookups.get();
            let audit = world.store.audit.borrow().len();
            world.store.writes.borrow_mut().clear();
            world.store.clients_cached.set(cached);
            let pending = answer(&world, other, refresh_of(&tokens));
            world.store.clients_cached.set(false);
            assert_eq!(pending, Pending::nothing(), "{other:?}, cached: {cached}");
            assert_eq!(
                world.store.client_lookups.get(),
                lookups + u32::from(cached),
                "{other:?}, cached: {cached}"
            );
            assert!(world.store.writes.borrow().is_empty(), "nothing written");
            assert_eq!(world.store.audit.borrow().len(), audit, "nothing recorded");
            assert_live(&world, &tokens, "another client's token");
        }
    }
    // Answered and finished as the Worker does: still nothing.
    revoke_as(&world, &others[1], refresh_of(&tokens)).unwrap();
    assert_live(&world, &tokens, "another client's token, finished");
    assert_eq!(grant_revoked_events(&world), 0);
    let next = world.refresh(&owner, refresh_of(&tokens)).unwrap();
    assert_eq!(grant_of(&next.access_token), grant_of(&tokens.access_token));
}

/// A client refused presenting another client's token is refused as a client (§2.1: its
/// credentials are checked first), not answered 200.
#[test]
fn a_refused_client_presenting_another_clients_token_is_refused_as_a_client() {
    let mut world = World::new();
    let owner = world.public_client();
    let other = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &owner);
    let wrong = Client {
        id: other.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &wrong, &refresh),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
        TwoStep::Cached,
        &tokens,
        |_| {},
        &owner,
    );
    // An unknown client (its id issued by gatehouse, which this store does not hold).
    let (tokens, _) = tokens_of(&world, &owner);
    let stranger = stranger(&world, false);
    let refresh = refresh_of(&tokens).to_owned();
    refused_and_nothing_revoked(
        &mut world,
        &|world| revoke_as(world, &stranger, &refresh),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
        TwoStep::Paused,
        &tokens,
        |_| {},
        &owner,
    );
}

/// A refresh token that names its grant but is not live (rotated, its grant live) is answered
/// as a revoked one (§2.2), by the transaction, without a client read.
#[test]
fn a_rotated_refresh_token_is_answered_ok_without_a_client_read() {
    let world = World::new();
    let client = world.public_client();
    let (tokens, grant) = tokens_of(&world, &client);
    let next = world.refresh(&client, refresh_of(&tokens)).unwrap();
    world.clock.advance(60);
    let lookups = world.store.client_lookups.get();
    world.store.writes.borrow_mut().clear();
    assert_eq!(
        answer(&world, &client, refresh_of(&tokens)),
        Pending::nothing()
    );
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    assert!(world.store.writes.borrow().is_empty());
    assert!(!revoked_in_d1(&world, &grant));
    assert_eq!(grant_revoked_events(&world), 0);
    world.refresh(&client, refresh_of(&next)).unwrap();
}

/// A request the transaction cannot take (an access token, a token gatehouse did not issue,
/// no token) authenticates its client first and is answered as before.
#[test]
fn a_request_that_does_not_fit_authenticates_the_client_first() {
    let mut world = World::new();
    let client = world.public_client();
    let (tokens, grant) = tokens_of(&world, &client);
    // No `token`: invalid_request, as on the two-step path.
    let lookups = world.store.client_lookups.get();
    let cold = refusal(revoke_with_params(&world, &client, &[]));
    assert_eq!(
        cold,
        (ErrorCode::InvalidRequest, Reason::MissingParameter, false)
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    let first = refusal(two_step(&mut world, TwoStep::Cached, &|world| {
        revoke_with_params(world, &client, &[])
    }));
    assert_eq!(first, cold);
    // A token gatehouse did not issue: answered 200, nothing revoked (RFC 7009 §2.2).
    for token in ["made-up", "a.b.c"] {
        let lookups = world.store.client_lookups.get();
        world.store.writes.borrow_mut().clear();
        assert_eq!(answer(&world, &client, token), Pending::nothing());
        assert_eq!(world.store.client_lookups.get(), lookups + 1, "{token}");
        assert!(world.store.writes.borrow().is_empty(), "{token}");
    }
    assert_live(&world, &tokens, "unknown tokens");
    // The access token: the deny-first path, which revokes the grant before the answer.
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    assert_eq!(
        answer(&world, &client, &tokens.access_token),
        Pending::nothing()
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    assert_eq!(world.store.writes.borrow().first(), Some(&"deny"));
    assert_revoked(&world, &client, &tokens, events);
    assert!(revoked_in_d1(&world, &grant));
}

/// Who sends which parameters, the answer expected and how the two-step path is taken.
type Case<'c> = (
    &'c Client,
    &'c [(&'c str, &'c str)],
    (ErrorCode, Reason, bool),
    TwoStep,
);

/// A request that does not fit, by a client that is refused: refused as on the two-step path,
/// after one client read, whatever the token.
#[test]
fn a_request_that_does_not_fit_by_a_refused_client_is_answered_invalid_client() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &client);
    let stranger = stranger(&world, false);
    let wrong = Client {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let access = tokens.access_token.clone();
    let cases: [Case<'_>; 6] = [
        (
            &stranger,
            &[],
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
            TwoStep::Paused,
        ),
        (
            &stranger,
            &[("token", "made-up")],
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
            TwoStep::Paused,
        ),
        (
            &stranger,
            &[("token", access.as_str())],
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
            TwoStep::Paused,
        ),
        (
            &wrong,
            &[],
            (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
            TwoStep::Cached,
        ),
        (
            &wrong,
            &[("token", "made-up")],
            (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
            TwoStep::Cached,
        ),
        (
            &wrong,
            &[("token", access.as_str())],
            (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
            TwoStep::Cached,
        ),
    ];
    for (presenting, params, expected, how) in cases {
        let lookups = world.store.client_lookups.get();
        let audit = world.store.audit.borrow().len();
        world.store.writes.borrow_mut().clear();
        let cold = refusal(revoke_with_params(&world, presenting, params));
        assert_eq!(cold, expected, "{presenting:?} {params:?}");
        assert_eq!(
            world.store.client_lookups.get(),
            lookups + 1,
            "{presenting:?} {params:?}: the client is read first"
        );
        let first = refusal(two_step(&mut world, how, &|world| {
            revoke_with_params(world, presenting, params)
        }));
        assert_eq!(first, cold, "{presenting:?} {params:?}");
        assert!(world.store.writes.borrow().is_empty());
        assert_eq!(world.store.audit.borrow().len(), audit);
        assert_live(&world, &tokens, "refused");
    }
    world.refresh(&client, refresh_of(&tokens)).unwrap();
}

/// In migration mode nothing is revoked by the one transaction: the client is authenticated
/// first, the grant denied and D1's side held, as before.
#[test]
fn in_migration_mode_the_client_is_authenticated_first() {
    let mut world = World::new();
    let client = world.public_client();
    let (tokens, grant) = tokens_of(&world, &client);
    let stranger = stranger(&world, false);
    pause(&mut world);
    // An unknown client: invalid_client, after its read.
    let lookups = world.store.client_lookups.get();
    assert_eq!(
        refusal(revoke_as(&world, &stranger, refresh_of(&tokens))),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, false)
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    assert!(!denied(&world, &grant));
    assert!(world.store.held.borrow().is_empty());
    // The owner: read, then its grant denied and the D1 side held before the answer.
    world.store.writes.borrow_mut().clear();
    let pending = answer(&world, &client, refresh_of(&tokens));
    assert_eq!(pending, Pending::nothing());
    assert_eq!(world.store.client_lookups.get(), lookups + 2);
    assert_eq!(world.store.writes.borrow().first(), Some(&"deny"));
    assert!(!world.store.writes.borrow().contains(&"d1"), "D1 untouched");
    assert!(denied(&world, &grant));
    assert_eq!(world.store.held.borrow().len(), 1);
    assert!(!revoked_in_d1(&world, &grant), "held for the drain");
    let (status, _, _) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!(status, 401);
}

/// When D1 does not take the revocation's transaction, a deferred client is authenticated
/// (one read) and the deny-first path runs: the grant denied before the answer, D1's side held
/// for the drain.
#[test]
fn when_d1_cannot_take_the_transaction_a_deferred_client_is_authenticated_and_denied_first() {
    let world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let (tokens, grant) = tokens_of(&world, &client);
        let held = world.store.held.borrow().len();
        let queued = world.store.queued.borrow().len();
        let lookups = world.store.client_lookups.get();
        world.store.d1_read_only.set(true);
        let pending = answer(&world, &client, refresh_of(&tokens));
        world.store.d1_read_only.set(false);
        assert_eq!(pending, Pending::nothing(), "{client:?}");
        assert_eq!(
            world.store.client_lookups.get(),
            lookups + 1,
            "{client:?}: authenticated after the transaction failed"
        );
        assert!(denied(&world, &grant), "{client:?}");
        assert_eq!(world.store.held.borrow().len(), held + 1, "{client:?}");
        assert_eq!(world.store.queued.borrow().len(), queued + 1, "{client:?}");
        let (status, _, _) = challenge(gate(
            &world,
            api("GET", Some(&bearer(&tokens.access_token))),
        ));
        assert_eq!(status, 401);
    }
}

/// When D1 does not take writes, a deferred client presenting a wrong secret, or unknown, is
/// refused `invalid_client` as on the two-step path, and nothing is denied or held.
///
/// `MemoryStore` evaluates the transaction's condition (the client's among it) before its D1
/// write, so a refused client's transaction does not fail there: it is refused by the record
/// the transaction read, with no client read. D1 fails a read-only batch whole; the client is
/// then read and refused by the deny-first path, with the same answer.
#[test]
fn when_d1_cannot_take_the_transaction_a_refused_client_is_refused_invalid_client() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, grant) = tokens_of(&world, &client);
    let wrong = Client {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let stranger = stranger(&world, true);
    let refresh = refresh_of(&tokens).to_owned();
    for (presenting, expected) in [
        (
            &wrong,
            (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
        ),
        (
            &stranger,
            (ErrorCode::InvalidClient, Reason::ClientUnknown, true),
        ),
    ] {
        world.store.d1_read_only.set(true);
        let lookups = world.store.client_lookups.get();
        let audit = world.store.audit.borrow().len();
        world.store.writes.borrow_mut().clear();
        let cold = refusal(revoke_as(&world, presenting, &refresh));
        assert_eq!(cold, expected, "{presenting:?}");
        assert_eq!(
            world.store.client_lookups.get(),
            lookups,
            "{presenting:?}: refused by the transaction's read"
        );
        assert!(world.store.writes.borrow().is_empty(), "{presenting:?}");
        assert_eq!(world.store.audit.borrow().len(), audit);
        assert!(!denied(&world, &grant), "{presenting:?}");
        assert!(world.store.held.borrow().is_empty(), "{presenting:?}");
        assert!(world.store.queued.borrow().is_empty(), "{presenting:?}");
        let first = refusal(two_step(&mut world, TwoStep::Paused, &|world| {
            revoke_as(world, presenting, &refresh)
        }));
        assert_eq!(first, cold, "{presenting:?}");
        world.store.d1_read_only.set(false);
        assert_live(&world, &tokens, "refused while D1 is read-only");
    }
    world.refresh(&client, &refresh).unwrap();
}
