//! The admin API: bearer-token authenticated, off without `ADMIN_TOKEN`; lists and revokes an
//! app's grants by person or client (a person's sessions end too) and reads the audit log.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::error::Reason;
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::server::Failure;
use gatehouse_core::time::Clock as _;

use crate::support::*;

fn admin() -> Option<String> {
    Some(format!("Bearer {ADMIN_TOKEN}"))
}

fn by_token(authorization: Option<&str>) -> AdminCredentials<'_> {
    AdminCredentials {
        authorization,
        ..AdminCredentials::default()
    }
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
        refused(block_on(
            world
                .server()
                .admin_grants(&AdminCredentials::default(), query)
        )),
        Reason::AdminUnauthorized
    );
    let wrong = Some("Bearer not-the-admin-token-not-the-admin-token".to_owned());
    assert_eq!(
        refused(block_on(
            world
                .server()
                .admin_grants(&by_token(wrong.as_deref()), query)
        )),
        Reason::AdminUnauthorized
    );
    assert_eq!(
        refused(block_on(
            world
                .server()
                .admin_grants(&by_token(admin().as_deref()), "")
        )),
        Reason::AdminFilterRequired
    );
    world.config.admin_token = None;
    assert_eq!(
        refused(block_on(
            world
                .server()
                .admin_grants(&by_token(admin().as_deref()), query)
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
    let listed = block_on(world.server().admin_grants(
        &by_token(admin().as_deref()),
        "subject=local%3Aalice%40example.com",
    ))
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_id, client.id);
    let body = form(&[("subject", "local:alice@example.com")]);
    let revoked = block_on(
        world
            .server()
            .admin_revoke(&by_token(admin().as_deref()), body.as_bytes()),
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
            .admin_revoke(&by_token(admin().as_deref()), body.as_bytes()),
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
                .admin_revoke(&by_token(admin().as_deref()), body.as_bytes())
        )
        .unwrap()
        .grants,
        2
    );
    world
        .refresh(&other, kept.refresh_token.as_deref().unwrap())
        .unwrap();
    let query = form(&[("client_id", client.id.as_str())]);
    let events = block_on(
        world
            .server()
            .admin_audit(&by_token(admin().as_deref()), &query),
    )
    .unwrap();
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

fn admins_policy(world: &mut World) {
    world.config.admins =
        Some(serde_json::from_str(r#"{"allow_emails":["bob@example.com"]}"#).unwrap());
}

fn by_browser<'a>(session: &'a str, csrf: Option<&'a str>) -> AdminCredentials<'a> {
    AdminCredentials {
        session: Some(session),
        csrf_cookie: csrf,
        ..AdminCredentials::default()
    }
}

#[test]
fn a_person_the_admins_policy_admits_uses_the_api_from_their_browser_with_the_csrf_token() {
    let mut world = World::new();
    admins_policy(&mut world);
    world.config.admin_token = None;
    let client = world.public_client();
    world.tokens(&client);
    let bob = world.login("bob@example.com");
    let alice = world.login("alice@example.com");
    let query = "all=true";
    assert_eq!(
        block_on(world.server().admin_grants(&by_browser(&bob, None), query))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        refused(block_on(
            world
                .server()
                .admin_grants(&by_browser(&alice, None), query)
        )),
        Reason::AdminUnauthorized,
        "alice is not in ADMINS"
    );
    let body = form(&[("client_id", client.id.as_str())]);
    assert_eq!(
        refused(block_on(
            world
                .server()
                .admin_revoke(&by_browser(&bob, None), body.as_bytes())
        )),
        Reason::CsrfMismatch,
        "a cross-site form cannot ride an admin's session"
    );
    let with_csrf = form(&[("client_id", client.id.as_str()), ("csrf_token", CSRF)]);
    let revoked = block_on(
        world
            .server()
            .admin_revoke(&by_browser(&bob, Some(CSRF)), with_csrf.as_bytes()),
    )
    .unwrap();
    assert_eq!(revoked.grants, 1);
    let action = world
        .store
        .audit
        .borrow()
        .iter()
        .find(|(_, e)| e.kind == AuditKind::AdminAction)
        .cloned()
        .unwrap();
    assert_eq!(action.1.detail["by"], "bob@example.com");
    assert_eq!(action.1.detail["action"], "revoke");
    assert_eq!(action.1.detail["target"]["client_id"], client.id.as_str());
}

#[test]
fn all_true_lists_and_revokes_the_whole_app_and_no_filter_never_means_everyone() {
    let world = World::new();
    let first = world.public_client();
    let second = world.public_client();
    world.tokens(&first);
    world.tokens(&second);
    let header = admin();
    let token = by_token(header.as_deref());
    assert_eq!(
        refused(block_on(world.server().admin_revoke(&token, b""))),
        Reason::AdminFilterRequired
    );
    assert_eq!(
        refused(block_on(world.server().admin_revoke(&token, b"all=yes"))),
        Reason::AdminFilterRequired
    );
    assert_eq!(
        block_on(world.server().admin_grants(&token, "all=true"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        block_on(world.server().admin_revoke(&token, b"all=true"))
            .unwrap()
            .grants,
        2
    );
}

#[test]
fn disabling_a_client_revokes_its_grants_at_every_app_and_locks_it_out() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    world.mount.set("/docs");
    let session = world.login("alice@example.com");
    let resource = [("resource", "https://wiki.test/docs")];
    let location = world.authorize_and_consent(&client, &session, &resource);
    let docs = world
        .exchange(&client, &param(&location, "code").unwrap())
        .unwrap();
    world.mount.set("/");
    let body = form(&[("client_id", client.id.as_str())]);
    let revoked = block_on(
        world
            .server()
            .admin_disable_client(&by_token(admin().as_deref()), body.as_bytes()),
    )
    .unwrap();
    assert_eq!(revoked.grants, 2, "the wiki's grant and the docs' grant");
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::ClientUnknown,
        "a disabled client cannot authenticate"
    );
    world.mount.set("/docs");
    assert_eq!(
        error_of(world.refresh(&client, docs.refresh_token.as_deref().unwrap())).reason,
        Reason::ClientUnknown
    );
    world.mount.set("/");
    let (status, _, reason) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!((status, reason), (401, Some(Reason::TokenRevoked)));
}

#[test]
fn the_audit_log_is_read_by_time() {
    let world = World::new();
    let client = world.public_client();
    world.tokens(&client);
    let start = world.clock.now().0;
    world.clock.advance(1000);
    world.tokens(&client);
    let header = admin();
    let token = by_token(header.as_deref());
    let all = block_on(world.server().admin_audit(&token, "")).unwrap();
    let early = block_on(
        world
            .server()
            .admin_audit(&token, &format!("until={}", start + 1)),
    )
    .unwrap();
    let late = block_on(
        world
            .server()
            .admin_audit(&token, &format!("since={}", start + 1000)),
    )
    .unwrap();
    assert!(!early.is_empty() && !late.is_empty());
    assert_eq!(early.len() + late.len(), all.len());
    assert!(early.iter().all(|e| e.at <= start + 1));
    assert!(late.iter().all(|e| e.at >= start + 1000));
    assert_eq!(
        refused(block_on(
            world.server().admin_audit(&token, "since=yesterday")
        )),
        Reason::AdminBadNumber
    );
}

#[test]
fn the_held_writes_are_listed_for_the_operator() {
    let world = World::new();
    let header = admin();
    let token = by_token(header.as_deref());
    assert!(
        block_on(world.server().admin_held(&token))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        refused(block_on(
            world.server().admin_held(&AdminCredentials::default())
        )),
        Reason::AdminUnauthorized
    );
}
