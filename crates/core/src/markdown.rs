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

use crate::http::media_type::{self, Accept};

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
    accept.is_some() && Accept::new(accept).prefers(("text", "markdown"), ("text", "html"))
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
    media_type::is(content_type, "text", "html")
}

#[cfg(test)]
mod tests;
