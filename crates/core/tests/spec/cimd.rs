//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP
//! authorization 2025-11-25 "Client ID Metadata Documents"): §3 client identifier URLs, §4
//! fetching and validating the document, §4.1 `client_id` equality and no secrets, §6.5 SSRF,
//! caching per the response's headers, exact redirect-URI matching.

use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::error::Reason;
use gatehouse_core::net::FetchedDocument;
use gatehouse_core::server::AuthorizeOutcome;

use crate::support::*;

const URL: &str = "https://agent.example.com/oauth/client.json";

fn document(redirect: &str) -> String {
    format!(
        r#"{{"client_id":"{URL}","client_name":"Doc Agent","redirect_uris":["{redirect}"],
            "grant_types":["authorization_code","refresh_token"]}}"#
    )
}

fn cimd_client() -> Client {
    Client {
        id: URL.to_owned(),
        secret: None,
    }
}

fn world_serving(body: &str, cache_control: Option<&str>) -> World {
    let world = World::new();
    world.store.serve_document(URL, body, cache_control);
    world
}

fn render_reason(world: &World, client_id: &str) -> Reason {
    let client = Client {
        id: client_id.to_owned(),
        secret: None,
    };
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    match world.authorize(&query, Some(&session)) {
        Err(AuthorizeError::Render(reason)) => reason,
        other => panic!("expected an error page, got {other:?}"),
    }
}

#[test]
fn a_document_client_goes_through_authorize_consent_token_and_refresh() {
    let world = world_serving(&document(REDIRECT), None);
    let client = cimd_client();
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[]);
    match world.authorize(&query, Some(&session)).unwrap() {
        AuthorizeOutcome::Consent(prompt) => {
            assert_eq!(prompt.client_name, "Doc Agent");
            assert_eq!(
                prompt.client_document_host.as_deref(),
                Some("agent.example.com")
            );
        }
        other => panic!("expected consent, got {other:?}"),
    }
    let location = match world.decide(&query, &session, "approve").unwrap() {
        AuthorizeOutcome::Redirect(location) => location,
        other => panic!("{other:?}"),
    };
    let tokens = world
        .exchange(&client, &param(&location, "code").unwrap())
        .unwrap();
    assert_eq!(claims(&tokens.access_token)["client_id"], URL);
    let refreshed = world
        .refresh(&client, tokens.refresh_token.as_deref().unwrap())
        .unwrap();
    assert!(refreshed.refresh_token.is_some());
    // One fetch served authorize, consent, token and refresh: the document was cached.
    assert_eq!(world.store.fetched.borrow().as_slice(), [URL]);
}

#[test]
fn a_document_naming_another_client_id_is_refused() {
    let world = world_serving(
        &document(REDIRECT).replace(URL, "https://other.example.com/client.json"),
        None,
    );
    assert_eq!(render_reason(&world, URL), Reason::CimdClientIdMismatch);
}

#[test]
fn a_redirect_uri_not_in_the_document_is_refused_and_loopback_paths_and_hosts_match_exactly() {
    let world = world_serving(&document(REDIRECT), None);
    let session = world.login("alice@example.com");
    for redirect in [
        "https://evil.example/cb",
        "http://127.0.0.1:4242/callback/",
        "http://127.0.0.1:4242/Callback",
        "http://127.0.0.2:4242/callback",
        "http://localhost:4242/callback",
        "https://127.0.0.1:4242/callback",
    ] {
        let query = world.authorization_query(&cimd_client(), redirect, &[]);
        assert!(
            matches!(
                world.authorize(&query, Some(&session)),
                Err(AuthorizeError::Render(Reason::RedirectUriMismatch))
            ),
            "{redirect}"
        );
    }
}

#[test]
fn a_documents_loopback_ip_literal_accepts_any_port_issue_17() {
    // RFC 8252 §7.3 for native clients' documents: the document lists `http://127.0.0.1/`, the
    // client listens on an ephemeral port. Before issue 17 this was refused.
    let world = world_serving(&document("http://127.0.0.1/"), None);
    let client = cimd_client();
    let session = world.login("alice@example.com");
    let redirect = "http://127.0.0.1:51004/";
    let query = world.authorization_query(&client, redirect, &[]);
    match world.authorize(&query, Some(&session)).unwrap() {
        AuthorizeOutcome::Consent(prompt) => {
            assert!(prompt.redirect_is_loopback);
            assert!(
                !prompt.redirect_leaves_document_host,
                "loopback is never warned as a host"
            );
        }
        other => panic!("expected consent, got {other:?}"),
    }
    let location = match world.decide(&query, &session, "approve").unwrap() {
        AuthorizeOutcome::Redirect(location) => location,
        other => panic!("{other:?}"),
    };
    assert!(
        location.starts_with("http://127.0.0.1:51004/?code="),
        "{location}"
    );
    let tokens = world.token(
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &param(&location, "code").unwrap()),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ],
    );
    assert!(tokens.is_ok(), "{tokens:?}");
}

#[test]
fn a_redirect_to_another_host_than_the_documents_is_flagged_for_the_page() {
    let world = world_serving(
        &format!(
            r#"{{"client_id":"{URL}","client_name":"Doc Agent","redirect_uris":["https://collector.other.example/cb","https://agent.example.com/cb"]}}"#
        ),
        None,
    );
    let session = world.login("alice@example.com");
    for (redirect, leaves) in [
        ("https://collector.other.example/cb", true),
        ("https://agent.example.com/cb", false),
    ] {
        let query = world.authorization_query(&cimd_client(), redirect, &[]);
        match world.authorize(&query, Some(&session)).unwrap() {
            AuthorizeOutcome::Consent(prompt) => {
                assert_eq!(prompt.redirect_leaves_document_host, leaves, "{redirect}");
            }
            other => panic!("expected consent, got {other:?}"),
        }
    }
}

#[test]
fn ssrf_client_ids_are_refused_before_any_fetch() {
    let world = World::new();
    for id in [
        "https://127.0.0.1/client.json",
        "https://localhost/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/client.json",
        "https://192.168.1.10/client.json",
        "https://[::1]/client.json",
        "https://metadata.google.internal/client.json",
    ] {
        world
            .store
            .serve_document(id, &document(REDIRECT).replace(URL, id), None);
        assert_eq!(
            render_reason(&world, id),
            Reason::CimdAddressRefused,
            "{id}"
        );
    }
    // Plain http, even on loopback, needs the local-development flag.
    assert_eq!(
        render_reason(&world, "http://127.0.0.1:8080/client.json"),
        Reason::CimdUrlInvalid
    );
    assert!(
        world.store.fetched.borrow().is_empty(),
        "nothing was fetched"
    );
}

#[test]
fn redirects_are_never_followed() {
    // Draft §4 (-01): "The authorization server MUST NOT automatically follow HTTP redirects";
    // a 3xx is an error, whatever its target.
    let world = World::new();
    world.store.serve_response(
        URL,
        FetchedDocument {
            status: 302,
            ..FetchedDocument::default()
        },
    );
    assert_eq!(render_reason(&world, URL), Reason::CimdFetchFailed);
    assert_eq!(world.store.fetched.borrow().as_slice(), [URL]);
}

#[test]
fn a_response_that_is_not_json_is_refused() {
    // Draft §4: any content type other than application/json or application/*+json is an error.
    let world = World::new();
    world.store.serve_response(
        URL,
        FetchedDocument {
            status: 200,
            content_type: Some("text/html".into()),
            body: document(REDIRECT).into_bytes(),
            ..FetchedDocument::default()
        },
    );
    assert_eq!(render_reason(&world, URL), Reason::CimdFetchFailed);
    world.store.serve_response(
        URL,
        FetchedDocument {
            status: 200,
            content_type: Some("application/client-metadata+json".into()),
            body: document(REDIRECT).into_bytes(),
            ..FetchedDocument::default()
        },
    );
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&cimd_client(), REDIRECT, &[]);
    assert!(matches!(
        world.authorize(&query, Some(&session)).unwrap(),
        AuthorizeOutcome::Consent(_)
    ));
}

#[test]
fn the_cache_is_honoured_and_expires() {
    let world = world_serving(&document(REDIRECT), Some("max-age=3600"));
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&cimd_client(), REDIRECT, &[]);
    world.authorize(&query, Some(&session)).unwrap();
    world.clock.advance(3599);
    world.authorize(&query, Some(&session)).unwrap();
    assert_eq!(world.store.fetched.borrow().len(), 1, "cached for max-age");
    world.clock.advance(2);
    world.authorize(&query, Some(&session)).unwrap();
    assert_eq!(world.store.fetched.borrow().len(), 2, "fetched again after");
}

#[test]
fn an_unreachable_document_is_a_clear_refusal() {
    let world = World::new();
    assert_eq!(render_reason(&world, URL), Reason::CimdFetchFailed);
}

#[test]
fn the_token_endpoint_refuses_a_document_client_whose_document_is_gone() {
    let world = World::new();
    let error = error_of(world.refresh(&cimd_client(), "whatever"));
    assert_eq!(error.reason, Reason::CimdFetchFailed);
}

#[test]
fn approving_a_document_client_records_it_for_grants_and_consents() {
    let world = world_serving(&document(REDIRECT), None);
    world.tokens(&cimd_client());
    assert!(world.store.dump().contains("MetadataDocument"));
}

// private_key_jwt (RFC 7523 §2.2, §3) for document clients that publish their keys.

mod private_key_jwt {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use gatehouse_core::error::Reason;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature, SigningKey};

    use super::{URL, cimd_client};
    use crate::support::*;

    const JWKS_URL: &str = "https://agent.example.com/oauth/jwks.json";
    const TOKEN_ENDPOINT: &str = "https://wiki.test/oauth/token";
    /// The test clock's time, which these tests never advance.
    const ISSUED_AT: u64 = 1_800_000_000;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    fn jwks(key: &SigningKey) -> String {
        let point = key.verifying_key().to_encoded_point(false);
        format!(
            r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","x":"{}","y":"{}"}}]}}"#,
            URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            URL_SAFE_NO_PAD.encode(point.y().unwrap())
        )
    }

    fn document(keys: &str) -> String {
        format!(
            r#"{{"client_id":"{URL}","client_name":"Keyed Agent","redirect_uris":["{REDIRECT}"],
                "grant_types":["authorization_code","refresh_token"],
                "token_endpoint_auth_method":"private_key_jwt",{keys}}}"#
        )
    }

    fn assertion(key: &SigningKey, aud: &str, jti: &str, exp: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"iss":"{URL}","sub":"{URL}","aud":"{aud}","jti":"{jti}","exp":{exp},"iat":{ISSUED_AT}}}"#
        ));
        let input = format!("{header}.{claims}");
        let signature: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// A world whose agent publishes `key`'s public half at its `jwks_uri`, and a code for it.
    fn keyed_world(key: &SigningKey) -> (World, String) {
        let world = World::new();
        world
            .store
            .serve_document(URL, &document(&format!(r#""jwks_uri":"{JWKS_URL}""#)), None);
        world.store.serve_document(JWKS_URL, &jwks(key), None);
        let session = world.login("alice@example.com");
        let location = world.authorize_and_consent(&cimd_client(), &session, &[]);
        (world, param(&location, "code").unwrap())
    }

    fn exchange(
        world: &World,
        code: &str,
        client_assertion: &str,
    ) -> Result<gatehouse_core::grants::TokenResponse, gatehouse_core::server::Failure> {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", client_assertion),
        ]);
        block_on(world.server().token(body.as_bytes(), None))
    }

    fn now(world: &World) -> u64 {
        use gatehouse_core::time::Clock as _;
        world.clock.now().0
    }

    #[test]
    fn a_signed_assertion_by_a_published_key_authenticates_the_client() {
        let key = key(7);
        let (world, code) = keyed_world(&key);
        let jwt = assertion(&key, TOKEN_ENDPOINT, "jti-1", now(&world) + 120);
        let tokens = exchange(&world, &code, &jwt).unwrap();
        assert_eq!(claims(&tokens.access_token)["client_id"], URL);
        // The issuer is an accepted audience too (RFC 7523 §3 item 3).
        let refresh = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token.as_deref().unwrap()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                &assertion(&key, ISSUER, "jti-2", now(&world) + 120),
            ),
        ]);
        assert!(block_on(world.server().token(refresh.as_bytes(), None)).is_ok());
    }

    #[test]
    fn inline_jwks_work_too() {
        let key = key(9);
        let world = World::new();
        world
            .store
            .serve_document(URL, &document(&format!(r#""jwks":{}"#, jwks(&key))), None);
        let session = world.login("alice@example.com");
        let location = world.authorize_and_consent(&cimd_client(), &session, &[]);
        let jwt = assertion(&key, TOKEN_ENDPOINT, "jti-1", now(&world) + 120);
        assert!(exchange(&world, &param(&location, "code").unwrap(), &jwt).is_ok());
    }

    #[test]
    fn a_replayed_jti_is_refused() {
        let key = key(7);
        let (world, code) = keyed_world(&key);
        let jwt = assertion(&key, TOKEN_ENDPOINT, "jti-1", now(&world) + 120);
        exchange(&world, &code, &jwt).unwrap();
        let error = error_of(exchange(&world, &code, &jwt));
        assert_eq!(error.reason, Reason::ClientAssertionReplayed);
    }

    #[test]
    fn an_assertion_is_used_once_in_either_spelling_of_its_signature() {
        // Issue 15 §4. A client's JOSE library may leave its ECDSA signature high-s (most do,
        // half the time), so both spellings authenticate; but the high-s twin of a used
        // assertion shares its jti and is a replay, whichever spelling came first.
        let key = key(7);
        let mut jti = 0;
        let mut next = |world: &World| {
            jti += 1;
            assertion(
                &key,
                TOKEN_ENDPOINT,
                &format!("jti-{jti}"),
                now(world) + 120,
            )
        };
        let (world, code) = keyed_world(&key);
        let (high, low) = loop {
            let jwt = next(&world);
            if !is_low_s(&jwt) {
                break (jwt.clone(), es256_twin(&jwt));
            }
        };
        assert!(is_low_s(&low));
        // A conforming client whose signature came out high-s authenticates ...
        assert!(exchange(&world, &code, &high).is_ok());
        // ... and the other spelling of the same assertion is a replay.
        let refresh = |assertion: &str| {
            let body = form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "unknown"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
            ]);
            error_of(block_on(world.server().token(body.as_bytes(), None))).reason
        };
        assert_eq!(refresh(&low), Reason::ClientAssertionReplayed);
    }

    #[test]
    fn a_wrong_audience_is_refused() {
        let key = key(7);
        let (world, code) = keyed_world(&key);
        let jwt = assertion(
            &key,
            "https://files.test/oauth/token",
            "jti-1",
            now(&world) + 120,
        );
        assert_eq!(
            error_of(exchange(&world, &code, &jwt)).reason,
            Reason::ClientAssertionAudience
        );
    }

    #[test]
    fn a_wrong_key_is_refused() {
        let (world, code) = keyed_world(&key(7));
        let jwt = assertion(&key(8), TOKEN_ENDPOINT, "jti-1", now(&world) + 120);
        assert_eq!(
            error_of(exchange(&world, &code, &jwt)).reason,
            Reason::ClientAssertionSignature
        );
    }

    #[test]
    fn expired_or_long_lived_assertions_and_missing_assertions_are_refused() {
        let key = key(7);
        let (world, code) = keyed_world(&key);
        let expired = assertion(&key, TOKEN_ENDPOINT, "a", now(&world) - 60);
        assert_eq!(
            error_of(exchange(&world, &code, &expired)).reason,
            Reason::ClientAssertionInvalid
        );
        let forever = assertion(&key, TOKEN_ENDPOINT, "b", now(&world) + 86_400);
        assert_eq!(
            error_of(exchange(&world, &code, &forever)).reason,
            Reason::ClientAssertionInvalid
        );
        // Without an assertion, the keyed client cannot pass as a public one.
        let error = error_of(world.exchange(&cimd_client(), &code));
        assert_eq!(error.reason, Reason::ClientAuthMethodMismatch);
    }

    #[test]
    fn a_jwks_uri_pointing_inside_is_refused_before_any_fetch() {
        let world = World::new();
        world.store.serve_document(
            URL,
            &document(r#""jwks_uri":"https://169.254.169.254/keys""#),
            None,
        );
        let session = world.login("alice@example.com");
        let query = world.authorization_query(&cimd_client(), REDIRECT, &[]);
        assert!(matches!(
            world.authorize(&query, Some(&session)),
            Err(gatehouse_core::authorize::AuthorizeError::Render(
                Reason::CimdAddressRefused
            ))
        ));
        assert_eq!(world.store.fetched.borrow().as_slice(), [URL]);
    }
}

#[test]
fn installations_are_told_apart_and_revoking_one_leaves_the_other() {
    const SECOND: &str = "http://127.0.0.1:5555/callback";
    let world = World::new();
    world.store.serve_document(
        URL,
        &format!(
            r#"{{"client_id":"{URL}","client_name":"Doc Agent","redirect_uris":["{REDIRECT}","{SECOND}"],
                "grant_types":["authorization_code","refresh_token"]}}"#
        ),
        None,
    );
    let client = cimd_client();
    let session = world.login("alice@example.com");
    let laptop = world.tokens(&client);
    let location = world.authorize_and_consent(&client, &session, &[("redirect_uri", SECOND)]);
    let desktop = world
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &param(&location, "code").unwrap()),
                ("redirect_uri", SECOND),
                ("code_verifier", VERIFIER),
            ],
        )
        .unwrap();
    let view = block_on(world.server().connected_agents(Some(&session)))
        .unwrap()
        .unwrap();
    let mut redirects: Vec<&str> = view
        .agents
        .iter()
        .map(|a| a.redirect_uri.as_str())
        .collect();
    redirects.sort_unstable();
    assert_eq!(redirects, [REDIRECT, SECOND]);
    assert!(
        view.agents
            .iter()
            .all(|a| a.client_document_host.as_deref() == Some("agent.example.com"))
    );
    let laptop_grant = &view
        .agents
        .iter()
        .find(|a| a.redirect_uri == REDIRECT)
        .unwrap()
        .grant_id;
    let body = form(&[("grant_id", laptop_grant), ("csrf_token", CSRF)]);
    block_on(
        world
            .server()
            .revoke_agent(body.as_bytes(), Some(&session), Some(CSRF)),
    )
    .unwrap();
    assert!(
        world
            .refresh(&client, laptop.refresh_token.as_deref().unwrap())
            .is_err()
    );
    assert!(
        world
            .refresh(&client, desktop.refresh_token.as_deref().unwrap())
            .is_ok()
    );
}

#[test]
fn an_operator_can_disable_a_document_client() {
    let world = world_serving(&document(REDIRECT), None);
    let client = cimd_client();
    let tokens = world.tokens(&client);
    let body = form(&[("client_id", URL)]);
    let credentials = gatehouse_core::admin::AdminCredentials {
        authorization: Some(&format!("Bearer {ADMIN_TOKEN}")),
        ..Default::default()
    };
    let revoked = block_on(
        world
            .server()
            .admin_disable_client(&credentials, body.as_bytes()),
    )
    .unwrap();
    assert_eq!(revoked.grants, 1);
    // The document still validates, but the client is gone.
    assert_eq!(
        error_of(world.refresh(&client, tokens.refresh_token.as_deref().unwrap())).reason,
        Reason::ClientUnknown
    );
    assert_eq!(render_reason(&world, URL), Reason::ClientUnknown);
}
