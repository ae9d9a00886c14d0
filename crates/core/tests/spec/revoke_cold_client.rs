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
use gatehouse_core::model::client::{AuthMethod, GrantType};
use gatehouse_core::revocation::Pending;
use gatehouse_core::server::Failure;
use gatehouse_core::store::Denylist;
use gatehouse_core::time::Clock as _;

use crate::support::*;

/// `presenting`'s revocation request with `params`, answered and finished.
fn revoke_with_params(
    world: &World,
    presenting: &Client,
    params: &[(&str, &str)],
) -> Result<(), Failure> {
    let (body, basic) = client_form(presenting, params);
    world.revoke(body.as_bytes(), basic.as_deref())
}

/// The revocation of `token` presenting `credentials`, answered and finished.
fn revoke_with(world: &World, credentials: &Credentials, token: &str) -> Result<(), Failure> {
    let (body, basic) = credentials.form(&[("token", token)]);
    world.revoke(body.as_bytes(), basic.as_deref())
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
fn assert_revoked(
    world: &World,
    owner: &Client,
    tokens: &TokenResponse,
    events: usize,
    case: &str,
) {
    let grant = grant_of(&tokens.access_token);
    assert!(revoked_in_d1(world, &grant), "{case}: revoked");
    assert_eq!(world.store.live_refresh_tokens(&grant), 0, "{case}");
    assert!(denied(world, &grant), "{case}: denied");
    assert_eq!(
        grant_revoked_events(world),
        events + 1,
        "{case}: one grant_revoked"
    );
    let (status, _, _) = challenge(gate(world, api("GET", Some(&bearer(&tokens.access_token)))));
    assert_eq!(status, 401, "{case}");
    assert_eq!(
        error_of(world.refresh(owner, refresh_of(tokens))).code,
        ErrorCode::InvalidGrant,
        "{case}"
    );
}

/// Asserts `refusal`, a revocation of its owner's refresh token by a client not cached, is
/// refused without a client read, and revokes, denies, writes and records nothing; that the
/// same request on the two-step path is answered the same; then undoes the change and shows
/// the grant is live: the owner refreshes, then revokes the new refresh token in one
/// transaction. The owner is registered in `world` for the case.
fn refused_and_nothing_revoked(world: &mut World, refusal: &Refusal) {
    let case = refusal.case;
    let owner = (refusal.owner)(world);
    let (tokens, grant) = tokens_of(world, &owner);
    let undo = refusal.change.make(world, &owner);
    let credentials = refusal.presenting.credentials(world, &owner);
    let refresh = refresh_of(&tokens).to_owned();
    let request = |world: &World| revoke_with(world, &credentials, &refresh);
    let audit = world.store.audit.borrow().len();
    let lookups = world.store.client_lookups.get();
    world.store.writes.borrow_mut().clear();
    let cold = refusal_of(request(world));
    assert_eq!(cold, refusal.expected, "{case}");
    assert_eq!(
        world.store.client_lookups.get(),
        lookups,
        "{case}: checked by the transaction, not read before it"
    );
    assert!(
        world.store.writes.borrow().is_empty(),
        "{case}: nothing written"
    );
    assert_eq!(
        world.store.audit.borrow().len(),
        audit,
        "{case}: nothing recorded"
    );
    assert_live(world, &tokens, &format!("{case}: refused"));
    // The two-step path: the same code, reason and challenge.
    let first = refusal_of(two_step(world, refusal.how, case, &request));
    assert_eq!(
        first, cold,
        "{case}: answered as when the client is read first"
    );
    assert!(
        world.store.writes.borrow().is_empty(),
        "{case}: nothing written"
    );
    assert_eq!(world.store.audit.borrow().len(), audit, "{case}");
    assert_live(
        world,
        &tokens,
        &format!("{case}: refused on the two-step path"),
    );
    undo.undo(world);
    // The grant is live: its owner refreshes, then revokes the successor.
    let next = world.refresh(&owner, &refresh).unwrap_or_else(|failure| {
        panic!("{case}: the refresh token was not revoked by the refused requests: {failure:?}")
    });
    assert_eq!(grant_of(&next.access_token), grant, "{case}");
    let events = grant_revoked_events(world);
    let lookups = world.store.client_lookups.get();
    revoke_as(world, &owner, refresh_of(&next))
        .unwrap_or_else(|failure| panic!("{case}: the owner revokes the successor: {failure:?}"));
    assert_eq!(
        world.store.client_lookups.get(),
        lookups,
        "{case}: no client read"
    );
    assert_revoked(world, &owner, &next, events, case);
}

#[test]
fn a_public_client_not_cached_revokes_its_refresh_token_in_one_transaction() {
    let world = World::new();
    let client = world.public_client();
    let (tokens, grant) = tokens_of(&world, &client);
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    let pending = pending_revocation(&world, &client, refresh_of(&tokens));
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
    assert_revoked(&world, &client, &tokens, events, "one transaction");
    // Revoking it again: answered alike, still without a client read, nothing more recorded.
    world.store.writes.borrow_mut().clear();
    assert_eq!(
        pending_revocation(&world, &client, refresh_of(&tokens)),
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
    assert_revoked(&world, &basic, &tokens, events, "Basic");
    // A client registered for client_secret_post (its tokens got with Basic first).
    let post = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &post);
    alter_record(&world, &post, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    let by_post = Credentials {
        client: post.clone(),
        post: true,
    };
    revoke_with(&world, &by_post, refresh_of(&tokens)).unwrap();
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
        assert_revoked(&world, &client, &tokens, events, &format!("{client:?}"));
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
        let original = alter_record(&world, &client, |record| {
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
        put_record(&world, &original);
    }
}

/// Every refusal of client authentication (a wrong secret, by Basic or in the body; an unknown,
/// disabled or lapsed client; a method it did not register, Basic and post among them) is
/// answered by the revocation's transaction as on the two-step path, and revokes nothing.
#[test]
fn a_refused_client_is_answered_as_on_the_two_step_path_and_nothing_is_revoked() {
    let post_by_a_client_registered_for_basic = Refusal {
        case: "post by a client registered for Basic",
        owner: World::confidential_client,
        change: Change::Nothing,
        presenting: Presenting::Post(None),
        expected: (
            ErrorCode::InvalidClient,
            Reason::ClientAuthMethodMismatch,
            false,
        ),
        how: TwoStep::Cached,
    };
    for refusal in refusals()
        .into_iter()
        .chain([post_by_a_client_registered_for_basic])
    {
        refused_and_nothing_revoked(&mut World::new(), &refusal);
    }
}

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
            let pending = pending_revocation(&world, other, refresh_of(&tokens));
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
    let presenting_the_token_of_a_public_client = |case, presenting, expected, how| Refusal {
        case,
        owner: World::public_client,
        change: Change::Nothing,
        presenting,
        expected,
        how,
    };
    for refusal in [
        presenting_the_token_of_a_public_client(
            "another client with a wrong secret",
            Presenting::Other("not-the-secret"),
            (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
            TwoStep::Cached,
        ),
        // Its id issued by gatehouse, which this store does not hold.
        presenting_the_token_of_a_public_client(
            "an unknown client",
            Presenting::Stranger,
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
            TwoStep::Paused,
        ),
    ] {
        refused_and_nothing_revoked(&mut world, &refusal);
    }
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
        pending_revocation(&world, &client, refresh_of(&tokens)),
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
    let cold = refusal_of(revoke_with_params(&world, &client, &[]));
    assert_eq!(
        cold,
        (ErrorCode::InvalidRequest, Reason::MissingParameter, false)
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    let first = refusal_of(two_step(
        &mut world,
        TwoStep::Cached,
        "no token",
        &|world| revoke_with_params(world, &client, &[]),
    ));
    assert_eq!(first, cold);
    // A token gatehouse did not issue: answered 200, nothing revoked (RFC 7009 §2.2).
    for token in ["made-up", "a.b.c"] {
        let lookups = world.store.client_lookups.get();
        world.store.writes.borrow_mut().clear();
        assert_eq!(
            pending_revocation(&world, &client, token),
            Pending::nothing()
        );
        assert_eq!(world.store.client_lookups.get(), lookups + 1, "{token}");
        assert!(world.store.writes.borrow().is_empty(), "{token}");
    }
    assert_live(&world, &tokens, "unknown tokens");
    // The access token: the deny-first path, which revokes the grant before the answer.
    let lookups = world.store.client_lookups.get();
    let events = grant_revoked_events(&world);
    world.store.writes.borrow_mut().clear();
    assert_eq!(
        pending_revocation(&world, &client, &tokens.access_token),
        Pending::nothing()
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    assert_eq!(world.store.writes.borrow().first(), Some(&"deny"));
    assert_revoked(&world, &client, &tokens, events, "the access token");
    assert!(revoked_in_d1(&world, &grant));
}

/// A request that does not fit, by a client that is refused: refused as on the two-step path,
/// after one client read, whatever the token.
#[test]
fn a_request_that_does_not_fit_by_a_refused_client_is_answered_invalid_client() {
    let mut world = World::new();
    let client = world.confidential_client();
    let (tokens, _) = tokens_of(&world, &client);
    let stranger = stranger(&world, false);
    let wrong = with_secret(&client, Some("not-the-secret"));
    let access = tokens.access_token.clone();
    let no_token: &[(&str, &str)] = &[];
    let tokens_that_do_not_fit = [no_token, &[("token", "made-up")], &[("token", &access)]];
    let refused = [
        (
            &stranger,
            (ErrorCode::InvalidClient, Reason::ClientUnknown, false),
            TwoStep::Paused,
        ),
        (
            &wrong,
            (ErrorCode::InvalidClient, Reason::ClientAuthFailed, true),
            TwoStep::Cached,
        ),
    ];
    let cases = refused.into_iter().flat_map(|(presenting, expected, how)| {
        tokens_that_do_not_fit.map(|params| (presenting, params, expected, how))
    });
    for (presenting, params, expected, how) in cases {
        let lookups = world.store.client_lookups.get();
        let audit = world.store.audit.borrow().len();
        world.store.writes.borrow_mut().clear();
        let cold = refusal_of(revoke_with_params(&world, presenting, params));
        assert_eq!(cold, expected, "{presenting:?} {params:?}");
        assert_eq!(
            world.store.client_lookups.get(),
            lookups + 1,
            "{presenting:?} {params:?}: the client is read first"
        );
        let case = format!("{presenting:?} {params:?}");
        let first = refusal_of(two_step(&mut world, how, &case, &|world| {
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
    migrate(&mut world);
    // An unknown client: invalid_client, after its read.
    let lookups = world.store.client_lookups.get();
    assert_eq!(
        refusal_of(revoke_as(&world, &stranger, refresh_of(&tokens))),
        (ErrorCode::InvalidClient, Reason::ClientUnknown, false)
    );
    assert_eq!(world.store.client_lookups.get(), lookups + 1);
    assert!(!denied(&world, &grant));
    assert!(world.store.held.borrow().is_empty());
    // The owner: read, then its grant denied and the D1 side held before the answer.
    world.store.writes.borrow_mut().clear();
    let pending = pending_revocation(&world, &client, refresh_of(&tokens));
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
        let pending = pending_revocation(&world, &client, refresh_of(&tokens));
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
    let wrong = with_secret(&client, Some("not-the-secret"));
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
        let cold = refusal_of(revoke_as(&world, presenting, &refresh));
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
        let case = format!("{presenting:?}");
        let first = refusal_of(two_step(&mut world, TwoStep::Paused, &case, &|world| {
            revoke_as(world, presenting, &refresh)
        }));
        assert_eq!(first, cold, "{presenting:?}");
        world.store.d1_read_only.set(false);
        assert_live(&world, &tokens, "refused while D1 is read-only");
    }
    world.refresh(&client, &refresh).unwrap();
}
