//! Rotating `GATEHOUSE_SECRET` without an outage: with the old secret kept as
//! `GATEHOUSE_SECRET_PREVIOUS`, everything made under it (clients, sessions, codes, refresh
//! tokens, device user codes, a refresh's successor) keeps working, and everything new is made
//! under the new secret; removing the previous secret retires what only it made.

use gatehouse_core::device::verification::DevicePage;
use gatehouse_core::error::ErrorCode;
use gatehouse_core::grants::refresh_token::RETRY_WINDOW_SECS;

use crate::support::*;

const NEW_SECRET: &str = "the-new-secret-the-new-secret-the-new-secret";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The same world under `GATEHOUSE_SECRET=NEW_SECRET`, with the old one kept as previous or not.
fn rotate(world: &mut World, keep_previous: bool) {
    let previous = keep_previous.then_some(SECRET);
    world.config = World::config_with_secrets(NEW_SECRET, previous);
}

#[test]
fn clients_sessions_codes_and_refresh_tokens_of_the_old_secret_keep_working() {
    let mut world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let old_refresh = world.tokens(&client).refresh_token.unwrap();
    let code = world.code(&client);

    rotate(&mut world, true);
    // The client registered and the code issued under the old secret.
    world.exchange(&client, &code).unwrap();
    // The session made under the old secret still authorizes.
    let location = world.authorize_and_consent(&client, &session, &[]);
    assert!(param(&location, "code").is_some(), "{location}");
    // The refresh token issued under the old secret rotates, and its successor is new.
    let successor = world.refresh(&client, &old_refresh).unwrap();
    let new_refresh = successor.refresh_token.unwrap();
    let new_client = world.public_client();
    let new_session = world.login("alice@example.com");

    // Retiring the previous secret: what the new one made works; what only the old one made
    // ends, clients registered under it included (README "Rotating GATEHOUSE_SECRET").
    rotate(&mut world, false);
    let new_tokens = world.tokens(&new_client);
    world
        .refresh(&new_client, new_tokens.refresh_token.as_deref().unwrap())
        .unwrap();
    world.authorize_and_consent(&new_client, &new_session, &[]);
    assert_eq!(
        error_of(world.refresh(&client, &new_refresh)).code,
        ErrorCode::InvalidClient,
        "a client id tagged under the retired secret is unknown"
    );
}

#[test]
fn without_the_previous_secret_a_new_secret_ends_old_clients_and_tokens() {
    let mut world = World::new();
    let client = world.public_client();
    let old_refresh = world.tokens(&client).refresh_token.unwrap();
    rotate(&mut world, false);
    let refused = error_of(world.refresh(&client, &old_refresh));
    assert_eq!(refused.code, ErrorCode::InvalidClient);
}

#[test]
fn a_refresh_retried_across_the_rotation_gets_the_same_successor_and_does_not_revoke() {
    let mut world = World::new();
    let client = world.public_client();
    let first = world.tokens(&client);
    let grant = grant_of(&first.access_token);
    let old = first.refresh_token.unwrap();
    let a = world.refresh(&client, &old).unwrap();

    rotate(&mut world, true);
    world.clock.advance(RETRY_WINDOW_SECS);
    let b = world.refresh(&client, &old).unwrap();
    assert_eq!(a.refresh_token, b.refresh_token, "the chain forked");
    assert_eq!(world.store.live_refresh_tokens(&grant), 1);
    world
        .refresh(&client, a.refresh_token.as_deref().unwrap())
        .unwrap();
}

#[test]
fn a_device_user_code_shown_before_the_rotation_is_still_found() {
    let mut world = World::new();
    let client = world.register(&format!(
        r#"{{"client_name":"CLI agent","token_endpoint_auth_method":"none","grant_types":["{DEVICE_GRANT}","refresh_token"]}}"#
    ));
    let (body, basic) = client_form(&client, &[("scope", "read")]);
    let started = block_on(
        world
            .server()
            .device_authorization(body.as_bytes(), basic.as_deref()),
    )
    .unwrap();

    rotate(&mut world, true);
    let session = world.login("alice@example.com");
    let submit = |decision: Option<&str>| {
        let mut params = vec![
            ("user_code", started.user_code.as_str()),
            ("csrf_token", CSRF),
        ];
        params.extend(decision.map(|d| ("decision", d)));
        block_on(
            world
                .server()
                .device_submit(form(&params).as_bytes(), Some(&session), Some(CSRF)),
        )
        .unwrap()
    };
    assert!(matches!(submit(None), DevicePage::Confirm(_)));
    submit(Some("approve"));
    world
        .token(
            &client,
            &[
                ("grant_type", DEVICE_GRANT),
                ("device_code", &started.device_code),
            ],
        )
        .unwrap();
}
