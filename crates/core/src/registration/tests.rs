//! RFC 7591 §2 field rules; the endpoint's behaviour is in `tests/spec/rfc7591_registration.rs`.

use super::*;
use proptest::prelude::*;

#[test]
fn defaults_follow_rfc_7591() {
    let metadata = validate(br#"{"redirect_uris":["https://a.example/cb"]}"#).unwrap();
    assert_eq!(
        metadata.token_endpoint_auth_method,
        AuthMethod::ClientSecretBasic
    );
    assert_eq!(metadata.grant_types, vec![GrantType::AuthorizationCode]);
    assert_eq!(metadata.response_types, vec!["code".to_owned()]);
}

#[test]
fn duplicate_grant_types_collapse() {
    let metadata =
        validate(br#"{"redirect_uris":["https://a.example/cb"],"grant_types":["refresh_token","authorization_code","refresh_token"]}"#)
            .unwrap();
    assert_eq!(
        metadata.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    );
}

#[test]
fn redirect_uri_errors_are_told_apart_from_other_metadata_errors() {
    let error = validate(br#"{"redirect_uris":["javascript:alert(1)"]}"#).unwrap_err();
    assert_eq!(error.field, "redirect_uris");
    let error =
        validate(br#"{"redirect_uris":["https://a.example/cb"],"client_uri":"http://a.example"}"#)
            .unwrap_err();
    assert_eq!(
        (error.reason, error.field),
        (Reason::ClientMetadataInvalid, "client_uri")
    );
}

#[test]
fn stored_metadata_round_trips() {
    let metadata = validate(
        br#"{"redirect_uris":["http://127.0.0.1/cb"],"scope":"read write","client_name":"A"}"#,
    )
    .unwrap();
    let json = serde_json::to_string(&metadata).unwrap();
    assert_eq!(
        serde_json::from_str::<ClientMetadata>(&json).unwrap(),
        metadata
    );
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[test]
fn a_device_only_client_registers_without_redirects() {
    // RFC 8628 §3.4 names the grant type; a device never receives a redirect.
    let body = format!(
        r#"{{"grant_types":["{DEVICE_GRANT}","refresh_token"],"token_endpoint_auth_method":"none"}}"#
    );
    let metadata = validate(body.as_bytes()).unwrap();
    assert_eq!(
        metadata.grant_types,
        vec![GrantType::RefreshToken, GrantType::DeviceCode]
    );
    assert!(metadata.redirect_uris.is_empty());
    assert!(metadata.response_types.is_empty());
    let stored = serde_json::to_value(&metadata).unwrap();
    assert_eq!(stored["grant_types"][1], DEVICE_GRANT);
    let empty =
        format!(r#"{{"grant_types":["{DEVICE_GRANT}"],"redirect_uris":[],"response_types":[]}}"#);
    assert!(validate(empty.as_bytes()).is_ok());
}

#[test]
fn a_device_only_client_may_not_register_a_redirect_or_the_code_response_type() {
    // Issue 17: the refusal names the rule, not "redirect_uri must be an absolute URI".
    let with_redirect =
        format!(r#"{{"grant_types":["{DEVICE_GRANT}"],"redirect_uris":["https://a.example/cb"]}}"#);
    let error = validate(with_redirect.as_bytes()).unwrap_err();
    assert_eq!(
        (error.reason, error.field),
        (Reason::RedirectUrisWithoutCodeGrant, "redirect_uris")
    );
    let with_junk = format!(r#"{{"grant_types":["{DEVICE_GRANT}"],"redirect_uris":"x"}}"#);
    assert_eq!(
        validate(with_junk.as_bytes()).unwrap_err().reason,
        Reason::RedirectUrisWithoutCodeGrant
    );
    let with_code = format!(r#"{{"grant_types":["{DEVICE_GRANT}"],"response_types":["code"]}}"#);
    assert_eq!(
        validate(with_code.as_bytes()).unwrap_err().field,
        "response_types"
    );
}

#[test]
fn a_client_needs_a_grant_that_starts_somewhere() {
    let error =
        validate(br#"{"grant_types":["refresh_token"],"redirect_uris":["https://a.example/cb"]}"#)
            .unwrap_err();
    assert_eq!(error.field, "grant_types");
    let both = format!(
        r#"{{"grant_types":["authorization_code","{DEVICE_GRANT}"],"redirect_uris":["https://a.example/cb"]}}"#
    );
    let metadata = validate(both.as_bytes()).unwrap();
    assert_eq!(metadata.redirect_uris.len(), 1);
    assert_eq!(metadata.response_types, ["code"]);
}

#[test]
fn an_empty_scope_registers_no_restriction() {
    // RFC 7591 §2: an omitted scope leaves the default to the server. The MCP Inspector and
    // Gemini CLI send `"scope": ""` when they know no scope; that must not register a client
    // that may ask for nothing (issue 17).
    let metadata = validate(br#"{"redirect_uris":["https://a.example/cb"],"scope":""}"#).unwrap();
    assert_eq!(metadata.scope, None);
    let metadata =
        validate(br#"{"redirect_uris":["https://a.example/cb"],"scope":"read"}"#).unwrap();
    assert_eq!(metadata.scope.map(|s| s.to_string()), Some("read".into()));
    let error = validate(br#"{"redirect_uris":["https://a.example/cb"],"scope":" "}"#).unwrap_err();
    assert_eq!(error.field, "scope");
}

#[test]
fn host_bearing_private_use_schemes_need_a_public_client() {
    // RFC 8252 §7.1, §8.1, §8.4 (issue 17): Cursor registers `cursor://…` as a public client.
    let cursor = br#"{"redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback","https://www.cursor.com/agents/mcp/oauth/callback","http://localhost:8787/callback"],"token_endpoint_auth_method":"none","application_type":"web"}"#;
    let metadata = validate(cursor).unwrap();
    assert_eq!(metadata.redirect_uris.len(), 3);
    for method in ["client_secret_basic", "client_secret_post"] {
        let body = format!(
            r#"{{"redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback"],"token_endpoint_auth_method":"{method}"}}"#
        );
        let error = validate(body.as_bytes()).unwrap_err();
        assert_eq!(
            (error.reason, error.field),
            (Reason::RedirectUriNeedsPublicClient, "redirect_uris"),
            "{method}"
        );
    }
    // A reverse-domain scheme stays open to every client, as before.
    let reverse = br#"{"redirect_uris":["com.example.app:/cb"],"token_endpoint_auth_method":"client_secret_post"}"#;
    assert!(validate(reverse).is_ok());
}

#[test]
fn bidirectional_and_invisible_characters_in_shown_text_are_refused() {
    // Issue 17: U+202E, U+200B, U+FEFF and U+2028 were accepted and echoed on the consent page.
    for c in [
        '\u{202E}',
        '\u{202A}',
        '\u{2066}',
        '\u{2069}',
        '\u{200E}',
        '\u{200F}',
        '\u{061C}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{2060}',
        '\u{FEFF}',
        '\u{00AD}',
        '\u{2028}',
        '\u{2029}',
        '\u{00A0}',
        '\u{3000}',
        '\u{3164}',
        '\u{115F}',
        '\u{034F}',
        '\u{FE00}',
        '\u{E0041}',
        '\u{FFFF}',
        '\u{0007}',
        '\u{009B}',
    ] {
        let name = format!("Claude{c}Code");
        assert!(is_hidden_char(c), "U+{:04X}", u32::from(c));
        for field in ["client_name", "software_id", "software_version"] {
            let body =
                serde_json::json!({ "redirect_uris": ["https://a.example/cb"], field: name })
                    .to_string();
            let error = validate(body.as_bytes()).unwrap_err();
            assert_eq!(
                (error.reason, error.field),
                (Reason::ClientMetadataHiddenCharacter, field),
                "U+{:04X}",
                u32::from(c)
            );
        }
        assert_eq!(neutralise_hidden_chars(&name), "Claude\u{FFFD}Code");
    }
    // Names people write are kept: accents, other scripts, emoji with their presentation
    // selector, ordinary spaces and punctuation.
    for name in [
        "Claude Code (my-server)",
        "Visual Studio Code",
        "Gemini CLI MCP Client",
        "Café ☕\u{FE0F} agent",
        "日本語のエージェント",
        "Агент",
        "O'Brien & Co. <3",
    ] {
        let body =
            serde_json::json!({ "redirect_uris": ["https://a.example/cb"], "client_name": name })
                .to_string();
        assert!(validate(body.as_bytes()).is_ok(), "{name}");
        assert_eq!(neutralise_hidden_chars(name), name);
    }
}

proptest! {
    #[test]
    fn an_accepted_client_name_never_contains_a_hidden_character(name in "\\PC{0,40}") {
        let body = serde_json::json!({ "redirect_uris": ["https://a.example/cb"], "client_name": name })
            .to_string();
        if let Ok(metadata) = validate(body.as_bytes()) {
            let shown = metadata.client_name.unwrap_or_default();
            prop_assert!(!shown.chars().any(is_hidden_char));
        }
    }
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = validate(&body);
    }

    #[test]
    fn never_panics_on_arbitrary_strings_in_every_field(value in ".{0,64}") {
        for field in ["redirect_uris", "client_name", "client_uri", "scope", "grant_types", "token_endpoint_auth_method", "contacts"] {
            let as_string = serde_json::json!({ field: value.clone() }).to_string();
            let as_list = serde_json::json!({ field: [value.clone()] }).to_string();
            let _ = validate(as_string.as_bytes());
            let _ = validate(as_list.as_bytes());
        }
    }
}
