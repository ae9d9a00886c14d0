use super::*;
use crate::http::reply::Body;
use crate::testing::SeqRng;

#[test]
fn the_form_rule_compares_the_media_type_not_a_prefix() {
    for ok in [
        Some("application/x-www-form-urlencoded"),
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        Some("APPLICATION/X-WWW-FORM-URLENCODED"),
    ] {
        assert!(require_form(ok).is_ok(), "{ok:?}");
    }
    for refused in [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencodedx"),
        Some("multipart/form-data"),
    ] {
        let reply = require_form(refused).err().unwrap();
        assert_eq!(reply.status, 400, "{refused:?}");
    }
}

#[test]
fn a_storage_outage_is_logged_and_answered_503_with_retry_after() {
    let reply = failure(
        &DecisionLog::default(),
        Failure::Store(StoreError("d1 down".into())),
    );
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("Retry-After"), Some("5"));
    assert!(reply.log.unwrap().contains("d1 down"));
}

#[test]
fn migration_mode_waits_as_long_as_the_operator_says() {
    let reply = failure(
        &DecisionLog::default(),
        Failure::Paused(Paused {
            retry_after_secs: 120,
        }),
    );
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("Retry-After"), Some("120"));
    let page = paused_page(Paused {
        retry_after_secs: 7,
    });
    assert_eq!(page.header("Retry-After"), Some("7"));
    let Body::Page { view, csrf: None } = page.body else {
        panic!("not a page without forms")
    };
    assert!(matches!(
        *view,
        Page::Paused {
            retry_after_secs: 7
        }
    ));
}

#[test]
fn a_client_that_tried_basic_gets_the_basic_challenge() {
    let reply = failure(
        &DecisionLog::default(),
        Failure::OAuth {
            error: Reason::ClientUnknown.into(),
            basic_challenge: true,
        },
    );
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("WWW-Authenticate"),
        Some("Basic realm=\"gatehouse\"")
    );
}

#[test]
fn a_wrong_admin_token_is_challenged_and_an_off_api_is_not_found() {
    let decision = DecisionLog::default();
    let wrong = admin::<()>(&decision, Err(Reason::AdminUnauthorized.into()));
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.header("WWW-Authenticate"),
        Some("Bearer realm=\"gatehouse-admin\"")
    );
    assert_eq!(
        admin::<()>(&decision, Err(Reason::AdminApiOff.into())).status,
        404
    );
}

#[test]
fn a_form_page_keeps_a_well_formed_csrf_cookie_and_replaces_a_planted_one() {
    let rng = SeqRng::default();
    let first = Browser {
        cookies: None,
        rng: &rng,
    }
    .csrf();
    let header = format!("{}={first}", cookie::CSRF_COOKIE);
    let again = Browser {
        cookies: Some(&header),
        rng: &rng,
    };
    assert_eq!(again.csrf(), first);
    let reply = again.form_page(
        200,
        Page::Paused {
            retry_after_secs: 1,
        },
    );
    assert_eq!(
        reply.header("Set-Cookie"),
        Some(cookie::csrf_cookie(&first).as_str())
    );
    let planted = Browser {
        cookies: Some("__Host-gatehouse-csrf=planted"),
        rng: &rng,
    };
    assert_ne!(planted.csrf(), "planted");
}
