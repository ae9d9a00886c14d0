//! The connected-agents page: a person sees every agent acting for them at this app (one per
//! grant), and revoking one ends its tokens at once; nobody can revoke another's agent, and the
//! form needs its CSRF token.

use gatehouse_core::error::Reason;
use gatehouse_core::gatekeeper::{Gate, GateRequest};
use gatehouse_core::server::Failure;

use crate::support::*;

fn revoke(
    world: &World,
    session: &str,
    grant_id: &str,
    csrf_cookie: Option<&str>,
) -> Result<(), Failure> {
    let body = form(&[("grant_id", grant_id), ("csrf_token", CSRF)]);
    block_on(
        world
            .server()
            .revoke_agent(body.as_bytes(), Some(session), csrf_cookie),
    )
}

#[test]
fn each_grant_is_listed_with_agent_destination_scopes_and_use() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let first = world
        .exchange(
            &client,
            &param(&world.authorize_and_consent(&client, &session, &[]), "code").unwrap(),
        )
        .unwrap();
    world.clock.advance(10);
    world.authorize_and_consent(
        &client,
        &session,
        &[("redirect_uri", "http://127.0.0.1:5555/callback")],
    );
    let view = block_on(world.server().connected_agents(Some(&session)))
        .unwrap()
        .unwrap();
    assert_eq!(view.person_email, "alice@example.com");
    assert_eq!(view.agents.len(), 2, "two installations, two rows");
    let [newest, oldest] = [&view.agents[0], &view.agents[1]];
    assert!(newest.created_at > oldest.created_at);
    assert_eq!(oldest.client_name, "Agent");
    assert_eq!(oldest.redirect_destination, "127.0.0.1");
    assert!(oldest.redirect_is_loopback);
    assert_eq!(oldest.scopes, vec!["read".to_owned()]);
    assert!(oldest.last_used_at.is_some(), "tokens were issued under it");
    assert_eq!(newest.last_used_at, None);
    assert_eq!(
        claims(&first.access_token)["grant_id"],
        oldest.grant_id.as_str()
    );
    assert!(
        block_on(world.server().connected_agents(None))
            .unwrap()
            .is_none()
    );
}

#[test]
fn revoking_an_agent_ends_its_tokens_at_once() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let session = world.login("alice@example.com");
    let grant = claims(&tokens.access_token)["grant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    revoke(&world, &session, &grant, Some(CSRF)).unwrap();
    let bearer = format!("Bearer {}", tokens.access_token);
    let req = GateRequest {
        method: "GET",
        path: "/page",
        authorization: Some(&bearer),
        ..GateRequest::default()
    };
    assert!(matches!(
        block_on(world.server().gate(&req, &world.signer)).unwrap(),
        Gate::Challenge { status: 401, .. }
    ));
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::GrantRevoked
    );
    let view = block_on(world.server().connected_agents(Some(&session)))
        .unwrap()
        .unwrap();
    assert!(view.agents.is_empty());
}

#[test]
fn nobody_revokes_another_persons_agent_or_without_the_csrf_token() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let grant = claims(&tokens.access_token)["grant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = world.login("bob@example.com");
    let refused = |result: Result<(), Failure>| match result {
        Err(Failure::OAuth { error, .. }) => error.reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused(revoke(&world, &bob, &grant, Some(CSRF))),
        Reason::AgentNotFound
    );
    let alice = world.login("alice@example.com");
    assert_eq!(
        refused(revoke(&world, &alice, &grant, None)),
        Reason::CsrfMismatch
    );
    assert_eq!(
        refused(revoke(&world, &alice, "g_nope", Some(CSRF))),
        Reason::AgentNotFound
    );
    world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
}

#[test]
fn a_revoked_agent_must_ask_for_consent_again() {
    let world = World::new();
    let client = world.public_client();
    let session = world.login("alice@example.com");
    let tokens = world
        .exchange(
            &client,
            &param(&world.authorize_and_consent(&client, &session, &[]), "code").unwrap(),
        )
        .unwrap();
    let again = world.authorization_query(&client, REDIRECT, &[]);
    assert!(matches!(
        world.authorize(&again, Some(&session)).unwrap(),
        gatehouse_core::server::AuthorizeOutcome::Redirect(_)
    ));
    let grant = claims(&tokens.access_token)["grant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    revoke(&world, &session, &grant, Some(CSRF)).unwrap();
    assert!(matches!(
        world.authorize(&again, Some(&session)).unwrap(),
        gatehouse_core::server::AuthorizeOutcome::Consent(_)
    ));
}
