//! Reading what a request to a protected app carries: a bearer token (RFC 6750 §2.1), a token
//! in the query string (refused), and a body on a `GET` or `HEAD` (refused). Whether it is a
//! browser navigation is [`crate::http::negotiation`]'s question.

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
