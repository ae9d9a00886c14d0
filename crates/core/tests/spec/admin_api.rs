//! The admin API: bearer-token authenticated, off without `ADMIN_TOKEN`; lists and revokes an
//! app's grants by person or client (a person's sessions end too) and reads the audit log.

use gatehouse_core::audit::AuditKind;
use gatehouse_core::error::Reason;
use gatehouse_core::server::Failure;

use crate::support::*;

fn admin() -> Option<String> {
    Some(format!("Bearer {ADMIN_TOKEN}"))
}

fn refused<T: std::fmt::Debug>(result: Result<T, Failure>) -> Reason {
    match result {
        Err(Failure::OAuth { error, .. }) => error.reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_api_needs_its_token_and_is_off_without_one() {
    let mut world = World::new();
    let query = "subject=local%3Aalice%40example.com";
    assert_eq!(
        refused(block_on(world.server().admin_grants(None, query))),
        Reason::AdminUnauthorized
    );
    let wrong = Some("Bearer not-the-admin-token-not-the-admin-token".to_owned());
    assert_eq!(
        refused(block_on(
            world.server().admin_grants(wrong.as_deref(), query)
        )),
        Reason::AdminUnauthorized
    );
    assert_eq!(
        refused(block_on(
            world.server().admin_grants(admin().as_deref(), "")
        )),
        Reason::AdminFilterRequired
    );
    world.config.admin_token = None;
    assert_eq!(
        refused(block_on(
            world.server().admin_grants(admin().as_deref(), query)
        )),
        Reason::AdminApiOff
    );
}

#[test]
fn cutting_a_person_off_revokes_their_agents_and_ends_their_sessions() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let session = world.login("alice@example.com");
    let listed = block_on(
        world
            .server()
            .admin_grants(admin().as_deref(), "subject=local%3Aalice%40example.com"),
    )
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_id, client.id);
    let body = form(&[("subject", "local:alice@example.com")]);
    let revoked = block_on(
        world
            .server()
            .admin_revoke(admin().as_deref(), body.as_bytes()),
    )
    .unwrap();
    assert_eq!(revoked.grants, 1);
    assert!(
        block_on(world.server().person(Some(&session)))
            .unwrap()
            .is_none(),
        "sessions end too"
    );
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::GrantRevoked
    );
    let again = block_on(
        world
            .server()
            .admin_revoke(admin().as_deref(), body.as_bytes()),
    )
    .unwrap();
    assert_eq!(again.grants, 0, "nothing live is left");
}

#[test]
fn revoking_a_client_ends_every_grant_it_holds_and_the_audit_log_says_so() {
    let world = World::new();
    let client = world.public_client();
    let other = world.public_client();
    world.tokens(&client);
    world.tokens(&client);
    let kept = world.tokens(&other);
    let body = form(&[("client_id", client.id.as_str())]);
    assert_eq!(
        block_on(
            world
                .server()
                .admin_revoke(admin().as_deref(), body.as_bytes())
        )
        .unwrap()
        .grants,
        2
    );
    world
        .refresh(&other, kept.refresh_token.as_deref().unwrap())
        .unwrap();
    let query = form(&[("client_id", client.id.as_str())]);
    let events = block_on(world.server().admin_audit(admin().as_deref(), &query)).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::GrantCreated)
            .count(),
        2
    );
    assert_eq!(
        events[0].event.kind,
        AuditKind::GrantRevoked,
        "newest first"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::GrantRevoked)
            .count(),
        2
    );
    assert_eq!(events[0].event.detail["reason"], "admin_request");
    assert!(
        events
            .iter()
            .all(|e| e.event.client_id.as_deref() == Some(client.id.as_str()))
    );
}
