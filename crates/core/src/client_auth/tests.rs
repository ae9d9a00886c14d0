//! RFC 6749 §2.3: reading client credentials. Authentication against stored clients is
//! exercised in `tests/spec`.

use super::*;

fn form(body: &str) -> Form {
    Form::parse(body.as_bytes()).unwrap()
}

fn basic(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

#[test]
fn basic_credentials_are_url_decoded() {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    let (id, secret) = parse_basic(&basic("c_1:p%40ss+w%3Ard")).unwrap();
    assert_eq!(id.as_str(), "c_1");
    assert_eq!(secret, "p@ss w:rd");
    assert!(
        parse_basic(&format!("basic {}", STANDARD.encode("c_1:s"))).is_ok(),
        "the scheme is case-insensitive"
    );
}

#[test]
fn malformed_basic_headers_are_refused() {
    for header in [
        "Bearer abc".to_string(),
        "Basic".to_string(),
        "Basic !!!".to_string(),
        basic("no-colon"),
        basic(":secret"),
        basic("c_1:"),
        format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'a'])),
        basic("c 1:s"),
    ] {
        assert_eq!(
            parse_basic(&header).unwrap_err(),
            Reason::ClientAuthMalformed,
            "{header}"
        );
    }
}

#[test]
fn one_method_per_request() {
    let header = basic("c_1:s");
    assert_eq!(
        presented(&form("client_secret=s"), Some(&header)).unwrap_err(),
        Reason::ClientAuthMultipleMethods
    );
    assert_eq!(
        presented(&form("client_id=c_2"), Some(&header)).unwrap_err(),
        Reason::ClientAuthMultipleMethods
    );
    assert_eq!(
        presented(&form("client_id=c_1"), Some(&header))
            .unwrap()
            .method,
        AuthMethod::ClientSecretBasic
    );
}

#[test]
fn the_body_names_post_or_none() {
    assert_eq!(
        presented(&form("client_id=c_1&client_secret=s"), None)
            .unwrap()
            .method,
        AuthMethod::ClientSecretPost
    );
    assert_eq!(
        presented(&form("client_id=c_1"), None).unwrap().method,
        AuthMethod::None
    );
    assert_eq!(
        presented(&form(""), None).unwrap_err(),
        Reason::ClientIdMissing
    );
    assert_eq!(
        presented(&form("client_id=a&client_id=b"), None).unwrap_err(),
        Reason::DuplicateParameter
    );
}
