//! Tests for the discovery documents, grouped by the RFC each checks.

use super::*;
use crate::paths::{self, WellKnown};
use proptest::prelude::*;
use serde_json::{Value, json};

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn as_json(doc: &impl Serialize) -> Value {
    serde_json::to_value(doc).unwrap()
}

fn authorization_server(issuer: &str) -> Value {
    as_json(&AuthorizationServerMetadata::new(
        issuer,
        &scopes(&["read", "write"]),
    ))
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// What the Worker does with a request for a discovery document: the issuer is the request's
/// origin, and the document is chosen by the path.
fn serve(metadata_url: &str) -> Option<Value> {
    let url = url::Url::parse(metadata_url).unwrap();
    let issuer = issuer_from_origin(url.scheme(), url.host_str().unwrap(), url.port());
    match paths::well_known(url.path())? {
        WellKnown::AuthorizationServer => Some(as_json(&AuthorizationServerMetadata::new(
            &issuer,
            &scopes(&["read"]),
        ))),
        WellKnown::ProtectedResource { resource_path } => {
            let resource = match resource_path.as_str() {
                "" => issuer.clone(),
                path => format!("{issuer}/{path}"),
            };
            Some(as_json(&ProtectedResourceMetadata::new(
                &resource,
                &issuer,
                &scopes(&["read"]),
            )))
        }
    }
}

// --- RFC 8414 §2: the authorization server document -------------------------------------------

#[test]
fn the_authorization_server_document_is_exactly_what_is_served() {
    assert_eq!(
        authorization_server("https://auth.example.com"),
        json!({
            "issuer": "https://auth.example.com",
            "authorization_endpoint": "https://auth.example.com/oauth/authorize",
            "token_endpoint": "https://auth.example.com/oauth/token",
            "registration_endpoint": "https://auth.example.com/oauth/register",
            "revocation_endpoint": "https://auth.example.com/oauth/revoke",
            "introspection_endpoint": "https://auth.example.com/oauth/introspect",
            "device_authorization_endpoint":
                "https://auth.example.com/oauth/device_authorization",
            "jwks_uri": "https://auth.example.com/oauth/jwks.json",
            "scopes_supported": ["read", "write"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ],
            "token_endpoint_auth_methods_supported":
                ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported":
                ["none", "client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": false,
        })
    );
}

#[test]
fn the_fields_rfc_8414_requires_are_present() {
    // RFC 8414 §2: `issuer` and `response_types_supported` are REQUIRED; the authorization and
    // token endpoints are REQUIRED for the code grant.
    let doc = authorization_server("https://auth.example.com");
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "response_types_supported",
    ] {
        assert!(doc.get(field).is_some(), "{field}");
    }
}

#[test]
fn endpoints_are_the_issuer_joined_with_the_paths_constants() {
    for issuer in ["https://auth.example.com", "http://127.0.0.1:8787"] {
        let doc = AuthorizationServerMetadata::new(issuer, &[]);
        assert_eq!(
            doc.authorization_endpoint,
            format!("{issuer}{}", paths::AUTHORIZE)
        );
        assert_eq!(doc.token_endpoint, format!("{issuer}{}", paths::TOKEN));
        assert_eq!(
            doc.registration_endpoint,
            format!("{issuer}{}", paths::REGISTER)
        );
        assert_eq!(
            doc.revocation_endpoint,
            format!("{issuer}{}", paths::REVOKE)
        );
        assert_eq!(
            doc.introspection_endpoint,
            format!("{issuer}{}", paths::INTROSPECT)
        );
        assert_eq!(doc.jwks_uri, format!("{issuer}{}", paths::JWKS));
    }
}

#[test]
fn every_endpoint_is_an_absolute_url_on_the_issuer_origin() {
    let issuer = "http://127.0.0.1:8787";
    let doc = authorization_server(issuer);
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "jwks_uri",
    ] {
        let value = doc[field].as_str().unwrap();
        let url = url::Url::parse(value).unwrap();
        assert_eq!(url.origin().ascii_serialization(), issuer, "{field}");
        // Parsing changes nothing: no `//`, no dot segments, nothing to normalise.
        assert_eq!(url.as_str(), value, "{field}");
        assert!(url.query().is_none() && url.fragment().is_none(), "{field}");
    }
}

#[test]
fn plain_pkce_is_never_advertised() {
    // RFC 9700 §2.1.1: only methods that do not expose the verifier; `S256` is the only one.
    let doc = authorization_server("https://auth.example.com");
    assert_eq!(strings(&doc["code_challenge_methods_supported"]), ["S256"]);
    assert!(!doc.to_string().contains("plain"));
}

#[test]
fn none_is_never_an_introspection_auth_method() {
    // RFC 7662 §2.1: the introspection endpoint MUST require some form of authorization.
    let doc = authorization_server("https://auth.example.com");
    let methods = strings(&doc["introspection_endpoint_auth_methods_supported"]);
    assert!(!methods.contains(&"none"));
    assert_eq!(methods, ["client_secret_basic", "client_secret_post"]);
}

#[test]
fn public_clients_may_use_the_token_and_revocation_endpoints() {
    // RFC 7009 §2.1: a public client revokes with its `client_id` alone.
    let doc = authorization_server("https://auth.example.com");
    assert!(strings(&doc["token_endpoint_auth_methods_supported"]).contains(&"none"));
    assert!(strings(&doc["revocation_endpoint_auth_methods_supported"]).contains(&"none"));
}

#[test]
fn grants_and_response_types_that_are_not_served_are_not_advertised() {
    // RFC 8414 §2: an omitted `grant_types_supported` means `authorization_code` and `implicit`,
    // an omitted `response_modes_supported` means `query` and `fragment`; both are listed so
    // neither default applies.
    let doc = authorization_server("https://auth.example.com");
    assert_eq!(
        strings(&doc["grant_types_supported"]),
        [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ]
    );
    assert_eq!(strings(&doc["response_types_supported"]), ["code"]);
    assert_eq!(strings(&doc["response_modes_supported"]), ["query"]);
    let text = doc.to_string();
    for absent in [
        "implicit",
        "password",
        "client_credentials",
        "fragment",
        "\"token\"",
    ] {
        assert!(!text.contains(absent), "{absent}");
    }
}

#[test]
fn the_device_authorization_endpoint_is_advertised_where_it_is_served() {
    // RFC 8628 §4: `device_authorization_endpoint` tells clients where the device grant starts;
    // it must be the path the router serves, under this issuer.
    let doc = authorization_server("https://auth.example.com");
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("https://auth.example.com{}", paths::DEVICE_AUTHORIZATION)
    );
}

#[test]
fn every_authorization_response_is_declared_to_carry_iss() {
    // RFC 9207 §3.
    let doc = authorization_server("https://auth.example.com");
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

#[test]
fn client_id_metadata_documents_are_declared_unsupported() {
    let doc = authorization_server("https://auth.example.com");
    assert_eq!(doc["client_id_metadata_document_supported"], false);
}

#[test]
fn scopes_are_listed_in_the_order_given() {
    let doc = as_json(&AuthorizationServerMetadata::new(
        "https://auth.example.com",
        &scopes(&["write", "read", "admin:all"]),
    ));
    assert_eq!(
        strings(&doc["scopes_supported"]),
        ["write", "read", "admin:all"]
    );
}

#[test]
fn an_empty_scope_list_is_omitted_rather_than_advertised_empty() {
    let doc = as_json(&AuthorizationServerMetadata::new(
        "https://auth.example.com",
        &[],
    ));
    assert!(doc.get("scopes_supported").is_none());
}

#[test]
fn the_issuer_returned_is_identical_to_the_one_the_metadata_url_was_built_from() {
    // RFC 8414 §3.1: the client inserts the well-known string between the issuer's host and
    // path; §3.3: the `issuer` returned MUST be identical to that issuer.
    for issuer in [
        "https://auth.example.com",
        "http://127.0.0.1:8787",
        "https://auth.example.com:8443",
        "http://localhost:8787",
        "https://[::1]:8443",
    ] {
        for well_known in [
            paths::OAUTH_AUTHORIZATION_SERVER,
            paths::OPENID_CONFIGURATION,
        ] {
            let doc = serve(&format!("{issuer}{well_known}")).unwrap();
            assert_eq!(doc["issuer"], issuer, "{issuer}{well_known}");
        }
    }
}

#[test]
fn every_mcp_probe_gets_the_issuer_of_the_origin_it_was_sent_to() {
    // A client that took the MCP server URL `https://app.example/mcp` as the issuer probes the
    // three path forms (MCP 2025-11-25); the `issuer` it reads back is the origin, which is the
    // issuer named in the protected resource document.
    for url in [
        "https://app.example/.well-known/oauth-authorization-server/mcp",
        "https://app.example/.well-known/openid-configuration/mcp",
        "https://app.example/mcp/.well-known/openid-configuration",
        "https://app.example/.well-known/oauth-authorization-server",
        "https://app.example/.well-known/openid-configuration",
    ] {
        let doc = serve(url).unwrap();
        assert_eq!(doc["issuer"], "https://app.example", "{url}");
        assert_eq!(
            doc["token_endpoint"], "https://app.example/oauth/token",
            "{url}"
        );
    }
}

#[test]
fn the_issuer_is_copied_verbatim() {
    // Canonicalising here would make the document disagree with the `iss` of tokens and
    // authorization responses (RFC 9207 §2), which are built from the same string.
    let doc = AuthorizationServerMetadata::new("http://127.0.0.1:8787", &[]);
    assert_eq!(doc.issuer, "http://127.0.0.1:8787");
}

// --- the issuer's canonical form --------------------------------------------------------------

#[test]
fn default_ports_are_dropped_from_the_issuer() {
    assert_eq!(
        issuer_from_origin("https", "auth.example.com", Some(443)),
        "https://auth.example.com"
    );
    assert_eq!(
        issuer_from_origin("http", "auth.example.com", Some(80)),
        "http://auth.example.com"
    );
    assert_eq!(
        issuer_from_origin("https", "auth.example.com", None),
        "https://auth.example.com"
    );
}

#[test]
fn other_ports_are_kept_in_the_issuer() {
    assert_eq!(
        issuer_from_origin("http", "127.0.0.1", Some(8787)),
        "http://127.0.0.1:8787"
    );
    assert_eq!(
        issuer_from_origin("https", "auth.example.com", Some(8443)),
        "https://auth.example.com:8443"
    );
    // 443 is only the default for https, 80 only for http.
    assert_eq!(
        issuer_from_origin("http", "auth.example.com", Some(443)),
        "http://auth.example.com:443"
    );
    assert_eq!(
        issuer_from_origin("https", "auth.example.com", Some(80)),
        "https://auth.example.com:80"
    );
}

#[test]
fn the_issuer_is_lowercase() {
    assert_eq!(
        issuer_from_origin("HTTPS", "Auth.Example.COM", Some(443)),
        "https://auth.example.com"
    );
}

#[test]
fn a_javascript_protocol_with_its_colon_is_accepted() {
    assert_eq!(
        issuer_from_origin("https:", "auth.example.com", None),
        "https://auth.example.com"
    );
}

#[test]
fn ipv6_hosts_are_bracketed_once() {
    assert_eq!(
        issuer_from_origin("http", "[::1]", Some(8787)),
        "http://[::1]:8787"
    );
    assert_eq!(
        issuer_from_origin("http", "::1", Some(8787)),
        "http://[::1]:8787"
    );
}

#[test]
fn an_issuer_never_ends_with_a_slash() {
    for (scheme, host, port) in [
        ("https", "auth.example.com", None),
        ("https", "auth.example.com", Some(443)),
        ("http", "127.0.0.1", Some(8787)),
        ("http", "[::1]", None),
    ] {
        let issuer = issuer_from_origin(scheme, host, port);
        assert!(!issuer.ends_with('/'), "{issuer}");
        let doc = AuthorizationServerMetadata::new(&issuer, &[]);
        assert!(!doc.issuer.ends_with('/'));
        assert!(!doc.token_endpoint.contains("//oauth"), "{issuer}");
    }
}

proptest! {
    #[test]
    fn the_issuer_is_the_origin_as_the_url_parser_serialises_it(
        scheme in prop::sample::select(vec!["http", "https", "HTTP", "Https"]),
        host in "[a-zA-Z][a-zA-Z0-9]{0,10}(\\.[a-zA-Z][a-zA-Z0-9]{0,10}){0,3}",
        port in prop::option::of(any::<u16>()),
    ) {
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let url = url::Url::parse(&format!("{scheme}://{authority}/some/path?q=1")).unwrap();
        let issuer = issuer_from_origin(scheme, &host, port);
        prop_assert_eq!(&issuer, &url.origin().ascii_serialization());
        prop_assert!(!issuer.ends_with('/'));
        // And from what the URL parser reports, the same again.
        prop_assert_eq!(
            issuer_from_origin(url.scheme(), url.host_str().unwrap(), url.port()),
            issuer
        );
    }

    #[test]
    fn issuer_from_origin_never_panics(
        scheme in any::<String>(),
        host in any::<String>(),
        port in prop::option::of(any::<u16>()),
    ) {
        let _ = issuer_from_origin(&scheme, &host, port);
    }
}

// --- RFC 9728 §2: the protected resource document ---------------------------------------------

#[test]
fn the_protected_resource_document_is_exactly_what_is_served() {
    let doc = as_json(&ProtectedResourceMetadata::new(
        "https://app.example/mcp",
        "https://app.example",
        &scopes(&["read", "write"]),
    ));
    assert_eq!(
        doc,
        json!({
            "resource": "https://app.example/mcp",
            "authorization_servers": ["https://app.example"],
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header"],
        })
    );
}

#[test]
fn tokens_are_accepted_in_the_authorization_header_only() {
    // RFC 6750 §2.2 (form body) and §2.3 (query) are refused, so only `header` is listed.
    let doc = as_json(&ProtectedResourceMetadata::new(
        "https://app.example",
        "https://app.example",
        &[],
    ));
    assert_eq!(strings(&doc["bearer_methods_supported"]), ["header"]);
}

#[test]
fn the_resource_returned_is_identical_to_the_one_the_metadata_url_was_built_from() {
    // RFC 9728 §3.1 builds the URL by inserting the well-known string; §3.3 requires the
    // `resource` returned to be identical to the resource identifier.
    for resource in [
        "https://app.example",
        "https://app.example/mcp",
        "https://app.example/api/v1",
        "http://127.0.0.1:8787/mcp",
    ] {
        let url = url::Url::parse(resource).unwrap();
        let path = url.path().trim_end_matches('/');
        let metadata_url = format!(
            "{}{}{path}",
            url.origin().ascii_serialization(),
            paths::OAUTH_PROTECTED_RESOURCE
        );
        let doc = serve(&metadata_url).unwrap();
        assert_eq!(doc["resource"], resource, "{metadata_url}");
        assert_eq!(
            doc["authorization_servers"],
            json!([url.origin().ascii_serialization()]),
            "{metadata_url}"
        );
    }
}

#[test]
fn the_authorization_server_named_is_one_whose_metadata_is_served() {
    // A client reads `authorization_servers[0]` and builds the RFC 8414 URL from it.
    let doc = serve("https://app.example/.well-known/oauth-protected-resource/mcp").unwrap();
    let issuer = doc["authorization_servers"][0].as_str().unwrap();
    let as_doc = serve(&format!("{issuer}{}", paths::OAUTH_AUTHORIZATION_SERVER)).unwrap();
    assert_eq!(as_doc["issuer"], issuer);
}

#[test]
fn resource_name_appears_only_when_set() {
    let doc = ProtectedResourceMetadata::new("https://app.example", "https://app.example", &[]);
    let bare = as_json(&doc);
    assert!(bare.get("resource_name").is_none());
    assert!(bare.get("scopes_supported").is_none());
    let named = as_json(&doc.with_resource_name("Wiki"));
    assert_eq!(named["resource_name"], "Wiki");
}

#[test]
fn hostile_discovery_paths_get_no_document() {
    for url in [
        "https://app.example/.well-known/oauth-protected-resource/../x",
        "https://app.example/.well-known/oauth-protected-resource/%2e%2e/x",
        "https://app.example/.well-known/oauth-protected-resource/a%2Fb",
        "https://app.example/.well-known/oauth-protected-resource//x",
    ] {
        // The URL parser resolves a literal `..` before the router sees the path, so that one
        // reaches `well_known` as `/.well-known/x`; either way no document is served.
        assert!(serve(url).is_none(), "{url}");
    }
}
