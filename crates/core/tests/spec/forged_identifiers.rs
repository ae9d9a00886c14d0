//! Issue 15 §6: made-up identifiers cost no storage round trip. Client ids, authorization codes,
//! refresh tokens and device codes gatehouse issues carry a MAC tag (`gatehouse_core::identifiers`); a value
//! whose tag does not match is refused before storage is asked. Client ids without a tag
//! (registered before tags, or inserted by the operator) still work, through the store's list
//! of untagged clients. The store counts its lookups, so each test shows what reached it.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::client_auth::AuthMethod;
use gatehouse_core::error::Reason;
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::model::audit::{AuditEvent, AuditKind};
use gatehouse_core::registration::{ClientMetadata, GrantType};
use gatehouse_core::server::Failure;
use gatehouse_core::store::{ClientRecord, ClientSource, ClientStore, RegistrationLimit};
use gatehouse_core::time::{Clock, UnixTime};
use gatehouse_core::types::{ClientId, RedirectUri};

use crate::support::*;

/// A tag that is not the right one: 22 base64url characters.
const WRONG_TAG: &str = "AAAAAAAAAAAAAAAAAAAAAA";

fn reason_of(result: Result<TokenResponse, Failure>) -> Reason {
    error_of(result).reason
}

/// `value` with its tag replaced.
fn retagged(value: &str) -> String {
    let (body, _) = value.rsplit_once('.').unwrap();
    format!("{body}.{WRONG_TAG}")
}

/// `value` without its tag, as values were before tags.
fn untagged(value: &str) -> String {
    value.rsplit_once('.').unwrap().0.to_owned()
}

/// A public client whose id carries no tag, as one registered before tags (or inserted by the
/// operator) is stored.
fn untagged_client(world: &World, id: &str) -> Client {
    let record = ClientRecord {
        client_id: ClientId::parse(id).unwrap(),
        secret_hash: None,
        metadata: ClientMetadata {
            redirect_uris: vec![RedirectUri::parse(REDIRECT).unwrap()],
            token_endpoint_auth_method: AuthMethod::None,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_types: vec!["code".into()],
            client_name: Some("Old agent".into()),
            client_uri: None,
            scope: None,
            contacts: Vec::new(),
            software_id: None,
            software_version: None,
            keys: None,
        },
        source: ClientSource::Dynamic,
        created_at: world.clock.now(),
        expires_at: None,
    };
    let event = AuditEvent {
        kind: AuditKind::ClientRegistered,
        subject: None,
        client_id: Some(id.to_owned()),
        app: None,
        grant_id: None,
        source: None,
        detail: serde_json::Value::Null,
    };
    let limit = RegistrationLimit {
        max: 100,
        since: UnixTime(0),
    };
    assert!(
        block_on(
            world
                .store
                .insert_client(&record, "operator", &event, limit)
        )
        .unwrap()
    );
    Client {
        id: id.to_owned(),
        secret: None,
    }
}

#[test]
fn registered_client_ids_carry_a_tag() {
    let world = World::new();
    let client = world.public_client();
    let (body, tag) = client.id.rsplit_once('.').unwrap();
    assert!(
        body.starts_with("c_") && body.len() == 2 + 32,
        "{}",
        client.id
    );
    assert_eq!(tag.len(), 22);
}

/// A made-up client id shaped like an issued one never reaches storage: shown with storage
/// down, where a lookup would be a `503`, at the token and the authorization endpoints.
#[test]
fn a_made_up_client_id_is_refused_without_storage() {
    let world = World::new();
    let client = world.public_client();
    world.store.down.set(true);
    for forged in [
        retagged(&client.id),
        format!("c_{}.{WRONG_TAG}", "0".repeat(32)),
    ] {
        let stranger = Client {
            id: forged.clone(),
            secret: None,
        };
        let result = world.token(
            &stranger,
            &[("grant_type", "authorization_code"), ("code", "x")],
        );
        assert_eq!(reason_of(result), Reason::ClientUnknown, "{forged}");
        let query = world.authorization_query(&stranger, REDIRECT, &[]);
        match world.authorize(&query, None) {
            Err(AuthorizeError::Render(reason)) => {
                assert_eq!(reason, Reason::ClientUnknown, "{forged}")
            }
            other => panic!("{forged}: {other:?}"),
        }
    }
    world.store.down.set(false);
    assert_eq!(world.store.client_lookups.get(), 0);
    assert_eq!(world.store.untagged_lookups.get(), 0);
}

/// An untagged id is looked up only if the store lists it among the untagged clients (which the
/// Worker answers from memory); a made-up one stops there.
#[test]
fn an_untagged_client_id_is_looked_up_only_when_listed() {
    let world = World::new();
    let client = world.public_client();
    let before = world.store.client_lookups.get();
    let stranger = Client {
        id: untagged(&client.id),
        secret: None,
    };
    let result = world.token(
        &stranger,
        &[("grant_type", "authorization_code"), ("code", "x")],
    );
    assert_eq!(reason_of(result), Reason::ClientUnknown);
    assert_eq!(world.store.untagged_lookups.get(), 1);
    assert_eq!(world.store.client_lookups.get(), before);
}

/// Clients registered before tags (`c_` and 32 hex digits) and clients the operator inserted
/// keep working through the whole flow: authorize, code, token, refresh.
#[test]
fn clients_registered_before_tags_keep_working() {
    let world = World::new();
    for id in ["c_0123456789abcdef0123456789abcdef", "pre-registered-cli"] {
        let client = untagged_client(&world, id);
        let tokens = world.tokens(&client);
        let refreshed = world
            .refresh(&client, tokens.refresh_token.as_deref().unwrap())
            .unwrap();
        assert!(refreshed.refresh_token.is_some(), "{id}");
    }
}

/// A made-up code (a changed tag, no tag, or anything else) is unknown without a lookup; the
/// issued code is then exchanged as usual.
#[test]
fn a_made_up_code_is_refused_without_storage() {
    let world = World::new();
    let client = world.public_client();
    let code = world.code(&client);
    let before = world.store.secret_lookups.get();
    for forged in [retagged(&code), untagged(&code), "made-up".to_owned()] {
        let result = world.exchange(&client, &forged);
        assert_eq!(reason_of(result), Reason::CodeUnknown, "{forged:?}");
    }
    assert_eq!(world.store.secret_lookups.get(), before);
    world.exchange(&client, &code).unwrap();
}

/// The same for refresh tokens, at the token endpoint and at revocation and introspection,
/// where an untagged token is taken for an access token (a JWT) and never looked up; the issued
/// token still rotates, and its successor is tagged too.
#[test]
fn a_made_up_refresh_token_is_refused_without_storage() {
    let world = World::new();
    let client = world.public_client();
    let refresh = world.tokens(&client).refresh_token.unwrap();
    let confidential = world.confidential_client();
    let before = world.store.secret_lookups.get();
    for forged in [retagged(&refresh), untagged(&refresh), "made-up".to_owned()] {
        let result = world.refresh(&client, &forged);
        assert_eq!(reason_of(result), Reason::RefreshTokenUnknown, "{forged}");
        let (body, basic) = client_form(&client, &[("token", &forged)]);
        world.revoke(body.as_bytes(), basic.as_deref()).unwrap();
        let (body, basic) = client_form(&confidential, &[("token", &forged)]);
        let answer = block_on(world.server().introspect(body.as_bytes(), basic.as_deref()));
        assert!(answer.is_ok(), "{forged}");
    }
    assert_eq!(world.store.secret_lookups.get(), before);
    let successor = world
        .refresh(&client, &refresh)
        .unwrap()
        .refresh_token
        .unwrap();
    assert_eq!(successor.rsplit_once('.').unwrap().1.len(), 22);
    world.refresh(&client, &successor).unwrap();
}

/// The same for device codes (RFC 8628 §3.4): a made-up one is unknown without a lookup, and the
/// issued one is still polled.
#[test]
fn a_made_up_device_code_is_refused_without_storage() {
    let world = World::new();
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let client = world.register(&format!(
        r#"{{"client_name":"CLI agent","token_endpoint_auth_method":"none","grant_types":["{grant}"]}}"#
    ));
    let (body, basic) = client_form(&client, &[("scope", "read")]);
    let started = block_on(
        world
            .server()
            .device_authorization(body.as_bytes(), basic.as_deref()),
    )
    .unwrap();
    let device_code = started.device_code.clone();
    let before = world.store.secret_lookups.get();
    for forged in [
        retagged(&device_code),
        untagged(&device_code),
        "made-up".to_owned(),
    ] {
        let result = world.token(&client, &[("grant_type", grant), ("device_code", &forged)]);
        assert_eq!(reason_of(result), Reason::DeviceCodeUnknown, "{forged}");
    }
    assert_eq!(world.store.secret_lookups.get(), before);
    let pending = world.token(
        &client,
        &[("grant_type", grant), ("device_code", &device_code)],
    );
    assert_eq!(reason_of(pending), Reason::DeviceAuthorizationPending);
}
