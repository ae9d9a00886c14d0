//! The admin console's grants page: an `ADMINS` person's browser session (or the admin token)
//! lists grants filtered by person (email or subject), client, app, scope and state, and
//! revokes one or many through the one revocation path, with the CSRF token; the agents page
//! counts each client's people and live grants, confirms a disable before it is done, and
//! disables or enables a client with the CSRF token.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::admin::clients::ClientAction;
use gatehouse_core::admin::console::GrantState;
use gatehouse_core::error::Reason;
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::server::Failure;
use gatehouse_core::store::SessionStore as _;
use gatehouse_core::time::UnixTime;

use crate::support::*;

fn refused<T: std::fmt::Debug>(result: Result<T, Failure>) -> Reason {
    match result {
        Err(Failure::OAuth { error, .. }) => error.reason,
        other => panic!("{other:?}"),
    }
}

fn admins(world: &mut World) {
    world.config.admins =
        Some(serde_json::from_str(r#"{"allow_emails":["bob@example.com"]}"#).unwrap());
    world.config.admin_token = None;
}

fn by_browser<'a>(session: &'a str, csrf: Option<&'a str>) -> AdminCredentials<'a> {
    AdminCredentials {
        session: Some(session),
        csrf_cookie: csrf,
        ..AdminCredentials::default()
    }
}

#[test]
fn the_grants_page_filters_by_person_client_scope_and_state() {
    let mut world = World::new();
    admins(&mut world);
    let client = world.public_client();
    let other = world.public_client();
    world.tokens(&client);
    world.tokens(&other);
    let bob = world.login("bob@example.com");
    let list = |query: &str| {
        block_on(
            world
                .server()
                .console_grants(&by_browser(&bob, None), query),
        )
        .unwrap()
    };
    let all = list("");
    assert_eq!(all.admin, "bob@example.com");
    assert_eq!(all.grants.len(), 2, "this app's live grants by default");
    let scope = all.grants[0].scopes[0].clone();
    assert_eq!(
        list("person=ALICE%40example.com").grants.len(),
        2,
        "email, any case"
    );
    assert_eq!(
        list("person=local%3Aalice%40example.com").grants.len(),
        2,
        "subject"
    );
    assert_eq!(list("person=carol%40example.com").grants.len(), 0);
    let by_client = list(&form(&[("client_id", other.id.as_str())]));
    assert_eq!(by_client.grants.len(), 1);
    assert_eq!(by_client.grants[0].client_id, other.id);
    assert_eq!(list(&form(&[("scope", scope.as_str())])).grants.len(), 2);
    assert_eq!(list("scope=no.such.scope").grants.len(), 0);
    assert_eq!(list("state=revoked").grants.len(), 0);
    assert_eq!(list("app=all&state=any").grants.len(), 2);
    assert!(!all.truncated);
    assert_eq!(
        refused(block_on(
            world
                .server()
                .console_grants(&by_browser(&bob, None), "state=dead")
        )),
        Reason::ConsoleBadFilter
    );
}

#[test]
fn only_admins_see_the_console_and_it_is_off_without_admins_or_token() {
    let mut world = World::new();
    admins(&mut world);
    let alice = world.login("alice@example.com");
    assert_eq!(
        refused(block_on(
            world.server().console_grants(&by_browser(&alice, None), "")
        )),
        Reason::ConsoleNotAdmin,
        "alice is not in ADMINS"
    );
    assert_eq!(
        refused(block_on(
            world
                .server()
                .console_grants(&AdminCredentials::default(), "")
        )),
        Reason::ConsoleSignInRequired,
        "a browser without a session signs in first"
    );
    let ended = world.login("bob@example.com");
    block_on(
        world
            .store
            .revoke_sessions_of("local:bob@example.com", UnixTime(0)),
    )
    .unwrap();
    assert_eq!(
        refused(block_on(
            world.server().console_grants(&by_browser(&ended, None), "")
        )),
        Reason::ConsoleSignInRequired,
        "nor with an ended one"
    );
    world.config.admins = None;
    assert_eq!(
        refused(block_on(
            world.server().console_grants(&by_browser(&alice, None), "")
        )),
        Reason::AdminApiOff
    );
}

#[test]
fn checked_grants_are_revoked_together_with_the_csrf_token_and_a_retry_revokes_nothing_twice() {
    let mut world = World::new();
    admins(&mut world);
    let client = world.public_client();
    let other = world.public_client();
    let kept = world.public_client();
    let first = world.tokens(&client);
    let second = world.tokens(&other);
    let third = world.tokens(&kept);
    let bob = world.login("bob@example.com");
    let listed = block_on(world.server().console_grants(&by_browser(&bob, None), "")).unwrap();
    let id_of = |c: &Client| {
        listed
            .grants
            .iter()
            .find(|g| g.client_id == c.id)
            .unwrap()
            .grant_id
            .clone()
    };
    let (a, b) = (id_of(&client), id_of(&other));
    let body = form(&[
        ("grant_id", a.as_str()),
        ("grant_id", b.as_str()),
        ("return", "person=alice%40example.com&state=any"),
        ("csrf_token", CSRF),
    ]);
    let revoke = |csrf: Option<&str>| {
        block_on(
            world
                .server()
                .console_revoke(&by_browser(&bob, csrf), body.as_bytes()),
        )
    };
    assert_eq!(
        refused(revoke(None)),
        Reason::CsrfMismatch,
        "a cross-site form cannot ride an admin's session"
    );
    let (revoked, back) = revoke(Some(CSRF)).unwrap();
    assert_eq!(revoked.grants, 2);
    assert_eq!(
        back,
        "/.gatehouse/admin/console/grants?person=alice%40example.com&state=any&revoked=2"
    );
    for (c, t) in [(&client, &first), (&other, &second)] {
        assert_eq!(
            error_of(world.refresh(c, t.refresh_token.as_deref().unwrap())).reason,
            Reason::GrantRevoked
        );
    }
    world
        .refresh(&kept, third.refresh_token.as_deref().unwrap())
        .unwrap();
    let action = world
        .store
        .audit
        .borrow()
        .iter()
        .find(|(_, e)| e.kind == AuditKind::AdminAction)
        .cloned()
        .unwrap();
    assert_eq!(action.1.detail["by"], "bob@example.com");
    assert_eq!(
        action.1.detail["target"]["grant_ids"],
        serde_json::json!([a, b])
    );
    assert_eq!(
        revoke(Some(CSRF)).unwrap().0.grants,
        0,
        "a retried form revokes nothing twice"
    );
    let revoked_now = block_on(
        world
            .server()
            .console_grants(&by_browser(&bob, None), "state=revoked"),
    )
    .unwrap();
    assert_eq!(revoked_now.grants.len(), 2);
    assert!(revoked_now.grants.iter().all(|g| g.revoked_at.is_some()));
    assert_eq!(revoked_now.filter.state, GrantState::Revoked);
    let nothing = form(&[("csrf_token", CSRF)]);
    assert_eq!(
        refused(block_on(world.server().console_revoke(
            &by_browser(&bob, Some(CSRF)),
            nothing.as_bytes()
        ))),
        Reason::ConsoleNothingSelected
    );
}

#[test]
fn the_agents_page_counts_people_and_grants_and_confirms_a_disable_before_it_is_done() {
    let mut world = World::new();
    admins(&mut world);
    let client = world.public_client();
    let idle = world.public_client();
    let tokens = world.tokens(&client);
    world.tokens(&client);
    let bob = world.login("bob@example.com");
    let page = |query: &str| {
        block_on(
            world
                .server()
                .console_clients(&by_browser(&bob, None), query),
        )
        .unwrap()
    };
    let listed = page("");
    let used = listed
        .clients
        .iter()
        .find(|c| c.client_id == client.id)
        .unwrap();
    assert_eq!((used.people, used.live_grants), (1, 2));
    assert!(used.disabled_at.is_none());
    let unused = listed
        .clients
        .iter()
        .find(|c| c.client_id == idle.id)
        .unwrap();
    assert_eq!(
        (unused.people, unused.live_grants, unused.last_used_at),
        (0, 0, None)
    );
    assert!(listed.confirmation.is_none());

    let asked = page(&form(&[
        ("confirm", "disable"),
        ("client_id", client.id.as_str()),
    ]));
    let confirmation = asked.confirmation.unwrap();
    assert_eq!(confirmation.action, ClientAction::Disable);
    assert_eq!(confirmation.client.live_grants, 2);
    assert_eq!(
        confirmation.post_to,
        "/.gatehouse/admin/console/clients/disable"
    );
    assert!(
        world
            .refresh(&client, tokens.refresh_token.as_deref().unwrap())
            .is_ok(),
        "asking to confirm changes nothing"
    );
}

#[test]
fn an_admin_disables_a_client_and_enables_it_again_with_the_csrf_token() {
    let mut world = World::new();
    admins(&mut world);
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let bob = world.login("bob@example.com");
    let body = form(&[("client_id", client.id.as_str()), ("csrf_token", CSRF)]);
    let disable = |csrf: Option<&str>| {
        block_on(
            world
                .server()
                .console_disable_client(&by_browser(&bob, csrf), body.as_bytes()),
        )
    };
    assert_eq!(refused(disable(None)), Reason::CsrfMismatch);
    assert_eq!(
        disable(Some(CSRF)).unwrap(),
        "/.gatehouse/admin/console/clients?done=disabled&grants=1"
    );
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::ClientUnknown,
        "a disabled client cannot authenticate"
    );
    let listed = block_on(world.server().console_clients(&by_browser(&bob, None), "")).unwrap();
    let row = listed
        .clients
        .iter()
        .find(|c| c.client_id == client.id)
        .unwrap();
    assert!(row.disabled_at.is_some());
    assert_eq!(row.live_grants, 0);

    let enable = |csrf: Option<&str>| {
        block_on(
            world
                .server()
                .console_enable_client(&by_browser(&bob, csrf), body.as_bytes()),
        )
    };
    assert_eq!(refused(enable(None)), Reason::CsrfMismatch);
    assert_eq!(
        enable(Some(CSRF)).unwrap(),
        "/.gatehouse/admin/console/clients?done=enabled"
    );
    let again = world.tokens(&client);
    assert!(
        again.access_token.len() > 10,
        "an enabled client authorizes again"
    );
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::GrantRevoked,
        "the grants revoked by the disable stay revoked"
    );
    let actions: Vec<String> = world
        .store
        .audit
        .borrow()
        .iter()
        .filter(|(_, e)| e.kind == AuditKind::AdminAction)
        .map(|(_, e)| e.detail["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(actions, ["disable_client", "enable_client"]);
}

#[test]
fn the_people_page_lists_sessions_and_agents_and_cuts_a_person_off_everywhere() {
    let mut world = World::new();
    admins(&mut world);
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let alice = world.login("alice@example.com");
    let bob = world.login("bob@example.com");
    let listed = block_on(world.server().console_people(&by_browser(&bob, None), "")).unwrap();
    let row = listed
        .people
        .iter()
        .find(|p| p.email == "alice@example.com")
        .unwrap();
    assert_eq!(row.live_grants, 1);
    assert!(row.sessions >= 1);
    assert!(row.last_seen_at.is_some());
    let asked = block_on(world.server().console_people(
        &by_browser(&bob, None),
        "confirm=local%3Aalice%40example.com",
    ))
    .unwrap();
    assert_eq!(
        asked.confirmation.unwrap().live_grants,
        1,
        "asking changes nothing"
    );

    let body = form(&[("subject", "local:alice@example.com"), ("csrf_token", CSRF)]);
    let cut = |csrf: Option<&str>| {
        block_on(
            world
                .server()
                .console_revoke_person(&by_browser(&bob, csrf), body.as_bytes()),
        )
    };
    assert_eq!(refused(cut(None)), Reason::CsrfMismatch);
    assert_eq!(
        cut(Some(CSRF)).unwrap(),
        "/.gatehouse/admin/console/people?revoked=1"
    );
    assert!(
        block_on(world.server().person(Some(&alice)))
            .unwrap()
            .is_none(),
        "her sessions end"
    );
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::GrantRevoked
    );
    assert_eq!(
        cut(Some(CSRF)).unwrap(),
        "/.gatehouse/admin/console/people?revoked=0"
    );
}

#[test]
fn the_state_page_shows_migration_mode_and_the_writes_it_holds() {
    let mut world = World::new();
    let client = world.public_client();
    world.tokens(&client);
    let header = Some(format!("Bearer {ADMIN_TOKEN}"));
    let token = AdminCredentials {
        authorization: header.as_deref(),
        ..AdminCredentials::default()
    };
    let calm = block_on(world.server().console_state(&token)).unwrap();
    assert_eq!(calm.migration, None);
    assert!(calm.held.is_empty());
    assert_eq!(calm.health_check, "/healthz");

    world.config.migration = Some(gatehouse_core::migration::Migration {
        retry_after_secs: 120,
        access_token_ttl_secs: 4 * 3600,
    });
    world.store.d1_read_only.set(true);
    let body = form(&[("subject", "local:alice@example.com")]);
    let header = Some(format!("Bearer {ADMIN_TOKEN}"));
    let token = AdminCredentials {
        authorization: header.as_deref(),
        ..AdminCredentials::default()
    };
    block_on(world.server().admin_revoke(&token, body.as_bytes())).unwrap();
    let held = block_on(world.server().console_state(&token)).unwrap();
    assert_eq!(held.migration, Some((120, 4 * 3600)));
    let kinds: Vec<&str> = held.held.iter().map(|h| h.kind.as_str()).collect();
    assert!(kinds.contains(&"end_sessions_of"), "{kinds:?}");
    assert!(kinds.contains(&"revoke_grant"), "{kinds:?}");
    let ends = held
        .held
        .iter()
        .find(|h| h.kind == "end_sessions_of")
        .unwrap();
    assert!(
        ends.write
            .contains("\"subject\":\"local:alice@example.com\""),
        "{}",
        ends.write
    );
}

#[test]
fn the_audit_page_searches_by_kind_and_person_pages_without_overlap_and_exports() {
    use gatehouse_core::admin::audit::AuditAnswer;
    let mut world = World::new();
    admins(&mut world);
    let client = world.public_client();
    for _ in 0..30 {
        world.tokens(&client);
    }
    let bob = world.login("bob@example.com");
    let search = |query: &str| {
        block_on(world.server().console_audit(&by_browser(&bob, None), query)).unwrap()
    };
    let page = |query: &str| match search(query) {
        AuditAnswer::Page(page) => page,
        AuditAnswer::Export(_) => panic!("a page"),
    };
    let first = page("kind=grant_created");
    assert_eq!(first.events.len(), 30);
    assert!(first.events.iter().all(|e| e.kind == "grant_created"));
    assert!(
        first
            .events
            .iter()
            .all(|e| e.client_id.as_deref() == Some(client.id.as_str())
                && e.subject.as_deref() == Some("local:alice@example.com")),
        "person and agent named"
    );
    assert!(first.older.is_none(), "30 fit one page");

    let all = page("subject=local%3Aalice%40example.com");
    assert_eq!(all.events.len(), 50, "a page is bounded");
    let older = all.older.clone().unwrap();
    let next = page(&older);
    let seen: std::collections::BTreeSet<u64> = all.events.iter().map(|e| e.id).collect();
    assert!(!next.events.is_empty());
    assert!(
        next.events.iter().all(|e| !seen.contains(&e.id)),
        "pages do not overlap"
    );
    assert!(next.events.first().unwrap().id < all.events.last().unwrap().id);

    match search("kind=grant_created&format=csv") {
        AuditAnswer::Export(export) => {
            assert!(export.content_type.starts_with("text/csv"));
            assert_eq!(export.body.lines().count(), 31, "a header and 30 rows");
        }
        AuditAnswer::Page(_) => panic!("an export"),
    }
    match search("kind=grant_created&format=jsonl") {
        AuditAnswer::Export(export) => {
            let line: serde_json::Value =
                serde_json::from_str(export.body.lines().next().unwrap()).unwrap();
            assert_eq!(line["kind"], "grant_created");
            assert_eq!(line["client_id"], client.id.as_str());
        }
        AuditAnswer::Page(_) => panic!("an export"),
    }
    assert_eq!(
        refused(block_on(
            world
                .server()
                .console_audit(&by_browser(&bob, None), "kind=nope")
        )),
        Reason::ConsoleBadFilter
    );
}
