//! Cookies and the browser session, in one place: every cookie name gatehouse uses, reading a
//! `Cookie` header (RFC 6265 §5.4), writing `Set-Cookie` (RFC 6265 §4.1), the session cookie's
//! name per app, and the double-submit CSRF token's cookie (issued here, checked by
//! [`crate::csrf::verify`]). The session id's value and its MAC are
//! [`crate::session_cookie`]'s.
//!
//! Every cookie is a `__Host-` cookie (RFC 6265bis §4.1.3.2): `Secure`, `Path=/`, no `Domain`,
//! so a sibling subdomain cannot plant one; `HttpOnly`, so no script reads it; `SameSite=Lax`,
//! so a cross-site form post does not carry it.

use crate::rng::Rng;
use crate::secret::CsrfToken;

/// The session cookie of an app that has a host to itself.
pub const SESSION_COOKIE: &str = "__Host-gatehouse-session";
/// The double-submit CSRF cookie of gatehouse's forms.
pub const CSRF_COOKIE: &str = "__Host-gatehouse-csrf";
/// The CSRF cookie outlives a slow login by a good margin.
pub const CSRF_COOKIE_MAX_AGE_SECS: u64 = 3600;
/// The cookie binding an upstream login's `state` to the browser that started it.
pub const OIDC_BINDING_COOKIE: &str = "__Host-gatehouse-oidc";

/// The name of the session cookie of the app at `path_prefix`. `__Host-` cookies belong to the
/// whole host (RFC 6265bis §4.1.3.2 requires `Path=/`), so apps sharing a host get one name
/// each: the prefix's digest tells them apart.
pub fn session_cookie_name(path_prefix: &str) -> String {
    match path_prefix {
        "" | "/" => SESSION_COOKIE.to_owned(),
        prefix => {
            let digest = crate::crypto::sha256_hex(prefix.as_bytes());
            format!("{SESSION_COOKIE}-{}", digest.get(..12).unwrap_or_default())
        }
    }
}

/// The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: `name=value` pairs separated
/// by `; `); the first when the name repeats.
pub fn read<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A `Set-Cookie` value for a `__Host-` cookie that lives `max_age_secs` (0 removes it).
pub fn set(name: &str, value: &str, max_age_secs: u64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Lax")
}

/// The `Set-Cookie` value that removes cookie `name`.
pub fn clear(name: &str) -> String {
    set(name, "", 0)
}

/// The CSRF token of this browser: the one its cookie carries, if well formed, else a new one
/// (a planted or truncated cookie is replaced, not reused). The page carrying it in a form sets
/// the cookie with [`csrf_cookie`].
pub fn csrf_token<R: Rng + ?Sized>(cookie_header: Option<&str>, rng: &R) -> String {
    read(cookie_header, CSRF_COOKIE)
        .filter(|c| CsrfToken::is_well_formed(c))
        .map_or_else(
            || CsrfToken::issue(rng).expose_secret().to_owned(),
            str::to_owned,
        )
}

/// The `Set-Cookie` value carrying `token` as the CSRF cookie.
pub fn csrf_cookie(token: &str) -> String {
    set(CSRF_COOKIE, token, CSRF_COOKIE_MAX_AGE_SECS)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn a_cookie_is_read_by_its_exact_name() {
        let header = Some("a=1; __Host-gatehouse-csrf=tok; __Host-gatehouse-csrf-x=2; a=3");
        assert_eq!(read(header, "a"), Some("1"));
        assert_eq!(read(header, CSRF_COOKIE), Some("tok"));
        assert_eq!(read(header, "b"), None);
        assert_eq!(read(None, "a"), None);
    }

    #[test]
    fn set_cookie_makes_host_cookies() {
        assert_eq!(
            set(CSRF_COOKIE, "v", 60),
            "__Host-gatehouse-csrf=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
        );
        assert!(clear(SESSION_COOKIE).contains("=; Path=/; Max-Age=0;"));
    }

    #[test]
    fn apps_sharing_a_host_get_a_session_cookie_each() {
        assert_eq!(session_cookie_name("/"), SESSION_COOKIE);
        let (a, b) = (session_cookie_name("/a"), session_cookie_name("/b"));
        assert!(a.starts_with("__Host-gatehouse-session-") && a.len() == SESSION_COOKIE.len() + 13);
        assert_ne!(a, b);
    }

    #[test]
    fn a_well_formed_csrf_cookie_is_kept_and_anything_else_replaced() {
        let rng = SeqRng::default();
        let issued = csrf_token(None, &rng);
        assert!(CsrfToken::is_well_formed(&issued));
        let header = format!("{CSRF_COOKIE}={issued}");
        assert_eq!(csrf_token(Some(&header), &rng), issued);
        let planted = csrf_token(Some("__Host-gatehouse-csrf=short"), &rng);
        assert!(CsrfToken::is_well_formed(&planted) && planted != "short");
    }

    proptest! {
        #[test]
        fn reading_never_panics(header in ".{0,80}", name in ".{0,10}") {
            let _ = read(Some(&header), &name);
        }
    }
}
