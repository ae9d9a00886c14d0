//! Reading what a request to a protected app carries: a bearer token (RFC 6750 §2.1), a token
//! in the query string (refused), and a body on a `GET` or `HEAD` (refused). Whether it is a
//! browser navigation is [`crate::http::negotiation`]'s question. And what decides the gate's
//! answer to a request without credentials ([`anonymous_shape`]).

use crate::error::Reason;

/// The bearer token of an `Authorization` header (RFC 6750 §2.1): `Bearer` (any case), one
/// space, and a `b64token`. `Ok(None)` when there is no header or another scheme; an error when
/// the header says Bearer but the token is malformed.
pub fn bearer_token(authorization: Option<&str>) -> Result<Option<&str>, Reason> {
    let Some(header) = authorization else {
        return Ok(None);
    };
    let Some((scheme, token)) = header.split_once(' ') else {
        return if header.eq_ignore_ascii_case("bearer") {
            Err(Reason::TokenMalformed)
        } else {
            Ok(None)
        };
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let well_formed = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if well_formed {
        Ok(Some(token))
    } else {
        Err(Reason::TokenMalformed)
    }
}

/// Whether the query string carries `access_token` (RFC 6750 §2.3). gatehouse refuses that
/// method: URLs end up in logs and histories (RFC 9700 §4.3.2: clients "MUST NOT" send tokens in
/// the query), so a token there is treated as leaked, not as a credential.
pub fn token_in_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(name, _)| name == "access_token")
    })
}

/// Whether a request with this method may carry a body to the origin. RFC 9110 §9.3.1: "content
/// received in a GET request has no generally defined semantics, cannot alter the meaning or
/// target of the request, and might lead some implementations to reject the request and close
/// the connection because of its potential as a request smuggling attack"; §9.3.2 says the same
/// of `HEAD`. The Fetch standard cannot send one either (`new Request` throws), so such a
/// request is refused with `400` rather than forwarded without the body the client sent.
pub fn check_body(method: &str, has_body: bool) -> Result<(), Reason> {
    let bodiless = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    if has_body && bodiless {
        Err(Reason::BodyOnGetOrHead)
    } else {
        Ok(())
    }
}

/// The headers besides the credentials that the gate reads of a request, in the order of
/// [`super::GateRequest`]'s `accept`, `sec_fetch_mode` and `cors_request_method`.
pub const READ_HEADERS: [&str; 3] = ["Accept", "Sec-Fetch-Mode", "Access-Control-Request-Method"];

/// The shape of a request that carries no credentials (no `Authorization`, no session): its
/// method, whether it has a body, its [`READ_HEADERS`] and its whole URL. With the app's
/// configuration, that is everything the gate reads of it, so two requests of one shape get the
/// same answer: the Worker answers a shape it has challenged already without judging it again.
/// Two different shapes never make the same text: a method is a token and no header value holds
/// a newline (RFC 9110 §9.1, §5.5), so a newline separates the parts, and a header is written
/// `+value` when present (even empty) and `-` when absent.
pub fn anonymous_shape(
    method: &str,
    has_body: bool,
    headers: [Option<&str>; 3],
    href: &str,
) -> String {
    let mut shape = format!("{method}\n{}", u8::from(has_body));
    for header in headers {
        match header {
            Some(value) => {
                shape.push_str("\n+");
                shape.push_str(value);
            }
            None => shape.push_str("\n-"),
        }
    }
    shape.push('\n');
    shape.push_str(href);
    shape
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_part_of_a_shape_tells_it_apart() {
        const JSON: Option<&str> = Some("application/json");
        let x = "https://a.example/x";
        let base = anonymous_shape("GET", false, [JSON, None, None], x);
        let others = [
            ("HEAD", false, [JSON, None, None], x),
            ("GET", true, [JSON, None, None], x),
            ("GET", false, [None, None, None], x),
            ("GET", false, [Some(""), None, None], x),
            ("GET", false, [JSON, Some("navigate"), None], x),
            ("GET", false, [JSON, None, Some("GET")], x),
            ("GET", false, [None, JSON, None], x),
            ("GET", false, [JSON, None, None], "https://a.example/x?y"),
            ("GET", false, [JSON, None, None], "https://b.example/x"),
        ];
        for (method, body, headers, href) in others {
            assert_ne!(base, anonymous_shape(method, body, headers, href));
        }
    }

    proptest! {
        /// Shapes of requests that differ anywhere differ: the text reads back into its parts.
        #[test]
        fn shapes_are_one_to_one(
            a in ("[A-Z]{1,7}", any::<bool>(), proptest::array::uniform3(proptest::option::of("[ -~]{0,12}")), "[!-~]{0,24}"),
            b in ("[A-Z]{1,7}", any::<bool>(), proptest::array::uniform3(proptest::option::of("[ -~]{0,12}")), "[!-~]{0,24}"),
        ) {
            let shape = |(method, body, headers, href): &(String, bool, [Option<String>; 3], String)| {
                anonymous_shape(method, *body, headers.each_ref().map(Option::as_deref), href)
            };
            prop_assert_eq!(shape(&a) == shape(&b), a == b);
        }
    }

    #[test]
    fn bearer_tokens_follow_rfc_6750() {
        assert_eq!(bearer_token(None), Ok(None));
        assert_eq!(
            bearer_token(Some("Bearer abc.def-ghi_jkl~+/==")),
            Ok(Some("abc.def-ghi_jkl~+/=="))
        );
        assert_eq!(bearer_token(Some("bearer abc")), Ok(Some("abc")));
        assert_eq!(bearer_token(Some("Basic YTpi")), Ok(None));
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ===",
            "Bearer  abc",
        ] {
            assert_eq!(
                bearer_token(Some(bad)),
                Err(Reason::TokenMalformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_token_in_the_query_is_noticed() {
        assert!(token_in_query(Some("a=1&access_token=x")));
        assert!(token_in_query(Some("access_token=")));
        assert!(!token_in_query(Some("token=x&access_tokens=y")));
        assert!(!token_in_query(None));
    }

    #[test]
    fn a_get_or_head_with_a_body_is_refused_and_other_methods_may_carry_one() {
        for method in ["GET", "HEAD", "get", "Head"] {
            assert_eq!(
                check_body(method, true),
                Err(Reason::BodyOnGetOrHead),
                "{method}"
            );
            assert_eq!(check_body(method, false), Ok(()), "{method}");
        }
        for method in [
            "POST", "PUT", "PROPFIND", "MKCOL", "DELETE", "OPTIONS", "BREW",
        ] {
            assert_eq!(check_body(method, true), Ok(()), "{method}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(header in ".{0,64}") {
            let _ = bearer_token(Some(&header));
            let _ = token_in_query(Some(&header));
        }
    }
}
