//! Revocation that is never lost: each revocation that writes its deny entry first is applied at
//! once and put on the `revocations` Queue; when storage cannot take the write, the queued command takes effect when
//! the consumer applies it, and applying twice changes nothing.

use gatehouse_core::error::Reason;
use gatehouse_core::grant_id::GrantId;
use gatehouse_core::model::queue::QueueMessage;
use gatehouse_core::revocation;
use gatehouse_core::store::RevocationReason;
use gatehouse_core::time::Clock as _;

use crate::support::*;

fn queued_reasons(world: &World) -> Vec<RevocationReason> {
    world
        .store
        .queued
        .borrow()
        .iter()
        .filter_map(|m| match m {
            QueueMessage::RevokeGrant(revocation) => Some(revocation.reason),
            QueueMessage::HealthProbe { .. } => None,
        })
        .collect()
}

#[test]
fn every_kind_of_revocation_is_queued() {
    let world = World::new();
    let client = world.public_client();
    // Code replay.
    let code = world.code(&client);
    world.exchange(&client, &code).unwrap();
    let _ = world.exchange(&client, &code);
    // Refresh-token reuse.
    let old = world.tokens(&client).refresh_token.unwrap();
    world.refresh(&client, &old).unwrap();
    world.clock.advance(60);
    let _ = world.refresh(&client, &old);
    // RFC 7009 with an access token. (With a refresh token that names its grant, D1 is
    // written first and the cron's sweep, not the Queue, finishes what a crash leaves:
    // `revocation_steps::an_answered_rfc7009_revocation_cut_off_after_it_is_finished_by_the_sweep`.)
    let tokens = world.tokens(&client);
    let (body, basic) = client_form(&client, &[("token", tokens.access_token.as_str())]);
    world.revoke(body.as_bytes(), basic.as_deref()).unwrap();
    assert_eq!(
        queued_reasons(&world),
        vec![
            RevocationReason::CodeReplayed,
            RevocationReason::RefreshTokenReused,
            RevocationReason::ClientRequest
        ]
    );
}

#[test]
fn a_revocation_storage_cannot_take_is_accepted_and_applied_from_the_queue() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let refresh = tokens.refresh_token.unwrap();
    world.store.writes_down.set(true);
    let (body, basic) = client_form(&client, &[("token", refresh.as_str())]);
    world.revoke(body.as_bytes(), basic.as_deref()).unwrap();
    world.store.writes_down.set(false);
    // Not yet applied: the grant still works until the consumer runs.
    let refresh = world
        .refresh(&client, &refresh)
        .unwrap()
        .refresh_token
        .unwrap();
    let command = world.store.queued.borrow().last().cloned().unwrap();
    let QueueMessage::RevokeGrant(revocation) = command else {
        panic!("{command:?}")
    };
    assert_eq!(
        revocation.grant_id,
        GrantId::from_stored(
            claims(&tokens.access_token)["grant_id"]
                .as_str()
                .unwrap()
                .to_owned()
        )
    );
    let now = world.clock.now();
    block_on(revocation::consume(&world.store, &revocation, now, false)).unwrap();
    block_on(revocation::consume(&world.store, &revocation, now, false)).unwrap();
    assert_eq!(
        error_of(world.refresh(&client, &refresh)).reason,
        Reason::GrantRevoked
    );
}
