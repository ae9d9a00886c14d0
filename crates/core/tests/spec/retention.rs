//! The retention sweep (`gatehouse_core::retention`): what the cron forgets, and that nothing a
//! rule still reads is forgotten with it.

use gatehouse_core::config::{Config, Settings};
use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::retention::{self, GRACE_SECS, REUSE_DETECTION_SECS};
use gatehouse_core::store::GrantStore;
use gatehouse_core::time::Clock;

use crate::support::*;

const DAY: u64 = 24 * 3600;

fn sweep(world: &World, audit_retention_secs: Option<u64>) -> retention::Forgotten {
    block_on(retention::sweep(
        &world.store,
        world.clock.now(),
        audit_retention_secs,
    ))
    .unwrap()
}

fn revoked(world: &World, access_token: &str) -> bool {
    block_on(world.store.grant(&grant_of(access_token)))
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

#[test]
fn rotated_tokens_are_kept_for_reuse_detection_for_a_day() {
    let world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client);
    let old = first.refresh_token.clone().unwrap();
    world.refresh(&client, &old).unwrap();
    world.clock.advance(REUSE_DETECTION_SECS - 60);
    sweep(&world, None);
    // Still on record: presenting it again is reuse, and revokes the grant (RFC 9700 §4.14.2).
    assert_eq!(
        error_of(world.refresh(&client, &old)).reason,
        Reason::RefreshTokenReused
    );
    assert!(revoked(&world, &first.access_token));
}

#[test]
fn after_a_day_a_rotated_token_is_forgotten_and_the_live_one_still_works() {
    let world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client);
    let mut token = first.refresh_token.clone().unwrap();
    let old = token.clone();
    for _ in 0..5 {
        token = world
            .refresh(&client, &token)
            .unwrap()
            .refresh_token
            .unwrap();
    }
    assert_eq!(world.store.refresh_token_rows(), 6);
    world.clock.advance(REUSE_DETECTION_SECS + 1);
    let forgotten = sweep(&world, None);
    assert_eq!(forgotten.total(), 5, "{forgotten:?}");
    assert!(forgotten.backlog.is_empty());
    assert_eq!(world.store.refresh_token_rows(), 1);
    // The forgotten token is refused as unknown; the grant is not revoked for it.
    let refused = error_of(world.refresh(&client, &old));
    assert_eq!(
        (refused.code, refused.reason),
        (ErrorCode::InvalidGrant, Reason::RefreshTokenUnknown)
    );
    assert!(!revoked(&world, &first.access_token));
    // The live token was never touched: it still rotates.
    world.refresh(&client, &token).unwrap();
}

#[test]
fn a_sweep_run_again_forgets_nothing_more() {
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).refresh_token.unwrap();
    world.refresh(&client, &token).unwrap();
    world.clock.advance(REUSE_DETECTION_SECS + 1);
    assert_eq!(sweep(&world, None).total(), 1);
    assert_eq!(sweep(&world, None).total(), 0);
}

#[test]
fn a_used_code_replayed_after_expiry_still_revokes_its_grant_within_the_grace() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let tokens = world.exchange(&client, &code).unwrap();
    world.clock.advance(GRACE_SECS - 60);
    sweep(&world, None);
    // RFC 6749 §4.1.2: a code used twice revokes what it gave.
    assert_eq!(
        error_of(world.exchange(&client, &code)).reason,
        Reason::CodeReplayed
    );
    assert!(revoked(&world, &tokens.access_token));
}

#[test]
fn codes_are_forgotten_a_day_after_they_expire() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    world.exchange(&client, &code).unwrap();
    let unused = world.code(&client);
    world.clock.advance(GRACE_SECS + 120);
    let forgotten = sweep(&world, None);
    let codes = forgotten
        .rows
        .iter()
        .find(|(kind, _)| matches!(kind, gatehouse_core::store::Lapsed::Codes(_)))
        .map(|(_, n)| *n);
    assert_eq!(codes, Some(2), "{forgotten:?}");
    assert_eq!(
        error_of(world.exchange(&client, &unused)).reason,
        Reason::CodeUnknown
    );
}

#[test]
fn audit_events_are_kept_unless_the_operator_sets_a_retention() {
    let world = World::new();
    let client = world.public_client();
    world.tokens(&client);
    let events = world.store.audit_events();
    assert!(events > 0);
    world.clock.advance(400 * DAY);
    sweep(&world, None);
    assert_eq!(world.store.audit_events(), events, "kept by default");
    // Newer events than the retention stay.
    world.tokens(&client);
    let newer = world.store.audit_events() - events;
    sweep(&world, Some(30 * DAY));
    assert_eq!(world.store.audit_events(), newer);
}

#[test]
fn a_database_that_fails_stops_the_sweep_with_an_error() {
    let world = World::new();
    world.store.down.set(true);
    assert!(block_on(retention::sweep(&world.store, world.clock.now(), None)).is_err());
}

#[test]
fn audit_retention_days_is_checked_before_deploy() {
    let base = Settings {
        apps: Some(
            r#"[{"name":"Wiki","host":"wiki.test","scopes":{"read":"Read"},"policy":{"allow_domains":["example.com"]},"origin":"https://wiki.internal.example"}]"#,
        ),
        secret: Some("0123456789abcdef0123456789abcdef"),
        ..Settings::default()
    };
    let with = |days: &'static str| {
        Config::from_settings(Settings {
            audit_retention_days: Some(days),
            ..base
        })
    };
    assert_eq!(
        Config::from_settings(base).unwrap().audit_retention_secs,
        None
    );
    assert_eq!(with("90").unwrap().audit_retention_secs, Some(90 * DAY));
    assert_eq!(with(" ").unwrap().audit_retention_secs, None);
    for bad in ["7", "forever", "-30", "100000"] {
        let error = with(bad).unwrap_err();
        assert_eq!(error.setting, "AUDIT_RETENTION_DAYS", "{bad}");
    }
}
