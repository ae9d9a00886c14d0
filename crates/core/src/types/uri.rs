//! The URI checks that redirect URIs and resource indicators share (RFC 3986, RFC 8252 §7).
//!
//! The raw string is checked before any parser sees it, so that what we store, what we compare
//! byte for byte, and what a browser will navigate to are the same thing: only the characters
//! RFC 3986 §2 allows, well-formed percent-encodings, and for `http`/`https` the
//! `scheme "://" authority` form RFC 9110 §4.2 requires. Only then is the string parsed with
//! [`url::Url`] (the WHATWG URL Standard, which is what browsers implement), and the host rules
//! are applied to the host as the browser will see it. This module does not decide which
//! problems map to which [`Reason`](crate::error::Reason); each type does.

use url::Url;

/// Why a URI was refused, before a type maps it to its own reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Longer than the type's limit.
    TooLong,
    /// A byte outside RFC 3986 §2: control, whitespace, backslash, non-ASCII, a double quote,
    /// `<`, `>`, `^`, a backtick, `{`, `|` or `}`.
    Character,
    /// Not an absolute URI of the required form, or a broken percent-encoding.
    Syntax,
    /// Has a `#fragment` (even an empty one).
    Fragment,
    /// Has `userinfo@` in its authority.
    Userinfo,
    /// A scheme the type never accepts.
    Scheme,
    /// `http` for a host that is not a loopback address.
    InsecureHttp,
}

/// Which of the accepted kinds of URI a checked URI is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `https`, any host.
    Https,
    /// `http` with a loopback host (127.0.0.0/8, `[::1]` or `localhost`).
    LoopbackHttp,
    /// A private-use scheme (RFC 8252 §7.1): `reverse_domain` when it is in the reverse-domain
    /// form §7.1 asks for (`com.example.app`), `false` for the host-bearing schemes desktop apps
    /// register in practice (`cursor`, `vscode`, `windsurf`), which only public clients may use.
    PrivateUse {
        /// Whether the scheme has the reverse-domain form.
        reverse_domain: bool,
    },
}

/// Checks `raw` and parses it. `private_use` says whether private-use schemes are accepted
/// (redirect URIs of native apps) or refused (resource indicators).
pub(crate) fn check(
    raw: &str,
    max_bytes: usize,
    private_use: bool,
) -> Result<(Url, Kind), Problem> {
    check_text(raw, max_bytes)?;
    let parts = Parts::split(raw);
    let scheme = parts
        .scheme
        .filter(|s| is_scheme(s))
        .ok_or(Problem::Syntax)?;
    let scheme = classify_scheme(scheme, private_use)?;
    check_components(&parts)?;
    let url = Url::parse(raw).map_err(|_| Problem::Syntax)?;
    // The textual checks already refuse these; the parsed URL must agree.
    if url.fragment().is_some() {
        return Err(Problem::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Problem::Userinfo);
    }
    let kind = kind(scheme, &parts, &url)?;
    Ok((url, kind))
}

/// The checks on the raw text, before any parsing: length, RFC 3986 §2 characters, and
/// well-formed percent-encodings.
fn check_text(raw: &str, max_bytes: usize) -> Result<(), Problem> {
    if raw.len() > max_bytes {
        Err(Problem::TooLong)
    } else if !raw.bytes().all(is_uri_byte) {
        Err(Problem::Character)
    } else if !percent_encodings_are_well_formed(raw) {
        Err(Problem::Syntax)
    } else {
        Ok(())
    }
}

/// The checks on the components: no fragment, no user information, no percent-encoded host.
fn check_components(parts: &Parts<'_>) -> Result<(), Problem> {
    if parts.fragment.is_some() {
        return Err(Problem::Fragment);
    }
    if parts.authority.is_some_and(|a| a.contains('@')) {
        return Err(Problem::Userinfo);
    }
    // RFC 3986 §3.2.2 allows percent-encoded host names, and the WHATWG parser decodes them
    // (`%6c%6fcalhost` becomes `localhost`). No legitimate client needs that, and refusing it
    // keeps the host we judge identical to the host that was written.
    if parts.authority.is_some_and(|a| a.contains('%')) {
        return Err(Problem::Syntax);
    }
    Ok(())
}

/// Which accepted kind a parsed URI is, applying the host rules to its scheme.
fn kind(scheme: SchemeKind, parts: &Parts<'_>, url: &Url) -> Result<Kind, Problem> {
    match scheme {
        SchemeKind::Http | SchemeKind::Https if !has_host(parts, url) => Err(Problem::Syntax),
        SchemeKind::Https => Ok(Kind::Https),
        SchemeKind::Http if is_loopback(url) => Ok(Kind::LoopbackHttp),
        SchemeKind::Http => Err(Problem::InsecureHttp),
        SchemeKind::PrivateUse { reverse_domain } => Ok(Kind::PrivateUse { reverse_domain }),
    }
}

/// Whether the URL's host, as a browser resolves it, is a loopback address (the one rule:
/// [`crate::http::loopback`]).
pub(crate) fn is_loopback(url: &Url) -> bool {
    crate::http::loopback::is_loopback_url(url)
}

/// The scheme as the rules see it.
#[derive(Clone, Copy)]
enum SchemeKind {
    Https,
    Http,
    PrivateUse { reverse_domain: bool },
}

/// Sorts a syntactically valid scheme (compared case-insensitively, RFC 3986 §3.1).
fn classify_scheme(scheme: &str, private_use: bool) -> Result<SchemeKind, Problem> {
    if scheme.eq_ignore_ascii_case("https") {
        Ok(SchemeKind::Https)
    } else if scheme.eq_ignore_ascii_case("http") {
        Ok(SchemeKind::Http)
    } else if private_use && is_private_use(scheme) {
        Ok(SchemeKind::PrivateUse {
            reverse_domain: is_reverse_domain(scheme),
        })
    } else {
        Err(Problem::Scheme)
    }
}

/// Schemes a browser handles itself (executes, reads locally, or hands to one of its own
/// pages, extensions or protocol handlers), or that name another program that is not the
/// client (including Windows handlers abused to run code, such as `ms-msdt`, CVE-2022-30190,
/// and `search-ms`): a code sent to one of these never reaches an app that registered for it,
/// and a redirect there would make gatehouse a launcher.
const BROWSER_SCHEMES: &[&str] = &[
    "about",
    "blob",
    "chrome",
    "chrome-extension",
    "chrome-search",
    "chrome-untrusted",
    "data",
    "devtools",
    "edge",
    "file",
    "filesystem",
    "ftp",
    "ftps",
    "gopher",
    "intent",
    "jar",
    "javascript",
    "livescript",
    "localhost",
    "mailto",
    "moz-extension",
    "ms-browser-extension",
    "ms-msdt",
    "ms-officecmd",
    "ms-search",
    "news",
    "nntp",
    "opera",
    "resource",
    "safari-extension",
    "search",
    "search-ms",
    "shell",
    "sms",
    "tel",
    "vbscript",
    "view-source",
    "webcal",
    "ws",
    "wss",
    "wyciwyg",
];

/// RFC 8252 §7.1 ("Private-Use URI Scheme Redirection") and §8.1: a native app may receive the
/// code through a scheme the operating system hands to it; PKCE (which gatehouse requires of
/// every client) makes a code intercepted by another app claiming the scheme useless. We accept
/// any scheme except those a browser handles itself ([`BROWSER_SCHEMES`]), `web+`/`ext+`
/// schemes (registered by web pages and extensions, RFC 8252 §7.1 notwithstanding), and
/// look-alikes of `http`/`https` (`https.evil`, `http-s`, `hxxps`, `htps`), which a person
/// reading the consent page could take for a web address. A scheme with a period must be a
/// well-formed reverse domain name (no empty label).
fn is_private_use(scheme: &str) -> bool {
    let lower = scheme.to_ascii_lowercase();
    let letters: String = lower.chars().filter(char::is_ascii_alphabetic).collect();
    let http_like = ["htt", "htp", "hxxp", "hxp"]
        .iter()
        .any(|prefix| letters.starts_with(prefix));
    let dotted_ok = !lower.contains('.') || is_reverse_domain(&lower);
    dotted_ok
        && !BROWSER_SCHEMES.contains(&lower.as_str())
        && !lower.starts_with("web+")
        && !lower.starts_with("ext+")
        && !http_like
}

/// RFC 8252 §7.1: "When choosing a URI scheme to associate with the app, apps MUST use a URI
/// scheme based on a domain name under their control, expressed in reverse order". We call a
/// scheme reverse-domain when it has at least two non-empty dot-separated labels.
fn is_reverse_domain(scheme: &str) -> bool {
    scheme.contains('.') && scheme.split('.').all(|label| !label.is_empty())
}

/// RFC 9110 §4.2.1/§4.2.2: `http-URI = "http" "://" authority path-abempty [ "?" query ]`, and
/// "A sender MUST NOT generate an "http" URI with an empty host identifier." Requiring the
/// `//` textually refuses forms such as `https:/a.example` or `http:a.example` that the WHATWG
/// parser repairs but that are not URIs of the http(s) scheme.
fn has_host(parts: &Parts<'_>, url: &Url) -> bool {
    let textual_host = parts
        .authority
        .is_some_and(|a| !a.is_empty() && !a.starts_with(':'));
    textual_host && url.host_str().is_some_and(|h| !h.is_empty())
}

/// RFC 3986 §2: `unreserved / reserved / "%"`. Everything else is refused outright.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// RFC 3986 §2.1: `pct-encoded = "%" HEXDIG HEXDIG`.
fn percent_encodings_are_well_formed(raw: &str) -> bool {
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = |d: Option<u8>| d.is_some_and(|d| d.is_ascii_hexdigit());
            if !hex(bytes.next()) || !hex(bytes.next()) {
                return false;
            }
        }
    }
    true
}

/// RFC 3986 §3.1: `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// The five components of a URI reference, split as RFC 3986 Appendix B does.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Parts<'a> {
    /// `^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?` (RFC 3986 Appendix B).
    fn split(raw: &'a str) -> Self {
        let (rest, fragment) = split_off(raw, '#');
        let (rest, query) = split_off(rest, '?');
        let (scheme, rest) = match rest.split_once(':') {
            Some((scheme, after)) if !scheme.is_empty() && !scheme.contains('/') => {
                (Some(scheme), after)
            }
            _ => (None, rest),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                let (authority, path) = after.split_at_checked(end).unwrap_or((after, ""));
                (Some(authority), path)
            }
            None => (None, rest),
        };
        Self {
            scheme,
            authority,
            path,
            query,
            fragment,
        }
    }
}

/// Splits at the first `delimiter`: the text before it, and the text after it if it occurs.
fn split_off(text: &str, delimiter: char) -> (&str, Option<&str>) {
    match text.split_once(delimiter) {
        Some((before, after)) => (before, Some(after)),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_rfc_3986_appendix_b() {
        // RFC 3986 Appendix B's example plus edge cases of each component.
        let rows = [
            (
                "http://www.ics.uci.edu/pub/ietf/uri/#Related",
                Parts {
                    scheme: Some("http"),
                    authority: Some("www.ics.uci.edu"),
                    path: "/pub/ietf/uri/",
                    query: None,
                    fragment: Some("Related"),
                },
            ),
            (
                "com.example.app:/cb?x=1",
                Parts {
                    scheme: Some("com.example.app"),
                    authority: None,
                    path: "/cb",
                    query: Some("x=1"),
                    fragment: None,
                },
            ),
            (
                "//host/p",
                Parts {
                    scheme: None,
                    authority: Some("host"),
                    path: "/p",
                    query: None,
                    fragment: None,
                },
            ),
            (
                "https://h?q#",
                Parts {
                    scheme: Some("https"),
                    authority: Some("h"),
                    path: "",
                    query: Some("q"),
                    fragment: Some(""),
                },
            ),
            (
                "a/b:c",
                Parts {
                    scheme: None,
                    authority: None,
                    path: "a/b:c",
                    query: None,
                    fragment: None,
                },
            ),
        ];
        for (raw, expected) in rows {
            assert_eq!(Parts::split(raw), expected, "{raw}");
        }
    }

    #[test]
    fn percent_encodings_need_two_hex_digits() {
        // RFC 3986 §2.1.
        let rows = [
            ("%41", true),
            ("a%2fb", true),
            ("%", false),
            ("%4", false),
            ("%4g", false),
            ("%%41", false),
        ];
        for (raw, ok) in rows {
            assert_eq!(percent_encodings_are_well_formed(raw), ok, "{raw}");
        }
    }

    #[test]
    fn schemes_follow_rfc_3986_section_3_1() {
        let rows = [
            ("https", true),
            ("com.example.app", true),
            ("a+b-c.d", true),
            ("1ab", false),
            ("", false),
            ("a_b", false),
        ];
        for (raw, ok) in rows {
            assert_eq!(is_scheme(raw), ok, "{raw}");
        }
    }
}
