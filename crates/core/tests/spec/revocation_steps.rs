//! A revocation survives any crash, any retry path and any length of migration window (issue 16;
//! `crates/core/src/revocation.rs`, docs/storage.md "Revocation").
//!
//! A revocation is five steps (deny entry, grant and refresh tokens, consent, audit, settled
//! mark) plus the Queue message. `MemoryStore::crash_after_writes` kills the "Worker" after any
//! number of writes; what is left must converge when the same request is retried, when any
//! other path meets the grant, when the Queue's consumer runs, and when the drain runs: the
//! gate refuses, refresh is `invalid_grant`, the grant is revoked and gone from the agents page,
//! consent is withdrawn (every reason withdraws it), and there is exactly one audit event.

use gatehouse_core::admin::AdminCredentials;
use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::grant_id::GrantId;
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::migration::{self, Held, HeldWrite};
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::model::queue::QueueMessage;
use gatehouse_core::revocation::{self, Revocation};
use gatehouse_core::store::{ClientStore, ReadFrom};
use gatehouse_core::store::{Denylist, GrantStore, RevocationReason};
use gatehouse_core::time::Clock as _;
use gatehouse_core::types::ClientId;

use crate::support::*;

/// As many writes as the longest path makes (a client disable: the admin's audit event, the
/// client row, then the revocation's six): a crash "after" this many is no crash.
const MAX_WRITES: u32 = 8;

/// One agent of one person, with everything a revocation path needs.
struct Agent {
    client: Client,
    email: &'static str,
    session: String,
    code: String,
    tokens: TokenResponse,
    grant: GrantId,
}

fn agent(world: &World, email: &'static str) -> Agent {
    agent_of(world, email, &world.login(email))
}

/// [`agent`] of a person already logged in with `session` (logging in costs a PBKDF2).
fn agent_of(world: &World, email: &'static str, session: &str) -> Agent {
    let client = world.public_client();
    let session = session.to_owned();
    let code = param(&world.authorize_and_consent(&client, &session, &[]), "code").unwrap();
    let tokens = world.exchange(&client, &code).unwrap();
    let grant = grant_of(&tokens.access_token);
    Agent {
        client,
        email,
        session,
        code,
        tokens,
        grant,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    Rfc7009Access,
    Rfc7009Refresh,
    AgentsPage,
    AdminByGrant,
    AdminByClient,
    ClientDisable,
    RefreshReuse,
    CodeReplay,
    PolicyChange,
}

const PATHS: [Path; 9] = [
    Path::Rfc7009Access,
    Path::Rfc7009Refresh,
    Path::AgentsPage,
    Path::AdminByGrant,
    Path::AdminByClient,
    Path::ClientDisable,
    Path::RefreshReuse,
    Path::CodeReplay,
    Path::PolicyChange,
];

fn admin_header() -> String {
    format!("Bearer {ADMIN_TOKEN}")
}

/// What a path needs before its first request: a rotated refresh token to reuse, a policy that
/// no longer admits the person. Returns the refresh token the agent holds afterwards.
fn prepare(world: &mut World, agent: &Agent, path: Path) -> String {
    let refresh = agent.tokens.refresh_token.clone().unwrap();
    match path {
        Path::RefreshReuse => {
            let rotated = world.refresh(&agent.client, &refresh).unwrap();
            world.clock.advance(60);
            rotated.refresh_token.unwrap()
        }
        Path::PolicyChange => {
            world.config.apps[0]
                .policy
                .deny_emails
                .push(agent.email.into());
            refresh
        }
        _ => refresh,
    }
}

/// One request through `path`, as the client, person or operator sends it (and sends it again
/// when the answer is lost). Whether it was answered as done.
fn request(world: &World, agent: &Agent, path: Path) -> bool {
    let admin = admin_header();
    let credentials = AdminCredentials {
        authorization: Some(&admin),
        ..AdminCredentials::default()
    };
    let rfc7009 = |token: &str| {
        let (body, basic) = client_form(&agent.client, &[("token", token)]);
        world.revoke(body.as_bytes(), basic.as_deref()).is_ok()
    };
    // Refused as the grant's revocation: whichever reason, the client reads `invalid_grant`.
    let refused = |result: Result<TokenResponse, _>| matches!(result, Err(gatehouse_core::server::Failure::OAuth { error, .. }) if error.code == ErrorCode::InvalidGrant);
    match path {
        Path::Rfc7009Access => rfc7009(&agent.tokens.access_token),
        Path::Rfc7009Refresh => rfc7009(agent.tokens.refresh_token.as_deref().unwrap()),
        Path::AgentsPage => {
            let body = form(&[("grant_id", agent.grant.as_str()), ("csrf_token", CSRF)]);
            block_on(
                world
                    .server()
                    .revoke_agent(body.as_bytes(), Some(&agent.session), Some(CSRF)),
            )
            .is_ok()
        }
        Path::AdminByGrant => {
            let body = form(&[("grant_id", agent.grant.as_str())]);
            block_on(world.server().admin_revoke(&credentials, body.as_bytes()))
                .is_ok_and(|r| r.grants == 1)
        }
        Path::AdminByClient => {
            let body = form(&[("client_id", agent.client.id.as_str())]);
            block_on(world.server().admin_revoke(&credentials, body.as_bytes())).is_ok()
        }
        Path::ClientDisable => {
            let body = form(&[("client_id", agent.client.id.as_str())]);
            block_on(
                world
                    .server()
                    .admin_disable_client(&credentials, body.as_bytes()),
            )
            .is_ok()
        }
        Path::RefreshReuse | Path::PolicyChange => refused(world.refresh(
            &agent.client,
            agent.tokens.refresh_token.as_deref().unwrap(),
        )),
        Path::CodeReplay => refused(world.exchange(&agent.client, &agent.code)),
    }
}

/// Undoes [`prepare`]'s policy change, for the next agent of the same person.
fn readmit(world: &mut World, agent: &Agent) {
    world.config.apps[0]
        .policy
        .deny_emails
        .retain(|e| e != agent.email);
}

fn revoked_events(world: &World, grant: &GrantId) -> usize {
    world
        .store
        .audit
        .borrow()
        .iter()
        .filter(|(_, e)| {
            e.kind == AuditKind::GrantRevoked && e.grant_id.as_deref() == Some(grant.as_str())
        })
        .count()
}

/// Everything a finished revocation leaves. Storage is read first: the refresh below is itself
/// a path that finishes a revocation, and must not hide one left unfinished.
fn assert_revoked(world: &World, agent: &Agent, refresh: &str, case: &str) {
    let record = block_on(world.store.grant(&agent.grant)).unwrap().unwrap();
    assert!(record.revoked_at.is_some(), "{case}: grant row");
    assert!(record.revocation_settled_at.is_some(), "{case}: settled");
    assert_eq!(
        world.store.live_refresh_tokens(&agent.grant),
        0,
        "{case}: refresh tokens"
    );
    let subject = format!("local:{}", agent.email);
    assert!(
        !world
            .store
            .has_consent(&subject, &agent.client.id, &record.app),
        "{case}: consent withdrawn"
    );
    assert_eq!(
        revoked_events(world, &agent.grant),
        1,
        "{case}: audit events"
    );
    assert!(
        block_on(world.store.is_grant_denied(&agent.grant)).unwrap(),
        "{case}: deny entry"
    );
    let (status, _, _) = challenge(gate(
        world,
        api("GET", Some(&bearer(&agent.tokens.access_token))),
    ));
    assert_eq!(status, 401, "{case}: gate");
    // The person's session, or a new one if it has ended since.
    let view = block_on(world.server().connected_agents(Some(&agent.session)))
        .unwrap()
        .or_else(|| {
            let session = world.login(agent.email);
            block_on(world.server().connected_agents(Some(&session))).unwrap()
        })
        .unwrap();
    assert!(
        view.agents
            .iter()
            .all(|a| a.grant_id != agent.grant.as_str()),
        "{case}: agents page"
    );
    let refused = error_of(world.refresh(&agent.client, refresh));
    let disabled = block_on(world.store.client(
        &ClientId::parse(&agent.client.id).unwrap(),
        world.clock.now(),
        ReadFrom::Primary,
    ))
    .unwrap()
    .is_none();
    if disabled {
        // A disabled client cannot authenticate at all.
        assert_eq!(refused.code, ErrorCode::InvalidClient, "{case}: refresh");
    } else {
        assert_eq!(refused.reason, Reason::GrantRevoked, "{case}: refresh");
    }
    assert_eq!(
        revoked_events(world, &agent.grant),
        1,
        "{case}: audit events after the refresh"
    );
}

fn assert_untouched(world: &World, control: &Agent, case: &str) {
    allowed(gate(
        world,
        api("GET", Some(&bearer(&control.tokens.access_token))),
    ));
    let record = block_on(world.store.grant(&control.grant))
        .unwrap()
        .unwrap();
    assert_eq!(record.revoked_at, None, "{case}: control revoked");
    assert!(
        world.store.has_consent(
            &format!("local:{}", control.email),
            &control.client.id,
            &record.app
        ),
        "{case}: control's consent"
    );
    assert_eq!(
        revoked_events(world, &control.grant),
        0,
        "{case}: control audited"
    );
}

#[test]
fn a_revocation_cut_off_after_any_write_converges_when_the_same_request_is_retried() {
    for path in PATHS {
        let mut world = World::new();
        let (alice, bob) = (
            world.login("alice@example.com"),
            world.login("bob@example.com"),
        );
        for crash_after in 0..=MAX_WRITES {
            let case = format!("{path:?}, crash after {crash_after} writes");
            let control = agent_of(&world, "bob@example.com", &bob);
            let agent = agent_of(&world, "alice@example.com", &alice);
            let refresh = prepare(&mut world, &agent, path);
            world.store.crash_after_writes.set(Some(crash_after));
            let _ = request(&world, &agent, path);
            // Restarted: storage works again; the lost answer makes the caller retry.
            world.store.crash_after_writes.set(None);
            world.clock.advance(1);
            assert!(
                request(&world, &agent, path),
                "{case}: retry answered as done"
            );
            assert_revoked(&world, &agent, &refresh, &case);
            assert_untouched(&world, &control, &case);
            readmit(&mut world, &agent);
        }
    }
}

#[test]
fn a_revocation_cut_off_after_any_write_is_finished_by_whatever_path_meets_it_next() {
    // First through the agents page, cut off; then each other path.
    for path in PATHS {
        let mut world = World::new();
        let alice = world.login("alice@example.com");
        for crash_after in 0..=MAX_WRITES {
            let case = format!("agents page then {path:?}, crash after {crash_after} writes");
            let agent = agent_of(&world, "alice@example.com", &alice);
            let refresh = prepare(&mut world, &agent, path);
            world.store.crash_after_writes.set(Some(crash_after));
            let _ = request(&world, &agent, Path::AgentsPage);
            world.store.crash_after_writes.set(None);
            world.clock.advance(1);
            let _ = request(&world, &agent, path);
            assert_revoked(&world, &agent, &refresh, &case);
            readmit(&mut world, &agent);
        }
    }
}

#[test]
fn an_answered_revocation_cut_off_after_any_write_is_finished_by_the_queue_consumer_alone() {
    for crash_after in 0..=MAX_WRITES {
        let case = format!("crash after {crash_after} writes");
        let world = World::new();
        let agent = agent(&world, "alice@example.com");
        let refresh = agent.tokens.refresh_token.clone().unwrap();
        world.store.crash_after_writes.set(Some(crash_after));
        let answered = request(&world, &agent, Path::AgentsPage);
        world.store.crash_after_writes.set(None);
        if !answered {
            // Not answered: the person sees an error and nothing is promised; the gate may
            // already refuse (the deny entry is the first write).
            continue;
        }
        world.clock.advance(1);
        let queued: Vec<QueueMessage> = world.store.queued.borrow().clone();
        assert!(
            !queued.is_empty(),
            "{case}: an answered revocation is durable"
        );
        for message in &queued {
            let QueueMessage::RevokeGrant(command) = message else {
                continue;
            };
            // Delivered at least once: twice here.
            for _ in 0..2 {
                let now = world.clock.now();
                block_on(revocation::consume(&world.store, command, now, false)).unwrap();
            }
        }
        assert_revoked(&world, &agent, &refresh, &case);
    }
}

/// RFC 7009 with a refresh token: D1 first (one transaction), the answer, then the deny entry
/// and the settled mark under `waitUntil`. The isolate dies right after answering: the gate
/// still accepts the grant's access token (the window docs/security.md states), and the cron's
/// sweep finishes the revocation.
#[test]
fn an_answered_rfc7009_revocation_cut_off_after_it_is_finished_by_the_sweep() {
    let world = World::new();
    let control = agent(&world, "bob@example.com");
    let agent = agent(&world, "alice@example.com");
    let refresh = agent.tokens.refresh_token.clone().unwrap();
    // The transaction is the one write before the answer; the crash comes after it.
    world.store.writes.borrow_mut().clear();
    world.store.crash_after_writes.set(Some(1));
    assert!(request(&world, &agent, Path::Rfc7009Refresh), "answered");
    world.store.crash_after_writes.set(None);
    assert_eq!(*world.store.writes.borrow(), ["d1"]);
    let record = block_on(world.store.grant(&agent.grant)).unwrap().unwrap();
    assert!(record.revoked_at.is_some() && record.revocation_settled_at.is_none());
    assert!(!block_on(world.store.is_grant_denied(&agent.grant)).unwrap());
    allowed(gate(
        &world,
        api("GET", Some(&bearer(&agent.tokens.access_token))),
    ));
    world.clock.advance(60);
    let now = world.clock.now();
    let swept = block_on(revocation::sweep(&world.store, now)).unwrap();
    assert_eq!((swept.finished, swept.failed.len()), (1, 0));
    assert_revoked(&world, &agent, &refresh, "swept");
    assert_untouched(&world, &control, "swept");
    // Nothing left: the next run finds nothing to do.
    let again = block_on(revocation::sweep(&world.store, world.clock.now())).unwrap();
    assert_eq!((again.finished, again.failed.len()), (0, 0));
}

/// The sweep finishes at most `SWEEP_BATCH` per run, longest revoked first; one that fails is
/// reported and kept for the next run, and stops no other.
#[test]
fn the_sweep_is_bounded_per_run_and_one_failing_revocation_stops_no_other() {
    let world = World::new();
    let alice = world.login("alice@example.com");
    let batch = revocation::SWEEP_BATCH as usize;
    // One client with many grants (registrations are rate limited per network).
    let client = world.public_client();
    let agents: Vec<Agent> = (0..=batch)
        .map(|_| {
            let code = param(&world.authorize_and_consent(&client, &alice, &[]), "code").unwrap();
            let tokens = world.exchange(&client, &code).unwrap();
            let grant = grant_of(&tokens.access_token);
            Agent {
                client: client.clone(),
                email: "alice@example.com",
                session: alice.clone(),
                code,
                tokens,
                grant,
            }
        })
        .collect();
    for agent in &agents {
        world.store.crash_after_writes.set(Some(1));
        assert!(request(&world, agent, Path::Rfc7009Refresh));
        world.store.crash_after_writes.set(None);
        world.clock.advance(1);
    }
    // The oldest revocation's grant row cannot be written.
    let broken = &agents[0].grant;
    world
        .store
        .broken_grants
        .borrow_mut()
        .insert(broken.as_str().to_owned());
    let first = block_on(revocation::sweep(&world.store, world.clock.now())).unwrap();
    assert_eq!(first.finished, batch - 1);
    assert_eq!(first.failed.len(), 1);
    assert_eq!(first.failed[0].0, broken.as_str());
    // Denied all the same: step 1 comes before the row that fails.
    assert!(block_on(world.store.is_grant_denied(broken)).unwrap());
    world.store.broken_grants.borrow_mut().clear();
    let second = block_on(revocation::sweep(&world.store, world.clock.now())).unwrap();
    assert_eq!((second.finished, second.failed.len()), (2, 0));
    for agent in &agents {
        let refresh = agent.tokens.refresh_token.clone().unwrap();
        assert_revoked(&world, agent, &refresh, agent.grant.as_str());
    }
}

#[test]
fn the_gate_refuses_from_the_first_durable_write_on() {
    for crash_after in 1..=MAX_WRITES {
        let world = World::new();
        let agent = agent(&world, "alice@example.com");
        world.store.writes.borrow_mut().clear();
        world.store.crash_after_writes.set(Some(crash_after));
        let _ = request(&world, &agent, Path::AgentsPage);
        world.store.crash_after_writes.set(None);
        assert_eq!(
            world.store.writes.borrow().first(),
            Some(&"deny"),
            "the deny entry is written first"
        );
        let (status, _, _) = challenge(gate(
            &world,
            api("GET", Some(&bearer(&agent.tokens.access_token))),
        ));
        assert_eq!(status, 401, "crash after {crash_after} writes");
    }
}

#[test]
fn a_device_grant_whose_revocation_was_cut_off_is_finished_when_the_device_polls() {
    const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
    for crash_after in 0..=MAX_WRITES {
        let world = World::new();
        let client = world.register(&format!(
            r#"{{"client_name":"CLI agent","token_endpoint_auth_method":"none","grant_types":["{GRANT}","refresh_token"]}}"#
        ));
        let (body, _) = client_form(&client, &[]);
        let started = block_on(world.server().device_authorization(body.as_bytes(), None)).unwrap();
        let started = serde_json::to_value(&started).unwrap();
        let user_code = started["user_code"].as_str().unwrap().to_owned();
        let device_code = started["device_code"].as_str().unwrap().to_owned();
        let session = world.login("alice@example.com");
        for decision in [None, Some("approve")] {
            let mut params = vec![("user_code", user_code.as_str()), ("csrf_token", CSRF)];
            if let Some(decision) = decision {
                params.push(("decision", decision));
            }
            block_on(world.server().device_submit(
                form(&params).as_bytes(),
                Some(&session),
                Some(CSRF),
            ))
            .unwrap();
        }
        let grant = block_on(world.store.grants_matching(None, None, None))
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .grant_id;
        let admin = admin_header();
        let credentials = AdminCredentials {
            authorization: Some(&admin),
            ..AdminCredentials::default()
        };
        world.store.crash_after_writes.set(Some(crash_after));
        let body = form(&[("grant_id", grant.as_str())]);
        let _ = block_on(world.server().admin_revoke(&credentials, body.as_bytes()));
        world.store.crash_after_writes.set(None);
        world.clock.advance(10);
        let polled = world.token(
            &client,
            &[("grant_type", GRANT), ("device_code", &device_code)],
        );
        let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
        if record.revoked_at.is_none() {
            // Cut off before anything durable reached D1 (and the deny entry, if written, is
            // read by the gate): the device's tokens are refused at the gate.
            continue;
        }
        assert_eq!(error_of(polled).reason, Reason::GrantRevoked);
        let record = block_on(world.store.grant(&grant)).unwrap().unwrap();
        assert!(
            record.revocation_settled_at.is_some(),
            "crash after {crash_after}"
        );
        assert_eq!(revoked_events(&world, &grant), 1);
    }
}

#[test]
fn a_migration_window_longer_than_a_day_lets_no_revoked_agent_back_in() {
    let mut world = World::new();
    let control = agent(&world, "bob@example.com");
    let agent = agent(&world, "alice@example.com");
    let refresh = agent.tokens.refresh_token.clone().unwrap();
    migrate(&mut world);
    assert!(request(&world, &agent, Path::AgentsPage));
    // Thirty hours of migration, the cron running every minute (here: every hour), KV expiring
    // what has expired.
    for _ in 0..30 {
        world.clock.advance(3600);
        let now = world.clock.now();
        world.store.expire_kv(now);
        block_on(migration::renew(&world.store, now)).unwrap();
        assert!(
            world
                .store
                .denied_until(&agent.grant)
                .is_some_and(|until| until.0 > now.0 + 3600),
            "the deny entry outlives the window"
        );
        assert_eq!(
            error_of(world.refresh(&agent.client, &refresh)).reason,
            Reason::GrantRevoked,
            "refresh reads the held write"
        );
    }
    // Without the cron: KV has dropped the deny entry, and the held write still refuses.
    world.clock.advance(2 * 86_400);
    world.store.expire_kv(world.clock.now());
    assert_eq!(world.store.denied_until(&agent.grant), None);
    assert_eq!(
        error_of(world.refresh(&agent.client, &refresh)).reason,
        Reason::GrantRevoked
    );
    // The mode ends three days after the revocation: the drain's deny write is not refused for
    // an expiry in the past, and every held write reaches D1.
    end_migration(&mut world);
    let drained = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!(drained.failed, []);
    assert!(world.store.held.borrow().is_empty());
    assert!(world.store.denied_until(&agent.grant).is_some());
    assert_revoked(&world, &agent, &refresh, "after the window");
    let control_refresh = control.tokens.refresh_token.clone().unwrap();
    world.refresh(&control.client, &control_refresh).unwrap();
}

#[test]
fn a_held_revocation_whose_deny_expiry_has_passed_is_written_with_a_valid_one() {
    let mut world = World::new();
    let agent = agent(&world, "alice@example.com");
    migrate(&mut world);
    let old = world.clock.now();
    // Held by the consumer 25 h ago, as the previous build would have left it.
    let command = Revocation::of_unread(&agent.grant, RevocationReason::AdminRequest, old, None);
    world.store.held.borrow_mut().insert(
        HeldWrite::RevokeGrant(command.clone()).key(),
        Held::new(HeldWrite::RevokeGrant(command)),
    );
    world.clock.advance(25 * 3600);
    end_migration(&mut world);
    let now = world.clock.now();
    let drained = block_on(migration::drain(&world.store, now)).unwrap();
    assert_eq!((drained.written, drained.failed), (1, vec![]));
    assert_eq!(
        world.store.denied_until(&agent.grant),
        Some(revocation::deny_until(old, now))
    );
    assert!(world.store.denied_until(&agent.grant).unwrap().0 > now.0 + 60);
}

#[test]
fn one_held_write_that_fails_is_retried_with_backoff_reported_and_blocks_no_other() {
    let mut world = World::new();
    let agents: Vec<Agent> = (0..6).map(|_| agent(&world, "alice@example.com")).collect();
    migrate(&mut world);
    for agent in &agents {
        let body = form(&[("grant_id", agent.grant.as_str())]);
        let admin = admin_header();
        let credentials = AdminCredentials {
            authorization: Some(&admin),
            ..AdminCredentials::default()
        };
        block_on(world.server().admin_revoke(&credentials, body.as_bytes())).unwrap();
    }
    end_migration(&mut world);
    // One grant row D1 refuses to update (a bad row, a constraint): its held write fails.
    let bad = &agents[2].grant;
    world
        .store
        .broken_grants
        .borrow_mut()
        .insert(bad.as_str().to_owned());
    let drained = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!(drained.failed.len(), 1);
    assert_eq!(drained.failed[0].0, migration::revoke_grant_key(bad));
    for agent in agents.iter().filter(|a| &a.grant != bad) {
        let record = block_on(world.store.grant(&agent.grant)).unwrap().unwrap();
        assert!(
            record.revocation_settled_at.is_some(),
            "written past the bad one"
        );
    }
    // The operator sees it, with its error and next try.
    let admin = admin_header();
    let credentials = AdminCredentials {
        authorization: Some(&admin),
        ..AdminCredentials::default()
    };
    let held = block_on(world.server().admin_held(&credentials)).unwrap();
    let entry = held
        .iter()
        .find(|h| matches!(&h.write, HeldWrite::RevokeGrant(r) if &r.grant_id == bad))
        .unwrap();
    assert_eq!(entry.failures, 1);
    assert!(entry.last_error.as_deref().unwrap().contains("broken"));
    assert_eq!(
        entry.retry_at,
        Some(world.clock.now().plus(migration::DRAIN_BACKOFF_SECS))
    );
    let json = serde_json::to_value(&held).unwrap();
    assert!(json.to_string().contains("last_error"));
    // Not tried again before its time; then again, with a longer wait on failure.
    let early = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!(
        (early.written, early.failed.len(), early.waiting),
        (0, 0, 1)
    );
    world.clock.advance(migration::DRAIN_BACKOFF_SECS);
    let again = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!(again.failed.len(), 1);
    let entry = world.store.held.borrow().values().next().cloned().unwrap();
    assert_eq!(entry.failures, 2);
    assert_eq!(
        entry.retry_at,
        Some(world.clock.now().plus(2 * migration::DRAIN_BACKOFF_SECS))
    );
    // Repaired: written at the next try.
    world.store.broken_grants.borrow_mut().clear();
    world.clock.advance(2 * migration::DRAIN_BACKOFF_SECS);
    let last = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!((last.written, last.failed.len()), (1, 0));
    assert!(world.store.held.borrow().is_empty());
    for agent in &agents {
        assert_eq!(revoked_events(&world, &agent.grant), 1);
    }
}

#[test]
fn drains_cut_off_partway_and_run_again_three_at_once_write_everything_exactly_once() {
    for crash_after in 0..=12 {
        let mut world = World::new();
        let agents: Vec<Agent> = (0..3).map(|_| agent(&world, "alice@example.com")).collect();
        let session = world.login("alice@example.com");
        migrate(&mut world);
        // One through the admin API: its admin_action event is a held audit write.
        for (agent, path) in
            agents
                .iter()
                .zip([Path::AgentsPage, Path::AgentsPage, Path::AdminByGrant])
        {
            assert!(request(&world, agent, path));
        }
        let logout = form(&[("csrf_token", CSRF)]);
        block_on(
            world
                .server()
                .logout(logout.as_bytes(), Some(&session), Some(CSRF)),
        )
        .unwrap();
        end_migration(&mut world);
        let before = world.store.audit.borrow().len();
        let snapshot: Vec<Held> = world.store.held.borrow().values().cloned().collect();
        world.store.crash_after_writes.set(Some(crash_after));
        let _ = block_on(migration::drain(&world.store, world.clock.now()));
        world.store.crash_after_writes.set(None);
        world.clock.advance(migration::DRAIN_BACKOFF_SECS);
        let now = world.clock.now();
        let (a, b, c) = block_on(futures::future::join3(
            migration::drain(&world.store, now),
            migration::drain(&world.store, now),
            migration::drain(&world.store, now),
        ));
        for drained in [a, b, c] {
            assert_eq!(drained.unwrap().failed, [], "crash after {crash_after}");
        }
        // A drain that listed the writes before another released them applies them again.
        for held in &snapshot {
            block_on(migration::apply(&world.store, &held.write, now)).unwrap();
        }
        assert!(
            world.store.held.borrow().is_empty(),
            "crash after {crash_after}"
        );
        for agent in &agents {
            let refresh = agent.tokens.refresh_token.clone().unwrap();
            assert_revoked(
                &world,
                agent,
                &refresh,
                &format!("crash after {crash_after}"),
            );
        }
        assert_eq!(
            world.store.audit.borrow().len(),
            before + 4,
            "one event per revocation and the admin's, none written twice"
        );
        assert_eq!(
            block_on(world.server().person(Some(&session))).unwrap(),
            None
        );
    }
}

#[test]
fn a_consent_given_after_a_revocation_is_not_withdrawn_when_the_revocation_is_finished_late() {
    let mut world = World::new();
    let agent = agent(&world, "alice@example.com");
    migrate(&mut world);
    assert!(request(&world, &agent, Path::AgentsPage));
    end_migration(&mut world);
    // Before the drain runs, the person approves the agent again (a new grant).
    world.clock.advance(30);
    // A wider scope: the consent page is shown and the approval recorded.
    let again =
        world.authorize_and_consent(&agent.client, &agent.session, &[("scope", "read write")]);
    assert!(param(&again, "code").is_some());
    block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    let app = block_on(world.store.grant(&agent.grant))
        .unwrap()
        .unwrap()
        .app;
    assert!(
        world
            .store
            .has_consent("local:alice@example.com", &agent.client.id, &app),
        "the later approval stands"
    );
}

#[test]
fn a_dead_letter_the_consumer_cannot_apply_is_held_for_the_drain_never_dropped() {
    let world = World::new();
    let agent = agent(&world, "alice@example.com");
    let refresh = agent.tokens.refresh_token.clone().unwrap();
    // The Queue gave up on the message: D1 refused it ten times, and still does.
    let grant = block_on(world.store.grant(&agent.grant)).unwrap().unwrap();
    let command = Revocation::of(
        &grant,
        RevocationReason::AdminRequest,
        world.clock.now(),
        None,
    );
    world.store.d1_read_only.set(true);
    let done = block_on(revocation::consume_dead_letter(
        &world.store,
        &command,
        world.clock.now(),
        false,
    ))
    .unwrap();
    assert!(matches!(done, revocation::DeadLetter::Held(_)), "{done:?}");
    assert!(
        world
            .store
            .held
            .borrow()
            .contains_key(&migration::revoke_grant_key(&agent.grant))
    );
    // The gate refuses meanwhile, and so does refresh (it reads the held write).
    let (status, _, _) = challenge(gate(
        &world,
        api("GET", Some(&bearer(&agent.tokens.access_token))),
    ));
    assert_eq!(status, 401);
    // D1 back: the drain finishes it.
    world.store.d1_read_only.set(false);
    world.clock.advance(1);
    let drained = block_on(migration::drain(&world.store, world.clock.now())).unwrap();
    assert_eq!((drained.written, drained.failed), (1, vec![]));
    assert_revoked(&world, &agent, &refresh, "dead letter");
    // Neither applied nor held (KV down too): an error, so the message is retried.
    let other = agent_of(&world, "alice@example.com", &agent.session);
    let grant = block_on(world.store.grant(&other.grant)).unwrap().unwrap();
    let command = Revocation::of(
        &grant,
        RevocationReason::AdminRequest,
        world.clock.now(),
        None,
    );
    world.store.down.set(true);
    assert!(
        block_on(revocation::consume_dead_letter(
            &world.store,
            &command,
            world.clock.now(),
            false
        ))
        .is_err()
    );
}
