use proptest::prelude::*;

use super::*;

fn policy() -> CimdPolicy {
    CimdPolicy::default()
}

const URL: &str = "https://agent.example.com/oauth/client.json";

#[test]
fn client_id_urls_follow_the_drafts_section_3() {
    let rows: [(&str, Result<(), Reason>, &str); 14] = [
        (URL, Ok(()), "https with a path"),
        (
            "https://agent.example.com/c.json?v=2",
            Ok(()),
            "a query MAY be present",
        ),
        (
            "https://agent.example.com:8443/c",
            Ok(()),
            "a port is part of the URL",
        ),
        (
            "http://agent.example.com/c",
            Err(Reason::CimdUrlInvalid),
            "MUST have an https scheme",
        ),
        (
            "https://agent.example.com",
            Err(Reason::CimdUrlInvalid),
            "MUST contain a path",
        ),
        (
            "https://agent.example.com/",
            Err(Reason::CimdUrlInvalid),
            "MUST contain a path",
        ),
        (
            "https://agent.example.com/c#x",
            Err(Reason::CimdUrlInvalid),
            "MUST NOT contain a fragment",
        ),
        (
            "https://user:pw@agent.example.com/c",
            Err(Reason::CimdUrlInvalid),
            "no username or password",
        ),
        (
            "https://user@agent.example.com/c",
            Err(Reason::CimdUrlInvalid),
            "no username",
        ),
        (
            "https://agent.example.com/a/../c",
            Err(Reason::CimdUrlInvalid),
            "no double-dot segment",
        ),
        (
            "https://agent.example.com/./c",
            Err(Reason::CimdUrlInvalid),
            "no single-dot segment",
        ),
        (
            "https://agent.example.com/a/%2e%2e/c",
            Err(Reason::CimdUrlInvalid),
            "no encoded dot segment",
        ),
        (
            "https://Agent.Example.com/c",
            Err(Reason::CimdUrlInvalid),
            "canonical form only",
        ),
        (
            "https://agent.example.com:443/c",
            Err(Reason::CimdUrlInvalid),
            "canonical form only",
        ),
    ];
    for (raw, expected, rule) in rows {
        assert_eq!(
            CimdUrl::parse(raw, &policy()).map(|_| ()),
            expected,
            "{raw}: {rule}"
        );
    }
}

#[test]
fn internal_targets_are_refused_as_ssrf() {
    for raw in [
        "https://127.0.0.1/c",
        "https://localhost/c",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/c",
        "https://[::1]/c",
        "https://[::ffff:c0a8:1]/c",
        "https://metadata/c",
    ] {
        assert_eq!(
            CimdUrl::parse(raw, &policy()),
            Err(Reason::CimdAddressRefused),
            "{raw}"
        );
    }
}

#[test]
fn insecure_loopback_admits_plain_http_on_loopback_only() {
    let test_policy = CimdPolicy {
        insecure_loopback: true,
        ..policy()
    };
    assert!(CimdUrl::parse("http://127.0.0.1:4321/client.json", &test_policy).is_ok());
    assert!(CimdUrl::parse("http://localhost:4321/client.json", &test_policy).is_ok());
    assert_eq!(
        CimdUrl::parse("http://10.0.0.1/client.json", &test_policy),
        Err(Reason::CimdUrlInvalid)
    );
    assert_eq!(
        CimdUrl::parse("https://169.254.169.254/c", &test_policy),
        Err(Reason::CimdAddressRefused)
    );
    assert_eq!(
        CimdUrl::parse("http://127.0.0.1:4321/client.json", &policy()),
        Err(Reason::CimdUrlInvalid),
        "without the flag, plain http is refused"
    );
}

/// Issue 19: the copies of "is this host loopback?" disagreed on IPv6 loopback: an app on host
/// `::1` was public here (its last `:` was read as a port) and loopback to `config`. One rule
/// ([`crate::http::loopback`]) now answers both.
#[test]
fn insecure_loopback_is_allowed_for_an_app_on_ipv6_loopback() {
    for host in ["::1", "127.0.0.1", "localhost:8787", "*"] {
        let apps = crate::config::Config::from_settings(crate::config::Settings {
            apps: Some(&format!(
                r#"[{{"name":"W","host":"{host}","scopes":{{"r":"R"}},"policy":{{"allow_domains":["example.com"]}},"origin":"http://127.0.0.1:9"}}]"#
            )),
            secret: Some("0123456789abcdef0123456789abcdef"),
            ..Default::default()
        })
        .unwrap()
        .apps;
        let settings = CimdSettings {
            allow_insecure_loopback: Some("on"),
            ..Default::default()
        };
        assert!(
            CimdPolicy::from_settings(settings, &apps).is_ok(),
            "{host} is loopback"
        );
    }
    let test_policy = CimdPolicy {
        insecure_loopback: true,
        ..policy()
    };
    assert!(CimdUrl::parse("http://[::1]:4321/client.json", &test_policy).is_ok());
}

#[test]
fn operator_host_patterns_allow_and_deny() {
    let glob = |s: &str| HostGlob::parse(s).unwrap();
    assert!(glob("*.example.com").matches("agent.example.com"));
    assert!(glob("*.example.com").matches("a.b.example.com"));
    assert!(!glob("*.example.com").matches("example.com"));
    assert!(!glob("*.example.com").matches("evilexample.com"));
    assert!(glob("example.com").matches("example.com"));
    assert!(HostGlob::parse("exa mple.com").is_err());
    assert!(HostGlob::parse("*.").is_err());
    let allow_only = CimdPolicy {
        allowed_hosts: vec![glob("*.trusted.example")],
        ..policy()
    };
    assert_eq!(
        CimdUrl::parse(URL, &allow_only),
        Err(Reason::CimdHostNotAllowed)
    );
    assert!(CimdUrl::parse("https://a.trusted.example/c", &allow_only).is_ok());
    let deny = CimdPolicy {
        denied_hosts: vec![glob("agent.example.com")],
        ..policy()
    };
    assert_eq!(CimdUrl::parse(URL, &deny), Err(Reason::CimdHostNotAllowed));
    let off = CimdPolicy {
        enabled: false,
        ..policy()
    };
    assert_eq!(CimdUrl::parse(URL, &off), Err(Reason::CimdDisabled));
}

fn document(extra: &str) -> String {
    format!(
        r#"{{"client_id":"{URL}","client_name":"Agent","redirect_uris":["http://127.0.0.1:7777/cb"]{extra}}}"#
    )
}

#[test]
fn documents_are_validated_like_registrations() {
    let url = CimdUrl::parse(URL, &policy()).unwrap();
    let now = UnixTime(1_800_000_000);
    let record = client_record(&url, document("").as_bytes(), &policy(), now).unwrap();
    assert_eq!(record.client_id.as_str(), URL);
    assert_eq!(record.source, ClientSource::MetadataDocument);
    assert_eq!(record.metadata.token_endpoint_auth_method, AuthMethod::None);
    assert_eq!(record.secret_hash, None);
    let refused = |body: &str| client_record(&url, body.as_bytes(), &policy(), now).map(|_| ());
    assert_eq!(
        refused(&document("").replace(URL, "https://other.example.com/c")),
        Err(Reason::CimdClientIdMismatch),
        "draft §4.1: client_id equals the URL"
    );
    assert_eq!(
        refused(r#"{"redirect_uris":["https://a.example/cb"]}"#),
        Err(Reason::CimdClientIdMismatch)
    );
    assert_eq!(
        refused(&document(r#","client_secret":"s""#)),
        Err(Reason::CimdDocumentInvalid),
        "draft §4.1: no client_secret"
    );
    assert_eq!(
        refused(&document(r#","client_secret_expires_at":0"#)),
        Err(Reason::CimdDocumentInvalid)
    );
    assert_eq!(
        refused(&document(
            r#","token_endpoint_auth_method":"client_secret_basic""#
        )),
        Err(Reason::CimdDocumentInvalid),
        "draft §4.1: no shared-secret methods"
    );
    assert_eq!(
        refused(&document("").replace("http://127.0.0.1:7777/cb", "javascript:alert(1)")),
        Err(Reason::RedirectUriForbiddenScheme),
        "registration's redirect URI rules"
    );
    assert_eq!(refused("[]"), Err(Reason::CimdDocumentInvalid));
    assert_eq!(refused("not json"), Err(Reason::CimdDocumentInvalid));
    let padded = document(&format!(
        r#","software_id":"{}""#,
        "x".repeat(MAX_DOCUMENT_BYTES)
    ));
    assert_eq!(
        refused(&padded),
        Err(Reason::CimdDocumentInvalid),
        "size cap"
    );
}

#[test]
fn cache_lifetime_follows_the_headers_within_bounds() {
    let now = UnixTime(1_800_000_000);
    let rows: [(Option<&str>, Option<&str>, u64); 8] = [
        (None, None, DEFAULT_CACHE_SECS),
        (Some("max-age=3600"), None, 3600),
        (Some("public, max-age=10"), None, MIN_CACHE_SECS),
        (Some("max-age=9999999"), None, MAX_CACHE_SECS),
        (Some("no-store"), None, MIN_CACHE_SECS),
        (Some("max-age=oops"), None, MIN_CACHE_SECS),
        // 1_800_000_000 is Fri, 15 Jan 2027 08:00:00 GMT; two hours later:
        (None, Some("Fri, 15 Jan 2027 10:00:00 GMT"), 7200),
        (None, Some("yesterday"), MIN_CACHE_SECS),
    ];
    for (cache_control, expires, secs) in rows {
        assert_eq!(
            cache_ttl(cache_control, expires, now),
            secs,
            "{cache_control:?} {expires:?}"
        );
    }
    const { assert!(MIN_CACHE_SECS >= 60, "KV refuses expirations under 60 s") };
}

#[test]
fn insecure_loopback_is_refused_outside_local_development() {
    let apps = crate::config::Config::from_settings(crate::config::Settings {
        apps: Some(r#"[{"name":"W","host":"wiki.example.com","scopes":{"r":"R"},"policy":{"allow_domains":["example.com"]},"origin":"https://wiki.internal"}]"#),
        secret: Some("0123456789abcdef0123456789abcdef"),
        ..Default::default()
    })
    .unwrap()
    .apps;
    let settings = CimdSettings {
        allow_insecure_loopback: Some("on"),
        ..Default::default()
    };
    let error = CimdPolicy::from_settings(settings, &apps).unwrap_err();
    assert_eq!(error.setting, "CIMD_ALLOW_INSECURE_LOOPBACK");
    let bad = CimdSettings {
        cimd: Some("yes"),
        ..Default::default()
    };
    assert_eq!(
        CimdPolicy::from_settings(bad, &apps).unwrap_err().setting,
        "CIMD"
    );
    let hosts = CimdSettings {
        denied_hosts: Some("ok.example, bad host"),
        ..Default::default()
    };
    assert_eq!(
        CimdPolicy::from_settings(hosts, &apps).unwrap_err().setting,
        "CIMD_DENIED_HOSTS"
    );
    assert!(
        CimdPolicy::from_settings(CimdSettings::default(), &apps)
            .unwrap()
            .enabled
    );
}

/// Issue 19: the CIMD copy of "is this host loopback?" split `[::1]:8787` at its last colon and
/// read `[:` as a public name; there is one loopback rule now (`crate::net::address`).
#[test]
fn every_loopback_spelling_of_an_app_host_counts_as_local_development() {
    use crate::config::HostPattern;
    for host in ["[::1]:8787", "[::1]", "127.0.0.1:8787", "localhost:8787"] {
        assert!(
            super::is_loopback_app(&HostPattern::Exact(host.into())),
            "{host}"
        );
    }
    for host in ["wiki.example.com", "[::2]:8787", "localhost.example.com:80"] {
        assert!(
            !super::is_loopback_app(&HostPattern::Exact(host.into())),
            "{host}"
        );
    }
    assert!(super::is_loopback_app(&HostPattern::AnyLoopback));
}

proptest! {
    #[test]
    fn hostile_client_ids_never_panic(raw in "\\PC{0,80}") {
        let _ = CimdUrl::parse(&raw, &policy());
        let _ = CimdUrl::parse(&format!("https://{raw}"), &policy());
    }

    #[test]
    fn hostile_documents_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let url = CimdUrl::parse(URL, &policy()).unwrap();
        let _ = client_record(&url, &body, &policy(), UnixTime(0));
    }

    #[test]
    fn cache_lifetime_is_always_within_bounds(cc in "\\PC{0,40}", exp in "\\PC{0,40}", now in any::<u64>()) {
        let ttl = cache_ttl(Some(&cc), Some(&exp), UnixTime(now));
        prop_assert!((MIN_CACHE_SECS..=MAX_CACHE_SECS).contains(&ttl));
    }
}

#[test]
fn private_key_jwt_documents_need_exactly_one_key_source() {
    let url = CimdUrl::parse(URL, &policy()).unwrap();
    let now = UnixTime(1_800_000_000);
    let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    let record = |extra: &str| client_record(&url, document(extra).as_bytes(), &policy(), now);
    let keyed = record(&format!(
        r#","token_endpoint_auth_method":"private_key_jwt","jwks":{jwks}"#
    ))
    .unwrap();
    assert_eq!(
        keyed.metadata.token_endpoint_auth_method,
        AuthMethod::PrivateKeyJwt
    );
    assert!(
        record(r#","token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://agent.example.com/jwks.json""#)
            .is_ok()
    );
    for (extra, expected) in [
        (
            r#","token_endpoint_auth_method":"private_key_jwt""#.to_owned(),
            Reason::CimdDocumentInvalid,
        ),
        (
            format!(r#","token_endpoint_auth_method":"private_key_jwt","jwks":{jwks},"jwks_uri":"https://agent.example.com/j""#),
            Reason::CimdDocumentInvalid,
        ),
        (format!(r#","jwks":{jwks}"#), Reason::CimdDocumentInvalid),
        (
            r#","token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}"#.to_owned(),
            Reason::CimdDocumentInvalid,
        ),
        (
            r#","token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://10.0.0.1/jwks.json""#.to_owned(),
            Reason::CimdAddressRefused,
        ),
    ] {
        assert_eq!(record(&extra).map(|_| ()), Err(expected), "{extra}");
    }
}
