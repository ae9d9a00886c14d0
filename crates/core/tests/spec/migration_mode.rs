//! Migration mode (DESIGN.md, "Revocation survives migration windows"): while the operator moves
//! the database, writes that can wait are refused with `503` + `Retry-After`, issued tokens keep
//! working with stretched lifetimes and no rotation, and revocations, logouts and cut-offs are
//! accepted, take effect at the edge at once, and reach D1 when the mode ends.
//!
//! Every test here runs with D1 refusing writes (`MemoryStore::d1_read_only`): any write to D1
//! during the mode fails the test.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::Reason;
use gatehouse_core::login::LoginOutcome;
use gatehouse_core::migration::{self, HeldWrite, Migration, Paused};
use gatehouse_core::revocation::{self, Revocation};
use gatehouse_core::server::Failure;
use gatehouse_core::store::RevocationReason;
use gatehouse_core::testing::RustPbkdf2;
use gatehouse_core::time::Clock as _;

use crate::support::*;

const PAUSED: Paused = Paused {
    retry_after_secs: 120,
};

/// Turns the mode on (D1 read-only from now on).
fn migrate(world: &mut World) {
    world.config.migration = Some(Migration {
        retry_after_secs: PAUSED.retry_after_secs,
        access_token_ttl_secs: 4 * 3600,
    });
    world.store.d1_read_only.set(true);
}

/// Turns the mode off and writes what it held.
fn finish(world: &mut World) -> usize {
    world.config.migration = None;
    world.store.d1_read_only.set(false);
    let drained = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!(drained.failed, [], "every held write is written");
    drained.written
}

#[test]
fn writes_that_can_wait_are_refused_with_the_operators_retry_after() {
    let mut world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    migrate(&mut world);

    let registration =
        r#"{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}"#;
    assert!(matches!(
        block_on(
            world
                .server()
                .register(registration.as_bytes(), "198.51.100.0")
        ),
        Err(Failure::Paused(PAUSED))
    ));
    assert!(matches!(
        world.authorize(&query, Some(&session)),
        Err(AuthorizeError::Paused(PAUSED))
    ));
    assert!(matches!(
        world.decide(&query, &session, "approve"),
        Err(AuthorizeError::Paused(PAUSED))
    ));
    let login = form(&[
        ("email", "alice@example.com"),
        ("password", PASSWORD),
        ("csrf_token", CSRF),
    ]);
    assert!(matches!(
        block_on(
            world
                .server()
                .login(login.as_bytes(), Some(CSRF), &RustPbkdf2)
        ),
        Ok(LoginOutcome::Paused(PAUSED))
    ));
    assert!(matches!(
        world.exchange(&client, &code),
        Err(Failure::Paused(PAUSED))
    ));
    // The code was not spent: it works once the mode is off.
    finish(&mut world);
    world.exchange(&client, &code).unwrap();
}

#[test]
fn issued_tokens_keep_working_and_refresh_stretches_without_rotating() {
    let mut world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.unwrap();
    migrate(&mut world);

    allowed(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    let stretched = world.refresh(&client, &refresh).unwrap();
    assert_eq!(stretched.expires_in, 4 * 3600);
    assert_eq!(
        claims(&stretched.access_token)["exp"].as_u64().unwrap()
            - claims(&stretched.access_token)["iat"].as_u64().unwrap(),
        4 * 3600
    );
    assert_eq!(
        stretched.refresh_token, None,
        "RFC 6749 §6: no new refresh token; the client keeps its own"
    );
    // Used again later, the same refresh token is not taken for a replay.
    world.clock.advance(3600);
    world.refresh(&client, &refresh).unwrap();

    // Afterwards rotation resumes with the very same token.
    finish(&mut world);
    let rotated = world.refresh(&client, &refresh).unwrap();
    assert!(rotated.refresh_token.is_some());
    assert_eq!(rotated.expires_in, 600);
}

#[test]
fn a_revocation_during_the_mode_is_refused_at_the_edge_at_once_and_reaches_d1_after() {
    let mut world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.unwrap();
    let grant = grant_of(&tokens.access_token);
    migrate(&mut world);
    world.clock.advance(5);
    let revoked_at = world.clock.now().0;

    let (body, basic) = client_form(&client, &[("token", refresh.as_str())]);
    world.revoke(body.as_bytes(), basic.as_deref()).unwrap();

    let (status, _, reason) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!((status, reason), (401, Some(Reason::TokenRevoked)));
    assert_eq!(
        error_of(world.refresh(&client, &refresh)).reason,
        Reason::GrantRevoked,
        "the refresh grant reads the denylist, which knows before D1 does"
    );
    assert!(!revoked_in_d1(&world, &grant), "nothing written to D1 yet");
    let held = world
        .store
        .held
        .borrow()
        .values()
        .map(|h| h.write.clone())
        .collect::<Vec<_>>();
    assert!(held.iter().any(|w| matches!(
        w,
        HeldWrite::RevokeGrant(r) if r.grant_id == grant && r.reason == RevocationReason::ClientRequest
    )));
    assert!(
        !held.iter().any(|w| matches!(w, HeldWrite::Audit { .. })),
        "the revocation's audit event is one of its steps, held with it"
    );

    let written = finish(&mut world);
    assert_eq!(written, held.len());
    assert!(revoked_in_d1(&world, &grant));
    assert!(world.store.held.borrow().is_empty());
    let audit = world.store.audit.borrow();
    let (at, event) = audit.last().unwrap();
    assert_eq!(event.grant_id.as_deref(), Some(grant.as_str()));
    assert_eq!(at.0, revoked_at, "replayed with the time it happened");
    drop(audit);
    assert_eq!(
        error_of(world.refresh(&client, &refresh)).reason,
        Reason::GrantRevoked
    );
}

#[test]
fn logouts_and_cut_offs_during_the_mode_end_sessions_at_once() {
    let mut world = World::new();
    let mine = world.login("alice@example.com");
    let other = world.login("alice@example.com");
    let bobs = world.login("bob@example.com");
    migrate(&mut world);

    let logout = form(&[("csrf_token", CSRF)]);
    block_on(
        world
            .server()
            .logout(logout.as_bytes(), Some(&mine), Some(CSRF)),
    )
    .unwrap();
    assert_eq!(block_on(world.server().person(Some(&mine))).unwrap(), None);
    assert!(
        block_on(world.server().person(Some(&other)))
            .unwrap()
            .is_some()
    );

    let cut_off = form(&[("subject", "local:alice@example.com")]);
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let credentials = gatehouse_core::admin::AdminCredentials {
        authorization: Some(&admin),
        ..Default::default()
    };
    block_on(
        world
            .server()
            .admin_revoke(&credentials, cut_off.as_bytes()),
    )
    .unwrap();
    assert_eq!(block_on(world.server().person(Some(&other))).unwrap(), None);
    assert!(
        block_on(world.server().person(Some(&bobs)))
            .unwrap()
            .is_some()
    );

    finish(&mut world);
    assert_eq!(block_on(world.server().person(Some(&mine))).unwrap(), None);
    assert_eq!(block_on(world.server().person(Some(&other))).unwrap(), None);
    assert!(
        block_on(world.server().person(Some(&bobs)))
            .unwrap()
            .is_some()
    );
}

#[test]
fn the_consumer_holds_queued_commands_while_the_mode_is_on() {
    let mut world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let grant = grant_of(&tokens.access_token);
    migrate(&mut world);
    let at = world.clock.now();
    let command = Revocation::of_unread(&grant, RevocationReason::AdminRequest, at, None);
    block_on(revocation::consume(&world.store, &command, at, true)).unwrap();
    let (status, _, reason) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!((status, reason), (401, Some(Reason::TokenRevoked)));
    assert_eq!(world.store.held.borrow().len(), 1);
    finish(&mut world);
    assert!(revoked_in_d1(&world, &grant));
}

#[test]
fn a_drain_that_fails_keeps_every_held_write_for_the_next_run() {
    let mut world = World::new();
    let client = world.public_client();
    let first = grant_of(&world.tokens(&client).access_token);
    let second = grant_of(&world.tokens(&client).access_token);
    migrate(&mut world);
    for grant in [&first, &second] {
        let at = world.clock.now();
        let command = Revocation::of_unread(grant, RevocationReason::AdminRequest, at, None);
        block_on(revocation::consume(&world.store, &command, at, true)).unwrap();
    }
    world.config.migration = None;
    // D1 still read-only: the drain writes nothing and forgets nothing.
    let drained = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!((drained.written, drained.failed.len()), (0, 2));
    assert_eq!(world.store.held.borrow().len(), 2);
    // Each is tried again after its backoff.
    world.clock.advance(migration::DRAIN_BACKOFF_SECS);
    assert_eq!(finish(&mut world), 2);
    assert!(revoked_in_d1(&world, &first) && revoked_in_d1(&world, &second));
}

#[test]
fn disabling_a_client_is_a_write_that_waits_for_the_mode_to_end() {
    let mut world = World::new();
    let client = world.public_client();
    migrate(&mut world);
    let body = form(&[("client_id", client.id.as_str())]);
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let credentials = gatehouse_core::admin::AdminCredentials {
        authorization: Some(&admin),
        ..Default::default()
    };
    assert!(matches!(
        block_on(
            world
                .server()
                .admin_disable_client(&credentials, body.as_bytes())
        ),
        Err(Failure::Paused(PAUSED))
    ));
}
