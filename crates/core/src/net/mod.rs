//! Outbound requests, one rule for all of them: which URLs gatehouse may fetch on someone
//! else's word ([`SafeUrl`]: a client's metadata document and `jwks_uri`, an identity provider's
//! discovery document, JWK Set and token endpoint), and the one trait through which the
//! platform fetches them ([`Fetch`]: no redirects followed, [`TIMEOUT_MS`], a size cap).
//!
//! Not here: resolving names (a Worker cannot; Cloudflare's `fetch` does not reach private
//! networks, see [`address`]), caching (each caller's: CIMD in KV, OIDC per isolate and KV), and
//! what a response must contain (each caller's).

pub mod address;

/// How long one outbound request may take before it is abandoned, in milliseconds.
pub const TIMEOUT_MS: u32 = 5_000;

/// Whether plain `http` to this machine is allowed: a switch for local development and tests
/// only (`CIMD_ALLOW_INSECURE_LOOPBACK`, a provider's `allow_insecure_loopback_issuer`), which
/// configuration refuses unless gatehouse itself is served on loopback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsecureLoopback {
    /// `https` to a public host only.
    Refused,
    /// `http` to a loopback host as well.
    Allowed,
}

/// Why a URL may not be fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlRefused {
    /// Not an absolute URL with a host, or one with credentials or a fragment.
    Invalid,
    /// Neither `https`, nor `http` to loopback where [`InsecureLoopback::Allowed`].
    Scheme,
    /// The host is loopback, private, link-local or otherwise not public
    /// ([`address::is_public_host`]).
    Address,
}

/// A URL that passed the one outbound rule: `https` to a public host (RFC 6890: no loopback,
/// private, link-local, CGNAT, documentation or multicast address; no name of this machine or
/// a private network), without credentials or a fragment; or, where the test switch allows
/// it, `http` to loopback. Only [`SafeUrl::parse`] builds one, so the platform fetches nothing
/// else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeUrl(url::Url);

impl SafeUrl {
    /// Checks `raw` against the rule.
    pub fn parse(raw: &str, loopback: InsecureLoopback) -> Result<Self, UrlRefused> {
        let url = url::Url::parse(raw).map_err(|_| UrlRefused::Invalid)?;
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefused::Invalid);
        }
        let host = url.host().ok_or(UrlRefused::Invalid)?;
        let test_loopback = loopback == InsecureLoopback::Allowed
            && url.scheme() == "http"
            && crate::http::loopback::is_loopback_url(&url);
        if !test_loopback {
            if url.scheme() != "https" {
                return Err(UrlRefused::Scheme);
            }
            if !address::is_public_host(&host) {
                return Err(UrlRefused::Address);
            }
        }
        Ok(Self(url))
    }

    /// The URL as the WHATWG parser prints it.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }
}

impl std::fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One response, as the platform's `fetch` saw it (redirects are not followed: a redirect is a
/// response like any other, which callers refuse).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchedDocument {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, at most the caller's cap + 1 bytes (the fetcher stops reading there, so a
    /// caller can tell "too large" from "exactly the cap").
    pub body: Vec<u8>,
    /// The `Cache-Control` header.
    pub cache_control: Option<String>,
    /// The `Expires` header.
    pub expires: Option<String>,
}

/// Why a fetch produced no response: unreachable, timed out, refused by the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The platform's outbound requests, to [`SafeUrl`]s only. Each request is abandoned after
/// [`TIMEOUT_MS`], follows no redirect, and reads at most `max_bytes` + 1 bytes of body. The
/// Worker implements it once with `fetch`; native tests in memory.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait Fetch {
    /// One `GET` of `url`, asking for JSON.
    async fn get(&self, url: &SafeUrl, max_bytes: usize) -> Result<FetchedDocument, FetchError>;
    /// One `POST` of a form `body` (`application/x-www-form-urlencoded`) to `url`, with an
    /// `Authorization` header when given.
    async fn post_form(
        &self,
        url: &SafeUrl,
        body: &str,
        authorization: Option<&str>,
        max_bytes: usize,
    ) -> Result<FetchedDocument, FetchError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_to_public_hosts_passes_and_plain_http_only_to_loopback_under_the_switch() {
        let rows = [
            (
                "https://idp.example.com/.well-known/openid-configuration",
                Ok(()),
                Ok(()),
            ),
            ("https://93.184.216.34/keys", Ok(()), Ok(())),
            (
                "http://idp.example.com/",
                Err(UrlRefused::Scheme),
                Err(UrlRefused::Scheme),
            ),
            (
                "ftp://idp.example.com/",
                Err(UrlRefused::Scheme),
                Err(UrlRefused::Scheme),
            ),
            (
                "http://127.0.0.1:9000/jwks",
                Err(UrlRefused::Scheme),
                Ok(()),
            ),
            ("http://[::1]:9000/jwks", Err(UrlRefused::Scheme), Ok(())),
            ("http://localhost/jwks", Err(UrlRefused::Scheme), Ok(())),
            // The switch is for plain http to a test server; https must still be public.
            (
                "https://127.0.0.1/jwks",
                Err(UrlRefused::Address),
                Err(UrlRefused::Address),
            ),
            (
                "https://169.254.169.254/latest",
                Err(UrlRefused::Address),
                Err(UrlRefused::Address),
            ),
            (
                "https://10.0.0.1/token",
                Err(UrlRefused::Address),
                Err(UrlRefused::Address),
            ),
            (
                "https://[fd00::1]/token",
                Err(UrlRefused::Address),
                Err(UrlRefused::Address),
            ),
            (
                "https://metadata.google.internal/",
                Err(UrlRefused::Address),
                Err(UrlRefused::Address),
            ),
            (
                "http://10.0.0.1/",
                Err(UrlRefused::Scheme),
                Err(UrlRefused::Scheme),
            ),
            (
                "https://user:pw@idp.example.com/",
                Err(UrlRefused::Invalid),
                Err(UrlRefused::Invalid),
            ),
            (
                "https://idp.example.com/#f",
                Err(UrlRefused::Invalid),
                Err(UrlRefused::Invalid),
            ),
            (
                "idp.example.com/keys",
                Err(UrlRefused::Invalid),
                Err(UrlRefused::Invalid),
            ),
            ("", Err(UrlRefused::Invalid), Err(UrlRefused::Invalid)),
        ];
        for (raw, refused, allowed) in rows {
            let check = |loopback| SafeUrl::parse(raw, loopback).map(|_| ());
            assert_eq!(check(InsecureLoopback::Refused), refused, "{raw}");
            assert_eq!(
                check(InsecureLoopback::Allowed),
                allowed,
                "{raw} (switch on)"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn hostile_urls_never_panic(raw in "\\PC{0,80}") {
            let _ = SafeUrl::parse(&raw, InsecureLoopback::Allowed);
            let _ = SafeUrl::parse(&format!("https://{raw}"), InsecureLoopback::Refused);
        }
    }
}
