//! The one path the gate judges and the origin receives.
//!
//! The runtime hands the Worker a path the URL standard has parsed already: `.` and `..`
//! segments, plain or as `%2e`, are resolved (RFC 3986 §5.2.4) and `\` reads as `/`. Origins
//! then read that path in ways of their own: Servlet containers cut `;` parameters off each
//! segment (so `..;` is `..`), many servers merge `//` into `/`, Windows servers take `%5C` for
//! `/` and drop trailing dots and spaces, C code stops at `%00`, and most decode `%2F` and
//! `%2E` before routing, some twice. A path that one of these reads differently from the gate
//! could be judged under one rule and served under another: `POST /wiki//api/notes` judged
//! outside `/wiki/api/**`, `/static/..;/admin` judged as a public path.
//!
//! gatehouse does not guess which reading an origin uses. [`check`] refuses (`400`) every path
//! on which they can disagree, and every other path is forwarded byte for byte as it came, so
//! the path the route rules matched is the path the origin acts on under each reading above
//! (`tests::every_origin_reading_of_an_accepted_path_is_the_one_the_gate_judged`).
//!
//! Deliberately not done: normalizing a path (merging slashes, resolving `..;`) and forwarding
//! the result, which would hand the origin a request the client never sent; and Unicode
//! normalization (NFKC, "best fit" code pages) of non-ASCII segments, which no common origin
//! applies to paths before routing.

use std::borrow::Cow;

use crate::error::Reason;

/// A request path that every common origin reading agrees on: what the gate's rules match and
/// what the origin receives. Built only by [`check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedPath<'a>(&'a str);

impl<'a> CheckedPath<'a> {
    /// The path, percent-encoded as it came and as it is forwarded.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// Checks a request path (percent-encoded, as the runtime serialized it, without the query).
///
/// Refused, as [`Reason::PathAmbiguous`]:
/// - an empty segment anywhere but at the end (`//`), which servers that merge slashes drop;
/// - `;` or `\`, plain or percent-encoded: Servlet path parameters (`..;`), Windows separators;
/// - a percent-encoded `/` (`%2F`), which servers that decode before routing split on;
/// - a `%` not followed by two hex digits, which decoders read differently (RFC 3986 §2.1);
/// - a control character (`%00`–`%1F`, `%7F`): C code stops at `%00`, others strip `%0A`;
/// - a segment that decodes to `.` or `..`, or ends in `.` or white space (Windows drops them),
///   or starts with white space (routers that trim segments drop it);
/// - a segment that still holds a percent-encoding once decoded (`%252F`): servers that decode
///   twice see another path;
/// - bytes that do not decode to UTF-8.
pub fn check(path: &str) -> Result<CheckedPath<'_>, Reason> {
    let segments = path.strip_prefix('/').ok_or(Reason::PathAmbiguous)?;
    let mut segments = segments.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment.is_empty() && !last {
            return Err(Reason::PathAmbiguous);
        }
        check_segment(segment)?;
    }
    Ok(CheckedPath(path))
}

fn check_segment(raw: &str) -> Result<(), Reason> {
    let decoded = percent_decode(raw)?;
    let separator_or_control = decoded
        .bytes()
        .any(|b| b.is_ascii_control() || matches!(b, b'/' | b'\\' | b';'));
    let dot_segment = decoded == "." || decoded == "..";
    let trimmed = decoded.ends_with('.')
        || decoded.ends_with(char::is_whitespace)
        || decoded.starts_with(char::is_whitespace);
    if separator_or_control || dot_segment || trimmed || still_encoded(&decoded) {
        return Err(Reason::PathAmbiguous);
    }
    Ok(())
}

/// The segment percent-decoded (RFC 3986 §2.1), without copying when there is nothing to
/// decode; refused when a `%` is not followed by two hex digits or the bytes are not UTF-8.
fn percent_decode(raw: &str) -> Result<Cow<'_, str>, Reason> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(byte) = bytes.next() {
        decoded.push(if byte == b'%' {
            let high = bytes.next().and_then(hex).ok_or(Reason::PathAmbiguous)?;
            let low = bytes.next().and_then(hex).ok_or(Reason::PathAmbiguous)?;
            (high << 4) | low
        } else {
            byte
        });
    }
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|_| Reason::PathAmbiguous)
}

/// Whether `decoded` holds a `%` followed by two hex digits: a second decoding would change it.
fn still_encoded(decoded: &str) -> bool {
    decoded
        .as_bytes()
        .windows(3)
        .any(|w| matches!(w, [b'%', a, b] if hex(*a).is_some() && hex(*b).is_some()))
}

fn hex(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
mod tests;
