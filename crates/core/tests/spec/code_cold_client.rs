//! A code exchange by a client this isolate has not authenticated lately: the exchange's
//! transaction authenticates it (RFC 6749 §2.3, §4.1.3), as the refresh's does
//! (`refresh_cold_client`), so an agent's first exchange, right after a registration another
//! isolate may have served, needs no separate client read. `MemoryStore` holds no client by
//! default; every refusal is answered as client authentication answers it on the two-step path
//! (the client read first), and the refused request spends, stores and records nothing. A
//! request that does not fit in one transaction authenticates its client first.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grant_id::GrantId;
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::migration::{Migration, Paused};
use gatehouse_core::model::client::{AuthMethod, ClientRecord, GrantType};
use gatehouse_core::server::Failure;
use gatehouse_core::store::{ClientStore, CodeRecord, CodeStore, ReadFrom, RegistrationLimit};
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;

use crate::support::*;

/// The redirect URI a confidential client of [`World`] registered.
const AGENT_CALLBACK: &str = "https://agent.example/cb";

/// A token request, sent by some client.
type Request<'r> = &'r dyn Fn(&World) -> Result<TokenResponse, Failure>;

/// The code, reason and whether a Basic challenge goes with it.
fn answer(result: Result<TokenResponse, Failure>) -> (ErrorCode, Reason, bool) {
    match result {
        Err(Failure::OAuth {
            error,
            basic_challenge,
        }) => (error.code, error.reason, basic_challenge),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
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

/// The grant a code names: its body is `<grant id>.<random>`, then the tag.
fn grant_named_by(code: &str) -> GrantId {
    GrantId::from_stored(code.split('.').next().unwrap().to_owned())
}

/// The redirect URI `owner`'s codes were issued for.
fn redirect_of(owner: &Client) -> &'static str {
    match owner.secret {
        Some(_) => AGENT_CALLBACK,
        None => REDIRECT,
    }
}

/// The exchange of `code`, issued to `owner`, with its redirect URI and verifier.
fn exchange_params<'a>(owner: &Client, code: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_of(owner)),
        ("code_verifier", VERIFIER),
    ]
}

/// `presenting`'s exchange of `code`, issued to `owner` (Basic for a client with a secret, the
/// id in the body for one without).
fn exchange_as(
    world: &World,
    presenting: &Client,
    owner: &Client,
    code: &str,
) -> Result<TokenResponse, Failure> {
    world.token(presenting, &exchange_params(owner, code))
}

/// The exchange of `code`, issued to `owner`, authenticated with `id` and `secret` in the body
/// (`client_secret_post`).
fn exchange_by_post(
    world: &World,
    id: &str,
    secret: &str,
    owner: &Client,
    code: &str,
) -> Result<TokenResponse, Failure> {
    let mut params = exchange_params(owner, code).to_vec();
    params.extend([("client_id", id), ("client_secret", secret)]);
    block_on(world.server().token(form(&params).as_bytes(), None))
}

/// Turns migration mode on: writes that can wait are refused (D1 read-only meanwhile).
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

/// How the same request takes the two-step path, its client read and checked before the
/// exchange's transaction.
#[derive(Clone, Copy, Debug)]
enum TwoStep {
    /// The isolate holds the client from a recent read of the primary (an active client).
    Cached,
    /// Storage is paused: the client is authenticated before the pause is answered (a client
    /// the isolate cannot hold: unknown, disabled or lapsed).
    Paused,
}

/// `request`'s answer on the two-step path `how`, which reads the client once.
fn two_step(
    world: &mut World,
    how: TwoStep,
    request: Request<'_>,
) -> Result<TokenResponse, Failure> {
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
        "{how:?}: the client is read before the exchange"
    );
    result
}

/// Asserts `request`, an exchange of `code` (issued to `owner`) by a client not cached, is
/// refused with `expected` by the exchange's transaction, without a client read, and spends,
/// stores and records nothing; that the same request on the two-step path `how` is answered
/// the same; then `restore`s and shows `owner` can still exchange `code`.
fn refused_and_nothing_spent(
    world: &mut World,
    request: Request<'_>,
    expected: (ErrorCode, Reason, bool),
    how: TwoStep,
    code: &str,
    restore: impl FnOnce(&World),
    owner: &Client,
) {
    let grant = grant_named_by(code);
    let audit = world.store.audit.borrow().len();
    let rows = world.store.refresh_token_rows();
    let lookups = world.store.client_lookups.get();
    let transactions = world.store.secret_lookups.get();
    let cold = answer(request(world));
    assert_eq!(cold, expected);
    assert_eq!(
        world.store.client_lookups.get(),
        lookups,
        "checked by the transaction, not read before it"
    );
    assert_eq!(
        world.store.secret_lookups.get(),
        transactions + 1,
        "the exchange's transaction refused it"
    );
    assert_eq!(world.store.audit.borrow().len(), audit, "nothing recorded");
    assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    assert_eq!(world.store.refresh_token_rows(), rows, "nothing stored");
    // The two-step path: the same code, reason and challenge.
    let first = answer(two_step(world, how, request));
    assert_eq!(first, cold, "answered as when the client is read first");
    assert_eq!(world.store.audit.borrow().len(), audit);
    restore(world);
    let tokens = world
        .exchange(owner, code)
        .expect("the code was not spent by the refused requests");
    assert_eq!(grant_of(&tokens.access_token), grant);
}

/// A client `world` does not hold, with an id gatehouse issued: `twin` draws the same ids in
/// the same order, and `world` has registered one client only.
fn stranger(world: &World, twin: &World, confidential: bool) -> Client {
    twin.public_client();
    let stranger = match confidential {
        true => twin.confidential_client(),
        false => twin.public_client(),
    };
    let id = ClientId::parse(&stranger.id).unwrap();
    let now = world.server().now;
    assert!(
        block_on(world.store.client(&id, now, ReadFrom::Primary))
            .unwrap()
            .is_none(),
        "not in this store"
    );
    stranger
}

/// What every successful exchange below shows: tokens for `client` under the code's grant, one
/// `token_issued` event, and a refresh token stored and sent.
fn issued_for(
    world: &World,
    client: &Client,
    code: &str,
    tokens: &TokenResponse,
    audit: usize,
) -> String {
    let grant = grant_named_by(code);
    assert_eq!(grant_of(&tokens.access_token), grant);
    assert_eq!(
        claims(&tokens.access_token)["client_id"],
        client.id.as_str()
    );
    assert_eq!(world.store.audit.borrow().len(), audit + 1, "one event");
    let last = world.store.audit.borrow().last().unwrap().1.clone();
    assert_eq!(
        last.kind,
        gatehouse_core::model::audit::AuditKind::TokenIssued
    );
    assert_eq!(last.client_id.as_deref(), Some(client.id.as_str()));
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
    tokens.refresh_token.clone().expect("a refresh token")
}

#[test]
fn a_public_client_not_cached_exchanges_its_code_in_one_transaction() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    let tokens = world.exchange(&client, &code).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    let refresh = issued_for(&world, &client, &code, &tokens, audit);
    // The refresh token is the one stored: it refreshes, still without a client read.
    let next = world.refresh(&client, &refresh).unwrap();
    assert_eq!(grant_of(&next.access_token), grant_named_by(&code));
    assert_eq!(world.store.client_lookups.get(), lookups);
    // The code is spent: its owner's replay is one (RFC 6749 §4.1.2).
    assert_eq!(
        answer(world.exchange(&client, &code)),
        (ErrorCode::InvalidGrant, Reason::CodeReplayed, false)
    );
}

/// A secret client (`client_secret_basic`, `client_secret_post`) not cached: its secret's hash
/// is one of the transaction's conditions.
#[test]
fn a_secret_client_not_cached_exchanges_its_code_in_one_transaction() {
    let world = World::new();
    let basic = world.confidential_client();
    let code = world.code(&basic);
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    let tokens = world.exchange(&basic, &code).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    issued_for(&world, &basic, &code, &tokens, audit);
    // A client registered for client_secret_post (its code got before the change).
    let post = world.confidential_client();
    let code = world.code(&post);
    alter(&world, &post, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    let secret = post.secret.as_deref().unwrap();
    let tokens = exchange_by_post(&world, &post.id, secret, &post, &code).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    issued_for(&world, &post, &code, &tokens, audit);
}

#[test]
fn a_cached_client_is_authenticated_before_the_transaction_as_before() {
    let world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let code = world.code(&client);
        world.store.clients_cached.set(true);
        let lookups = world.store.client_lookups.get();
        let audit = world.store.audit.borrow().len();
        let tokens = world.exchange(&client, &code).unwrap();
        world.store.clients_cached.set(false);
        assert_eq!(world.store.client_lookups.get(), lookups + 1);
        issued_for(&world, &client, &code, &tokens, audit);
    }
}

#[test]
fn a_wrong_secret_is_refused_with_a_basic_challenge_and_nothing_is_spent() {
    let mut world = World::new();
    let client = world.confidential_client();
    let code = world.code(&client);
    let wrong = Client {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_as(world, &wrong, &client, &code),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
        TwoStep::Cached,
        &code,
        |_| {},
        &client,
    );
}

#[test]
fn a_wrong_secret_in_the_body_is_refused_without_a_challenge_and_nothing_is_spent() {
    let mut world = World::new();
    let client = world.confidential_client();
    let code = world.code(&client);
    let original = alter(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_by_post(world, &client.id, "not-the-secret", &client, &code),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, false),
        TwoStep::Cached,
        &code,
        |world| put(world, &original),
        &client,
    );
}

#[test]
fn an_unknown_client_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    let owner = world.public_client();
    let code = world.code(&owner);
    let stranger = stranger(&world, &World::new(), false);
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_as(world, &stranger, &owner, &code),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
        TwoStep::Paused,
        &code,
        |_| {},
        &owner,
    );
}

#[test]
fn an_unknown_client_trying_basic_is_refused_with_a_challenge_and_nothing_is_spent() {
    let mut world = World::new();
    let owner = world.confidential_client();
    let code = world.code(&owner);
    let stranger = stranger(&world, &World::new(), true);
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_as(world, &stranger, &owner, &code),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, true),
        TwoStep::Paused,
        &code,
        |_| {},
        &owner,
    );
}

#[test]
fn a_disabled_client_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let code = world.code(&client);
        let id = ClientId::parse(&client.id).unwrap();
        let now = world.server().now;
        block_on(world.store.disable_client(&id, now)).unwrap();
        let basic = client.secret.is_some();
        refused_and_nothing_spent(
            &mut world,
            &|world| world.exchange(&client, &code),
            (ErrorCode::InvalidClient, Reason::ClientUnknown, basic),
            TwoStep::Paused,
            &code,
            |world| block_on(world.store.enable_client(&id)).unwrap(),
            &client,
        );
    }
}

#[test]
fn a_lapsed_registration_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let code = world.code(&client);
        let now = world.server().now;
        let original = alter(&world, &client, |record| record.expires_at = Some(now));
        let basic = client.secret.is_some();
        refused_and_nothing_spent(
            &mut world,
            &|world| world.exchange(&client, &code),
            (ErrorCode::InvalidClient, Reason::ClientUnknown, basic),
            TwoStep::Paused,
            &code,
            |world| put(world, &original),
            &client,
        );
    }
}

#[test]
fn basic_by_a_client_registered_for_post_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    let client = world.confidential_client();
    let code = world.code(&client);
    let original = alter(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    refused_and_nothing_spent(
        &mut world,
        &|world| world.exchange(&client, &code),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            true,
        ),
        TwoStep::Cached,
        &code,
        |world| put(world, &original),
        &client,
    );
}

#[test]
fn a_confidential_client_presenting_no_secret_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    let confidential = world.confidential_client();
    let code = world.code(&confidential);
    // Its id alone in the body: the method `none`, which it did not register.
    let bare = Client {
        id: confidential.id.clone(),
        secret: None,
    };
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_as(world, &bare, &confidential, &code),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &code,
        |_| {},
        &confidential,
    );
}

#[test]
fn a_public_client_presenting_a_secret_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    // Basic, with a secret it was never given: `client_secret_basic`, which it did not register.
    let with_secret = Client {
        id: client.id.clone(),
        secret: Some("a-secret-it-never-had".into()),
    };
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_as(world, &with_secret, &client, &code),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            true,
        ),
        TwoStep::Cached,
        &code,
        |_| {},
        &client,
    );
    // The same secret in the body: `client_secret_post`.
    let code = world.code(&client);
    refused_and_nothing_spent(
        &mut world,
        &|world| exchange_by_post(world, &client.id, "a-secret-it-never-had", &client, &code),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &code,
        |_| {},
        &client,
    );
}

#[test]
fn a_public_client_registered_for_another_method_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let original = alter(&world, &client, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    refused_and_nothing_spent(
        &mut world,
        &|world| world.exchange(&client, &code),
        (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        TwoStep::Cached,
        &code,
        |world| put(world, &original),
        &client,
    );
}

#[test]
fn a_client_not_registered_for_the_code_grant_is_refused_and_nothing_is_spent() {
    let mut world = World::new();
    for client in [world.public_client(), world.confidential_client()] {
        let code = world.code(&client);
        let original = alter(&world, &client, |record| {
            record.metadata.grant_types = vec![GrantType::RefreshToken]
        });
        refused_and_nothing_spent(
            &mut world,
            &|world| world.exchange(&client, &code),
            (
                ErrorCode::UnauthorizedClient,
                Reason::GrantTypeNotRegistered,
                false,
            ),
            TwoStep::Cached,
            &code,
            |world| put(world, &original),
            &client,
        );
    }
}

/// A refused client presenting a code already spent is refused as a client, and does not
/// revoke the grant as the owner's replay would (RFC 6749 §4.1.2).
#[test]
fn a_refused_client_presenting_a_spent_code_revokes_nothing() {
    let world = World::new();
    let client = world.confidential_client();
    let code = world.code(&client);
    let tokens = world.exchange(&client, &code).unwrap();
    let wrong = Client {
        id: client.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let lookups = world.store.client_lookups.get();
    assert_eq!(
        answer(exchange_as(&world, &wrong, &client, &code)),
        (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true)
    );
    assert_eq!(world.store.client_lookups.get(), lookups);
    let grant = grant_named_by(&code);
    assert_eq!(world.store.live_refresh_tokens(&grant), 1, "not revoked");
    world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .expect("the grant is live");
}

/// Another registered client presenting the code is authenticated by the transaction and then
/// refused as before: audited, the code unspent.
#[test]
fn another_client_not_cached_presenting_the_code_is_refused_as_before() {
    let world = World::new();
    let owner = world.public_client();
    let other = world.public_client();
    let code = world.code(&owner);
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    assert_eq!(
        answer(exchange_as(&world, &other, &owner, &code)),
        (
            ErrorCode::InvalidGrant,
            Reason::CodeIssuedToOtherClient,
            false
        )
    );
    assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
    let audit_log = world.store.audit.borrow();
    assert_eq!(audit_log.len(), audit + 1, "the attempt is audited");
    let (_, event) = audit_log.last().unwrap();
    assert_eq!(
        event.kind,
        gatehouse_core::model::audit::AuditKind::CodeRefused
    );
    assert_eq!(event.client_id.as_deref(), Some(other.id.as_str()));
    drop(audit_log);
    world.exchange(&owner, &code).expect("the code was unspent");
}

#[test]
fn a_client_not_registered_for_the_refresh_grant_gets_no_refresh_token_and_none_is_stored() {
    let world = World::new();
    // Registered without it…
    let public = world.register(&format!(
        r#"{{"client_name":"Agent","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none",
            "grant_types":["authorization_code"]}}"#
    ));
    // …or registered with it, then changed.
    let confidential = world.confidential_client();
    let changed = world.code(&confidential);
    alter(&world, &confidential, |record| {
        record.metadata.grant_types = vec![GrantType::AuthorizationCode]
    });
    for (client, code) in [(&public, world.code(&public)), (&confidential, changed)] {
        let grant = grant_named_by(&code);
        let lookups = world.store.client_lookups.get();
        let audit = world.store.audit.borrow().len();
        let rows = world.store.refresh_token_rows();
        let tokens = world.exchange(client, &code).unwrap();
        assert_eq!(world.store.client_lookups.get(), lookups, "no client read");
        assert_eq!(tokens.refresh_token, None);
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        assert_eq!(world.store.refresh_token_rows(), rows, "none stored");
        assert_eq!(world.store.audit.borrow().len(), audit + 1);
        assert_eq!(
            claims(&tokens.access_token)["client_id"],
            client.id.as_str()
        );
        // As on the two-step path.
        let code = world.code(client);
        let grant = grant_named_by(&code);
        world.store.clients_cached.set(true);
        let tokens = world.exchange(client, &code).unwrap();
        world.store.clients_cached.set(false);
        assert_eq!(tokens.refresh_token, None);
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    }
}

/// A request the transaction cannot take whole (no `redirect_uri`, a missing or malformed
/// verifier, a code gatehouse did not issue or of the earlier format, a `resource` the code
/// does not cover) authenticates its client first and is answered as before.
#[test]
fn a_request_that_does_not_fit_authenticates_the_client_first() {
    let mut world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let refused = [
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
            ],
            (
                ErrorCode::InvalidRequest,
                Reason::PkceVerifierMissing,
                false,
            ),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", "too-short"),
            ],
            (
                ErrorCode::InvalidRequest,
                Reason::PkceVerifierMalformed,
                false,
            ),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "made-up"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            (ErrorCode::InvalidGrant, Reason::CodeUnknown, false),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            (ErrorCode::InvalidRequest, Reason::MissingParameter, false),
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("resource", OTHER_ISSUER),
            ],
            (ErrorCode::InvalidTarget, Reason::ResourceUnknown, false),
        ),
    ];
    for (params, expected) in &refused {
        let lookups = world.store.client_lookups.get();
        let audit = world.store.audit.borrow().len();
        let cold = answer(world.token(&client, params));
        assert_eq!(cold, *expected, "{params:?}");
        assert_eq!(
            world.store.client_lookups.get(),
            lookups + 1,
            "{params:?}: the client is read first"
        );
        assert_eq!(world.store.audit.borrow().len(), audit, "{params:?}");
        let first = answer(two_step(&mut world, TwoStep::Cached, &|world| {
            world.token(&client, params)
        }));
        assert_eq!(first, cold, "{params:?}");
    }
    // Without `redirect_uri`: the client registered one, which the request stands for
    // (RFC 6749 §4.1.3); the code, unspent by the refusals above, is exchanged.
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    let tokens = world
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
            ],
        )
        .unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    issued_for(&world, &client, &code, &tokens, audit);
}

#[test]
fn a_code_of_the_earlier_format_authenticates_the_client_first() {
    let world = World::new();
    let client = world.public_client();
    let named = world.code(&client);
    let grant = grant_named_by(&named);
    // The build before codes named their grant issued the random part alone, tagged.
    let unnamed = world.config.identifiers.issue_unnamed_code(&world.rng);
    let record = CodeRecord {
        code_hash: unnamed.hash(),
        grant_id: grant.clone(),
        client_id: ClientId::parse(&client.id).unwrap(),
        redirect_uri: REDIRECT.into(),
        code_challenge: CHALLENGE.into(),
        resource: ISSUER.into(),
        scopes: gatehouse_core::types::Scopes::parse("read").unwrap(),
        expires_at: world.server().now.plus(60),
    };
    block_on(world.store.insert_code(&record, world.server().now)).unwrap();
    let lookups = world.store.client_lookups.get();
    let tokens = world.exchange(&client, unnamed.expose_secret()).unwrap();
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    assert_eq!(grant_of(&tokens.access_token), grant);
    assert_eq!(
        claims(&tokens.access_token)["client_id"],
        client.id.as_str()
    );
    assert!(tokens.refresh_token.is_some());
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
}

/// A malformed exchange (no code, a code gatehouse did not issue, no verifier) by an unknown
/// client is answered `invalid_client`, as when the client is read first.
#[test]
fn a_malformed_exchange_by_an_unknown_client_is_answered_invalid_client() {
    let world = World::new();
    world.public_client();
    let stranger = stranger(&world, &World::new(), false);
    for params in [
        &[("grant_type", "authorization_code")][..],
        &[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ][..],
        &[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("redirect_uri", REDIRECT),
        ][..],
    ] {
        let lookups = world.store.client_lookups.get();
        let result = world.token(&stranger, params);
        assert_eq!(
            answer(result),
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
            "{params:?}"
        );
        assert_eq!(world.store.client_lookups.get(), lookups + 1, "{params:?}");
    }
}

/// While storage is paused the exchange is not deferred: its client is authenticated first,
/// so an unknown client is answered `invalid_client`, not the pause, as for every other grant.
#[test]
fn while_storage_is_paused_the_client_is_authenticated_before_the_pause_is_answered() {
    let mut world = World::new();
    let owner = world.public_client();
    let code = world.code(&owner);
    let stranger = stranger(&world, &World::new(), false);
    pause(&mut world);
    let lookups = world.store.client_lookups.get();
    assert_eq!(
        answer(exchange_as(&world, &stranger, &owner, &code)),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, false)
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    // The owner, authenticated, is paused; the code waits.
    assert!(matches!(
        world.exchange(&owner, &code),
        Err(Failure::Paused(Paused {
            retry_after_secs: 120
        }))
    ));
    assert_eq!(world.store.client_lookups.get(), lookups + 2);
    resume(&mut world);
    let audit = world.store.audit.borrow().len();
    let tokens = world.exchange(&owner, &code).unwrap();
    assert_eq!(
        world.store.client_lookups.get(),
        lookups + 2,
        "deferred again"
    );
    issued_for(&world, &owner, &code, &tokens, audit);
}
