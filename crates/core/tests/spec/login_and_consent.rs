//! Login with local accounts and the consent form: CSRF on both, no account enumeration, the
//! consent page's content, and the session as the only proof of who approves.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::Reason;
use gatehouse_core::login::LoginOutcome;
use gatehouse_core::server::AuthorizeOutcome;
use gatehouse_core::testing::RustPbkdf2;

use crate::support::*;

fn login(world: &World, email: &str, password: &str, csrf_cookie: Option<&str>) -> LoginOutcome {
    let body = form(&[
        ("email", email),
        ("password", password),
        ("csrf_token", CSRF),
        ("return_to", "/oauth/authorize?client_id=x"),
    ]);
    block_on(
        world
            .server()
            .login(body.as_bytes(), csrf_cookie, &RustPbkdf2),
    )
    .unwrap()
}

fn retry_error(outcome: LoginOutcome) -> &'static str {
    match outcome {
        LoginOutcome::Retry(prompt) => prompt.error.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_right_password_opens_a_session_and_returns_to_the_request() {
    let world = World::new();
    match login(&world, "Alice@Example.com ", PASSWORD, Some(CSRF)) {
        LoginOutcome::LoggedIn {
            session, return_to, ..
        } => {
            assert_eq!(return_to, "/oauth/authorize?client_id=x");
            let person = block_on(world.server().person(Some(session.expose_secret())))
                .unwrap()
                .unwrap();
            assert_eq!(person.email, "alice@example.com");
            assert!(
                !world.store.dump().contains(session.expose_secret()),
                "raw session id stored"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Session cookies carry a MAC (`session_cookie`): one gatehouse did not issue is refused
/// before storage is asked, so made-up cookies cannot make every request a D1 query. Shown with
/// storage down: a forged cookie is simply no session, an issued one reaches storage.
#[test]
fn a_session_cookie_gatehouse_did_not_issue_never_reaches_storage() {
    let world = World::new();
    let issued = world.login("alice@example.com");
    let (id, tag) = issued.split_once('.').unwrap();
    let other = world.login("bob@example.com");
    let other_id = other.split_once('.').unwrap().0;
    let other_tag = if tag.starts_with('A') { "B" } else { "A" };
    world.store.down.set(true);
    for forged in [
        "made-up".to_owned(),
        format!("{id}.{other_tag}{}", &tag[1..]),
        id.to_owned(),
        format!("{other_id}.{tag}"),
    ] {
        let person = block_on(world.server().person(Some(&forged)));
        assert!(matches!(person, Ok(None)), "{forged}: {person:?}");
    }
    assert!(
        block_on(world.server().person(Some(&issued))).is_err(),
        "an issued cookie is looked up"
    );
    world.store.down.set(false);
    assert!(
        block_on(world.server().person(Some(&issued)))
            .unwrap()
            .is_some()
    );
}

#[test]
fn wrong_password_and_unknown_email_get_the_same_answer() {
    let world = World::new();
    let wrong = retry_error(login(&world, "alice@example.com", "wrong", Some(CSRF)));
    let unknown = retry_error(login(&world, "nobody@example.com", PASSWORD, Some(CSRF)));
    assert_eq!(wrong, unknown);
    assert_eq!(
        retry_error(login(&world, "alice@example.com", "", Some(CSRF))),
        wrong
    );
}

#[test]
fn a_login_without_the_csrf_cookie_is_refused() {
    let world = World::new();
    assert!(retry_error(login(&world, "alice@example.com", PASSWORD, None)).contains("expired"));
    assert!(
        retry_error(login(&world, "alice@example.com", PASSWORD, Some("other")))
            .contains("expired")
    );
}

#[test]
fn sessions_expire() {
    let world = World::new();
    let session = world.login("alice@example.com");
    world.clock.advance(gatehouse_core::login::SESSION_TTL_SECS);
    assert!(
        block_on(world.server().person(Some(&session)))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_consent_without_matching_csrf_is_refused_with_a_page() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    let body = form(&[
        ("authorization_request", query.as_str()),
        ("decision", "approve"),
        ("csrf_token", CSRF),
    ]);
    for cookie in [None, Some("forged")] {
        match block_on(
            world
                .server()
                .consent(body.as_bytes(), Some(&session), cookie),
        ) {
            Err(AuthorizeError::Render(reason)) => assert_eq!(reason, Reason::CsrfMismatch),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_consent_without_a_session_asks_to_log_in() {
    let world = World::new();
    let client = world.public_client();
    let query = world.authorization_query(&client, REDIRECT, &[]);
    let body = form(&[
        ("authorization_request", query.as_str()),
        ("decision", "approve"),
        ("csrf_token", CSRF),
    ]);
    let outcome = block_on(world.server().consent(body.as_bytes(), None, Some(CSRF))).unwrap();
    assert!(matches!(outcome, AuthorizeOutcome::Login(_)));
}

#[test]
fn a_tampered_consent_request_is_checked_again() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let evil = world.authorization_query(&client, "https://evil.example/cb", &[]);
    match world.decide(&evil, &session, "approve") {
        Err(AuthorizeError::Render(reason)) => assert_eq!(reason, Reason::RedirectUriMismatch),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_consent_prompt_names_agent_app_scopes_and_destination() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[("scope", "read write")]);
    match world.authorize(&query, Some(&session)).unwrap() {
        AuthorizeOutcome::Consent(prompt) => {
            assert_eq!(prompt.client_name, "Agent");
            assert_eq!(prompt.app_name, "Wiki");
            assert_eq!(prompt.redirect_destination, "127.0.0.1");
            assert!(prompt.redirect_is_loopback);
            assert_eq!(
                prompt.scopes,
                vec![
                    ("read".into(), "Read pages".into()),
                    ("write".into(), "Edit pages".into())
                ]
            );
            assert_eq!(prompt.person_email, "alice@example.com");
            assert_eq!(prompt.request, query);
        }
        other => panic!("{other:?}"),
    }
}
