//! Markdown for agents, the negotiation: the gatekeeper answers `text/markdown` instead of
//! `text/html` when the request's `Accept` header prefers it (RFC 9110 §12.5.1) and the origin
//! answered `text/html`.
//!
//! The adapter's part, for a proxied response: [`representation`] says what the client gets, and
//! [`header_edits`] how the origin's headers change for it:
//!
//! - not HTML: the response as it came;
//! - HTML the client did not ask to convert, or that cannot be ([`Representation::Html`]): as
//!   it came, plus `Vary: Accept` (RFC 9110 §12.5.5), since the answer depends on it;
//! - otherwise the body streams through the `gatehouse-markdown` converter and the answer
//!   carries `Content-Type: ` [`MARKDOWN_CONTENT_TYPE`] and `Vary: Accept`, without
//!   `Content-Length` and `Content-Encoding` (the body changed) or `ETag` and `Last-Modified`
//!   (RFC 9110 §8.8.3: they name the HTML representation).
//!
//! The conversion itself is not here: the protocol core holds no HTML. It lives in
//! `crates/markdown`, fed by the runtime's `HTMLRewriter` in the Worker.

use crate::gatekeeper::assertion::HeaderEdit;

/// The `Content-Type` of a converted response (RFC 7763 §2 registers `text/markdown`).
pub const MARKDOWN_CONTENT_TYPE: &str = "text/markdown; charset=utf-8";

/// What a client gets for an origin's response: see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    /// Not HTML: the response as the origin sent it.
    AsSent,
    /// The origin's HTML, which varies with `Accept`.
    Html,
    /// The origin's HTML converted to Markdown.
    Markdown,
}

/// What the client whose `Accept` is `accept` gets for an origin's response with `status`,
/// `Content-Type` and `Content-Length`. A page that says it is longer than
/// `max_source_bytes`, what the converter converts, stays HTML: converting part of it would
/// answer a page the client can get whole.
#[must_use]
pub fn representation(
    accept: Option<&str>,
    status: u16,
    content_type: Option<&str>,
    content_length: Option<&str>,
    max_source_bytes: u64,
) -> Representation {
    if !is_html(content_type) {
        return Representation::AsSent;
    }
    let too_long = content_length
        .and_then(|length| length.trim().parse::<u64>().ok())
        .is_some_and(|length| length > max_source_bytes);
    if prefers_markdown(accept) && status_has_content(status) && !too_long {
        Representation::Markdown
    } else {
        Representation::Html
    }
}

/// The changes to the origin's headers for `representation` (RFC 9110 §12.5.5 `Vary`;
/// §8.3 `Content-Type`; §8.6 `Content-Length` and §8.4 `Content-Encoding` describe the HTML
/// body; §8.8.2–8.8.3 validators name the HTML representation).
#[must_use]
pub fn header_edits(representation: Representation) -> Vec<HeaderEdit<'static>> {
    match representation {
        Representation::AsSent => Vec::new(),
        Representation::Html => vec![HeaderEdit::Append("Vary", "Accept")],
        Representation::Markdown => vec![
            HeaderEdit::Append("Vary", "Accept"),
            HeaderEdit::Set("Content-Type", MARKDOWN_CONTENT_TYPE.to_owned()),
            HeaderEdit::Delete("Content-Length"),
            HeaderEdit::Delete("Content-Encoding"),
            HeaderEdit::Delete("ETag"),
            HeaderEdit::Delete("Last-Modified"),
        ],
    }
}

/// Whether a request whose `Accept` header is `accept` prefers `text/markdown` to `text/html`
/// (RFC 9110 §12.5.1).
///
/// Each type's weight is the `q` (RFC 9110 §12.4.2; 1 when absent) of the most specific media
/// range that matches it: `text/markdown` before `text/*` before `*/*`; equally specific ranges
/// give the highest of their weights; no matching range, or `q=0`, means not acceptable. Markdown
/// is preferred only when its weight is above zero and strictly above HTML's, so a tie (`*/*`,
/// `text/*`, or both types listed with equal weight) keeps HTML, which is what browsers get.
/// Media-type parameters other than `q` are ignored. A malformed list member (no `/`, a
/// character outside the token grammar, a `q` outside the `qvalue` grammar, an unterminated
/// quoted string) is skipped. No header means false: RFC 9110 §12.5.1 reads it as "any media
/// type", and HTML is what the origin sent.
#[must_use]
pub fn prefers_markdown(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let mut markdown = Weight::NONE;
    let mut html = Weight::NONE;
    for member in split_unquoted(accept, b',') {
        let Some(range) = MediaRange::parse(member) else {
            continue;
        };
        markdown = markdown.merge(range.weight_for("text", "markdown"));
        html = html.merge(range.weight_for("text", "html"));
    }
    markdown.q > 0 && markdown.q > html.q
}

/// Whether a response with this status may carry content to convert: 204 (RFC 9110 §15.3.5),
/// 205 (§15.3.6) and 304 (§15.4.5) have none, and the runtime refuses a body on them, so they
/// pass through as they are.
#[must_use]
pub fn status_has_content(status: u16) -> bool {
    !matches!(status, 101 | 204 | 205 | 304)
}

/// Whether a `Content-Type` names `text/html`, with any parameters, in any case (RFC 9110
/// §8.3.1: type and subtype are case-insensitive).
#[must_use]
pub fn is_html(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_matches(is_ows);
    essence.eq_ignore_ascii_case("text/html")
}

/// A media range's claim on one type: how specific it is and its weight in thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Weight {
    /// 0: no range matched; 1: `*/*`; 2: `type/*`; 3: `type/subtype`.
    specificity: u8,
    /// `qvalue` × 1000, 0..=1000.
    q: u16,
}

impl Weight {
    const NONE: Self = Self {
        specificity: 0,
        q: 0,
    };

    /// RFC 9110 §12.5.1: "If more than one media range applies to a given type, the most
    /// specific reference has precedence." Equally specific ranges: the highest weight.
    fn merge(self, other: Self) -> Self {
        match self.specificity.cmp(&other.specificity) {
            std::cmp::Ordering::Less => other,
            std::cmp::Ordering::Greater => self,
            std::cmp::Ordering::Equal => Self {
                specificity: self.specificity,
                q: self.q.max(other.q),
            },
        }
    }
}

/// One member of an `Accept` list: `type/subtype` (either may be `*`) and its weight.
#[derive(Debug)]
struct MediaRange<'a> {
    main: &'a str,
    sub: &'a str,
    q: u16,
}

impl<'a> MediaRange<'a> {
    /// Parses `media-range [ weight ]` (RFC 9110 §12.5.1); `None` when malformed.
    fn parse(member: &'a str) -> Option<Self> {
        let mut parts = split_unquoted(member, b';');
        let range = parts.next()?.trim_matches(is_ows);
        if range.is_empty() {
            return None;
        }
        let (main, sub) = range.split_once('/')?;
        if !is_token(main) || !is_token(sub) || (main == "*" && sub != "*") {
            return None;
        }
        let mut q = None;
        for parameter in parts {
            let parameter = parameter.trim_matches(is_ows);
            // RFC 9110 §5.6.6: `parameters = *( OWS ";" OWS [ parameter ] )`.
            if parameter.is_empty() {
                continue;
            }
            let (name, value) = parameter.split_once('=')?;
            if !is_token(name) || !(is_token(value) || is_quoted_string(value)) {
                return None;
            }
            // RFC 9110 §5.6.6: "Parameter names are case-insensitive." The first `q` is the
            // weight; the media type registry allows no parameter of that name.
            if q.is_none() && name.eq_ignore_ascii_case("q") {
                q = Some(parse_qvalue(value)?);
            }
        }
        Some(Self {
            main,
            sub,
            q: q.unwrap_or(1000),
        })
    }

    /// This range's claim on `main/sub`, or [`Weight::NONE`] when it does not match.
    fn weight_for(&self, main: &str, sub: &str) -> Weight {
        let specificity = if self.main == "*" {
            1
        } else if !self.main.eq_ignore_ascii_case(main) {
            0
        } else if self.sub == "*" {
            2
        } else if self.sub.eq_ignore_ascii_case(sub) {
            3
        } else {
            0
        };
        if specificity == 0 {
            Weight::NONE
        } else {
            Weight {
                specificity,
                q: self.q,
            }
        }
    }
}

/// RFC 9110 §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    let mut scale: u16 = 100;
    for digit in fraction.bytes() {
        thousandths += u16::from(digit - b'0') * scale;
        scale /= 10;
    }
    let q = whole * 1000 + thousandths;
    (q <= 1000).then_some(q)
}

/// RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`.
fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 9110 §5.6.2: `token = 1*tchar`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// RFC 9110 §5.6.4: `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`.
fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for b in inner.bytes() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return false;
        }
    }
    !escaped
}

/// Splits `s` at each `separator` byte that is not inside a quoted string (RFC 9110 §5.6.4), so
/// that `a;x="1,2", b` is two members. An unterminated quote runs to the end.
fn split_unquoted(s: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        let mut in_quotes = false;
        let mut escaped = false;
        for (index, b) in current.bytes().enumerate() {
            if in_quotes {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_quotes = false;
                }
            } else if b == b'"' {
                in_quotes = true;
            } else if b == separator {
                // `separator` is ASCII, so both sides are on character boundaries.
                rest = current.get(index + 1..);
                return current.get(..index);
            }
        }
        rest = None;
        Some(current)
    })
}

#[cfg(test)]
mod tests;
