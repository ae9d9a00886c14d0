//! `GET /healthz` (issue 15 §6, issue 16 item 3): anyone gets the liveness answer, decided without
//! storage; the deep check needs the admin API's credentials; in migration mode it plans no
//! write.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::error::Reason;
use gatehouse_core::health::{Depth, Plan};
use gatehouse_core::migration::Migration;
use gatehouse_core::server::Failure;

use crate::support::*;

fn depth(world: &World, credentials: AdminCredentials<'_>) -> Result<Depth, Failure> {
    block_on(world.server().health_depth(&credentials))
}

fn bearer_of(token: &str) -> String {
    format!("Bearer {token}")
}

/// Anonymous callers, and browsers whose cookie is not an admin's session, get the liveness
/// answer; with storage down, that shows nothing was read.
#[test]
fn anyone_gets_the_liveness_answer_without_storage() {
    let world = World::new();
    world.store.down.set(true);
    assert_eq!(
        depth(&world, AdminCredentials::default()).unwrap(),
        Depth::Liveness
    );
    let made_up = AdminCredentials {
        session: Some("made-up-session"),
        ..AdminCredentials::default()
    };
    assert_eq!(depth(&world, made_up).unwrap(), Depth::Liveness);
}

#[test]
fn the_admin_token_gets_the_deep_check_and_a_wrong_one_is_refused() {
    let world = World::new();
    let right = bearer_of(ADMIN_TOKEN);
    let admin = AdminCredentials {
        authorization: Some(&right),
        ..AdminCredentials::default()
    };
    assert_eq!(depth(&world, admin).unwrap(), Depth::Deep);
    let wrong = bearer_of("not-the-admin-token-not-the-admin-token");
    let stranger = AdminCredentials {
        authorization: Some(&wrong),
        ..AdminCredentials::default()
    };
    match depth(&world, stranger) {
        Err(Failure::OAuth { error, .. }) => assert_eq!(error.reason, Reason::AdminUnauthorized),
        other => panic!("{other:?}"),
    }
}

/// The `ADMINS` policy works as for the admin API: an admitted person's session gets the deep
/// check, anyone else's the liveness answer.
#[test]
fn an_admins_session_gets_the_deep_check() {
    let mut world = World::new();
    world.config.admins =
        Some(serde_json::from_str(r#"{"allow_emails":["bob@example.com"]}"#).unwrap());
    let bob = world.login("bob@example.com");
    let alice = world.login("alice@example.com");
    let session = |s| AdminCredentials {
        session: Some(s),
        ..AdminCredentials::default()
    };
    assert_eq!(depth(&world, session(&bob)).unwrap(), Depth::Deep);
    assert_eq!(depth(&world, session(&alice)).unwrap(), Depth::Liveness);
}

/// Without an admin credential configured there is no deep check to ask for.
#[test]
fn without_an_admin_credential_configured_everyone_gets_liveness() {
    let mut world = World::new();
    world.config.admin_token = None;
    let token = bearer_of(ADMIN_TOKEN);
    let credentials = AdminCredentials {
        authorization: Some(&token),
        ..AdminCredentials::default()
    };
    assert_eq!(depth(&world, credentials).unwrap(), Depth::Liveness);
}

/// Issue 16 item 3: the deep check writes nothing in migration mode.
#[test]
fn the_deep_check_plans_no_write_in_migration_mode() {
    let mut world = World::new();
    assert!(Plan::for_config(&world.config).kv_write);
    world.config.migration = Some(Migration {
        retry_after_secs: 60,
        access_token_ttl_secs: 4 * 3600,
    });
    assert!(!Plan::for_config(&world.config).kv_write);
}
