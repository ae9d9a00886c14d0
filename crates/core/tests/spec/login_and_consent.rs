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

// Remembered consent and loopback ports (issue 15 §5, RFC 8252 §8.6).

/// Whether `query` is answered at once (remembered consent) rather than with a prompt.
fn auto_approved(world: &World, query: &str, session: &str) -> bool {
    match world.authorize(query, Some(session)).unwrap() {
        AuthorizeOutcome::Redirect(_) => true,
        AuthorizeOutcome::Consent(_) => false,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_public_clients_remembered_consent_holds_only_for_the_port_the_person_approved() {
    // Issue 15 §5: remembered consent used to auto-approve a public client's request to any
    // loopback port, so any program on the person's machine could name the client, listen on
    // a port of its own and collect a code without a prompt.
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    world.authorize_and_consent(&client, &session, &[]);
    let approved = world.authorization_query(&client, REDIRECT, &[]);
    assert!(auto_approved(&world, &approved, &session));
    let elsewhere = "http://127.0.0.1:5555/callback";
    let other_port = world.authorization_query(&client, elsewhere, &[]);
    assert!(!auto_approved(&world, &other_port, &session));
    // Approving the new port moves the remembered redirect URI there.
    match world.decide(&other_port, &session, "approve").unwrap() {
        AuthorizeOutcome::Redirect(location) => assert!(location.starts_with(elsewhere)),
        other => panic!("{other:?}"),
    }
    assert!(auto_approved(&world, &other_port, &session));
    assert!(!auto_approved(&world, &approved, &session));
}

#[test]
fn a_confidential_clients_remembered_consent_holds_for_any_loopback_port() {
    // A confidential client proves who it is at the token endpoint, so a code sent to another
    // port is useless without its secret: consent stays remembered as before.
    let world = World::new();
    let client = world.register(&format!(
        r#"{{"client_name":"Desktop agent","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"client_secret_basic"}}"#
    ));
    assert!(client.secret.is_some());
    let session = world.login("alice@example.com");
    let first = world.authorization_query(&client, REDIRECT, &[]);
    assert!(!auto_approved(&world, &first, &session));
    world.decide(&first, &session, "approve").unwrap();
    let other_port = world.authorization_query(&client, "http://127.0.0.1:5555/callback", &[]);
    assert!(auto_approved(&world, &other_port, &session));
}

// Failed-login bounds (issue 15 §5; crates/core/src/login_throttle.rs).

/// PBKDF2 that counts its derivations: what an anonymous request costs in CPU.
#[derive(Default)]
struct CountingPbkdf2(std::cell::Cell<u32>);

impl gatehouse_core::password::Pbkdf2 for CountingPbkdf2 {
    async fn derive(
        &self,
        password: &[u8],
        salt: &[u8],
        rounds: u32,
        len: usize,
    ) -> Option<Vec<u8>> {
        self.0.set(self.0.get() + 1);
        RustPbkdf2.derive(password, salt, rounds, len).await
    }
}

/// A login from `source` with the CSRF pair right.
fn login_from(
    world: &World,
    kdf: &CountingPbkdf2,
    source: &str,
    email: &str,
    password: &str,
) -> LoginOutcome {
    let body = form(&[
        ("email", email),
        ("password", password),
        ("csrf_token", CSRF),
        ("return_to", "/"),
    ]);
    block_on(world.server().with_source(Some(source.to_owned())).login(
        body.as_bytes(),
        Some(CSRF),
        kdf,
    ))
    .unwrap()
}

fn throttled(outcome: &LoginOutcome) -> Option<u64> {
    match outcome {
        LoginOutcome::Throttled {
            prompt,
            retry_after_secs,
        } => {
            assert!(prompt.error.unwrap().contains("Too many failed logins"));
            Some(*retry_after_secs)
        }
        _ => None,
    }
}

#[test]
fn failed_logins_from_one_address_are_bounded_before_any_hashing() {
    use gatehouse_core::login_throttle::{MAX_FAILURES_PER_SOURCE, WINDOW_SECS};
    let world = World::new();
    let kdf = CountingPbkdf2::default();
    let guesser = "198.51.100.7";
    for i in 0..MAX_FAILURES_PER_SOURCE {
        // Spread over accounts, known or not: the address is what is bounded.
        let email = format!("user{}@example.com", i % 3);
        let outcome = login_from(&world, &kdf, guesser, &email, "guess");
        assert_eq!(throttled(&outcome), None, "attempt {i}");
        world.clock.advance(1);
    }
    assert_eq!(kdf.0.get(), MAX_FAILURES_PER_SOURCE as u32);
    // The next attempt, even with the right password, is refused without a derivation, and
    // told when the oldest failure leaves the window.
    let refused = login_from(&world, &kdf, guesser, "alice@example.com", PASSWORD);
    assert_eq!(
        throttled(&refused),
        Some(WINDOW_SECS - MAX_FAILURES_PER_SOURCE)
    );
    assert_eq!(kdf.0.get(), MAX_FAILURES_PER_SOURCE as u32);
    // Refusals are not counted, so they do not push the end further away.
    for _ in 0..50 {
        login_from(&world, &kdf, guesser, "bob@example.com", "guess");
    }
    assert_eq!(kdf.0.get(), MAX_FAILURES_PER_SOURCE as u32);
    // Another address is not affected.
    assert!(matches!(
        login_from(&world, &kdf, "198.51.100.8", "alice@example.com", PASSWORD),
        LoginOutcome::LoggedIn { .. }
    ));
    // When the window has passed, the address may try again.
    world.clock.advance(WINDOW_SECS);
    assert!(matches!(
        login_from(&world, &kdf, guesser, "alice@example.com", PASSWORD),
        LoginOutcome::LoggedIn { .. }
    ));
}

#[test]
fn guessing_at_an_account_from_many_addresses_cannot_lock_its_owner_out_at_home() {
    use gatehouse_core::login_throttle::{MAX_FAILURES_PER_ACCOUNT, WINDOW_SECS};
    let world = World::new();
    let kdf = CountingPbkdf2::default();
    let home = "203.0.113.5";
    assert!(matches!(
        login_from(&world, &kdf, home, "alice@example.com", PASSWORD),
        LoginOutcome::LoggedIn { .. }
    ));
    // A botnet guesses alice's password, one attempt per address.
    for i in 0..MAX_FAILURES_PER_ACCOUNT {
        let outcome = login_from(
            &world,
            &kdf,
            &format!("198.51.100.{i}"),
            "alice@example.com",
            "guess",
        );
        assert_eq!(throttled(&outcome), None, "attempt {i}");
    }
    let derivations = kdf.0.get();
    let next = login_from(&world, &kdf, "198.51.100.200", "alice@example.com", "guess");
    assert_eq!(throttled(&next), Some(WINDOW_SECS));
    assert_eq!(kdf.0.get(), derivations, "a throttled login costs no hash");
    // Alice, at the address she logged in from before, is not kept out ...
    assert!(matches!(
        login_from(&world, &kdf, home, "alice@example.com", PASSWORD),
        LoginOutcome::LoggedIn { .. }
    ));
    // ... nor is bob, whose account nobody guesses at.
    assert!(matches!(
        login_from(&world, &kdf, "198.51.100.201", "bob@example.com", PASSWORD),
        LoginOutcome::LoggedIn { .. }
    ));
    // From a new address she waits for the window, never longer.
    let travelling = "192.0.2.77";
    assert!(
        throttled(&login_from(
            &world,
            &kdf,
            travelling,
            "alice@example.com",
            PASSWORD
        ))
        .is_some()
    );
    world.clock.advance(WINDOW_SECS);
    assert!(matches!(
        login_from(&world, &kdf, travelling, "alice@example.com", PASSWORD),
        LoginOutcome::LoggedIn { .. }
    ));
}

#[test]
fn failed_logins_are_audited_and_unknown_emails_are_not_kept() {
    use gatehouse_core::model::audit::AuditKind;
    let world = World::new();
    let kdf = CountingPbkdf2::default();
    login_from(&world, &kdf, "198.51.100.7", "alice@example.com", "guess");
    login_from(&world, &kdf, "198.51.100.7", "hunter2@example.com", "guess");
    let audit = world.store.audit.borrow();
    let failed: Vec<_> = audit
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.kind == AuditKind::LoginFailed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0].subject.as_deref(),
        Some("local:alice@example.com")
    );
    assert_eq!(failed[0].detail["account_known"], true);
    assert_eq!(failed[0].source.as_deref(), Some("198.51.100.7"));
    assert_eq!(failed[1].subject, None);
    assert_eq!(failed[1].detail["account_known"], false);
    assert!(
        !world.store.dump().contains("hunter2"),
        "a typed email reached storage"
    );
}

#[test]
fn forged_or_empty_forms_cost_no_hash() {
    let world = World::new();
    let kdf = CountingPbkdf2::default();
    let source = Some("198.51.100.7".to_owned());
    type Fields<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Fields, Option<&str>); 4] = [
        // No CSRF cookie, or a mismatched one.
        (
            &[
                ("email", "alice@example.com"),
                ("password", "guess"),
                ("csrf_token", CSRF),
            ],
            None,
        ),
        (
            &[
                ("email", "alice@example.com"),
                ("password", "guess"),
                ("csrf_token", "x"),
            ],
            Some(CSRF),
        ),
        // Empty fields.
        (
            &[("email", ""), ("password", "guess"), ("csrf_token", CSRF)],
            Some(CSRF),
        ),
        (
            &[
                ("email", "alice@example.com"),
                ("password", ""),
                ("csrf_token", CSRF),
            ],
            Some(CSRF),
        ),
    ];
    for (fields, cookie) in cases {
        let body = form(fields);
        let outcome = block_on(world.server().with_source(source.clone()).login(
            body.as_bytes(),
            cookie,
            &kdf,
        ))
        .unwrap();
        assert!(matches!(outcome, LoginOutcome::Retry(_)), "{fields:?}");
    }
    let oversized = "x".repeat(gatehouse_core::password::MAX_PASSWORD_BYTES + 1);
    let body = form(&[
        ("email", "alice@example.com"),
        ("password", &oversized),
        ("csrf_token", CSRF),
    ]);
    let outcome = block_on(world.server().login(body.as_bytes(), Some(CSRF), &kdf)).unwrap();
    assert!(matches!(outcome, LoginOutcome::Retry(_)));
    assert_eq!(kdf.0.get(), 0);
}
