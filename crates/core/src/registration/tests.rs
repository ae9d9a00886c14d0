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
    let with_redirect =
        format!(r#"{{"grant_types":["{DEVICE_GRANT}"],"redirect_uris":["https://a.example/cb"]}}"#);
    let error = validate(with_redirect.as_bytes()).unwrap_err();
    assert_eq!(
        (error.reason, error.field),
        (Reason::RedirectUriInvalid, "redirect_uris")
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
