//! Origin rules (RFC 6454): which URLs may receive a token, and which endpoints we trust.
//!
//! A token belongs to one resource (RFC 8707, RFC 9728 `resource`). It is attached only to a
//! request whose URL the resource covers: same scheme, host and port, and a path at or below the
//! resource's path. Authorization-server endpoints must be `https`, or `http` on a loopback
//! address (RFC 8252 §8.3 treats loopback as not leaving the machine).

use std::net::IpAddr;
use url::{Host, Url};

/// Whether `url` is on a loopback host: `127.0.0.0/8`, `[::1]` or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether credentials may travel to `url`: `https`, or `http` that never leaves the machine.
pub fn is_secure(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

/// Whether two URLs share an origin (scheme, host, port; default ports made explicit).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    let (a, b) = (a.origin(), b.origin());
    a.is_tuple() && a == b
}

/// Whether the `resource` identifier covers `url`: same origin, and `url`'s path equals the
/// resource's path or lies below it segment by segment (`/api` covers `/api/x`, not `/apix`).
pub fn covers(resource: &Url, url: &Url) -> bool {
    if !same_origin(resource, url) {
        return false;
    }
    let base = resource.path().trim_end_matches('/');
    let path = url.path();
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Refuses an endpoint we would send credentials or codes to in the clear.
pub fn require_secure(url: &Url, what: &str) -> Result<(), crate::Error> {
    if is_secure(url) {
        Ok(())
    } else {
        Err(crate::Error::Discovery(format!(
            "{what} {url} is neither https nor on a loopback address"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_resource_covers_its_own_paths_only() {
        let r = u("https://app.example/api");
        assert!(covers(&r, &u("https://app.example/api")));
        assert!(covers(&r, &u("https://app.example/api/x?q=1")));
        assert!(!covers(&r, &u("https://app.example/apix")));
        assert!(!covers(&r, &u("https://app.example/")));
        assert!(!covers(&r, &u("http://app.example/api/x")));
        assert!(!covers(&r, &u("https://app.example:444/api/x")));
        assert!(!covers(&r, &u("https://evil.example/api/x")));
        assert!(covers(
            &u("https://app.example"),
            &u("https://app.example/anything")
        ));
        assert!(covers(
            &u("https://app.example:443/"),
            &u("https://app.example/x")
        ));
    }

    proptest::proptest! {
        // Whatever the paths, a resource never covers a URL on another origin, and always
        // covers its own sub-paths.
        #[test]
        fn coverage_never_crosses_origins(a in "[a-z]{1,8}", b in "[a-z]{1,8}", p in "(/[a-z%.]{0,6}){0,4}", q in "(/[a-z%.]{0,6}){0,4}") {
            let resource = Url::parse(&format!("https://{a}.example{p}")).unwrap();
            let url = Url::parse(&format!("https://{b}.example{q}")).unwrap();
            proptest::prop_assert!(!covers(&resource, &url) || a == b);
            let below = Url::parse(&format!("{}/x", resource.as_str().trim_end_matches('/'))).unwrap();
            proptest::prop_assert!(covers(&resource, &below));
        }
    }

    #[test]
    fn plain_http_is_secure_only_on_loopback() {
        assert!(is_secure(&u("https://as.example")));
        assert!(is_secure(&u("http://127.0.0.1:8080")));
        assert!(is_secure(&u("http://127.9.9.9")));
        assert!(is_secure(&u("http://[::1]:9")));
        assert!(is_secure(&u("http://localhost:3000")));
        assert!(!is_secure(&u("http://as.example")));
        assert!(!is_secure(&u("http://127.0.0.1.evil.example")));
        assert!(!is_secure(&u("ftp://127.0.0.1")));
    }
}
