//! Issue 17: the registrations real MCP clients send go through authorize, consent and the code
//! exchange. RFC 8252 §7.1 and §8.1 (private-use schemes for public clients, with PKCE), §7.3
//! (any loopback port) with RFC 3986 §6.2.3 (an empty path is `/`), RFC 7591 §2 (device-only
//! clients register no redirect URIs), and what the consent page is told about names and
//! destinations.

use gatehouse_core::error::{ErrorCode, Reason};
use gatehouse_core::server::{AuthorizeOutcome, Failure};

use crate::support::*;

/// Registers `json` and runs authorize with `redirect`; returns the client, the query and the
/// consent prompt.
fn consent_for(
    world: &World,
    json: &str,
    redirect: &str,
) -> (
    Client,
    String,
    String,
    gatehouse_core::consent::ConsentPrompt,
) {
    let client = world.register(json);
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, redirect, &[]);
    match world.authorize(&query, Some(&session)).unwrap() {
        AuthorizeOutcome::Consent(prompt) => (client, session, query, prompt),
        other => panic!("expected consent, got {other:?}"),
    }
}

/// Approves and exchanges the code with `redirect`, as the client would.
fn approve_and_exchange(
    world: &World,
    client: &Client,
    session: &str,
    query: &str,
    redirect: &str,
) -> String {
    let location = match world.decide(query, session, "approve").unwrap() {
        AuthorizeOutcome::Redirect(location) => location,
        other => panic!("{other:?}"),
    };
    let tokens = world
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &param(&location, "code").unwrap()),
                ("redirect_uri", redirect),
                ("code_verifier", VERIFIER),
            ],
        )
        .unwrap();
    assert!(tokens.refresh_token.is_some());
    location
}

#[test]
fn cursor_registers_a_private_use_scheme_and_the_app_receives_the_code() {
    // Cursor's registration as reported in issue 17: three callbacks in one request, one of
    // them `cursor://…`, as a public client. It was refused whole before.
    let cursor = "cursor://anysphere.cursor-mcp/oauth/callback";
    let json = format!(
        r#"{{"application_type":"web","client_name":"Cursor","redirect_uris":["{cursor}","https://www.cursor.com/agents/mcp/oauth/callback","http://localhost:8787/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}}"#
    );
    let world = World::new();
    let (client, session, query, prompt) = consent_for(&world, &json, cursor);
    assert!(prompt.redirect_is_app);
    assert!(!prompt.redirect_is_loopback);
    assert_eq!(prompt.redirect_destination, "cursor");
    assert_eq!(prompt.client_document_host, None, "a self-chosen name");
    let location = approve_and_exchange(&world, &client, &session, &query, cursor);
    assert!(
        location.starts_with(&format!("{cursor}?code=")),
        "{location}"
    );
}

#[test]
fn a_confidential_client_cannot_register_a_host_bearing_private_use_scheme() {
    let world = World::new();
    let json = r#"{"redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback"],"token_endpoint_auth_method":"client_secret_post"}"#;
    match block_on(world.server().register(json.as_bytes(), "192.0.2.1")) {
        Err(Failure::OAuth { error, .. }) => {
            assert_eq!(error.code, ErrorCode::InvalidRedirectUri);
            assert_eq!(error.reason, Reason::RedirectUriNeedsPublicClient);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn vscode_registers_loopback_without_a_path_and_comes_back_on_any_port_with_a_slash() {
    // Issue 17: VS Code registers `http://127.0.0.1` and `http://localhost` and authorizes
    // from `http://127.0.0.1:<port>/` (RFC 3986 §6.2.3, RFC 8252 §7.3).
    let world = World::new();
    let json = r#"{"client_name":"Visual Studio Code","client_uri":"https://code.visualstudio.com","redirect_uris":["https://insiders.vscode.dev/redirect","https://vscode.dev/redirect","http://127.0.0.1","http://localhost"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],"response_types":["code"],"application_type":"native"}"#;
    let redirect = "http://127.0.0.1:51004/";
    let (client, session, query, prompt) = consent_for(&world, json, redirect);
    assert!(prompt.redirect_is_loopback);
    let location = approve_and_exchange(&world, &client, &session, &query, redirect);
    assert!(
        location.starts_with("http://127.0.0.1:51004/?code="),
        "{location}"
    );
}

#[test]
fn the_token_request_must_repeat_the_loopback_redirect_as_sent() {
    // RFC 6749 §4.1.3: the equivalence of `http://127.0.0.1` and `…/` is for matching the
    // registration; the token request repeats the authorization request's value exactly.
    let world = World::new();
    let json = r#"{"redirect_uris":["http://127.0.0.1"],"token_endpoint_auth_method":"none"}"#;
    let (client, session, query, _) = consent_for(&world, json, "http://127.0.0.1:9/");
    let location = match world.decide(&query, &session, "approve").unwrap() {
        AuthorizeOutcome::Redirect(location) => location,
        other => panic!("{other:?}"),
    };
    let refused = world.token(
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &param(&location, "code").unwrap()),
            ("redirect_uri", "http://127.0.0.1:9"),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(error_of(refused).reason, Reason::CodeRedirectUriMismatch);
}

#[test]
fn a_device_only_registration_with_redirect_uris_names_the_rule() {
    // Issue 17: refused with "redirect_uri must be an absolute URI" before.
    let world = World::new();
    let json = r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}"#;
    match block_on(world.server().register(json.as_bytes(), "192.0.2.1")) {
        Err(Failure::OAuth { error, .. }) => {
            assert_eq!(error.reason, Reason::RedirectUrisWithoutCodeGrant);
            assert!(error.description.contains("authorization_code"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_registered_scope_still_gets_the_apps_scopes() {
    // The MCP Inspector and Gemini CLI register `"scope": ""`: before, that client could ask
    // for nothing and every authorization ended in invalid_scope.
    let world = World::new();
    let json = format!(
        r#"{{"client_name":"MCP Inspector","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none","scope":""}}"#
    );
    let (_, _, _, prompt) = consent_for(&world, &json, REDIRECT);
    assert!(!prompt.scopes.is_empty());
}

#[test]
fn a_self_registered_name_reaches_the_page_without_hidden_characters() {
    // A name registered before the hidden-character rule is neutralised on the page. The rule
    // itself refuses it at registration (registration::tests).
    let world = World::new();
    let refused = format!(
        r#"{{"client_name":"Claude Code\u202e(official)","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#
    );
    match block_on(world.server().register(refused.as_bytes(), "192.0.2.1")) {
        Err(Failure::OAuth { error, .. }) => {
            assert_eq!(error.reason, Reason::ClientMetadataHiddenCharacter);
        }
        other => panic!("{other:?}"),
    }
    let json = r#"{"client_name":"Claude Code (official)","redirect_uris":["https://collector.attacker.example/cb"],"token_endpoint_auth_method":"none"}"#;
    let (_, _, _, prompt) = consent_for(&world, json, "https://collector.attacker.example/cb");
    // The page marks it not verified (src/pages/consent.rs) because no document vouches for it.
    assert_eq!(prompt.client_document_host, None);
    assert_eq!(prompt.redirect_destination, "collector.attacker.example");
    assert!(
        !prompt.redirect_leaves_document_host,
        "no document to leave"
    );
}

#[test]
fn a_registered_scope_does_not_turn_a_step_up_away() {
    // The MCP TypeScript SDK and mcp-remote register the scope of their first 401 ("read"), then
    // ask for "write" after a 403 insufficient_scope. The registered list is the client's own
    // claim; the app's scopes and the person's consent bound the grant.
    let world = World::new();
    let json = format!(
        r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none","scope":"read"}}"#
    );
    let client = world.register(&json);
    let session = world.login("alice@example.com");
    let query = world.authorization_query(&client, REDIRECT, &[("scope", "write")]);
    match world.authorize(&query, Some(&session)).unwrap() {
        AuthorizeOutcome::Consent(prompt) => {
            let asked: Vec<&str> = prompt.scopes.iter().map(|(s, _)| s.as_str()).collect();
            assert_eq!(asked, ["write"]);
        }
        other => panic!("expected consent, got {other:?}"),
    }
    // Still nothing the app does not offer.
    let query = world.authorization_query(&client, REDIRECT, &[("scope", "admin")]);
    assert!(matches!(
        world.authorize(&query, Some(&session)),
        Err(gatehouse_core::authorize::AuthorizeError::Redirect { error, .. })
            if error.reason == Reason::ScopeNotOffered
    ));
}
