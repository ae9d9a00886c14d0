use proptest::prelude::*;

use super::*;

/// Redirect URIs that registration accepts, each with the rule that admits it.
const ACCEPTED: &[(&str, &str)] = &[
    ("https://a.example/cb", "RFC 6749 §3.1.2: absolute URI"),
    (
        "https://a.example",
        "RFC 3986 §3.3: path-abempty may be empty",
    ),
    (
        "https://a.example:8443/cb?x=1&y=2",
        "RFC 6749 §3.1.2: MAY include a query component",
    ),
    (
        "https://a.example/cb?q=%20x",
        "RFC 3986 §2.1: percent-encoding in the query",
    ),
    (
        "HTTPS://a.example/cb",
        "RFC 3986 §3.1: schemes are case-insensitive",
    ),
    (
        "https://127.0.0.1/cb",
        "OAuth 2.1 §2.3.1: https to any host",
    ),
    ("http://127.0.0.1/cb", "RFC 8252 §7.3: loopback IPv4"),
    (
        "http://127.0.0.1:51004/oauth/callback",
        "RFC 8252 §7.3: loopback IPv4 with port",
    ),
    (
        "http://127.1.2.3/cb",
        "RFC 8252 §7.3: all of 127.0.0.0/8 is loopback",
    ),
    ("http://[::1]/cb", "RFC 8252 §7.3: loopback IPv6"),
    (
        "http://[::1]:8080/cb",
        "RFC 8252 §7.3: loopback IPv6 with port",
    ),
    (
        "http://localhost/cb",
        "RFC 8252 §8.3 / MCP authorization: localhost",
    ),
    (
        "http://LOCALHOST:3000/callback",
        "RFC 3986 §3.2.2: host names are case-insensitive",
    ),
    (
        "com.example.app:/oauth2redirect/example-provider",
        "RFC 8252 §7.1: its own example",
    ),
    (
        "com.example.app:/cb",
        "RFC 8252 §7.1: reverse-domain private-use scheme",
    ),
    (
        "com.example.app://cb",
        "RFC 8252 §7.1: private-use scheme with an authority",
    ),
];

#[test]
fn registration_accepts_https_loopback_http_and_reverse_domain_schemes() {
    for (raw, rule) in ACCEPTED {
        let uri = RedirectUri::parse(raw).unwrap_or_else(|r| panic!("{raw} ({rule}): {r:?}"));
        assert_eq!(uri.as_str(), *raw, "{rule}: the exact string is kept");
        assert!(uri.matches(raw), "{rule}: a URI matches itself");
        assert!(!uri.needs_public_client(), "{rule}: any client may use it");
    }
}

/// Private-use schemes desktop apps register in practice, which are not reverse domain names
/// (issue 17): accepted for public clients, whose codes PKCE protects (RFC 8252 §7.1, §8.1).
const HOST_BEARING_PRIVATE_USE: &[(&str, &str)] = &[
    (
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "Cursor's registration (issue 17)",
    ),
    (
        "vscode://vscode.github-authentication/did-authenticate",
        "VS Code's URI handler form",
    ),
    ("windsurf://codeium.windsurf/cb", "Windsurf"),
    ("myapp:/cb", "RFC 8252 §7.1 example form without a period"),
    ("claude:/oauth/callback", "no authority"),
];

#[test]
fn host_bearing_private_use_schemes_are_accepted_for_public_clients_only() {
    for (raw, rule) in HOST_BEARING_PRIVATE_USE {
        let uri = RedirectUri::parse(raw).unwrap_or_else(|r| panic!("{raw} ({rule}): {r:?}"));
        assert_eq!(uri.as_str(), *raw, "{rule}");
        assert!(uri.is_private_use() && uri.needs_public_client(), "{rule}");
        assert!(!uri.is_loopback(), "{rule}");
    }
    let reverse_domain = RedirectUri::parse("com.example.app:/cb").unwrap();
    assert!(reverse_domain.is_private_use() && !reverse_domain.needs_public_client());
}

#[test]
fn private_use_redirects_are_compared_byte_for_byte() {
    // RFC 8252 §7.1 with RFC 6749 §3.1.2.3: no port or path leniency for an app's scheme.
    let registered = RedirectUri::parse("cursor://anysphere.cursor-mcp/oauth/callback").unwrap();
    for requested in [
        "cursor://anysphere.cursor-mcp/oauth/callback/",
        "cursor://anysphere.cursor-mcp:1/oauth/callback",
        "CURSOR://anysphere.cursor-mcp/oauth/callback",
        "cursor://anysphere.cursor-mcp/oauth/callback?x=1",
        "cursor://evil/oauth/callback",
    ] {
        assert!(!registered.matches(requested), "{requested}");
        assert!(
            !registered.matches_as(requested, Matching::Document),
            "{requested}"
        );
    }
}

/// Hostile or malformed redirect URIs, each with the reason and the rule that refuses it.
const REFUSED: &[(&str, Reason, &str)] = &[
    // Schemes a browser executes or handles itself (RFC 8252 §7.1 requires reverse-domain names
    // for private-use schemes; OAuth 2.1 §2.3.1 allows http only for loopback).
    (
        "JavaScript:alert(1)",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "javascript:alert(1)",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "javascript://a.example/%0Aalert(1)",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "data:text/html;base64,PHNjcmlwdD4=",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "file:///etc/passwd",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "vbscript:msgbox(1)",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "about:blank",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "blob:https://a.example/0b8e",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1",
    ),
    (
        "ftp://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "OAuth 2.1 §2.3.1",
    ),
    (
        "ws://127.0.0.1/cb",
        Reason::RedirectUriForbiddenScheme,
        "OAuth 2.1 §2.3.1",
    ),
    (
        "wss://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "OAuth 2.1 §2.3.1",
    ),
    (
        "view-source:https://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "read by the browser itself",
    ),
    (
        "filesystem:https://a.example/temporary/cb",
        Reason::RedirectUriForbiddenScheme,
        "read by the browser itself",
    ),
    (
        "chrome-extension://abcdef/cb",
        Reason::RedirectUriForbiddenScheme,
        "a browser extension, not an app",
    ),
    (
        "intent://cb",
        Reason::RedirectUriForbiddenScheme,
        "Android intents name any app",
    ),
    (
        "mailto:agent@a.example",
        Reason::RedirectUriForbiddenScheme,
        "another program than the client",
    ),
    (
        "ms-msdt:/id%20PCWDiagnostic",
        Reason::RedirectUriForbiddenScheme,
        "a Windows handler abused to run code (CVE-2022-30190)",
    ),
    (
        "search-ms:query=x",
        Reason::RedirectUriForbiddenScheme,
        "a Windows handler abused to run code",
    ),
    (
        "localhost:8080/cb",
        Reason::RedirectUriForbiddenScheme,
        "reads as a loopback address",
    ),
    (
        "web+mcp://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "registered by a web page",
    ),
    (
        "ext+mcp:/cb",
        Reason::RedirectUriForbiddenScheme,
        "registered by an extension",
    ),
    (
        "https.evil.example:/cb",
        Reason::RedirectUriForbiddenScheme,
        "an https look-alike",
    ),
    (
        "http-s://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "an https look-alike",
    ),
    (
        "HTTPX://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "an http look-alike",
    ),
    (
        "hxxps://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "an https look-alike",
    ),
    (
        "htps://a.example/cb",
        Reason::RedirectUriForbiddenScheme,
        "an https look-alike",
    ),
    (
        "com..app:/cb",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1: empty label",
    ),
    (
        "com.example.:/cb",
        Reason::RedirectUriForbiddenScheme,
        "RFC 8252 §7.1: empty label",
    ),
    // Plain http to anything but a loopback address (RFC 8252 §7.3, OAuth 2.1 §2.3.1).
    (
        "http://a.example/cb",
        Reason::RedirectUriInsecureHttp,
        "OAuth 2.1 §2.3.1",
    ),
    (
        "http://127.0.0.1.evil.example/cb",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3",
    ),
    (
        "http://localhost.evil.example/",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3",
    ),
    (
        "http://localhost./cb",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3: not the name localhost",
    ),
    (
        "http://evil-localhost/cb",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3",
    ),
    (
        "http://0.0.0.0/cb",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3: not loopback",
    ),
    (
        "http://[::ffff:127.0.0.1]/cb",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3: only [::1]",
    ),
    (
        "http://10.0.0.1/cb",
        Reason::RedirectUriInsecureHttp,
        "RFC 8252 §7.3",
    ),
    // Fragments (RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component.").
    (
        "https://a.example/cb#x",
        Reason::RedirectUriHasFragment,
        "RFC 6749 §3.1.2",
    ),
    (
        "https://a.example/cb#",
        Reason::RedirectUriHasFragment,
        "RFC 6749 §3.1.2: even empty",
    ),
    (
        "http://evil.example#@127.0.0.1/",
        Reason::RedirectUriHasFragment,
        "RFC 6749 §3.1.2",
    ),
    (
        "com.example.app:/cb#x",
        Reason::RedirectUriHasFragment,
        "RFC 6749 §3.1.2",
    ),
    // User information: the host a person reads is not the host the browser contacts.
    (
        "https://user@a.example/cb",
        Reason::RedirectUriHasUserinfo,
        "RFC 3986 §7.6",
    ),
    (
        "https://user:pw@a.example/cb",
        Reason::RedirectUriHasUserinfo,
        "RFC 3986 §7.6",
    ),
    (
        "https://a.example@evil.example/cb",
        Reason::RedirectUriHasUserinfo,
        "RFC 3986 §7.6",
    ),
    (
        "http://127.0.0.1@evil.example/cb",
        Reason::RedirectUriHasUserinfo,
        "RFC 3986 §7.6",
    ),
    (
        "http://127.0.0.1:80@evil.example/cb",
        Reason::RedirectUriHasUserinfo,
        "RFC 3986 §7.6",
    ),
    // Characters outside RFC 3986 §2, refused before parsing: whitespace anywhere, control
    // characters, backslashes (which the WHATWG parser treats as `/`), non-ASCII, HTML.
    (
        " https://a.example/cb",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/cb ",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/c b",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "\thttps://a.example/cb",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.exa\tmple/cb",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/cb\n",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/cb\r\nLocation: x",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "java\nscript:alert(1)",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/\0",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/\x7f",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "http:\\\\evil",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "http:\\\\127.0.0.1\\cb",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example\\@evil.example/",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "data:text/html,<script>alert(1)</script>",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/\"onmouseover",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    (
        "https://a.example/cb\u{a0}",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2: non-ASCII",
    ),
    (
        "https://\u{430}pple.example/cb",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2: homograph",
    ),
    (
        "https://a.example/\u{2028}",
        Reason::RedirectUriCharacterRefused,
        "RFC 3986 §2",
    ),
    // Not an absolute URI of the required form.
    (
        "",
        Reason::RedirectUriInvalid,
        "RFC 6749 §3.1.2: absolute URI",
    ),
    (
        "/cb",
        Reason::RedirectUriInvalid,
        "RFC 6749 §3.1.2: absolute URI",
    ),
    (
        "a.example/cb",
        Reason::RedirectUriInvalid,
        "RFC 6749 §3.1.2: absolute URI",
    ),
    (
        "//a.example/cb",
        Reason::RedirectUriInvalid,
        "RFC 6749 §3.1.2: absolute URI",
    ),
    (
        ".example.app:/cb",
        Reason::RedirectUriInvalid,
        "RFC 3986 §3.1: scheme starts with ALPHA",
    ),
    (
        "java%73cript:alert(1)",
        Reason::RedirectUriInvalid,
        "RFC 3986 §3.1: no % in schemes",
    ),
    (
        "%6Aavascript:alert(1)",
        Reason::RedirectUriInvalid,
        "RFC 3986 §3.1: no % in schemes",
    ),
    (
        "https:/a.example/cb",
        Reason::RedirectUriInvalid,
        "RFC 9110 §4.2.2: https://authority",
    ),
    (
        "https:a.example/cb",
        Reason::RedirectUriInvalid,
        "RFC 9110 §4.2.2: https://authority",
    ),
    (
        "http:127.0.0.1/cb",
        Reason::RedirectUriInvalid,
        "RFC 9110 §4.2.1: http://authority",
    ),
    (
        "https:///a.example/cb",
        Reason::RedirectUriInvalid,
        "RFC 9110 §4.2.2: non-empty host",
    ),
    (
        "https://",
        Reason::RedirectUriInvalid,
        "RFC 9110 §4.2.2: non-empty host",
    ),
    (
        "https://:443/cb",
        Reason::RedirectUriInvalid,
        "RFC 9110 §4.2.2: non-empty host",
    ),
    (
        "http://127.0.0.1:99999/cb",
        Reason::RedirectUriInvalid,
        "RFC 3986 §3.2.3: port range",
    ),
    (
        "http://127.0.0.1%2eevil.example/cb",
        Reason::RedirectUriInvalid,
        "no percent-encoded hosts",
    ),
    (
        "http://%6c%6fcalhost/cb",
        Reason::RedirectUriInvalid,
        "no percent-encoded hosts",
    ),
    (
        "https://a.example/cb%",
        Reason::RedirectUriInvalid,
        "RFC 3986 §2.1: pct-encoded",
    ),
    (
        "https://a.example/cb%2",
        Reason::RedirectUriInvalid,
        "RFC 3986 §2.1: pct-encoded",
    ),
    (
        "https://a.example/cb%zz",
        Reason::RedirectUriInvalid,
        "RFC 3986 §2.1: pct-encoded",
    ),
];

#[test]
fn registration_refuses_hostile_redirect_uris_with_the_precise_reason() {
    for (raw, expected, rule) in REFUSED {
        assert_eq!(
            RedirectUri::parse(raw).err(),
            Some(*expected),
            "{raw:?} ({rule})"
        );
    }
}

#[test]
fn redirect_uri_length_is_bounded_at_2000_bytes() {
    let base = "https://a.example/";
    let longest = format!("{base}{}", "a".repeat(MAX_REDIRECT_URI_BYTES - base.len()));
    assert!(RedirectUri::parse(&longest).is_ok());
    let too_long = format!("{longest}a");
    assert_eq!(
        RedirectUri::parse(&too_long).err(),
        Some(Reason::RedirectUriTooLong)
    );
}

#[test]
fn loopback_redirect_may_change_port() {
    // RFC 8252 §7.3: "The authorization server MUST allow any port to be specified at the time
    // of the request for loopback IP redirect URIs".
    let rows = [
        ("http://127.0.0.1/cb", "http://127.0.0.1:51004/cb"),
        ("http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb"),
        ("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"),
        ("http://127.0.0.1:8080/cb?x=1", "http://127.0.0.1:1/cb?x=1"),
        ("http://[::1]/cb", "http://[::1]:65535/cb"),
        ("http://[::1]:1234/cb", "http://[::1]:4321/cb"),
        (
            "http://localhost/callback",
            "http://localhost:33418/callback",
        ),
        ("http://127.0.0.1", "http://127.0.0.1:5000"),
    ];
    for (registered, requested) in rows {
        let uri = RedirectUri::parse(registered).unwrap();
        assert!(
            uri.matches(requested),
            "{registered} should match {requested}"
        );
    }
}

#[test]
fn an_empty_loopback_path_and_a_slash_are_the_same_uri_both_ways() {
    // RFC 3986 §6.2.3: "http://example.com" and "http://example.com/" are equivalent. VS Code
    // registers `http://127.0.0.1` (and `http://localhost`) and sends
    // `http://127.0.0.1:<port>/` (issue 17), or registers the `/` form and sends the other.
    let rows = [
        ("http://127.0.0.1", "http://127.0.0.1:33418/"),
        ("http://127.0.0.1", "http://127.0.0.1/"),
        ("http://127.0.0.1/", "http://127.0.0.1:51004"),
        ("http://127.0.0.1/", "http://127.0.0.1"),
        ("http://localhost", "http://localhost:8080/"),
        ("http://localhost/", "http://localhost:8080"),
        ("http://[::1]", "http://[::1]:8080/"),
        ("http://127.0.0.1?x=1", "http://127.0.0.1:9/?x=1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
    ];
    for (registered, requested) in rows {
        let uri = RedirectUri::parse(registered).unwrap();
        assert!(
            uri.matches(requested),
            "{registered} should match {requested}"
        );
        let back = RedirectUri::parse(requested).unwrap();
        assert!(
            back.matches(registered),
            "{requested} should match {registered}"
        );
    }
    // Only the empty path: everything else must still match exactly.
    let root = RedirectUri::parse("http://127.0.0.1").unwrap();
    for requested in [
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:1//",
        "http://127.0.0.1:1/?x",
        "http://127.0.0.2:1/",
        "http://localhost:1/",
        "https://127.0.0.1:1/",
    ] {
        assert!(!root.matches(requested), "{requested} must not match");
    }
    // Not for https, which has no port rule either (RFC 6749 §3.1.2.3).
    let https = RedirectUri::parse("https://a.example").unwrap();
    assert!(!https.matches("https://a.example/"));
}

#[test]
fn a_metadata_document_loopback_ip_literal_may_change_port_but_not_path() {
    // Issue 17: a document lists `http://127.0.0.1/` and the native client listens on an
    // ephemeral port. RFC 8252 §7.3 for loopback IP literals; host and path exact.
    let rows = [
        ("http://127.0.0.1/", "http://127.0.0.1:51004/", true),
        (
            "http://127.0.0.1/callback",
            "http://127.0.0.1:1/callback",
            true,
        ),
        ("http://[::1]/cb", "http://[::1]:8080/cb", true),
        ("http://127.0.0.1:80/cb", "http://127.0.0.1:81/cb", true),
        ("http://127.0.0.1/", "http://127.0.0.1:51004", false),
        ("http://127.0.0.1", "http://127.0.0.1:51004/", false),
        ("http://127.0.0.1/cb", "http://127.0.0.1:1/cb/", false),
        ("http://127.0.0.1/cb", "http://127.0.0.2:1/cb", false),
        ("http://127.0.0.1/cb", "http://localhost:1/cb", false),
        ("http://localhost/cb", "http://localhost:1/cb", false),
        ("https://127.0.0.1/cb", "https://127.0.0.1:1/cb", false),
        ("https://a.example/cb", "https://a.example:1/cb", false),
    ];
    for (registered, requested, expected) in rows {
        let uri = RedirectUri::parse(registered).unwrap();
        assert_eq!(
            uri.matches_as(requested, Matching::Document),
            expected,
            "{registered} vs {requested}"
        );
    }
    let uri = RedirectUri::parse("http://localhost/cb").unwrap();
    assert!(uri.matches_as("http://localhost/cb", Matching::Document));
}

#[test]
fn loopback_redirect_must_match_everything_but_the_port() {
    // RFC 8252 §7.3 relaxes only the port; RFC 6749 §3.1.2.3 string comparison applies to the
    // rest.
    let registered = RedirectUri::parse("http://127.0.0.1:8080/cb").unwrap();
    let rows = [
        "http://127.0.0.1:8080/cb2",
        "http://127.0.0.1:8080/cb/",
        "http://127.0.0.1:8080/CB",
        "http://127.0.0.1:8080/cb?x=1",
        "http://127.0.0.1:8080/cb#x",
        "http://127.0.0.1:8080",
        "http://127.0.0.2:8080/cb",
        "http://localhost:8080/cb",
        "http://[::1]:8080/cb",
        "https://127.0.0.1:8080/cb",
        "HTTP://127.0.0.1:8080/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:80a/cb",
        "http://127.0.0.1:+80/cb",
        "http://127.0.0.1: 80/cb",
        "http://127.0.0.1:8080@evil.example/cb",
        "http://user@127.0.0.1:8080/cb",
        "http://127.0.0.1:8080:9090/cb",
        "http://127.0.0.1.evil.example:8080/cb",
        " http://127.0.0.1:8080/cb",
        "http://127.0.0.1:8080/cb ",
        "http://127.0.0.1:8080\\cb",
        "",
    ];
    for requested in rows {
        assert!(
            !registered.matches(requested),
            "{requested:?} must not match"
        );
    }
}

#[test]
fn non_loopback_redirect_is_compared_byte_for_byte() {
    // RFC 6749 §3.1.2.3: simple string comparison; no normalisation of case,
    // default ports or trailing slashes.
    let registered = RedirectUri::parse("https://a.example/cb").unwrap();
    assert!(registered.matches("https://a.example/cb"));
    let rows = [
        "https://a.example:443/cb",
        "https://a.example:8443/cb",
        "https://A.example/cb",
        "HTTPS://a.example/cb",
        "https://a.example/cb/",
        "https://a.example/Cb",
        "https://a.example/cb?x=1",
        "https://a.example/cb?",
        "https://a.example/%63b",
        "https://a.example/cb#",
        "https://a.example./cb",
        "http://a.example/cb",
    ];
    for requested in rows {
        assert!(
            !registered.matches(requested),
            "{requested:?} must not match"
        );
    }
}

#[test]
fn https_loopback_redirect_keeps_its_port() {
    // The port exception of RFC 8252 §7.3 is for http loopback redirects only.
    let registered = RedirectUri::parse("https://127.0.0.1/cb").unwrap();
    assert!(!registered.matches("https://127.0.0.1:8443/cb"));
    assert!(registered.is_loopback());
}

#[test]
fn host_and_loopback_are_what_the_browser_will_contact() {
    // The consent page shows the host and warns for loopback (DESIGN: consent).
    let rows = [
        ("https://App.Example/cb", Some("app.example"), false),
        ("http://127.0.0.1:8080/cb", Some("127.0.0.1"), true),
        ("http://[::1]/cb", Some("[::1]"), true),
        ("http://localhost/cb", Some("localhost"), true),
        ("https://localhost/cb", Some("localhost"), true),
        ("com.example.app:/cb", None, false),
        ("com.example.app://host/cb", Some("host"), false),
    ];
    for (raw, host, loopback) in rows {
        let uri = RedirectUri::parse(raw).unwrap();
        assert_eq!(uri.host(), host, "{raw}");
        assert_eq!(uri.is_loopback(), loopback, "{raw}");
    }
    assert_eq!(
        RedirectUri::parse("com.example.app:/cb").unwrap().scheme(),
        "com.example.app"
    );
}

#[test]
fn the_destination_shown_is_the_host_or_an_apps_scheme() {
    // A private-use URI's authority names no machine (RFC 8252 §7.1): pages show the scheme.
    let rows = [
        ("https://App.Example/cb", "app.example"),
        ("http://127.0.0.1:8080/cb", "127.0.0.1"),
        ("com.example.app:/cb", "com.example.app"),
        ("com.example.app://host/cb", "com.example.app"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor"),
    ];
    for (raw, destination) in rows {
        assert_eq!(
            RedirectUri::parse(raw).unwrap().destination(),
            destination,
            "{raw}"
        );
    }
}

#[test]
fn serde_round_trips_through_the_exact_string_and_refuses_invalid_values() {
    let uri = RedirectUri::parse("http://localhost:3000/cb").unwrap();
    let json = serde_json::to_string(&uri).unwrap();
    assert_eq!(json, r#""http://localhost:3000/cb""#);
    assert_eq!(serde_json::from_str::<RedirectUri>(&json).unwrap(), uri);
    assert!(serde_json::from_str::<RedirectUri>(r#""javascript:alert(1)""#).is_err());
    assert_eq!(
        "http://localhost:3000/cb".parse::<RedirectUri>(),
        Ok(uri.clone())
    );
    assert_eq!(format!("{uri}"), "http://localhost:3000/cb");
    assert_eq!(
        format!("{uri:?}"),
        r#"RedirectUri("http://localhost:3000/cb")"#
    );
}

/// Bytes RFC 3986 §2 does not allow anywhere in a URI.
fn forbidden_byte() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u8..0x20).prop_map(char::from),
        Just('\x7f'),
        Just(' '),
        Just('\\'),
        Just('"'),
        Just('<'),
        Just('>'),
        Just('^'),
        Just('`'),
        Just('{'),
        Just('|'),
        Just('}'),
        any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()),
    ]
}

/// Well-formed https redirect URIs built from the grammar.
fn https_uri() -> impl Strategy<Value = String> {
    (
        // `xn--` labels are punycode, which the URL parser decodes and may refuse: not "well formed".
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}"
            .prop_filter("no punycode labels", |h: &String| {
                !h.split('.').any(|l| l.starts_with("xn--"))
            }),
        proptest::option::of(1u16..),
        "(/[A-Za-z0-9._~!$&'()*+,;=:@-]{0,12}){0,4}",
        proptest::option::of("[A-Za-z0-9._~!$&'()*+,;=:@/?-]{0,20}"),
    )
        .prop_map(|(host, port, path, query)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("https://{host}{port}{path}{query}")
        })
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_input(raw in any::<String>()) {
        let _ = RedirectUri::parse(&raw);
    }

    #[test]
    fn parse_never_panics_on_uri_like_input(
        prefix in prop_oneof![
            Just("https://"), Just("http://"), Just("http://127.0.0.1"), Just("http://[::1]"),
            Just("com.example.app:"), Just("javascript:"), Just("")
        ],
        tail in "[ -~\t\n\\\\]{0,60}",
    ) {
        let raw = format!("{prefix}{tail}");
        if let Ok(uri) = RedirectUri::parse(&raw) {
            // Whatever is accepted obeys every registration rule.
            prop_assert_eq!(uri.as_str(), raw.as_str());
            prop_assert!(!raw.contains('#'));
            prop_assert!(raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'));
            prop_assert!(uri.url().username().is_empty() && uri.url().password().is_none());
            let scheme = uri.scheme();
            let browser_handled = ["javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss"];
            prop_assert!(
                scheme == "https"
                    || (scheme == "http" && uri.is_loopback())
                    || (uri.is_private_use()
                        && !browser_handled.contains(&scheme)
                        && !scheme.starts_with("htt")
                        && !scheme.starts_with('.')
                        && !scheme.ends_with('.'))
            );
            prop_assert_eq!(uri.needs_public_client(), uri.is_private_use() && !scheme.contains('.'));
            prop_assert!(uri.matches(&raw));
        }
    }

    #[test]
    fn well_formed_https_uris_are_accepted_exactly(raw in https_uri()) {
        let uri = RedirectUri::parse(&raw);
        prop_assert!(uri.is_ok(), "{:?}: {:?}", raw, uri);
        let uri = uri.unwrap();
        prop_assert_eq!(uri.as_str(), raw.as_str());
        prop_assert!(uri.matches(&raw));
    }

    #[test]
    fn one_forbidden_character_anywhere_is_refused(
        raw in https_uri(),
        position in any::<prop::sample::Index>(),
        bad in forbidden_byte(),
    ) {
        let at = position.index(raw.len() + 1);
        let mut hostile = raw.clone();
        hostile.insert(at, bad);
        prop_assert_eq!(
            RedirectUri::parse(&hostile).err(),
            Some(Reason::RedirectUriCharacterRefused)
        );
    }

    #[test]
    fn any_fragment_is_refused(raw in https_uri(), fragment in "[A-Za-z0-9/?#:@]{0,10}") {
        let hostile = format!("{raw}#{fragment}");
        prop_assert_eq!(RedirectUri::parse(&hostile).err(), Some(Reason::RedirectUriHasFragment));
    }

    #[test]
    fn plain_http_is_refused_for_every_non_loopback_name(host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{1,5}){1,3}") {
        prop_assume!(host != "localhost");
        prop_assume!(!host.split('.').any(|l| l.starts_with("xn--")), "punycode labels are another test's business");
        let raw = format!("http://{host}/cb");
        prop_assert_eq!(RedirectUri::parse(&raw).err(), Some(Reason::RedirectUriInsecureHttp));
    }

    #[test]
    fn loopback_matching_ignores_only_the_port(
        registered_port in proptest::option::of(1u16..),
        requested_port in proptest::option::of(0u16..),
        host in prop_oneof![Just("127.0.0.1"), Just("[::1]"), Just("localhost")],
        path in "(/[a-z]{1,5}){0,3}",
        other_path in "(/[a-z]{1,5}){0,3}",
    ) {
        let port = |p: Option<u16>| p.map(|p| format!(":{p}")).unwrap_or_default();
        let registered = format!("http://{host}{}{path}", port(registered_port));
        let uri = RedirectUri::parse(&registered).unwrap();
        let requested = format!("http://{host}{}{other_path}", port(requested_port));
        prop_assert_eq!(uri.matches(&requested), path == other_path);
    }

    #[test]
    fn non_loopback_matching_is_string_equality(raw in https_uri(), requested in "[ -~]{0,40}") {
        let uri = RedirectUri::parse(&raw).unwrap();
        prop_assert_eq!(uri.matches(&requested), requested == raw);
    }
}
