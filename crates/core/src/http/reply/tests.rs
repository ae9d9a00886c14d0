use super::*;
use crate::error::ErrorCode;

type Plain = Reply<&'static str>;

#[test]
fn errors_carry_the_status_http_names_for_their_reason() {
    let status = |reason| Plain::error(&OAuthError::from(reason)).status;
    assert_eq!(status(Reason::EndpointUnknown), 404);
    assert_eq!(status(Reason::MethodNotAllowed), 405);
    assert_eq!(status(Reason::BodyTooLarge), 413);
    assert_eq!(status(Reason::MalformedBody), 400);
    assert_eq!(status(Reason::ClientUnknown), 401);
    assert_eq!(status(Reason::StoreUnavailable), 503);
}

#[test]
fn error_bodies_use_registered_codes_only() {
    // Issue 19: the adapter's hand-written bodies said `not_found` and `err`, which no RFC
    // defines; every error body now comes from the one reason → code map.
    for reply in [
        Plain::not_found(),
        Plain::method_not_allowed(Allow::Post),
        Plain::error(&OAuthError::from(Reason::NotHttpUrl)),
        Plain::error(&OAuthError::from(Reason::AccessSessionMissing)),
        Plain::misconfigured("0123456789abcdef"),
    ] {
        let Body::Json(bytes) = &reply.body else {
            panic!("not JSON: {reply:?}")
        };
        let body: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let code = body["error"].as_str().unwrap();
        assert!(
            [
                ErrorCode::InvalidRequest,
                ErrorCode::InvalidToken,
                ErrorCode::TemporarilyUnavailable
            ]
            .iter()
            .any(|c| c.as_str() == code),
            "{code}"
        );
        assert_eq!(reply.header("Cache-Control"), Some("no-store"));
    }
}

#[test]
fn waits_are_decided_by_the_reason() {
    let retry = |reason| {
        Plain::error(&OAuthError::from(reason))
            .header("Retry-After")
            .map(str::to_owned)
    };
    assert_eq!(retry(Reason::StoreUnavailable).as_deref(), Some("5"));
    assert_eq!(retry(Reason::UpstreamUnavailable).as_deref(), Some("30"));
    assert_eq!(
        retry(Reason::MigrationMode),
        None,
        "the operator's, added by the caller"
    );
    assert_eq!(retry(Reason::ClientUnknown), None);
    let misconfigured = Plain::misconfigured("ref");
    assert_eq!(misconfigured.status, 503);
    assert_eq!(misconfigured.header("Retry-After"), Some("60"));
}

#[test]
fn a_method_not_served_is_answered_with_allow() {
    let reply = Plain::method_not_allowed(Allow::PostOptions);
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("Allow"), Some("POST, OPTIONS"));
}

#[test]
fn every_endpoint_lists_its_methods_and_cors_endpoints_list_the_preflight() {
    use crate::paths as p;
    for path in [
        p::TOKEN,
        p::REGISTER,
        p::REVOKE,
        p::JWKS,
        p::DEVICE_AUTHORIZATION,
    ] {
        assert!(has_cors(path), "{path}");
        let allow = Allow::for_endpoint(path).unwrap();
        assert!(allow.as_str().ends_with("OPTIONS"), "{path}");
    }
    for path in [p::AUTHORIZE, p::INTROSPECT, p::CONSENT, p::LOGIN] {
        assert!(!has_cors(path), "{path}");
        assert!(
            !Allow::for_endpoint(path)
                .unwrap()
                .as_str()
                .contains("OPTIONS")
        );
    }
    assert_eq!(Allow::for_endpoint(p::DEVICE), Some(Allow::GetPost));
    assert_eq!(Allow::for_endpoint("/elsewhere"), None);
    // `/healthz` is served at the host's root only; under an app's prefix it is no endpoint.
    assert_eq!(Allow::for_endpoint(p::HEALTHZ), None);
}

#[test]
fn a_challenge_is_exposed_to_cross_origin_callers_only_when_there_is_one() {
    let plain = Plain::json(200, &()).with_cors();
    assert_eq!(plain.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(plain.header("Access-Control-Expose-Headers"), None);
    let challenged =
        Plain::error_after_basic(&OAuthError::from(Reason::ClientUnknown), true).with_cors();
    assert_eq!(
        challenged.header("WWW-Authenticate"),
        Some("Basic realm=\"gatehouse\"")
    );
    assert_eq!(
        challenged.header("Access-Control-Expose-Headers"),
        Some("WWW-Authenticate")
    );
}

#[test]
fn a_form_page_sets_the_csrf_cookie_it_carries() {
    let reply = Plain::form_page(200, "view", "tok".into());
    assert_eq!(
        reply.body,
        Body::Page {
            view: Box::new("view"),
            csrf: Some("tok".into())
        }
    );
    assert_eq!(
        reply.header("Set-Cookie"),
        Some("__Host-gatehouse-csrf=tok; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax")
    );
    assert_eq!(reply.header("Cache-Control"), Some("no-store"));
    assert_eq!(reply.header("X-Frame-Options"), Some("DENY"));
}

#[test]
fn a_header_set_twice_keeps_the_last_value_and_cookies_accumulate() {
    let reply = Plain::redirect(302, "/a")
        .with("Location", "/b")
        .with_cookie("a=1".into())
        .with_cookie("b=2".into());
    assert_eq!(reply.header("Location"), Some("/b"));
    assert_eq!(
        reply
            .headers
            .iter()
            .filter(|(n, _)| *n == "Set-Cookie")
            .count(),
        2
    );
}
