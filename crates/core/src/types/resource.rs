//! Resource indicators (RFC 8707 §2): the `resource` parameter that names the protected app a
//! token is for, and becomes the token's audience.
//!
//! Not here: whether the URI names an app we protect (the caller compares it with the
//! configured apps and refuses with `ResourceUnknown`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use super::uri::{self, Problem};
use crate::error::Reason;

/// The longest resource indicator we accept, in bytes.
pub const MAX_RESOURCE_BYTES: usize = 2000;

/// A resource indicator, kept as the exact string the client sent next to its parsed form.
///
/// RFC 8707 §2: "The value of the resource parameter MUST be an absolute URI, as specified by
/// Section 4.3 of \[RFC3986\], that MAY include a query component, but MUST NOT include a fragment
/// component." We further require `https`, or `http` on a loopback host for local development
/// (`wrangler dev`), because every resource we protect is a web origin; and we refuse user
/// information and characters outside RFC 3986 §2, as for redirect URIs.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ResourceUri {
    raw: String,
    url: Url,
}

impl ResourceUri {
    /// Parses a `resource` parameter (RFC 8707 §2) or a configured app URL.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        let (url, _) = uri::check(raw, MAX_RESOURCE_BYTES, false).map_err(reason)?;
        Ok(Self {
            raw: raw.to_owned(),
            url,
        })
    }

    /// The exact string, as it will appear in the token's `aud` claim.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL (WHATWG URL Standard).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host, lowercase, IPv6 in brackets.
    pub fn host(&self) -> Option<&str> {
        self.url.host_str()
    }

    /// Whether the resource is on a loopback host (local development).
    pub fn is_loopback(&self) -> bool {
        uri::is_loopback(&self.url)
    }
}

/// Maps a URI problem to the reason a resource indicator is refused.
fn reason(problem: Problem) -> Reason {
    match problem {
        Problem::Fragment => Reason::ResourceHasFragment,
        Problem::Scheme | Problem::InsecureHttp => Reason::ResourceSchemeRefused,
        Problem::TooLong | Problem::Character | Problem::Syntax | Problem::Userinfo => {
            Reason::ResourceMalformed
        }
    }
}

impl fmt::Debug for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResourceUri").field(&self.raw).finish()
    }
}

impl fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for ResourceUri {
    type Err = Reason;

    fn from_str(raw: &str) -> Result<Self, Reason> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for ResourceUri {
    type Error = Reason;

    fn try_from(raw: String) -> Result<Self, Reason> {
        Self::parse(&raw)
    }
}

impl Serialize for ResourceUri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn resource_indicators_are_absolute_https_or_loopback_http_without_fragment() {
        let rows: &[(&str, Result<(), Reason>, &str)] = &[
            (
                "https://api.example.com",
                Ok(()),
                "RFC 8707 §2: absolute URI",
            ),
            ("https://api.example.com/", Ok(()), "RFC 8707 §2"),
            (
                "https://app.example.com/mcp",
                Ok(()),
                "RFC 8707 §2: path allowed",
            ),
            (
                "https://api.example.com/app?tenant=1",
                Ok(()),
                "RFC 8707 §2: MAY include a query",
            ),
            ("https://api.example.com:8443/", Ok(()), "RFC 8707 §2"),
            (
                "http://localhost:8787/",
                Ok(()),
                "local development on loopback",
            ),
            (
                "http://127.0.0.1:8787/mcp",
                Ok(()),
                "local development on loopback",
            ),
            ("http://[::1]/", Ok(()), "local development on loopback"),
            (
                "https://api.example.com/#frag",
                Err(Reason::ResourceHasFragment),
                "RFC 8707 §2: MUST NOT include a fragment",
            ),
            (
                "https://api.example.com#",
                Err(Reason::ResourceHasFragment),
                "RFC 8707 §2: MUST NOT include a fragment",
            ),
            (
                "http://api.example.com/",
                Err(Reason::ResourceSchemeRefused),
                "https only off loopback",
            ),
            (
                "urn:example:resource",
                Err(Reason::ResourceSchemeRefused),
                "web origins only",
            ),
            (
                "com.example.app:/x",
                Err(Reason::ResourceSchemeRefused),
                "no private-use schemes",
            ),
            (
                "javascript:alert(1)",
                Err(Reason::ResourceSchemeRefused),
                "web origins only",
            ),
            (
                "/api",
                Err(Reason::ResourceMalformed),
                "RFC 8707 §2: absolute URI",
            ),
            (
                "api.example.com",
                Err(Reason::ResourceMalformed),
                "RFC 8707 §2: absolute URI",
            ),
            (
                "",
                Err(Reason::ResourceMalformed),
                "RFC 8707 §2: absolute URI",
            ),
            (
                "https:/api.example.com",
                Err(Reason::ResourceMalformed),
                "RFC 9110 §4.2.2",
            ),
            (
                "https://user@api.example.com/",
                Err(Reason::ResourceMalformed),
                "no user information",
            ),
            (
                " https://api.example.com",
                Err(Reason::ResourceMalformed),
                "RFC 3986 §2",
            ),
            (
                "https://api.example.com/\n",
                Err(Reason::ResourceMalformed),
                "RFC 3986 §2",
            ),
            (
                "https:\\\\api.example.com",
                Err(Reason::ResourceMalformed),
                "RFC 3986 §2",
            ),
            (
                "https://api.example.com/%",
                Err(Reason::ResourceMalformed),
                "RFC 3986 §2.1",
            ),
        ];
        for (raw, expected, rule) in rows {
            let parsed = ResourceUri::parse(raw);
            assert_eq!(
                parsed.as_ref().map(|_| ()),
                expected.as_ref().copied(),
                "{raw:?}: {rule}"
            );
            if let Ok(resource) = parsed {
                assert_eq!(resource.as_str(), *raw, "{rule}: the exact string is kept");
            }
        }
    }

    #[test]
    fn resource_length_is_bounded() {
        let base = "https://api.example.com/";
        let longest = format!("{base}{}", "a".repeat(MAX_RESOURCE_BYTES - base.len()));
        assert!(ResourceUri::parse(&longest).is_ok());
        assert_eq!(
            ResourceUri::parse(&format!("{longest}a")).err(),
            Some(Reason::ResourceMalformed)
        );
    }

    #[test]
    fn host_loopback_and_serde() {
        let local = ResourceUri::parse("http://LOCALHOST:8787/").unwrap();
        assert_eq!(local.host(), Some("localhost"));
        assert!(local.is_loopback());
        let remote = ResourceUri::parse("https://api.example.com/mcp").unwrap();
        assert!(!remote.is_loopback());
        assert_eq!(remote.url().path(), "/mcp");
        let json = serde_json::to_string(&remote).unwrap();
        assert_eq!(json, r#""https://api.example.com/mcp""#);
        assert_eq!(serde_json::from_str::<ResourceUri>(&json).unwrap(), remote);
        assert!(serde_json::from_str::<ResourceUri>(r#""https://a.example/#x""#).is_err());
        assert_eq!(
            format!("{remote:?}"),
            r#"ResourceUri("https://api.example.com/mcp")"#
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = ResourceUri::parse(&raw);
        }

        #[test]
        fn accepted_resources_obey_rfc_8707(tail in "[ -~]{0,40}", https in any::<bool>()) {
            let raw = format!("{}{tail}", if https { "https://" } else { "http://" });
            if let Ok(resource) = ResourceUri::parse(&raw) {
                prop_assert_eq!(resource.as_str(), raw.as_str());
                prop_assert!(resource.url().fragment().is_none() && !raw.contains('#'));
                prop_assert!(resource.url().scheme() == "https" || resource.is_loopback());
            }
        }

        #[test]
        fn any_fragment_is_refused(host in "[a-z]{1,10}\\.example", fragment in "[a-z/]{0,10}") {
            let raw = format!("https://{host}/#{fragment}");
            prop_assert_eq!(ResourceUri::parse(&raw).err(), Some(Reason::ResourceHasFragment));
        }
    }
}
