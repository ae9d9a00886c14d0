//! RFC 6749 §6 (refreshing) with RFC 9700 §4.14.2 (rotation and reuse detection): one live
//! refresh token per grant, an idempotent retry window, reuse revokes the grant, scope narrows.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grants::refresh_token::RETRY_WINDOW_SECS;

use crate::support::*;

#[test]
fn every_refresh_rotates_and_keeps_one_live_token() {
    let world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client);
    let grant = grant_of(&first.access_token);
    let second = world
        .refresh(&client, first.refresh_token.as_deref().unwrap())
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
    let third = world
        .refresh(&client, second.refresh_token.as_deref().unwrap())
        .unwrap();
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
    assert_eq!(grant_of(&third.access_token), grant);
}

#[test]
fn a_retry_inside_the_window_gets_the_same_successor_and_never_forks() {
    let world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client);
    let grant = grant_of(&first.access_token);
    let old = first.refresh_token.unwrap();
    let a = world.refresh(&client, &old).unwrap();
    world.clock.advance(RETRY_WINDOW_SECS);
    let b = world.refresh(&client, &old).unwrap();
    assert_eq!(a.refresh_token, b.refresh_token);
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
    // The successor still works: the retry did not revoke anything.
    world
        .refresh(&client, a.refresh_token.as_deref().unwrap())
        .unwrap();
}

#[test]
fn reuse_after_the_window_revokes_the_whole_grant() {
    let world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client);
    let old = first.refresh_token.unwrap();
    let next = world.refresh(&client, &old).unwrap();
    world.clock.advance(RETRY_WINDOW_SECS + 1);
    let reuse = error_of(world.refresh(&client, &old));
    assert_eq!(
        (reuse.code, reuse.reason),
        (ErrorCode::InvalidGrant, Reason::RefreshTokenReused)
    );
    // The attacker's or the client's successor dies with the grant.
    let after = error_of(world.refresh(&client, next.refresh_token.as_deref().unwrap()));
    assert_eq!(after.code, ErrorCode::InvalidGrant);
}

#[test]
fn presenting_a_token_whose_successor_was_used_is_reuse_even_inside_the_window() {
    let world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client).refresh_token.unwrap();
    let second = world
        .refresh(&client, &first)
        .unwrap()
        .refresh_token
        .unwrap();
    world.refresh(&client, &second).unwrap();
    assert_eq!(
        error_of(world.refresh(&client, &first)).reason,
        Reason::RefreshTokenReused
    );
}

#[test]
fn scope_may_narrow_but_never_widen() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let location = world.authorize_and_consent(&client, &session, &[("scope", "read write")]);
    let tokens = world
        .exchange(&client, &param(&location, "code").unwrap())
        .unwrap();
    let refresh = tokens.refresh_token.unwrap();
    let narrowed = world
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "read"),
            ],
        )
        .unwrap();
    assert_eq!(narrowed.scope, "read");
    assert_eq!(claims(&narrowed.access_token)["scope"], "read");
    let next = narrowed.refresh_token.unwrap();
    // Narrowing one access token does not shrink the grant.
    let full = world.refresh(&client, &next).unwrap();
    assert_eq!(full.scope, "read write");
    let widened = world.token(
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", full.refresh_token.as_deref().unwrap()),
            ("scope", "read admin"),
        ],
    );
    let error = error_of(widened);
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::InvalidScope, Reason::ScopeWidened)
    );
}

#[test]
fn a_refresh_token_belongs_to_its_client_and_its_app() {
    let world = World::new();
    let client = world.public_client();
    let thief = world.public_client();
    let refresh = world.tokens(&client).refresh_token.unwrap();
    assert_eq!(
        error_of(world.refresh(&thief, &refresh)).reason,
        Reason::RefreshTokenUnknown
    );
    let elsewhere = world.token_at(
        OTHER_ISSUER,
        &client,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    );
    assert_eq!(error_of(elsewhere).reason, Reason::RefreshTokenUnknown);
    // Neither attempt harmed the rightful client.
    world.refresh(&client, &refresh).unwrap();
}

#[test]
fn refresh_tokens_expire() {
    let world = World::new();
    let client = world.public_client();
    let refresh = world.tokens(&client).refresh_token.unwrap();
    world
        .clock
        .advance(world.config.apps[0].refresh_token_ttl_secs);
    assert_eq!(
        error_of(world.refresh(&client, &refresh)).reason,
        Reason::RefreshTokenExpired
    );
}

#[test]
fn clients_without_the_refresh_grant_get_no_refresh_token() {
    let world = World::new();
    let client = world.register(&format!(
        r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#
    ));
    let tokens = world.tokens(&client);
    assert!(tokens.refresh_token.is_none());
}

#[test]
fn the_policy_is_checked_again_on_refresh() {
    let mut world = World::new();
    let client = world.public_client();
    let refresh = world.tokens(&client).refresh_token.unwrap();
    world.config.apps[0]
        .policy
        .deny_emails
        .push("alice@example.com".into());
    let error = error_of(world.refresh(&client, &refresh));
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::InvalidGrant, Reason::PolicyNoLongerAdmits)
    );
}

/// A refresh's KV reads (a held revocation, the deny entry) go out with its storage batch, so a
/// revocation can land between them: these tests put each step of one there
/// (`MemoryStore::before_rotation`) and check that no live refresh token outlives it
/// (`grants::refresh_token::rotate` argues why).
mod racing_a_revocation {
    use gatehouse_core::revocation;
    use gatehouse_core::store::{Denylist, GrantStore};
    use gatehouse_core::time::UnixTime;

    use super::*;

    fn refreshes(world: &World) -> usize {
        world
            .store
            .audit
            .borrow()
            .iter()
            .filter(|(_, e)| e.kind == gatehouse_core::model::audit::AuditKind::TokenRefreshed)
            .count()
    }

    #[test]
    fn a_revocation_that_lands_before_the_batch_leaves_nothing_rotated_stored_or_recorded() {
        let world = World::new();
        let client = world.public_client();
        let first = world.tokens(&client);
        let grant = grant_of(&first.access_token);
        let before = refreshes(&world);
        let id = grant.clone();
        *world.store.before_rotation.borrow_mut() = Some(Box::new(move |store| {
            let revocation = revocation_of(store, &id);
            at_once(revocation::revoke(store, &revocation, UnixTime(0), false)).unwrap();
        }));
        let refused = error_of(world.refresh(&client, first.refresh_token.as_deref().unwrap()));
        assert_eq!(
            (refused.code, refused.reason),
            (ErrorCode::InvalidGrant, Reason::GrantRevoked)
        );
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        assert_eq!(refreshes(&world), before, "no issuance recorded");
    }

    #[test]
    fn a_deny_entry_written_after_the_kv_read_orders_the_refresh_first_and_step_2_ends_its_successor()
     {
        let world = World::new();
        let client = world.public_client();
        let first = world.tokens(&client);
        let grant = grant_of(&first.access_token);
        let id = grant.clone();
        // Step 1 of a revocation lands after this refresh read KV; the revoking request is
        // still on its way to step 2.
        *world.store.before_rotation.borrow_mut() = Some(Box::new(move |store| {
            let revocation = revocation_of(store, &id);
            let until = revocation::deny_until(revocation.at, UnixTime(0));
            at_once(store.deny_grant(&id, revocation.reason, until, UnixTime(0))).unwrap();
        }));
        let answered = world
            .refresh(&client, first.refresh_token.as_deref().unwrap())
            .unwrap();
        assert_eq!(world.store.live_refresh_tokens(&grant), 1);
        // The revocation goes on (or its Queue consumer runs it): the successor dies with the
        // grant's other refresh tokens.
        let revocation = revocation_of(&world.store, &grant);
        block_on(revocation::apply(&world.store, &revocation, UnixTime(0))).unwrap();
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        let after = error_of(world.refresh(&client, answered.refresh_token.as_deref().unwrap()));
        assert_eq!(after.code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn a_deny_entry_seen_with_the_batch_sends_no_token_and_finishes_the_revocation() {
        let world = World::new();
        let client = world.public_client();
        let first = world.tokens(&client);
        let grant = grant_of(&first.access_token);
        // A revocation that crashed after step 1: KV denies the grant, D1 does not know.
        let revocation = revocation_of(&world.store, &grant);
        let until = revocation::deny_until(revocation.at, UnixTime(0));
        block_on(
            world
                .store
                .deny_grant(&grant, revocation.reason, until, UnixTime(0)),
        )
        .unwrap();
        let refused = error_of(world.refresh(&client, first.refresh_token.as_deref().unwrap()));
        assert_eq!(refused.reason, Reason::GrantRevoked);
        // The batch rotated the token and stored a successor nobody received; the refusal ran
        // the revocation again, which ended it.
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
        assert!(record.revoked_at.is_some() && record.revocation_settled_at.is_some());
    }
}
