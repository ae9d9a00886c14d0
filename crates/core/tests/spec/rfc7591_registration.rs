//! RFC 7591 (dynamic client registration): §2 metadata rules, §3.2.1 the response, §3.2.2
//! errors; secrets returned once and stored hashed; rate limits per source; unused clients lapse.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::registration::{MAX_REGISTRATIONS_PER_HOUR, UNUSED_CLIENT_TTL_SECS};
use gatehouse_core::server::Failure;

use crate::support::*;

fn refused(world: &World, json: &str) -> (ErrorCode, Reason) {
    match block_on(world.server().register(json.as_bytes(), "192.0.2.1")) {
        Err(Failure::OAuth { error, .. }) => (error.code, error.reason),
        other => panic!("{json}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_public_client_gets_an_id_and_no_secret() {
    let world = World::new();
    let registered = block_on(world.server().register(
        format!(r#"{{"client_name":"Agent","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none","unknown_field":[1,2]}}"#).as_bytes(),
        "192.0.2.1",
    ))
    .unwrap();
    let response = serde_json::to_value(registered.response()).unwrap();
    assert!(response["client_id"].as_str().unwrap().len() >= 16);
    assert!(response.get("client_secret").is_none());
    assert_eq!(response["token_endpoint_auth_method"], "none");
    assert_eq!(response["redirect_uris"][0], REDIRECT);
    assert_eq!(response["grant_types"][0], "authorization_code");
    assert_eq!(response["client_name"], "Agent");
    assert!(
        response.get("unknown_field").is_none(),
        "unknown fields are ignored, not echoed"
    );
}

#[test]
fn a_confidential_client_gets_a_secret_once_and_it_is_stored_hashed() {
    let world = World::new();
    let client = world.confidential_client();
    let secret = client.secret.clone().unwrap();
    assert!(secret.len() >= 43);
    assert!(
        !world.store.dump().contains(&secret),
        "the raw secret reached storage"
    );
    world.tokens(&client);
}

#[test]
fn redirect_uris_are_validated_with_invalid_redirect_uri() {
    let world = World::new();
    for uri in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
        "http://agent.example/cb",
        "https://agent.example/cb#frag",
        "https://user:pw@agent.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "myapp:/cb",
        "not a url",
        "",
    ] {
        let json = serde_json::json!({ "redirect_uris": [uri] }).to_string();
        assert_eq!(
            refused(&world, &json).0,
            ErrorCode::InvalidRedirectUri,
            "{uri:?}"
        );
    }
    assert_eq!(
        refused(&world, r#"{"client_name":"x"}"#).0,
        ErrorCode::InvalidRedirectUri
    );
    assert_eq!(
        refused(&world, r#"{"redirect_uris":[]}"#).0,
        ErrorCode::InvalidRedirectUri
    );
    for ok in [
        "https://agent.example/cb?x=1",
        "http://localhost/cb",
        "http://[::1]:8080/cb",
        "com.example.agent:/cb",
    ] {
        world.register(&serde_json::json!({ "redirect_uris": [ok] }).to_string());
    }
}

#[test]
fn other_metadata_is_validated_with_invalid_client_metadata() {
    let world = World::new();
    let r = format!(r#""redirect_uris":["{REDIRECT}"]"#);
    for json in [
        format!(r#"{{{r},"token_endpoint_auth_method":"private_key_jwt"}}"#),
        format!(r#"{{{r},"token_endpoint_auth_method":7}}"#),
        format!(r#"{{{r},"grant_types":["implicit"]}}"#),
        format!(r#"{{{r},"grant_types":["refresh_token"]}}"#),
        format!(r#"{{{r},"grant_types":"authorization_code"}}"#),
        format!(r#"{{{r},"response_types":["token"]}}"#),
        format!(r#"{{{r},"client_name":"{}"}}"#, "x".repeat(101)),
        format!(r#"{{{r},"client_name":"evil\u0000name"}}"#),
        format!(r#"{{{r},"client_uri":"javascript:alert(1)"}}"#),
        format!(r#"{{{r},"scope":"read \"write"}}"#),
        format!(r#"{{{r},"jwks_uri":"https://agent.example/jwks"}}"#),
        format!(r#"{{{r},"contacts":["a","b","c","d","e","f"]}}"#),
    ] {
        assert_eq!(
            refused(&world, &json).0,
            ErrorCode::InvalidClientMetadata,
            "{json}"
        );
    }
    assert_eq!(
        refused(&world, "not json").0,
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(refused(&world, "[]").0, ErrorCode::InvalidClientMetadata);
    let too_many: Vec<String> = (0..11)
        .map(|i| format!("https://agent.example/{i}"))
        .collect();
    let json = serde_json::json!({ "redirect_uris": too_many }).to_string();
    assert_eq!(refused(&world, &json).0, ErrorCode::InvalidRedirectUri);
}

#[test]
fn an_oversized_body_is_refused() {
    let world = World::new();
    let json = format!(
        r#"{{"redirect_uris":["{REDIRECT}"],"padding":"{}"}}"#,
        "x".repeat(20_000)
    );
    assert_eq!(refused(&world, &json).1, Reason::BodyTooLarge);
}

#[test]
fn registrations_are_rate_limited_per_source() {
    let world = World::new();
    let json = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
    for _ in 0..MAX_REGISTRATIONS_PER_HOUR {
        block_on(world.server().register(json.as_bytes(), "198.51.100.7")).unwrap();
    }
    match block_on(world.server().register(json.as_bytes(), "198.51.100.7")) {
        Err(Failure::OAuth { error, .. }) => {
            assert_eq!(error.reason, Reason::RegistrationRateLimited)
        }
        other => panic!("{other:?}"),
    }
    block_on(world.server().register(json.as_bytes(), "198.51.100.8")).unwrap();
    world.clock.advance(3601);
    block_on(world.server().register(json.as_bytes(), "198.51.100.7")).unwrap();
}

#[test]
fn an_unused_registration_lapses_and_a_used_one_stays() {
    let world = World::new();
    let unused = world.public_client();
    let used = world.public_client();
    world.tokens(&used);
    world.clock.advance(UNUSED_CLIENT_TTL_SECS + 1);
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&unused, REDIRECT, &[]);
    assert!(matches!(
        world.authorize(&query, Some(&session)),
        Err(gatehouse_core::authorize::AuthorizeError::Render(
            Reason::ClientUnknown
        ))
    ));
    world.tokens(&used);
}

#[test]
fn source_networks_group_ipv6_by_64_prefix() {
    use gatehouse_core::registration::source_network;
    assert_eq!(source_network("192.0.2.1"), "192.0.2.1");
    assert_eq!(
        source_network("2001:db8:1:2:3:4:5:6"),
        source_network("2001:db8:1:2:ffff::1")
    );
    assert_ne!(
        source_network("2001:db8:1:2::1"),
        source_network("2001:db8:1:3::1")
    );
    assert_eq!(source_network(""), "unknown");
    assert_eq!(source_network("garbage"), "unknown");
}
