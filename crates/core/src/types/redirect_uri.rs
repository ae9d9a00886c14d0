//! Registered redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7, OAuth 2.1 §2.3.1) and the rule for
//! matching the `redirect_uri` of an authorization request against them.
//!
//! A [`RedirectUri`] keeps the exact string it was registered with: RFC 6749 §3.1.2.3 requires
//! "simple string comparison", so canonicalising (lowercasing the host, adding
//! a default port or a trailing `/`) would be a bug. The one exception is the loopback port
//! rule of RFC 8252 §7.3, which lives in [`RedirectUri::matches`] and nowhere else.
//!
//! Not here: which registered URI an authorization request selects (the authorization endpoint
//! decides that), and building the redirect with `code`, `state` and `iss`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use url::{Host, Url};

use super::uri::{self, Kind, Problem};
use crate::error::Reason;

/// The longest redirect URI we accept, in bytes. Browsers handle far longer URLs, but a redirect
/// URI is configuration, not data; 2000 bytes leaves room for `code`, `state` and `iss` under
/// the lengths every browser and proxy supports.
pub const MAX_REDIRECT_URI_BYTES: usize = 2000;

/// A redirect URI that passed the registration rules, kept as the exact registered string next
/// to its parsed form (RFC 6749 §3.1.2).
///
/// Accepted: `https` with any host; `http` only for a loopback host (127.0.0.0/8, `[::1]`,
/// `localhost`; RFC 8252 §7.3, OAuth 2.1 §2.3.1); a private-use scheme (RFC 8252 §7.1), either
/// in reverse-domain form such as `com.example.app:/cb` or host-bearing such as
/// `cursor://anysphere.cursor-mcp/oauth/callback` (the latter for public clients only, see
/// [`needs_public_client`](Self::needs_public_client)). Refused: fragments, user information,
/// schemes a browser handles itself (`javascript:`, `data:`, `file:`, `vbscript:`, `about:`,
/// `blob:`, `view-source:`, `ftp:`, `ws:`, `wss:`, ...) and look-alikes of `http(s)`.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct RedirectUri {
    raw: String,
    url: Url,
    kind: Kind,
}

impl RedirectUri {
    /// Parses a redirect URI offered for registration (RFC 7591 §2 `redirect_uris`, or a
    /// Client ID Metadata Document, or configuration).
    ///
    /// The raw input is refused before any parsing if it contains a byte RFC 3986 §2 does not
    /// allow (control characters, whitespace including leading and trailing spaces, backslashes,
    /// non-ASCII), so that no parser leniency can turn it into a different URI.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        let (url, kind) = uri::check(raw, MAX_REDIRECT_URI_BYTES, true).map_err(reason)?;
        Ok(Self {
            raw: raw.to_owned(),
            url,
            kind,
        })
    }

    /// The exact registered string.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL (WHATWG URL Standard), for building the redirect.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The scheme in lowercase, e.g. `https` or `com.example.app`.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The host the browser will be sent to, as the browser resolves it (lowercase, IPv6 in
    /// brackets), for the consent page. `None` for a private-use scheme without an authority,
    /// where the consent page shows [`scheme`](Self::scheme) instead.
    pub fn host(&self) -> Option<&str> {
        self.url.host_str()
    }

    /// Whether the redirect goes to the person's own machine (a loopback host, over `http` or
    /// `https`), so that the consent page can warn that a local program will receive the code
    /// (RFC 8252 §8.3).
    pub fn is_loopback(&self) -> bool {
        uri::is_loopback(&self.url)
    }

    /// What a page shows as where the code goes: the host, or for a private-use scheme (an app
    /// on this device, RFC 8252 §7.1) the scheme, since the "host" of
    /// `cursor://anysphere.cursor-mcp/…` names no machine.
    pub fn destination(&self) -> &str {
        match self.host() {
            Some(host) if !self.is_private_use() => host,
            _ => self.scheme(),
        }
    }

    /// Whether the code goes to an app on the person's device through a private-use scheme
    /// (RFC 8252 §7.1), so that the consent page can say so.
    pub fn is_private_use(&self) -> bool {
        matches!(self.kind, Kind::PrivateUse { .. })
    }

    /// Whether only a public client may register this URI: a private-use scheme that is not in
    /// the reverse-domain form RFC 8252 §7.1 asks for (`cursor:`, `vscode:`). Any app can claim
    /// such a scheme; what protects the code is PKCE (RFC 8252 §8.1), not a secret that an app
    /// on the person's device could not keep anyway (RFC 8252 §8.4).
    pub fn needs_public_client(&self) -> bool {
        self.kind
            == Kind::PrivateUse {
                reverse_domain: false,
            }
    }

    /// Whether `requested`, the `redirect_uri` of an authorization request by a registered
    /// client, designates this registered URI: [`matches_as`](Self::matches_as) with
    /// [`Matching::Registered`].
    pub fn matches(&self, requested: &str) -> bool {
        self.matches_as(requested, Matching::Registered)
    }

    /// Whether `requested`, the `redirect_uri` of an authorization request, designates this
    /// URI under `matching`.
    ///
    /// RFC 6749 §3.1.2.3: "the authorization server MUST compare the two URIs using simple
    /// string comparison as defined in \[RFC3986\] Section 6.2.1", i.e. byte for byte. The
    /// exceptions are for `http` loopback URIs only:
    ///
    /// - RFC 8252 §7.3: "The authorization server MUST allow any port to be specified at the
    ///   time of the request for loopback IP redirect URIs, to accommodate clients that obtain
    ///   an available ephemeral port from the operating system at the time of the request."
    ///   The requested port must be a valid port number. For a metadata document
    ///   ([`Matching::Document`]) only loopback IP literals get this rule (§7.3 names IP
    ///   literals; §8.3 calls `localhost` NOT RECOMMENDED), as the atproto reference server
    ///   applies it to native clients' documents.
    /// - RFC 3986 §6.2.3: "http://example.com" and "http://example.com/" are equivalent: an
    ///   empty path and `/` are the same http URI. VS Code registers `http://127.0.0.1` and
    ///   sends `http://127.0.0.1:<port>/`, or the reverse. For registered clients only; a
    ///   document's paths are compared exactly.
    ///
    /// Scheme, host, path and query must otherwise match exactly. When this returns `true` for
    /// a string other than [`as_str`](Self::as_str), the redirect goes to `requested`.
    pub fn matches_as(&self, requested: &str, matching: Matching) -> bool {
        if self.raw == requested {
            return true;
        }
        if self.kind != Kind::LoopbackHttp {
            return false;
        }
        let (Some((registered, registered_rest)), Some((requested, requested_rest))) =
            (without_port(&self.raw), without_port(requested))
        else {
            return false;
        };
        if registered != requested {
            return false;
        }
        match matching {
            Matching::Registered => {
                with_root_path(registered_rest) == with_root_path(requested_rest)
            }
            Matching::Document => {
                matches!(self.url.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)))
                    && registered_rest == requested_rest
            }
        }
    }
}

/// Which client a redirect URI is matched for (see [`RedirectUri::matches_as`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matching {
    /// A client registered through RFC 7591 or configuration.
    Registered,
    /// A client described by a Client ID Metadata Document.
    Document,
}

/// An http path-abempty and query with an empty path written as `/` (RFC 3986 §6.2.3).
fn with_root_path(rest: &str) -> std::borrow::Cow<'_, str> {
    if rest.is_empty() || rest.starts_with('?') {
        std::borrow::Cow::Owned(format!("/{rest}"))
    } else {
        std::borrow::Cow::Borrowed(rest)
    }
}

/// Maps a URI problem to the reason a redirect URI is refused.
fn reason(problem: Problem) -> Reason {
    match problem {
        Problem::TooLong => Reason::RedirectUriTooLong,
        Problem::Character => Reason::RedirectUriCharacterRefused,
        Problem::Syntax => Reason::RedirectUriInvalid,
        Problem::Fragment => Reason::RedirectUriHasFragment,
        Problem::Userinfo => Reason::RedirectUriHasUserinfo,
        Problem::Scheme => Reason::RedirectUriForbiddenScheme,
        Problem::InsecureHttp => Reason::RedirectUriInsecureHttp,
    }
}

/// Splits `scheme://host[:port]rest` into `scheme://host` and `rest`, dropping the port.
/// `None` unless the authority is exactly a host and an optional valid port (no user
/// information, no empty or non-numeric port).
fn without_port(uri: &str) -> Option<(&str, &str)> {
    let authority_start = uri.find("://")?.checked_add(3)?;
    let after_scheme = uri.get(authority_start..)?;
    let authority_len = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.get(..authority_len)?;
    let host_len = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.find(']')?.checked_add(2)?,
        None => authority.find(':').unwrap_or(authority.len()),
    };
    let host = authority.get(..host_len)?;
    if host.is_empty() || host.contains('@') {
        return None;
    }
    match authority.get(host_len..)? {
        "" => {}
        port => {
            let digits = port.strip_prefix(':')?;
            if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.parse::<u16>().is_err() {
                return None;
            }
        }
    }
    let prefix = uri.get(..authority_start.checked_add(host_len)?)?;
    let rest = after_scheme.get(authority_len..)?;
    Some((prefix, rest))
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedirectUri").field(&self.raw).finish()
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for RedirectUri {
    type Err = Reason;

    fn from_str(raw: &str) -> Result<Self, Reason> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = Reason;

    fn try_from(raw: String) -> Result<Self, Reason> {
        Self::parse(&raw)
    }
}

impl Serialize for RedirectUri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

#[cfg(test)]
mod tests;
