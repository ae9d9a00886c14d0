//! RFC 6749 §4.1 (authorization code grant), with OAuth 2.1's rules and RFC 9207's `iss`:
//! §4.1.1 the request, §4.1.2 the response and its errors, §4.1.3 the token request,
//! §10.5 single-use codes.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::server::AuthorizeOutcome;

use crate::support::*;

#[test]
fn the_whole_flow_issues_a_token_bound_to_person_client_and_app() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let location = world.authorize_and_consent(&client, &session, &[("scope", "read write")]);
    assert!(location.starts_with(REDIRECT));
    assert_eq!(param(&location, "state").as_deref(), Some("st4te"));
    // RFC 9207 §2: the issuer travels with the code.
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
    let tokens = world
        .exchange(&client, &param(&location, "code").unwrap())
        .unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.scope, "read write");
    assert!(tokens.refresh_token.is_some());
    let claims = claims(&tokens.access_token);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], ISSUER);
    assert_eq!(claims["sub"], "local:alice@example.com");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["scope"], "read write");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        tokens.expires_in
    );
}

#[test]
fn an_unauthenticated_person_is_asked_to_log_in_and_sent_back() {
    let world = World::new();
    let client = world.public_client();
    let query = world.authorization_query(&client, REDIRECT, &[]);
    match world.authorize(&query, None).unwrap() {
        AuthorizeOutcome::Login(prompt) => {
            assert_eq!(prompt.return_to, format!("/oauth/authorize?{query}"));
            assert_eq!(prompt.app_name, "Wiki");
            // Issue 18: the login page says an agent is asking, naming it as consent will
            // (a registered name, so not verified: no document host).
            let agent = prompt.agent.expect("the login prompt names the agent");
            assert_eq!(agent.name, "Agent");
            assert_eq!(agent.document_host, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        world.authorize(&query, Some("not-a-session")).unwrap(),
        AuthorizeOutcome::Login(_)
    ));
}

#[test]
fn remembered_consent_skips_the_prompt_but_a_new_scope_asks_again() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    world.authorize_and_consent(&client, &session, &[("scope", "read")]);
    let again = world.authorization_query(&client, REDIRECT, &[("scope", "read")]);
    assert!(matches!(
        world.authorize(&again, Some(&session)).unwrap(),
        AuthorizeOutcome::Redirect(_)
    ));
    let wider = world.authorization_query(&client, REDIRECT, &[("scope", "read write")]);
    assert!(matches!(
        world.authorize(&wider, Some(&session)).unwrap(),
        AuthorizeOutcome::Consent(_)
    ));
}

fn render_reason(world: &World, query: &str) -> Reason {
    let session = world.login("alice@example.com");
    match world.authorize(query, Some(&session)) {
        Err(AuthorizeError::Render(reason)) => reason,
        other => panic!("expected an error page, got {other:?}"),
    }
}

#[test]
fn an_unknown_client_or_unregistered_redirect_gets_a_page_never_a_redirect() {
    let world = World::new();
    let client = world.public_client();
    let stranger = Client {
        id: "c_unknown".into(),
        secret: None,
    };
    assert_eq!(
        render_reason(&world, &world.authorization_query(&stranger, REDIRECT, &[])),
        Reason::ClientUnknown
    );
    for redirect in [
        "https://evil.example/callback",
        "http://127.0.0.1:4242/callback/../evil",
        "http://127.0.0.1:4242/callbackx",
        "http://127.0.0.1:4242/callback?x=1",
        "http://localhost:4242/callback",
        "HTTP://127.0.0.1:4242/callback",
    ] {
        let query = world.authorization_query(&client, redirect, &[]);
        assert_eq!(
            render_reason(&world, &query),
            Reason::RedirectUriMismatch,
            "{redirect}"
        );
    }
    let no_client = form(&[("response_type", "code"), ("redirect_uri", REDIRECT)]);
    assert_eq!(render_reason(&world, &no_client), Reason::ClientIdMissing);
    let twice = format!(
        "{}&client_id=other",
        world.authorization_query(&client, REDIRECT, &[])
    );
    assert_eq!(render_reason(&world, &twice), Reason::DuplicateParameter);
}

#[test]
fn a_loopback_redirect_may_change_port_but_nothing_else() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, "http://127.0.0.1:50123/callback", &[]);
    assert!(matches!(
        world.authorize(&query, Some(&session)).unwrap(),
        AuthorizeOutcome::Consent(_)
    ));
}

fn redirected_error(world: &World, query: &str) -> (String, Reason) {
    let session = world.login("alice@example.com");
    match world.authorize(query, Some(&session)) {
        Err(AuthorizeError::Redirect { to, state, error }) => {
            let location = to.with_error(&error, state.as_ref(), ISSUER);
            (location, error.reason)
        }
        other => panic!("expected a redirected error, got {other:?}"),
    }
}

#[test]
fn errors_after_the_redirect_is_known_go_back_with_state_and_iss() {
    let world = World::new();
    let client = world.public_client();
    let (location, reason) = redirected_error(
        &world,
        &world.authorization_query(&client, REDIRECT, &[("scope", "admin")]),
    );
    assert_eq!(reason, Reason::ScopeNotOffered);
    assert!(location.starts_with(REDIRECT));
    assert_eq!(param(&location, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(param(&location, "state").as_deref(), Some("st4te"));
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
}

#[test]
fn only_the_code_response_type_is_supported() {
    let world = World::new();
    let client = world.public_client();
    for response_type in ["token", "id_token", "code token"] {
        let query = world.authorization_query(&client, REDIRECT, &[]).replace(
            "response_type=code",
            &format!("response_type={}", response_type.replace(' ', "+")),
        );
        let (location, reason) = redirected_error(&world, &query);
        assert_eq!(reason, Reason::ResponseTypeUnsupported, "{response_type}");
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("unsupported_response_type")
        );
    }
}

#[test]
fn a_repeated_parameter_is_refused() {
    let world = World::new();
    let client = world.public_client();
    let query = format!(
        "{}&scope=read&scope=write",
        world.authorization_query(&client, REDIRECT, &[])
    );
    assert_eq!(
        redirected_error(&world, &query).1,
        Reason::DuplicateParameter
    );
}

#[test]
fn scopes_are_narrowed_to_what_the_app_offers() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let location = world.authorize_and_consent(&client, &session, &[("scope", "read admin")]);
    let tokens = world
        .exchange(&client, &param(&location, "code").unwrap())
        .unwrap();
    assert_eq!(tokens.scope, "read");
}

#[test]
fn without_a_scope_the_apps_default_is_granted() {
    let world = World::new();
    let client = world.public_client();
    assert_eq!(world.tokens(&client).scope, "read");
}

#[test]
fn a_person_outside_the_policy_is_refused_with_access_denied() {
    let world = World::new();
    let client = world.public_client();
    for email in ["eve@evil.example", "mallory@example.com"] {
        let session = world.login(email);
        let query = world.authorization_query(&client, REDIRECT, &[]);
        match world.authorize(&query, Some(&session)) {
            Err(AuthorizeError::Redirect { error, .. }) => {
                assert_eq!(error.reason, Reason::PolicyDenied);
                assert_eq!(error.code, ErrorCode::AccessDenied);
            }
            other => panic!("{email}: {other:?}"),
        }
    }
}

#[test]
fn denying_consent_sends_access_denied() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    match world.decide(&query, &session, "deny") {
        Err(AuthorizeError::Redirect { error, .. }) => {
            assert_eq!(error.code, ErrorCode::AccessDenied)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_code_works_once_and_its_replay_revokes_the_grant() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let tokens = world.exchange(&client, &code).unwrap();
    let replay = error_of(world.exchange(&client, &code));
    assert_eq!(
        (replay.code, replay.reason),
        (ErrorCode::InvalidGrant, Reason::CodeReplayed)
    );
    // RFC 6749 §4.1.2: tokens issued from the code are revoked with it.
    let refresh = error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap()));
    assert_eq!(refresh.code, ErrorCode::InvalidGrant);
}

#[test]
fn a_code_whose_grant_was_revoked_before_the_exchange_is_refused() {
    use gatehouse_core::store::{GrantStore, RevocationReason};
    use gatehouse_core::types::ClientId;
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    // The person revokes the agent between approving it and the agent exchanging its code.
    let client_id = ClientId::parse(&client.id).unwrap();
    let grants = block_on(world.store.grants_matching(None, None, Some(&client_id))).unwrap();
    let reason = RevocationReason::PersonRequest;
    for grant in &grants {
        block_on(
            world
                .store
                .revoke_grant(&grant.grant_id, reason, world.server().now),
        )
        .unwrap();
    }
    let refused = error_of(world.exchange(&client, &code));
    assert_eq!(
        (refused.code, refused.reason),
        (ErrorCode::InvalidGrant, Reason::GrantRevoked)
    );
}

#[test]
fn a_code_expires_after_sixty_seconds() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    world.clock.advance(61);
    assert_eq!(
        error_of(world.exchange(&client, &code)).reason,
        Reason::CodeExpired
    );
}

#[test]
fn a_code_is_bound_to_its_client() {
    let world = World::new();
    let client = world.public_client();
    let other = world.public_client();
    let code = world.code(&client);
    assert_eq!(
        error_of(world.exchange(&other, &code)).reason,
        Reason::CodeIssuedToOtherClient
    );
}

/// The code's audit events of kind `code_refused`, as (presenting client, detail).
fn refused_codes(world: &World) -> Vec<(Option<String>, serde_json::Value)> {
    use gatehouse_core::model::audit::AuditKind;
    world
        .store
        .audit
        .borrow()
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::CodeRefused)
        .map(|(_, e)| (e.client_id.clone(), e.detail.clone()))
        .collect()
}

#[test]
fn a_stranger_cannot_spend_a_code_and_is_audited() {
    // Issue 15 §5: anyone who sees a code (a log, a Referer) used to burn it with any client:
    // the rightful client then got invalid_grant, its grant was revoked as code_replayed, and
    // the foreign attempt left no trace. Now the binding is checked before the spend.
    let world = World::new();
    let client = world.public_client();
    let stranger = world.public_client();
    let code = world.code(&client);
    for _ in 0..2 {
        assert_eq!(
            error_of(world.exchange(&stranger, &code)).reason,
            Reason::CodeIssuedToOtherClient
        );
    }
    let tokens = world.exchange(&client, &code).unwrap();
    assert!(
        world
            .refresh(&client, tokens.refresh_token.as_deref().unwrap())
            .is_ok()
    );
    let refused = refused_codes(&world);
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0].0.as_deref(), Some(stranger.id.as_str()));
    assert_eq!(refused[0].1["reason"], "CodeIssuedToOtherClient");
    assert_eq!(refused[0].1["issued_to"], client.id.as_str());
    let audit = world.store.audit.borrow();
    let event = &audit
        .iter()
        .find(|(_, e)| e.kind == gatehouse_core::model::audit::AuditKind::CodeRefused)
        .unwrap()
        .1;
    // The person sees it in their trail, with the grant the code belongs to.
    assert_eq!(event.subject.as_deref(), Some("local:alice@example.com"));
    assert_eq!(
        event.grant_id.as_deref(),
        claims(&tokens.access_token)["grant_id"].as_str()
    );
}

#[test]
fn a_stranger_presenting_a_spent_code_revokes_nothing() {
    // The rightful client's own replay revokes its grant (RFC 6749 §4.1.2); a stranger's
    // presentation of the same spent code proves only that they saw it, and must not.
    let world = World::new();
    let client = world.public_client();
    let stranger = world.confidential_client();
    let code = world.code(&client);
    let tokens = world.exchange(&client, &code).unwrap();
    assert_eq!(
        error_of(world.exchange(&stranger, &code)).reason,
        Reason::CodeIssuedToOtherClient
    );
    assert!(
        world
            .refresh(&client, tokens.refresh_token.as_deref().unwrap())
            .is_ok()
    );
    assert_eq!(refused_codes(&world).len(), 1);
}

#[test]
fn a_wrong_redirect_uri_or_app_leaves_the_code_unspent() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let wrong_redirect = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:4243/callback"),
        ("code_verifier", VERIFIER),
    ];
    assert_eq!(
        error_of(world.token(&client, &wrong_redirect)).reason,
        Reason::CodeRedirectUriMismatch
    );
    // Another app's token endpoint does not know the code (each app host is its own issuer).
    let (body, basic) = client_form(
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    let elsewhere = block_on(
        world
            .server_at(OTHER_ISSUER)
            .token(body.as_bytes(), basic.as_deref()),
    );
    assert_eq!(error_of(elsewhere).reason, Reason::CodeUnknown);
    assert!(world.exchange(&client, &code).is_ok());
    let reasons: Vec<_> = refused_codes(&world)
        .into_iter()
        .map(|(_, d)| d["reason"].clone())
        .collect();
    assert_eq!(reasons, ["CodeRedirectUriMismatch", "CodeUnknown"]);
}

#[test]
fn a_code_is_bound_to_its_redirect_uri() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let result = world.token(
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:4243/callback"),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(error_of(result).reason, Reason::CodeRedirectUriMismatch);
}

#[test]
fn unknown_codes_and_grant_types_are_refused() {
    let world = World::new();
    let client = world.public_client();
    assert_eq!(
        error_of(world.exchange(&client, "made-up")).reason,
        Reason::CodeUnknown
    );
    let password = error_of(world.token(
        &client,
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    ));
    assert_eq!(password.code, ErrorCode::UnsupportedGrantType);
    assert_eq!(
        error_of(world.token(&client, &[])).reason,
        Reason::MissingParameter
    );
}

#[test]
fn a_storage_outage_is_an_outage_not_a_client_error() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    world.store.down.set(true);
    assert!(matches!(
        world.exchange(&client, &code),
        Err(gatehouse_core::server::Failure::Store(_))
    ));
}

#[test]
fn codes_and_refresh_tokens_reach_storage_only_as_hashes() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let tokens = world.exchange(&client, &code).unwrap();
    let next = world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
    let stored = world.store.dump();
    for secret in [
        code.as_str(),
        tokens.refresh_token.as_deref().unwrap(),
        next.refresh_token.as_deref().unwrap(),
    ] {
        assert!(!stored.contains(secret), "a raw secret reached storage");
    }
}

#[test]
fn registration_login_consent_issuance_refresh_and_revocation_are_audited() {
    use gatehouse_core::model::audit::AuditKind::*;
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let next = world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
    let (body, basic) = client_form(
        &client,
        &[("token", next.refresh_token.as_deref().unwrap())],
    );
    world.revoke(body.as_bytes(), basic.as_deref()).unwrap();
    let audit = world.store.audit.borrow();
    let kinds: Vec<_> = audit.iter().map(|(_, e)| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ClientRegistered,
            LoggedIn,
            GrantCreated,
            TokenIssued,
            TokenRefreshed,
            GrantRevoked
        ]
    );
    let issued = &audit[3].1;
    assert_eq!(issued.subject.as_deref(), Some("local:alice@example.com"));
    assert_eq!(issued.client_id.as_deref(), Some(client.id.as_str()));
    assert_eq!(issued.app.as_deref(), Some(ISSUER));
    assert_eq!(
        issued.grant_id.as_deref(),
        claims(&tokens.access_token)["grant_id"].as_str()
    );
    assert_eq!(audit[5].1.detail["reason"], "client_request");
}

/// A code names its grant, so the exchange's KV reads (a held revocation, the deny entry) go
/// out with its one storage batch, and another request's writes can land between them: these
/// tests put a racing exchange or each step of a revocation there
/// (`MemoryStore::before_exchange`) and check what `grants::authorization_code::exchange`
/// argues: tokens once, and no live refresh token outliving a revocation.
mod in_one_round_trip {
    use gatehouse_core::model::audit::{AuditEvent, AuditKind};
    use gatehouse_core::revocation;
    use gatehouse_core::secret::AuthorizationCode;
    use gatehouse_core::store::{
        CodeBinding, CodeStore, Denylist, Exchange, GrantStore, RefreshRecord, RevocationReason,
    };
    use gatehouse_core::time::UnixTime;
    use gatehouse_core::types::ClientId;

    use super::*;

    fn issued(world: &World) -> usize {
        world
            .store
            .audit
            .borrow()
            .iter()
            .filter(|(_, e)| e.kind == AuditKind::TokenIssued)
            .count()
    }

    #[test]
    fn a_code_names_its_grant_and_its_tokens_are_issued_under_it() {
        let world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let tokens = world.exchange(&client, &code).unwrap();
        assert_eq!(grant_of(&tokens.access_token), grant_named_by(&code));
        // The issuance names the person and the code's scopes.
        let audit = world.store.audit.borrow();
        let (_, event) = audit
            .iter()
            .rev()
            .find(|(_, e)| e.kind == AuditKind::TokenIssued)
            .unwrap();
        assert_eq!(event.subject.as_deref(), Some("local:alice@example.com"));
        assert_eq!(event.detail["scope"], claims(&tokens.access_token)["scope"]);
        assert_eq!(event.detail["jti"], claims(&tokens.access_token)["jti"]);
    }

    #[test]
    fn two_exchanges_of_one_code_at_once_issue_once_and_the_loser_revokes_the_grant() {
        let world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let grant = grant_named_by(&code);
        let before = issued(&world);
        // The other exchange's batch lands after this one read KV, before its batch.
        let (other_code, other_grant, client_id) = (
            AuthorizationCode::from_presented(code.clone()).hash(),
            grant.clone(),
            ClientId::parse(&client.id).unwrap(),
        );
        *world.store.before_exchange.borrow_mut() = Some(Box::new(move |store| {
            let binding = CodeBinding {
                client_id: &client_id,
                resource: ISSUER,
                redirect_uri: Some(REDIRECT),
                code_challenge: CHALLENGE,
            };
            let refresh = RefreshRecord {
                token_hash: AuthorizationCode::from_presented("other's refresh").hash(),
                grant_id: other_grant.clone(),
                expires_at: UnixTime(u64::MAX / 2),
                rotated_at: None,
                successor_hash: None,
            };
            let event = AuditEvent {
                kind: AuditKind::TokenIssued,
                subject: None,
                client_id: Some(client_id.as_str().to_owned()),
                app: Some(ISSUER.to_owned()),
                grant_id: Some(other_grant.as_str().to_owned()),
                source: None,
                detail: serde_json::json!({ "jti": "other" }),
            };
            let exchange = Exchange {
                code_hash: &other_code,
                grant_id: &other_grant,
                binding: &binding,
                refresh: Some(&refresh),
                event: &event,
                now: UnixTime(1_700_000_000),
                check_client: None,
            };
            let other = at_once(store.exchange_code(&exchange)).unwrap();
            assert!(other.issued, "the other exchange won");
        }));
        let refused = error_of(world.exchange(&client, &code));
        assert_eq!(
            (refused.code, refused.reason),
            (ErrorCode::InvalidGrant, Reason::CodeReplayed)
        );
        assert_eq!(issued(&world), before + 1, "one issuance: the winner's");
        // RFC 6749 §4.1.2: the replay revokes what the winner received.
        let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
        assert_eq!(record.revoked_reason, Some(RevocationReason::CodeReplayed));
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    }

    #[test]
    fn a_revocation_that_lands_before_the_batch_leaves_nothing_stored_or_recorded() {
        let world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let grant = grant_named_by(&code);
        let before = issued(&world);
        let id = grant.clone();
        *world.store.before_exchange.borrow_mut() = Some(Box::new(move |store| {
            let revocation = revocation_of(store, &id);
            at_once(revocation::revoke(store, &revocation, UnixTime(0), false)).unwrap();
        }));
        let refused = error_of(world.exchange(&client, &code));
        assert_eq!(
            (refused.code, refused.reason),
            (ErrorCode::InvalidGrant, Reason::GrantRevoked)
        );
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        assert_eq!(issued(&world), before, "no issuance recorded");
    }

    #[test]
    fn a_deny_entry_written_after_the_kv_read_orders_the_exchange_first_and_step_2_ends_its_token()
    {
        let world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let grant = grant_named_by(&code);
        let id = grant.clone();
        // Step 1 of a revocation lands after this exchange read KV; the revoking request is
        // still on its way to step 2.
        *world.store.before_exchange.borrow_mut() = Some(Box::new(move |store| {
            let revocation = revocation_of(store, &id);
            let until = revocation::deny_until(revocation.at, UnixTime(0));
            at_once(store.deny_grant(&id, revocation.reason, until, UnixTime(0))).unwrap();
        }));
        let answered = world.exchange(&client, &code).unwrap();
        assert_eq!(world.store.live_refresh_tokens(&grant), 1);
        // The revocation goes on (or its Queue consumer runs it): the token dies with the grant.
        let revocation = revocation_of(&world.store, &grant);
        block_on(revocation::apply(&world.store, &revocation, UnixTime(0))).unwrap();
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        let after = error_of(world.refresh(&client, answered.refresh_token.as_deref().unwrap()));
        assert_eq!(after.code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn a_deny_entry_seen_with_the_batch_sends_no_token_and_finishes_the_revocation() {
        let world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let grant = grant_named_by(&code);
        // A revocation that crashed after step 1: KV denies the grant, D1 does not know.
        let revocation = revocation_of(&world.store, &grant);
        let until = revocation::deny_until(revocation.at, UnixTime(0));
        block_on(
            world
                .store
                .deny_grant(&grant, revocation.reason, until, UnixTime(0)),
        )
        .unwrap();
        let refused = error_of(world.exchange(&client, &code));
        assert_eq!(refused.reason, Reason::GrantRevoked);
        // The batch stored a refresh token nobody received; the refusal ran the revocation
        // again, which ended it.
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
        assert!(record.revoked_at.is_some() && record.revocation_settled_at.is_some());
    }

    #[test]
    fn the_policy_is_checked_again_at_the_exchange_and_the_stored_refresh_token_dies_with_the_grant()
     {
        let mut world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let grant = grant_named_by(&code);
        world.config.apps[0]
            .policy
            .deny_emails
            .push("alice@example.com".into());
        let error = error_of(world.exchange(&client, &code));
        assert_eq!(
            (error.code, error.reason),
            (ErrorCode::InvalidGrant, Reason::PolicyNoLongerAdmits)
        );
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
        let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
        assert_eq!(record.revoked_reason, Some(RevocationReason::PolicyChanged));
    }

    #[test]
    fn a_resource_the_grant_does_not_cover_is_refused_and_leaves_the_code_unspent() {
        let world = World::new();
        let client = world.public_client();
        let code = world.code(&client);
        let refused = error_of(world.token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("resource", "https://files.test"),
            ],
        ));
        assert_eq!(refused.reason, Reason::ResourceUnknown);
        assert!(world.exchange(&client, &code).is_ok());
    }

    #[test]
    fn a_code_of_the_earlier_format_is_still_exchanged_once() {
        let world = World::new();
        let client = world.public_client();
        let (unnamed, grant) = unnamed_code(&world, &client);
        let tokens = world.exchange(&client, &unnamed).unwrap();
        assert_eq!(grant_of(&tokens.access_token), grant);
        assert_eq!(world.store.live_refresh_tokens(&grant), 1);
        let replay = error_of(world.exchange(&client, &unnamed));
        assert_eq!(replay.reason, Reason::CodeReplayed);
        assert_eq!(world.store.live_refresh_tokens(&grant), 0);
    }
}
