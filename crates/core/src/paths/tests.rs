//! Tests for [`super::well_known`] and the path constants, grouped by the specification each
//! accepted or refused form comes from.

use super::*;
use proptest::prelude::*;

fn protected_resource(path: &str) -> Option<WellKnown> {
    Some(WellKnown::ProtectedResource {
        resource_path: path.to_owned(),
    })
}

const ENDPOINTS: [&str; 11] = [
    AUTHORIZE,
    TOKEN,
    REGISTER,
    REVOKE,
    INTROSPECT,
    JWKS,
    DEVICE_AUTHORIZATION,
    DEVICE,
    LOGIN,
    CONSENT,
    HEALTHZ,
];

const WELL_KNOWN_PREFIXES: [&str; 3] = [
    OAUTH_AUTHORIZATION_SERVER,
    OPENID_CONFIGURATION,
    OAUTH_PROTECTED_RESOURCE,
];

/// The URLs an MCP client tries, in order, for an issuer (MCP authorization spec 2025-11-25,
/// "Authorization Server Metadata Discovery"), as paths. `issuer_path` has no leading slash and
/// is empty for an issuer without a path.
fn mcp_authorization_server_probes(issuer_path: &str) -> Vec<String> {
    if issuer_path.is_empty() {
        vec![
            OAUTH_AUTHORIZATION_SERVER.to_owned(),
            OPENID_CONFIGURATION.to_owned(),
        ]
    } else {
        vec![
            format!("{OAUTH_AUTHORIZATION_SERVER}/{issuer_path}"),
            format!("{OPENID_CONFIGURATION}/{issuer_path}"),
            format!("/{issuer_path}{OPENID_CONFIGURATION}"),
        ]
    }
}

// --- the constants --------------------------------------------------------------------------

#[test]
fn endpoint_paths_are_absolute_distinct_and_have_no_trailing_slash() {
    for (i, path) in ENDPOINTS.iter().chain(&WELL_KNOWN_PREFIXES).enumerate() {
        assert!(path.starts_with('/'), "{path}");
        assert!(!path.ends_with('/'), "{path}");
        assert!(!path.contains("//"), "{path}");
        assert!(!path.contains(['?', '#', '%', ' ']), "{path}");
        for other in ENDPOINTS.iter().chain(&WELL_KNOWN_PREFIXES).skip(i + 1) {
            assert_ne!(path, other);
        }
    }
}

#[test]
fn endpoint_paths_have_the_values_clients_and_the_router_expect() {
    assert_eq!(AUTHORIZE, "/oauth/authorize");
    assert_eq!(TOKEN, "/oauth/token");
    assert_eq!(REGISTER, "/oauth/register");
    assert_eq!(REVOKE, "/oauth/revoke");
    assert_eq!(INTROSPECT, "/oauth/introspect");
    assert_eq!(JWKS, "/oauth/jwks.json");
    assert_eq!(DEVICE_AUTHORIZATION, "/oauth/device_authorization");
    assert_eq!(DEVICE, "/.gatehouse/device");
    assert_eq!(LOGIN, "/.gatehouse/login");
    assert_eq!(CONSENT, "/.gatehouse/consent");
    assert_eq!(HEALTHZ, "/healthz");
    // The well-known URI suffixes registered by RFC 8414 §7.3, OpenID Connect Discovery 1.0 §7.1
    // and RFC 9728 §8.3.
    assert_eq!(
        OAUTH_AUTHORIZATION_SERVER,
        "/.well-known/oauth-authorization-server"
    );
    assert_eq!(OPENID_CONFIGURATION, "/.well-known/openid-configuration");
    assert_eq!(
        OAUTH_PROTECTED_RESOURCE,
        "/.well-known/oauth-protected-resource"
    );
}

#[test]
fn endpoints_are_not_mistaken_for_discovery_documents() {
    for path in ENDPOINTS {
        assert_eq!(well_known(path), None, "{path}");
    }
}

// --- RFC 8414 §3.1 and the MCP probe order ---------------------------------------------------

#[test]
fn an_issuer_without_a_path_finds_the_metadata_at_both_root_forms() {
    // MCP 2025-11-25: "For issuer URLs without path components": oauth-authorization-server,
    // then openid-configuration. This server's issuer is such a URL.
    for path in mcp_authorization_server_probes("") {
        assert_eq!(
            well_known(&path),
            Some(WellKnown::AuthorizationServer),
            "{path}"
        );
    }
}

#[test]
fn every_mcp_probe_for_an_issuer_with_a_path_is_answered() {
    // MCP 2025-11-25: "For issuer URLs with path components": path insertion for both documents,
    // then OpenID Connect path appending. Clients that take the MCP server URL (`/mcp`,
    // `/v1/sse`) as the issuer build these; all of them get this server's one document.
    for issuer_path in ["tenant1", "mcp", "v1/sse", "a/b/c", "api_v2.1~x"] {
        let probes = mcp_authorization_server_probes(issuer_path);
        assert_eq!(probes.len(), 3);
        for path in probes {
            assert_eq!(
                well_known(&path),
                Some(WellKnown::AuthorizationServer),
                "{path}"
            );
        }
    }
}

#[test]
fn the_mcp_spec_examples_are_answered() {
    // The literal examples of the MCP spec, for issuer `https://auth.example.com/tenant1`.
    for url in [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
    ] {
        let parsed = url::Url::parse(url).unwrap();
        assert_eq!(
            well_known(parsed.path()),
            Some(WellKnown::AuthorizationServer),
            "{url}"
        );
    }
}

#[test]
fn the_path_appending_form_needs_a_clean_issuer_path() {
    for path in [
        "//.well-known/openid-configuration",
        "/a//.well-known/openid-configuration",
        "/a/.well-known/openid-configuration/",
        "/../.well-known/openid-configuration",
        "/./.well-known/openid-configuration",
        "/a/../.well-known/openid-configuration",
        "/%2e%2e/.well-known/openid-configuration",
        "a/.well-known/openid-configuration",
        "/a b/.well-known/openid-configuration",
        "/.gatehouse/.well-known/openid-configuration",
    ] {
        assert_eq!(well_known(path), None, "{path}");
    }
}

#[test]
fn path_appending_is_accepted_only_for_openid_configuration() {
    // RFC 8414 §3.1 defines only path insertion for oauth-authorization-server, and RFC 9728 §3.1
    // only path insertion for oauth-protected-resource.
    for path in [
        "/mcp/.well-known/oauth-authorization-server",
        "/mcp/.well-known/oauth-protected-resource",
    ] {
        assert_eq!(well_known(path), None, "{path}");
    }
}

// --- RFC 9728 §3.1 ----------------------------------------------------------------------------

#[test]
fn protected_resource_metadata_at_the_root_names_the_app_itself() {
    assert_eq!(well_known(OAUTH_PROTECTED_RESOURCE), protected_resource(""));
}

#[test]
fn protected_resource_metadata_keeps_the_resource_path() {
    // RFC 9728 §3.1's example: resource `https://resource.example.com/resource1`.
    assert_eq!(
        well_known("/.well-known/oauth-protected-resource/resource1"),
        protected_resource("resource1")
    );
    // An MCP server at `https://app.example/mcp`.
    assert_eq!(
        well_known("/.well-known/oauth-protected-resource/mcp"),
        protected_resource("mcp")
    );
    assert_eq!(
        well_known("/.well-known/oauth-protected-resource/api/v1/items"),
        protected_resource("api/v1/items")
    );
    assert_eq!(
        well_known("/.well-known/oauth-protected-resource/v1.2/file.json"),
        protected_resource("v1.2/file.json")
    );
}

#[test]
fn mcp_protected_resource_probes_are_answered_in_order() {
    // MCP 2025-11-25 "Protected Resource Metadata Discovery Requirements": without a
    // `resource_metadata` in the challenge, clients try the path-suffixed URL for the MCP
    // endpoint first, then the root.
    let resource = url::Url::parse("https://app.example/mcp").unwrap();
    let probes = [
        format!("{OAUTH_PROTECTED_RESOURCE}{}", resource.path()),
        OAUTH_PROTECTED_RESOURCE.to_owned(),
    ];
    assert_eq!(well_known(&probes[0]), protected_resource("mcp"));
    assert_eq!(well_known(&probes[1]), protected_resource(""));
}

// --- hostile and odd paths --------------------------------------------------------------------

#[test]
fn dot_segments_are_refused_plain_or_encoded() {
    for prefix in WELL_KNOWN_PREFIXES {
        for tail in [
            "/..",
            "/.",
            "/../x",
            "/./x",
            "/a/..",
            "/a/../b",
            "/a/./b",
            "/%2e%2e",
            "/%2E%2E/x",
            "/.%2e/x",
            "/%2e",
            "/...",
        ] {
            let path = format!("{prefix}{tail}");
            assert_eq!(well_known(&path), None, "{path}");
        }
    }
}

#[test]
fn empty_segments_and_trailing_slashes_are_refused() {
    for prefix in WELL_KNOWN_PREFIXES {
        for tail in ["/", "//", "//x", "/x/", "/x//y", "///"] {
            let path = format!("{prefix}{tail}");
            assert_eq!(well_known(&path), None, "{path}");
        }
    }
    assert_eq!(well_known("//.well-known/oauth-authorization-server"), None);
}

#[test]
fn percent_encoded_slashes_and_other_escapes_are_refused() {
    for prefix in WELL_KNOWN_PREFIXES {
        for tail in [
            "/a%2Fb",
            "/a%2fb",
            "%2Fa",
            "/a%5Cb",
            "/%00",
            "/caf%C3%A9",
            "/a%20b",
            "/%",
            "/a%2",
        ] {
            let path = format!("{prefix}{tail}");
            assert_eq!(well_known(&path), None, "{path}");
        }
    }
}

#[test]
fn characters_outside_unreserved_are_refused() {
    for prefix in WELL_KNOWN_PREFIXES {
        for tail in [
            "/a b",
            "/a?b",
            "/?x=1",
            "/a#b",
            "/a\\b",
            "/a@b",
            "/a:b",
            "/a;b",
            "/a=b",
            "/a+b",
            "/a,b",
            "/a!b",
            "/a$b",
            "/a&b",
            "/a'b",
            "/a(b",
            "/a*b",
            "/a\"b",
            "/a<b",
            "/a>b",
            "/a\0b",
            "/a\r\nb",
            "/a\tb",
            "/café",
            "/\u{202e}x",
            "/a|b",
            "/a`b",
            "/a{b",
        ] {
            let path = format!("{prefix}{tail}");
            assert_eq!(well_known(&path), None, "{path:?}");
        }
    }
}

#[test]
fn hidden_segments_cannot_be_named_as_a_resource_or_issuer_path() {
    for path in [
        "/.well-known/oauth-protected-resource/.gatehouse/login",
        "/.well-known/oauth-protected-resource/.well-known/openid-configuration",
        "/.well-known/oauth-protected-resource/a/.git/config",
        "/.well-known/oauth-authorization-server/.well-known/openid-configuration",
        "/.well-known/openid-configuration/.well-known/openid-configuration",
        "/.well-known/oauth-protected-resource/.well-known/openid-configuration/x",
    ] {
        assert_eq!(well_known(path), None, "{path}");
    }
}

#[test]
fn well_known_names_are_matched_exactly() {
    for path in [
        "",
        "/",
        "/.well-known",
        "/.well-known/",
        ".well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-serverX",
        "/.well-known/oauth-authorization-servers",
        "/.well-known/oauth-authorization-server.json",
        "/.well-known/openid-configuration.json",
        "/.well-known/openid-configurationX",
        "/.well-known/oauth-protected-resources",
        "/.well-known/oauth-protected-resource.json",
        "/.WELL-KNOWN/oauth-authorization-server",
        "/.well-known/OAuth-Authorization-Server",
        "/.well-known/OPENID-CONFIGURATION",
        " /.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server ",
        "/well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
        "/x/.well-known/openid-configurationX",
    ] {
        assert_eq!(well_known(path), None, "{path:?}");
    }
}

#[test]
fn a_suffix_up_to_the_limit_is_accepted_and_one_byte_more_is_not() {
    let at_limit = "a".repeat(MAX_WELL_KNOWN_SUFFIX_BYTES);
    let over_limit = "a".repeat(MAX_WELL_KNOWN_SUFFIX_BYTES + 1);
    assert_eq!(
        well_known(&format!("{OAUTH_PROTECTED_RESOURCE}/{at_limit}")),
        protected_resource(&at_limit)
    );
    assert_eq!(
        well_known(&format!("{OAUTH_PROTECTED_RESOURCE}/{over_limit}")),
        None
    );
    assert_eq!(
        well_known(&format!("{OAUTH_AUTHORIZATION_SERVER}/{over_limit}")),
        None
    );
    assert_eq!(
        well_known(&format!("/{over_limit}{OPENID_CONFIGURATION}")),
        None
    );
    assert_eq!(
        well_known(&format!("/{}{OPENID_CONFIGURATION}", "a/".repeat(100_000))),
        None
    );
}

// --- properties -------------------------------------------------------------------------------

/// Paths near the accepted forms: a well-known prefix followed by anything, anything followed by
/// the appended suffix, or anything at all.
fn near_discovery_path() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(WELL_KNOWN_PREFIXES.to_vec());
    prop_oneof![
        any::<String>(),
        (prefix, any::<String>()).prop_map(|(p, tail)| format!("{p}{tail}")),
        (
            prop::sample::select(WELL_KNOWN_PREFIXES.to_vec()),
            "[/a.%2fF\\\\?#]{0,12}"
        )
            .prop_map(|(p, tail)| format!("{p}{tail}")),
        "[/a.%2e]{0,12}".prop_map(|head| format!("{head}{OPENID_CONFIGURATION}")),
    ]
}

/// A resource path a conforming client derives from a resource URL.
fn clean_resource_path() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,15}(/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,15}){0,5}"
}

proptest! {
    #[test]
    fn never_panics(path in near_discovery_path()) {
        let _ = well_known(&path);
    }

    #[test]
    fn an_accepted_path_holds_no_dot_segment_empty_segment_or_escape(
        path in near_discovery_path(),
    ) {
        if well_known(&path).is_some() {
            prop_assert!(!path.contains('%'));
            prop_assert!(!path.contains("//"));
            prop_assert!(!path.contains("/../") && !path.ends_with("/.."));
            prop_assert!(!path.contains("/./") && !path.ends_with("/."));
            prop_assert!(!path.ends_with('/'));
        }
    }

    #[test]
    fn a_clean_resource_path_is_returned_unchanged(path in clean_resource_path()) {
        prop_assert_eq!(
            well_known(&format!("{OAUTH_PROTECTED_RESOURCE}/{path}")),
            protected_resource(&path)
        );
    }

    #[test]
    fn every_mcp_probe_for_a_clean_issuer_path_is_answered(path in clean_resource_path()) {
        for probe in mcp_authorization_server_probes(&path) {
            prop_assert_eq!(well_known(&probe), Some(WellKnown::AuthorizationServer));
        }
    }

    #[test]
    fn an_accepted_resource_path_survives_url_parsing_unchanged(
        path in prop_oneof![
            near_discovery_path(),
            clean_resource_path().prop_map(|p| format!("{OAUTH_PROTECTED_RESOURCE}/{p}")),
        ]
    ) {
        // The router builds `resource` as `<origin>/<resource_path>`; RFC 9728 §3.3 needs that
        // to be the URL the client started from, so parsing must not normalise it.
        if let Some(WellKnown::ProtectedResource { resource_path }) = well_known(&path) {
            let url = url::Url::parse(&format!("https://app.example/{resource_path}")).unwrap();
            prop_assert_eq!(url.path(), format!("/{resource_path}"));
        }
    }
}

#[test]
fn document_paths_name_the_app_the_document_is_about() {
    assert_eq!(
        document_path("/.well-known/oauth-authorization-server").as_deref(),
        Some("/")
    );
    assert_eq!(
        document_path("/.well-known/oauth-authorization-server/wiki").as_deref(),
        Some("/wiki")
    );
    assert_eq!(
        document_path("/.well-known/openid-configuration/wiki").as_deref(),
        Some("/wiki")
    );
    assert_eq!(
        document_path("/wiki/.well-known/openid-configuration").as_deref(),
        Some("/wiki")
    );
    assert_eq!(
        document_path("/.well-known/oauth-protected-resource/wiki/mcp").as_deref(),
        Some("/wiki/mcp")
    );
    assert_eq!(
        document_path("/.well-known/oauth-protected-resource/../x"),
        None
    );
    assert_eq!(document_path("/wiki/page"), None);
}
