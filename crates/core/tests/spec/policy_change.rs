//! A change of an app's policy that excludes a person is a source of revocation (DESIGN.md,
//! "Protected apps and policy"): the next use of their agent's token at the gatekeeper, or its
//! next refresh, revokes the grant, and admitting the person again does not revive it.

use gatehouse_core::error::Reason;
use gatehouse_core::gatekeeper::Gate;
use gatehouse_core::store::RevocationReason;

use crate::support::*;

fn exclude_alice(world: &mut World) {
    world.config.apps[0]
        .policy
        .deny_emails
        .push("alice@example.com".into());
}

fn readmit_alice(world: &mut World) {
    world.config.apps[0]
        .policy
        .deny_emails
        .retain(|e| e != "alice@example.com");
}

fn revoked_for_policy(world: &World) -> bool {
    world.store.queued.borrow().iter().any(|m| {
        matches!(
            m,
            gatehouse_core::model::queue::QueueMessage::RevokeGrant(r)
                if r.reason == RevocationReason::PolicyChanged
        )
    })
}

#[test]
fn an_excluded_persons_token_revokes_its_grant_at_the_gatekeeper() {
    let mut world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    exclude_alice(&mut world);
    let (status, _, reason) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!((status, reason), (401, Some(Reason::TokenPolicyDenied)));
    assert!(revoked_for_policy(&world));

    readmit_alice(&mut world);
    let (status, _, reason) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    assert_eq!(
        (status, reason),
        (401, Some(Reason::TokenRevoked)),
        "re-admitting the person does not revive the grant"
    );
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::GrantRevoked
    );
    // Consent was withdrawn: the agent must ask the person again.
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    assert!(matches!(
        world.authorize(&query, Some(&session)),
        Ok(gatehouse_core::server::AuthorizeOutcome::Consent(_))
    ));
}

#[test]
fn an_excluded_persons_refresh_revokes_its_grant() {
    let mut world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    exclude_alice(&mut world);
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::PolicyNoLongerAdmits
    );
    assert!(revoked_for_policy(&world));
    readmit_alice(&mut world);
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::GrantRevoked
    );
    assert!(!matches!(
        gate(&world, api("GET", Some(&bearer(&tokens.access_token)))),
        Gate::Allow(_)
    ));
}
