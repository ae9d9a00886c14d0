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
