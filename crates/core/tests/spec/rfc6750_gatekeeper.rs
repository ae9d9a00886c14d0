//! The gatekeeper in front of a protected app: RFC 6750 §2.1 and §3 (Bearer tokens and their
//! challenges), RFC 9728 §5.1 (`resource_metadata` in the challenge), RFC 9068 §4 (token
//! validation at the resource), route scopes, policy on every request, browser sessions, and
//! the identity assertion the origin receives.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::gatekeeper::assertion::{self, AssertionClaims};
use gatehouse_core::gatekeeper::{Gate, GateRequest};
use gatehouse_core::login::{SESSION_IDLE_SECS, SESSION_TTL_SECS};

use crate::support::*;

#[test]
fn an_agent_without_a_token_gets_a_401_that_leads_to_the_metadata() {
    let world = World::new();
    let (status, header, error) = challenge(gate(&world, api("GET", None)));
    assert_eq!(status, 401);
    assert_eq!(
        error, None,
        "RFC 6750 §3.1: no error code when no token was sent"
    );
    assert_eq!(
        header,
        "Bearer resource_metadata=\"https://wiki.test/.well-known/oauth-protected-resource\", scope=\"read\""
    );
    let (_, header, _) = challenge(gate(&world, api("POST", None)));
    assert!(
        header.contains("scope=\"write\""),
        "the challenge names the scope the route needs: {header}"
    );
}

/// The challenge to a request with no credentials decides nothing about anyone, and anyone can
/// ask for it: it writes no decision line (README "Logs"). A token, even a forged one, does.
#[test]
fn a_request_without_credentials_leaves_no_decision_line_and_a_forged_token_does() {
    let world = World::new();
    let decided = |authorization: Option<&str>| {
        let server = world.server();
        let req = api("GET", authorization);
        let gate = block_on(server.gate(&req, &world.signer)).unwrap();
        assert!(matches!(gate, Gate::Challenge { .. }), "{gate:?}");
        server.decision.is_logged()
    };
    assert!(!decided(None), "no token, no session: nothing to log");
    assert!(decided(Some("Bearer made-up")), "a refused token is logged");
}

#[test]
fn a_browser_without_a_session_is_sent_to_log_in_and_back() {
    let world = World::new();
    let req = GateRequest {
        method: "GET",
        path: "/docs/page",
        query: Some("x=1&y=2"),
        accept: Some("text/html,application/xhtml+xml"),
        sec_fetch_mode: Some("navigate"),
        ..GateRequest::default()
    };
    match gate(&world, req) {
        Gate::SignIn { location } => assert_eq!(
            location,
            "/.gatehouse/login?return_to=%2Fdocs%2Fpage%3Fx%3D1%26y%3D2"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_valid_token_lets_the_agent_in_as_the_person() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let identity = allowed(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!(identity.person.email, "alice@example.com");
    let agent = identity.agent.unwrap();
    assert_eq!(agent.client_id, client.id);
    assert_eq!(agent.client_name.as_deref(), Some("Agent"));
    assert_eq!(identity.scopes.to_string(), "read");
}

#[test]
fn a_route_needing_a_scope_the_token_lacks_is_403_insufficient_scope() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let (status, header, error) = challenge(gate(
        &world,
        api("POST", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!((status, error), (403, Some(Reason::InsufficientScope)));
    assert!(
        header.contains("error=\"insufficient_scope\"") && header.contains("scope=\"write\""),
        "{header}"
    );
    assert!(header.contains("resource_metadata="), "{header}");
}

#[test]
fn expired_forged_and_malformed_tokens_are_401_invalid_token() {
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    // Another signature of the right length: the first character changed.
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{first}{}", &signature[1..]);
    for (authorization, reason) in [
        (bearer(&tampered), Reason::TokenSignatureInvalid),
        (bearer("not-a-jwt"), Reason::TokenMalformed),
        ("Bearer a b".to_owned(), Reason::TokenMalformed),
    ] {
        let (status, header, error) = challenge(gate(&world, api("GET", Some(&authorization))));
        assert_eq!((status, error), (401, Some(reason)), "{authorization}");
        assert!(header.contains("error=\"invalid_token\""), "{header}");
    }
    world
        .clock
        .advance(world.config.apps[0].access_token_ttl_secs);
    let (status, _, error) = challenge(gate(&world, api("GET", Some(&bearer(&token)))));
    assert_eq!((status, error), (401, Some(Reason::TokenExpired)));
}

#[test]
fn a_token_for_one_app_is_refused_at_another() {
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    let req = api("GET", Some(&bearer(&token)));
    let at_files = block_on(world.server_at(OTHER_ISSUER).gate(&req, &world.signer)).unwrap();
    let (status, _, error) = challenge(at_files);
    assert_eq!((status, error), (401, Some(Reason::TokenIssuerMismatch)));
}

#[test]
fn a_revoked_grant_is_refused_at_once() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let body = form(&[
        ("token", tokens.refresh_token.as_deref().unwrap()),
        ("client_id", client.id.as_str()),
    ]);
    world.revoke(body.as_bytes(), None).unwrap();
    let (status, _, error) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!((status, error), (401, Some(Reason::TokenRevoked)));
}

#[test]
fn the_policy_is_applied_on_every_request() {
    let mut world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    world.config.apps[0]
        .policy
        .deny_emails
        .push("alice@example.com".into());
    let (status, _, error) = challenge(gate(&world, api("GET", Some(&bearer(&token)))));
    assert_eq!((status, error), (401, Some(Reason::TokenPolicyDenied)));
}

#[test]
fn a_token_in_the_query_string_is_refused() {
    let world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    let query = format!("access_token={token}");
    let req = GateRequest {
        query: Some(&query),
        ..api("GET", Some(&bearer(&token)))
    };
    let (status, header, error) = challenge(gate(&world, req));
    assert_eq!((status, error), (400, Some(Reason::TokenInQuery)));
    assert!(header.contains("error=\"invalid_request\""));
}

#[test]
fn public_paths_need_nothing() {
    let world = World::new();
    let req = GateRequest {
        method: "GET",
        path: "/health",
        ..GateRequest::default()
    };
    assert!(matches!(gate(&world, req), Gate::Public));
}

#[test]
fn a_cors_preflight_passes_without_credentials_but_a_plain_options_does_not() {
    let world = World::new();
    let preflight = GateRequest {
        method: "OPTIONS",
        path: "/api/notes",
        cors_request_method: Some("POST"),
        ..GateRequest::default()
    };
    assert!(matches!(gate(&world, preflight), Gate::Public));
    let plain = GateRequest {
        method: "OPTIONS",
        path: "/api/notes",
        ..GateRequest::default()
    };
    assert!(matches!(
        gate(&world, plain),
        Gate::Challenge { status: 401, .. }
    ));
}

#[test]
fn with_agents_switched_off_tokens_are_refused() {
    let mut world = World::new();
    let client = world.public_client();
    let token = world.tokens(&client).access_token;
    world.config.apps[0].agents = false;
    let (status, _, error) = challenge(gate(&world, api("GET", Some(&bearer(&token)))));
    assert_eq!((status, error), (401, Some(Reason::AgentsNotAdmitted)));
}

#[test]
fn a_session_lets_the_person_in_with_every_scope_until_it_idles_out_or_ends() {
    let world = World::new();
    let session = world.login("alice@example.com");
    let req = GateRequest {
        session: Some(&session),
        ..api("POST", None)
    };
    let identity = allowed(gate(&world, req));
    assert_eq!(identity.agent, None);
    assert_eq!(identity.scopes.to_string(), "read write");
    world.clock.advance(SESSION_IDLE_SECS - 1);
    allowed(gate(&world, req));
    world.clock.advance(SESSION_IDLE_SECS - 1);
    allowed(gate(&world, req));
    // Used often enough, it still ends at the absolute timeout.
    world.clock.advance(SESSION_TTL_SECS);
    assert!(matches!(
        gate(&world, req),
        Gate::Challenge { status: 401, .. }
    ));
}

#[test]
fn an_idle_session_is_over() {
    let world = World::new();
    let session = world.login("alice@example.com");
    world.clock.advance(SESSION_IDLE_SECS);
    let req = GateRequest {
        session: Some(&session),
        ..api("GET", None)
    };
    assert!(matches!(
        gate(&world, req),
        Gate::Challenge { status: 401, .. }
    ));
}

#[test]
fn a_session_from_one_app_is_no_session_at_another() {
    let world = World::new();
    let session = world.login("bob@example.com");
    let req = GateRequest {
        session: Some(&session),
        ..api("GET", None)
    };
    let at_files = block_on(world.server_at(OTHER_ISSUER).gate(&req, &world.signer)).unwrap();
    assert!(matches!(at_files, Gate::Challenge { status: 401, .. }));
}

#[test]
fn a_logged_in_person_outside_the_policy_is_forbidden() {
    let world = World::new();
    let session = world.login("eve@evil.example");
    let req = GateRequest {
        session: Some(&session),
        ..api("GET", None)
    };
    assert!(
        matches!(gate(&world, req), Gate::Forbidden(person) if person.email == "eve@evil.example")
    );
}

#[test]
fn logout_ends_the_session_and_needs_the_csrf_token() {
    let world = World::new();
    let session = world.login("alice@example.com");
    let body = form(&[("csrf_token", CSRF)]);
    assert!(
        block_on(
            world
                .server()
                .logout(body.as_bytes(), Some(&session), Some("forged"))
        )
        .is_err()
    );
    assert!(
        block_on(world.server().person(Some(&session)))
            .unwrap()
            .is_some()
    );
    block_on(
        world
            .server()
            .logout(body.as_bytes(), Some(&session), Some(CSRF)),
    )
    .unwrap();
    assert!(
        block_on(world.server().person(Some(&session)))
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_origin_assertion_names_person_and_agent_and_verifies_independently() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let identity = allowed(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    let server = world.server();
    let claims = AssertionClaims::new(&server.site, &identity, server.now);
    let jwt = block_on(assertion::sign(&world.signer, &claims)).unwrap();
    let jwks = block_on(gatehouse_core::jose::signer::Signer::jwks(&world.signer)).unwrap();
    let verified = gatehouse_core::testing::verify_with_jwt_compact(&jwks, &jwt).unwrap();
    assert_eq!(verified["aud"], ISSUER);
    assert_eq!(verified["email"], "alice@example.com");
    assert_eq!(verified["client_id"], client.id.as_str());
    assert_eq!(verified["client_name"], "Agent");
    assert_eq!(verified["scope"], "read");
    assert_eq!(
        verified["exp"].as_u64().unwrap() - verified["iat"].as_u64().unwrap(),
        assertion::TTL_SECS
    );
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], assertion::TYP);
    // An assertion is not an access token, even though the same key signs both.
    assert!(matches!(
        block_on(gatehouse_core::access_token::verify(
            &world.signer,
            &jwt,
            ISSUER,
            server.now
        )),
        Err(gatehouse_core::access_token::VerifyError::Invalid(
            Reason::TokenMalformed
        ))
    ));
    let plain = assertion::plain_headers(&identity);
    assert!(plain.contains(&("Gatehouse-Email", "alice@example.com".into())));
    assert!(plain.contains(&("Gatehouse-Client-Name", "Agent".into())));
    let _ = ErrorCode::InvalidToken;
}

/// Issue 15, §1: a method no route names (`PROPFIND`, `MKCOL`) needed no scope at all, so a
/// `read` token could act on `/api/**`, where every write needs `write`. Now it needs every scope
/// of the rules covering the path, and the challenge names them all (RFC 6750 §3).
#[test]
fn a_method_no_rule_names_needs_every_scope_the_path_asks_for() {
    let world = World::new();
    let client = world.public_client();
    let read = bearer(&world.tokens(&client).access_token);
    for method in ["PROPFIND", "MKCOL", "MOVE", "LOCK", "OPTIONS", "BREW"] {
        let (status, header, error) = challenge(gate(&world, api(method, Some(&read))));
        assert_eq!(
            (status, error),
            (403, Some(Reason::InsufficientScope)),
            "{method}"
        );
        assert!(
            header.contains("scope=\"read write\""),
            "{method}: {header}"
        );
        let (status, header, _) = challenge(gate(&world, api(method, None)));
        assert_eq!(status, 401, "{method}");
        assert!(
            header.contains("scope=\"read write\""),
            "{method}: {header}"
        );
    }
    // A person in their own browser has every scope of the app.
    let session = world.login("alice@example.com");
    let req = GateRequest {
        session: Some(&session),
        ..api("PROPFIND", None)
    };
    assert_eq!(allowed(gate(&world, req)).scopes.to_string(), "read write");
    // Where no rule covers the path, a valid token is enough, whatever the method.
    let elsewhere = GateRequest {
        path: "/pages/x",
        ..api("PROPFIND", Some(&read))
    };
    allowed(gate(&world, elsewhere));
}

/// Issue 15, §2: `POST /api//notes` was judged outside `/api/**` (which needs `write`) and passed
/// with a `read` token; `/health/..;/api/notes` passed as the public `/health` path would, to a
/// Servlet origin that reads `..;` as `..`. Such paths are refused with `400` before anything
/// else is looked at, public paths and preflights included.
#[test]
fn paths_an_origin_could_read_otherwise_are_refused_first() {
    let world = World::new();
    let client = world.public_client();
    let read = bearer(&world.tokens(&client).access_token);
    for path in [
        "/api//notes",
        "//api/notes",
        "/api;x/notes",
        "/api%3b/notes",
        "/api./notes",
        "/api%20/notes",
        "/api%00/notes",
        "/api%2fnotes",
        "/health/..;/api/notes",
    ] {
        for req in [
            GateRequest {
                path,
                ..api("POST", Some(&read))
            },
            GateRequest {
                path,
                ..api("GET", None)
            },
            GateRequest {
                path,
                cors_request_method: Some("POST"),
                ..api("OPTIONS", None)
            },
        ] {
            match gate(&world, req) {
                Gate::Refused(error) => {
                    assert_eq!(error.reason, Reason::PathAmbiguous, "{path}");
                    assert_eq!(error.status(), 400);
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }
}

/// Issue 15, §1: a `GET` with a body was a `500` (the runtime cannot forward one). It is a `400`
/// now; other methods carry their bodies.
#[test]
fn a_get_or_head_with_a_body_is_refused() {
    let world = World::new();
    let client = world.public_client();
    let read = bearer(&world.tokens(&client).access_token);
    for method in ["GET", "HEAD"] {
        let req = GateRequest {
            has_body: true,
            ..api(method, Some(&read))
        };
        match gate(&world, req) {
            Gate::Refused(error) => assert_eq!(error.reason, Reason::BodyOnGetOrHead),
            other => panic!("{method}: {other:?}"),
        }
        allowed(gate(&world, api(method, Some(&read))));
    }
    let session = world.login("alice@example.com");
    let post = GateRequest {
        has_body: true,
        session: Some(&session),
        ..api("POST", None)
    };
    allowed(gate(&world, post));
}
