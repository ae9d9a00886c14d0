//! RFC 8628, the device authorization grant: §3.1–§3.2 (device authorization request and
//! response), §3.3 (user interaction on the verification page), §3.4–§3.5 (polling and its
//! errors), §5.1 (user code guessing), §5.4 (remote phishing: the page never approves from a
//! link), and single-use redemption.

use gatehouse_core::device::verification::DevicePage;
use gatehouse_core::device::{DeviceAuthorizationResponse, INTERVAL_SECS};
use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::server::Failure;

use crate::support::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_client(world: &World) -> Client {
    world.register(&format!(
        r#"{{"client_name":"CLI agent","token_endpoint_auth_method":"none","grant_types":["{GRANT}","refresh_token"]}}"#
    ))
}

fn start(
    world: &World,
    client: &Client,
    params: &[(&str, &str)],
) -> Result<DeviceAuthorizationResponse, Failure> {
    let (body, basic) = client_form(client, params);
    block_on(
        world
            .server()
            .device_authorization(body.as_bytes(), basic.as_deref()),
    )
}

fn poll(world: &World, client: &Client, device_code: &str) -> Result<TokenResponse, Failure> {
    world.token(
        client,
        &[("grant_type", GRANT), ("device_code", device_code)],
    )
}

fn reason(result: Result<TokenResponse, Failure>) -> Reason {
    error_of(result).reason
}

/// Posts the verification form: the code, and a decision unless `None`.
fn submit(world: &World, session: &str, user_code: &str, decision: Option<&str>) -> DevicePage {
    let mut params = vec![("user_code", user_code), ("csrf_token", CSRF)];
    if let Some(decision) = decision {
        params.push(("decision", decision));
    }
    block_on(
        world
            .server()
            .device_submit(form(&params).as_bytes(), Some(session), Some(CSRF)),
    )
    .unwrap()
}

/// Types the code, sees the consent screen, and decides.
fn decide(world: &World, email: &str, user_code: &str, decision: &str) -> DevicePage {
    let session = world.login(email);
    assert!(matches!(
        submit(world, &session, user_code, None),
        DevicePage::Confirm(_)
    ));
    submit(world, &session, user_code, Some(decision))
}

#[test]
fn an_approved_device_receives_tokens_of_a_grant_like_the_code_flow() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[("scope", "read write")]).unwrap();
    assert_eq!(started.interval, INTERVAL_SECS);
    assert_eq!(started.expires_in, 600);
    assert_eq!(
        started.verification_uri,
        format!("{ISSUER}/.gatehouse/device")
    );
    assert_eq!(
        started.verification_uri_complete,
        format!("{ISSUER}/.gatehouse/device?user_code={}", started.user_code)
    );
    assert_eq!(started.user_code.len(), 9);
    assert!(
        !world.store.dump().contains(&started.device_code),
        "raw device code stored"
    );
    assert!(
        !world
            .store
            .dump()
            .contains(&started.user_code.replace('-', "")),
        "raw user code stored"
    );

    let session = world.login("alice@example.com");
    // §3.3: case and dash do not matter.
    let typed = started.user_code.to_lowercase().replace('-', "");
    match submit(&world, &session, &typed, None) {
        DevicePage::Confirm(prompt) => {
            assert_eq!(prompt.client_name, "CLI agent");
            assert_eq!(prompt.app_name, "Wiki");
            assert_eq!(prompt.scopes.len(), 2);
            assert_eq!(prompt.user_code, started.user_code);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        submit(&world, &session, &typed, Some("approve")),
        DevicePage::Done { approved: true, .. }
    ));
    let tokens = poll(&world, &client, &started.device_code).unwrap();
    let claims = claims(&tokens.access_token);
    assert_eq!(claims["sub"], "local:alice@example.com");
    assert_eq!(claims["aud"], ISSUER);
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(tokens.scope, "read write");
    // The refresh token works as in the code flow.
    let refreshed = world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
    assert_eq!(refreshed.scope, "read write");
    // A grant, consent and audit events exist like those of the code flow.
    let kinds: Vec<_> = world
        .store
        .audit
        .borrow()
        .iter()
        .map(|(_, e)| e.kind.as_str())
        .collect();
    assert!(
        kinds.contains(&"grant_created") && kinds.contains(&"token_issued"),
        "{kinds:?}"
    );
}

#[test]
fn polling_before_the_person_decides_is_pending_and_too_fast_is_slow_down() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::DeviceAuthorizationPending
    );
    let error = error_of(poll(&world, &client, &started.device_code));
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::SlowDown, Reason::DevicePollingTooFast)
    );
    // §3.5: the interval grew by 5 s, so waiting the old 5 s is still too fast ...
    world.clock.advance(INTERVAL_SECS);
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::DevicePollingTooFast
    );
    // ... and waiting the new interval (now 15 s after two slow-downs) is not.
    world.clock.advance(INTERVAL_SECS * 3);
    let error = error_of(poll(&world, &client, &started.device_code));
    assert_eq!(
        (error.code, error.reason),
        (
            ErrorCode::AuthorizationPending,
            Reason::DeviceAuthorizationPending
        )
    );
}

#[test]
fn a_denied_request_is_access_denied() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    assert!(matches!(
        decide(&world, "alice@example.com", &started.user_code, "deny"),
        DevicePage::Done {
            approved: false,
            ..
        }
    ));
    let error = error_of(poll(&world, &client, &started.device_code));
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::AccessDenied, Reason::ConsentDenied)
    );
}

#[test]
fn an_expired_device_code_is_expired_token_and_its_user_code_is_unknown() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    world.clock.advance(started.expires_in);
    let error = error_of(poll(&world, &client, &started.device_code));
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::ExpiredToken, Reason::DeviceCodeExpired)
    );
    let session = world.login("alice@example.com");
    assert!(matches!(
        submit(&world, &session, &started.user_code, None),
        DevicePage::Enter(prompt) if prompt.error.is_some()
    ));
}

#[test]
fn tokens_are_issued_once_per_device_code() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    decide(&world, "alice@example.com", &started.user_code, "approve");
    assert!(poll(&world, &client, &started.device_code).is_ok());
    world.clock.advance(60);
    let error = error_of(poll(&world, &client, &started.device_code));
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::InvalidGrant, Reason::DeviceCodeRedeemed)
    );
}

#[test]
fn another_client_cannot_poll_the_device_code() {
    let world = World::new();
    let client = device_client(&world);
    let thief = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    decide(&world, "alice@example.com", &started.user_code, "approve");
    let error = error_of(poll(&world, &thief, &started.device_code));
    assert_eq!(
        (error.code, error.reason),
        (ErrorCode::InvalidGrant, Reason::DeviceCodeUnknown)
    );
    // The thief's poll was not recorded against the code: the owner is not slowed down.
    assert!(poll(&world, &client, &started.device_code).is_ok());
}

#[test]
fn only_clients_registered_for_the_grant_may_start_or_poll() {
    let world = World::new();
    let code_client = world.public_client();
    assert_eq!(
        error_of_device(start(&world, &code_client, &[])),
        Reason::GrantTypeNotRegistered
    );
    let error = error_of(poll(&world, &code_client, "anything"));
    assert_eq!(
        (error.code, error.reason),
        (
            ErrorCode::UnauthorizedClient,
            Reason::GrantTypeNotRegistered
        )
    );
    // Client authentication is the token endpoint's: a wrong secret is invalid_client.
    let confidential = world.register(&format!(r#"{{"grant_types":["{GRANT}"]}}"#));
    let wrong = Client {
        secret: Some("wrong".into()),
        ..confidential.clone()
    };
    assert_eq!(
        error_of_device(start(&world, &wrong, &[])),
        Reason::ClientAuthFailed
    );
    assert!(start(&world, &confidential, &[]).is_ok());
}

#[test]
fn scope_and_resource_are_checked_as_at_the_authorization_endpoint() {
    let world = World::new();
    let client = device_client(&world);
    assert_eq!(
        error_of_device(start(&world, &client, &[("scope", "admin")])),
        Reason::ScopeNotOffered
    );
    assert_eq!(
        error_of_device(start(
            &world,
            &client,
            &[("resource", "https://elsewhere.test")]
        )),
        Reason::ResourceUnknown
    );
    assert_eq!(
        error_of_device(start(
            &world,
            &client,
            &[("scope", "read"), ("scope", "write")]
        )),
        Reason::DuplicateParameter
    );
    let started = start(&world, &client, &[("resource", &format!("{ISSUER}/mcp"))]).unwrap();
    decide(&world, "alice@example.com", &started.user_code, "approve");
    // Without `scope`, the app's defaults.
    assert_eq!(
        poll(&world, &client, &started.device_code).unwrap().scope,
        "read"
    );
}

fn error_of_device(result: Result<DeviceAuthorizationResponse, Failure>) -> Reason {
    match result {
        Err(Failure::OAuth { error, .. }) => error.reason,
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[test]
fn five_wrong_codes_in_fifteen_minutes_lock_the_person_out() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    let session = world.login("alice@example.com");
    for _ in 0..4 {
        assert!(matches!(
            submit(&world, &session, "BBBB-BBBB", None),
            DevicePage::Enter(prompt) if prompt.error.is_some()
        ));
    }
    assert_eq!(
        submit(&world, &session, "not a code", None),
        DevicePage::Refused(Reason::UserCodeGuessLimit)
    );
    // Now even the right code is refused ...
    let locked = submit(&world, &session, &started.user_code, None);
    assert_eq!(locked, DevicePage::Refused(Reason::UserCodeGuessLimit));
    assert_eq!(locked.status(), 429);
    // ... for this person only, and until the window has passed.
    let bob = world.login("bob@example.com");
    assert!(matches!(
        submit(&world, &bob, &started.user_code, None),
        DevicePage::Confirm(_)
    ));
    world.clock.advance(15 * 60);
    let again = start(&world, &client, &[]).unwrap();
    assert!(matches!(
        submit(&world, &session, &again.user_code, None),
        DevicePage::Confirm(_)
    ));
}

#[test]
fn a_person_the_policy_refuses_cannot_approve() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    let mallory = world.login("mallory@example.com");
    let page = submit(&world, &mallory, &started.user_code, Some("approve"));
    assert_eq!(page, DevicePage::Refused(Reason::PolicyDenied));
    assert_eq!(page.status(), 403);
    assert_eq!(
        block_on(world.server().device_page("", Some(&mallory))).unwrap(),
        DevicePage::Refused(Reason::PolicyDenied)
    );
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::DeviceAuthorizationPending
    );
}

#[test]
fn every_form_needs_its_csrf_token() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    let session = world.login("alice@example.com");
    for cookie in [None, Some("other-token")] {
        let body = form(&[
            ("user_code", started.user_code.as_str()),
            ("decision", "approve"),
            ("csrf_token", CSRF),
        ]);
        let page = block_on(
            world
                .server()
                .device_submit(body.as_bytes(), Some(&session), cookie),
        )
        .unwrap();
        assert_eq!(page, DevicePage::Refused(Reason::CsrfMismatch));
    }
    let without_field = form(&[
        ("user_code", started.user_code.as_str()),
        ("decision", "approve"),
    ]);
    let page = block_on(world.server().device_submit(
        without_field.as_bytes(),
        Some(&session),
        Some(CSRF),
    ))
    .unwrap();
    assert_eq!(page, DevicePage::Refused(Reason::CsrfMismatch));
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::DeviceAuthorizationPending
    );
}

#[test]
fn a_verification_link_only_fills_in_the_code() {
    // §5.4: a link from anywhere (the `verification_uri_complete`) must neither approve nor
    // spend a guess; the person confirms with a CSRF-protected form.
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    let session = world.login("alice@example.com");
    let query = format!("user_code={}&decision=approve", started.user_code);
    match block_on(world.server().device_page(&query, Some(&session))).unwrap() {
        DevicePage::Enter(prompt) => {
            assert_eq!(prompt.user_code, started.user_code);
            assert_eq!(prompt.error, None);
        }
        other => panic!("{other:?}"),
    }
    for _ in 0..10 {
        block_on(
            world
                .server()
                .device_page("user_code=BBBB-BBBB", Some(&session)),
        )
        .unwrap();
    }
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::DeviceAuthorizationPending
    );
    // No guess was spent: the right code still gets the consent screen.
    assert!(matches!(
        submit(&world, &session, &started.user_code, None),
        DevicePage::Confirm(_)
    ));
}

#[test]
fn without_a_session_the_page_sends_the_person_to_log_in_and_back() {
    let world = World::new();
    let page = block_on(world.server().device_page("user_code=WDJB-MJHT", None)).unwrap();
    assert_eq!(
        page,
        DevicePage::Login(
            "/.gatehouse/login?return_to=%2F.gatehouse%2Fdevice%3Fuser_code%3DWDJB-MJHT".into()
        )
    );
}

#[test]
fn a_device_only_client_cannot_use_the_authorization_endpoint() {
    let world = World::new();
    let client = device_client(&world);
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    assert!(matches!(
        world.authorize(&query, Some(&session)),
        Err(gatehouse_core::authorize::AuthorizeError::Render(
            Reason::RedirectUriMismatch
        ))
    ));
}

#[test]
fn a_grant_revoked_before_the_poll_yields_no_tokens() {
    let world = World::new();
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    decide(&world, "alice@example.com", &started.user_code, "approve");
    // The device grant shows on the person's connected-agents page, and revoking it there
    // stops the device from redeeming its code.
    let session = world.login("alice@example.com");
    let view = block_on(world.server().connected_agents(Some(&session)))
        .unwrap()
        .unwrap();
    let [agent] = view.agents.as_slice() else {
        panic!("{view:?}")
    };
    assert_eq!(agent.client_name, "CLI agent");
    let body = form(&[("grant_id", agent.grant_id.as_str()), ("csrf_token", CSRF)]);
    block_on(
        world
            .server()
            .revoke_agent(body.as_bytes(), Some(&session), Some(CSRF)),
    )
    .unwrap();
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::GrantRevoked
    );
}

#[test]
fn an_app_under_a_path_prefix_serves_its_own_verification_page() {
    // The Docs app lives under /docs on the Wiki's host: its verification URI is under its
    // prefix, and a code issued there is unknown to the Wiki's page and token endpoint.
    let world = World::new();
    world.mount.set("/docs");
    let client = device_client(&world);
    let started = start(&world, &client, &[]).unwrap();
    assert_eq!(
        started.verification_uri,
        format!("{ISSUER}/docs/.gatehouse/device")
    );
    world.mount.set("/");
    let session = world.login("alice@example.com");
    assert!(matches!(
        submit(&world, &session, &started.user_code, None),
        DevicePage::Enter(prompt) if prompt.error.is_some()
    ));
    assert_eq!(
        reason(poll(&world, &client, &started.device_code)),
        Reason::DeviceCodeUnknown
    );
    world.mount.set("/docs");
    decide(&world, "alice@example.com", &started.user_code, "approve");
    let tokens = poll(&world, &client, &started.device_code).unwrap();
    assert_eq!(
        claims(&tokens.access_token)["aud"],
        format!("{ISSUER}/docs")
    );
}
