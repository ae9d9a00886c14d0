//! Cross-site request forgery protection for gatehouse's own forms (login, consent): the
//! double-submit pattern. The Worker sets a random token in the `__Host-gatehouse-csrf` cookie
//! and the same token in a hidden form field; a submission is accepted only when both are
//! present and equal.
//!
//! A cross-site page can make the browser send the cookie but cannot read it, so it cannot fill
//! the field; the `__Host-` prefix stops a sibling subdomain from planting a cookie of its own.

use crate::crypto::ct_eq_digest;
use crate::error::Reason;

/// Name of the hidden form field that carries the token.
pub const FIELD: &str = "csrf_token";

/// Accepts a form submission only when its token matches the cookie's, compared in constant time.
pub fn verify(cookie: Option<&str>, field: Option<&str>) -> Result<(), Reason> {
    match (cookie, field) {
        (Some(cookie), Some(field))
            if !cookie.is_empty() && ct_eq_digest(cookie.as_bytes(), field.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(Reason::CsrfMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_matching_pair_passes() {
        assert_eq!(verify(Some("abc"), Some("abc")), Ok(()));
        for (cookie, field) in [
            (None, Some("abc")),
            (Some("abc"), None),
            (None, None),
            (Some("abc"), Some("abd")),
            (Some(""), Some("")),
            (Some("abc"), Some("abc ")),
        ] {
            assert_eq!(
                verify(cookie, field),
                Err(Reason::CsrfMismatch),
                "{cookie:?} {field:?}"
            );
        }
    }
}
