//! A code exchange by a client this isolate has not authenticated lately: the exchange's
//! transaction authenticates it (RFC 6749 §2.3, §4.1.3), as the refresh's does
//! (`refresh_cold_client`), so an agent's first exchange, right after a registration another
//! isolate may have served, needs no separate client read. `MemoryStore` holds no client by
//! default; every refusal is answered as client authentication answers it on the two-step path
//! (the client read first), and the refused request spends, stores and records nothing. A
//! request that does not fit in one transaction authenticates its client first.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::migration::Paused;
use gatehouse_core::model::client::{AuthMethod, GrantType};
use gatehouse_core::server::Failure;

use crate::support::*;

/// The redirect URI a confidential client of [`World`] registered.
const AGENT_CALLBACK: &str = "https://agent.example/cb";

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

/// The exchange of `code`, issued to `owner`, presenting `credentials`.
fn exchange_with(
    world: &World,
    credentials: &Credentials,
    owner: &Client,
    code: &str,
) -> Result<TokenResponse, Failure> {
    let (body, basic) = credentials.form(&exchange_params(owner, code));
    block_on(world.server().token(body.as_bytes(), basic.as_deref()))
}

/// Asserts `refusal`, an exchange of a code issued to its owner by a client not cached, in a
/// world of its own, is refused by the exchange's transaction, without a client read, and
/// spends, stores and records nothing; that the same request on the two-step path is answered
/// the same; then undoes the change and shows the owner can still exchange the code.
fn refused_and_nothing_spent(refusal: &Refusal) {
    let case = refusal.case;
    let mut world = World::new();
    let owner = (refusal.owner)(&world);
    let code = world.code(&owner);
    let undo = refusal.change.make(&world, &owner);
    let credentials = refusal.presenting.credentials(&world, &owner);
    let request = |world: &World| exchange_with(world, &credentials, &owner, &code);
    let grant = grant_named_by(&code);
    let audit = world.store.audit.borrow().len();
    let rows = world.store.refresh_token_rows();
    let lookups = world.store.client_lookups.get();
    let transactions = world.store.secret_lookups.get();
    let cold = refusal_of(request(&world));
    assert_eq!(cold, refusal.expected, "{case}");
    assert_eq!(
        world.store.client_lookups.get(),
        lookups,
        "{case}: checked by the transaction, not read before it"
    );
    assert_eq!(
        world.store.secret_lookups.get(),
        transactions + 1,
        "{case}: the exchange's transaction refused it"
    );
    assert_eq!(
        world.store.audit.borrow().len(),
        audit,
        "{case}: nothing recorded"
    );
    assert_eq!(world.store.live_refresh_tokens(&grant), 0, "{case}");
    assert_eq!(
        world.store.refresh_token_rows(),
        rows,
        "{case}: nothing stored"
    );
    // The two-step path: the same code, reason and challenge.
    let first = refusal_of(two_step(&mut world, refusal.how, case, &request));
    assert_eq!(
        first, cold,
        "{case}: answered as when the client is read first"
    );
    assert_eq!(world.store.audit.borrow().len(), audit, "{case}");
    undo.undo(&world);
    let tokens = world.exchange(&owner, &code).unwrap_or_else(|failure| {
        panic!("{case}: the code was not spent by the refused requests: {failure:?}")
    });
    assert_eq!(grant_of(&tokens.access_token), grant, "{case}");
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
        refusal_of(world.exchange(&client, &code)),
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
    alter_record(&world, &post, |record| {
        record.metadata.token_endpoint_auth_method = AuthMethod::ClientSecretPost
    });
    let lookups = world.store.client_lookups.get();
    let audit = world.store.audit.borrow().len();
    let by_post = Credentials {
        client: post.clone(),
        post: true,
    };
    let tokens = exchange_with(&world, &by_post, &post, &code).unwrap();
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

/// Every refusal of client authentication (a wrong secret, by Basic or in the body; an unknown,
/// disabled or lapsed client; a method it did not register; a grant type it did not register)
/// is answered by the exchange's transaction as on the two-step path, and spends nothing.
#[test]
fn a_refused_client_is_answered_as_on_the_two_step_path_and_nothing_is_spent() {
    let not_for_the_code_grant = |case, owner| Refusal {
        case,
        owner,
        change: Change::RefreshGrantOnly,
        presenting: Presenting::Owner,
        expected: (
            ErrorCode::UnauthorizedClient,
            Reason::GrantTypeNotRegistered,
            false,
        ),
        how: TwoStep::Cached,
    };
    let cases = refusals().into_iter().chain([
        not_for_the_code_grant(
            "a public client not registered for the code grant",
            World::public_client,
        ),
        not_for_the_code_grant(
            "a confidential client not registered for the code grant",
            World::confidential_client,
        ),
    ]);
    for refusal in cases {
        refused_and_nothing_spent(&refusal);
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
    let wrong = with_secret(&client, Some("not-the-secret"));
    let lookups = world.store.client_lookups.get();
    assert_eq!(
        refusal_of(exchange_as(&world, &wrong, &client, &code)),
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
        refusal_of(exchange_as(&world, &other, &owner, &code)),
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
    alter_record(&world, &confidential, |record| {
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
        let cold = refusal_of(world.token(&client, params));
        assert_eq!(cold, *expected, "{params:?}");
        assert_eq!(
            world.store.client_lookups.get(),
            lookups + 1,
            "{params:?}: the client is read first"
        );
        assert_eq!(world.store.audit.borrow().len(), audit, "{params:?}");
        let case = format!("{params:?}");
        let first = refusal_of(two_step(&mut world, TwoStep::Cached, &case, &|world| {
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
    let (unnamed, grant) = unnamed_code(&world, &client);
    let lookups = world.store.client_lookups.get();
    let tokens = world.exchange(&client, &unnamed).unwrap();
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
    let stranger = stranger(&world, false);
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
            refusal_of(result),
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
    let stranger = stranger(&world, false);
    migrate(&mut world);
    let lookups = world.store.client_lookups.get();
    assert_eq!(
        refusal_of(exchange_as(&world, &stranger, &owner, &code)),
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
    end_migration(&mut world);
    let audit = world.store.audit.borrow().len();
    let tokens = world.exchange(&owner, &code).unwrap();
    assert_eq!(
        world.store.client_lookups.get(),
        lookups + 2,
        "deferred again"
    );
    issued_for(&world, &owner, &code, &tokens, audit);
}
